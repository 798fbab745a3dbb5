"""``--probe``: run the image once, safely, to cross-check the static facts.

The only time octolint executes image content, and only when asked. The
container runs with the entrypoint replaced by ``/bin/sh -c``, no network, a
read-only root filesystem, all capabilities dropped, no new privileges, and
memory, pids, CPU, log-size and time limits. It is removed afterwards: in a
``finally`` when the probe ends or times out, and by a SIGINT/SIGTERM handler
(see :func:`_on_interrupt`, :mod:`octolint.interrupt`) when octolint is interrupted, so Ctrl-C never
leaves a container behind and never waits for the time limit.

What it checks is what the rules decide on: ``/etc/os-release``, and whether
the *dynamic loader itself* can load each library OCT204/OCT205 look for. For
every candidate soname the probe runs ``LD_PRELOAD=SONAME /bin/sh -c :``:
glibc's loader searches ``LD_LIBRARY_PATH``, ``/etc/ld.so.cache`` and its
default directories exactly as for a real program, loads the library's own
dependencies too, and complains on stderr (or fails) when it cannot. That is
the question the static reading answers. ``ldconfig -p`` would not do: it
only prints the cache, so every image whose libraries were added without
running ldconfig (a ``COPY``, ``dpkg-deb -x``) would look like a disagreement.
A sentinel soname that exists nowhere must fail to load, else the shell is
static (busybox) and the loader answers are meaningless; they are dropped.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from octolint.errors import ConfigError, InputError
from octolint.image.model import ResolvedImage
from octolint.interrupt import on_interrupt
from octolint.knowledge import icu
from octolint.knowledge.dotnet import PROBED

# The libraries OCT204/OCT205 look for (see octolint.knowledge).
CANDIDATES = (*icu.PROBED_SONAMES, *(s for library in PROBED for s in library.sonames))
SENTINEL = "libnothing-octolint-probe.so.0"
_MARK = "---octolint-loader---"
# POSIX sh only (dash, bash, busybox ash). os-release: /etc's, else /usr/lib's, as
# the static reading does; read line by line with a line cap, so a hostile one (a
# FIFO, a link to /dev/zero) hangs or hits the memory limit inside the container
# instead of flooding octolint. The redirection is guarded: a shell may exit on a
# failed one.
PROBE_SCRIPT = (
    "f=/etc/os-release; [ -e $f ] || f=/usr/lib/os-release; "
    "if [ -r $f ]; then n=0; "
    'while [ $n -lt 200 ] && IFS= read -r l; do echo "$l"; n=$((n+1)); done <$f; fi; '
    f"echo {_MARK}; "
    'for s in "$@"; do '
    'if e=$(LD_PRELOAD=$s /bin/sh -c : 2>&1) && [ -z "$e" ]; '
    'then echo "loaded $s"; else echo "missing $s"; fi; '
    "done"
)
MEMORY_LIMIT = "256m"
PIDS_LIMIT = 64
TIME_LIMIT_SECONDS = 60.0
ENGINE_TIMEOUT_SECONDS = 600  # for each engine request (create, remove)
TIME_LIMIT_ENV = "OCTOLINT_PROBE_TIMEOUT"  # seconds; for slow machines (and tests)
MAX_OUTPUT = 1 << 20  # bytes of container output octolint reads
LABEL = "org.octolint.probe"  # on every probe container: `docker ps -a -f label=...`


@dataclass
class ProbeResult:
    os_release: dict[str, str] = field(default_factory=dict)
    loadable: dict[str, bool] = field(default_factory=dict)  # soname -> loader loaded it
    loader_checked: bool = False  # False: no dynamic loader answered (static shell)

    @property
    def sonames(self) -> set[str]:
        """The candidate sonames the dynamic loader could load."""
        return {name for name, ok in self.loadable.items() if ok}


class ProbeError(InputError):
    """The probe could not run (no engine, image not in the engine, timeout)."""


def parse_probe_output(text: str) -> ProbeResult:
    os_part, _, loader_part = text.partition(_MARK)
    result = ProbeResult()
    for line in os_part.splitlines():
        key, eq, value = line.partition("=")
        if eq and key.strip() and not key.startswith("#"):
            result.os_release[key.strip()] = value.strip().strip("'\"")
    for line in loader_part.splitlines():
        verdict, _, soname = line.strip().partition(" ")
        if verdict in ("loaded", "missing") and soname:
            result.loadable[soname] = verdict == "loaded"
    # The sentinel exists nowhere: "loaded" means LD_PRELOAD was ignored.
    sentinel = result.loadable.pop(SENTINEL, None)
    result.loader_checked = sentinel is False
    if not result.loader_checked:
        result.loadable.clear()
    return result


def time_limit() -> float:
    text = os.environ.get(TIME_LIMIT_ENV)
    if not text:
        return TIME_LIMIT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 86400:
        raise ConfigError(f"expected seconds (> 0), got {text!r}", source=TIME_LIMIT_ENV)
    return value


# -- containers to remove on an interrupt --------------------------------------------------

_live: dict[str, Any] = {}  # container id -> its Container object
_live_lock = threading.Lock()
_interrupted = threading.Event()


@contextmanager
def interrupt_guard() -> Iterator[None]:
    """While probing: on SIGINT/SIGTERM, remove the probe containers, then stop.

    For library callers of ``scan_images``: the CLI ends the process at once instead
    (``octolint.interrupt.exit_at_once``, which runs ``_on_interrupt``).

    Probes run in worker threads, and Python delivers signals to the main thread
    only, where the scan is waiting for them; without this, Ctrl-C would wait for
    the probe's time limit. The handler removes every live probe container (which
    also ends the workers' waits) and raises KeyboardInterrupt, which the CLI turns
    into "interrupted" and exit code 130. Outside the main thread it does nothing
    but the per-probe ``finally`` still removes each container.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _interrupted.clear()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    # A signal the user's shell told us to ignore (nohup, background jobs) stays ignored.
    handled = [sig for sig, old in previous.items() if old is not signal.SIG_IGN]

    def handler(signum: int, frame: FrameType | None) -> None:
        _interrupted.set()
        remove_live_containers()
        raise KeyboardInterrupt

    for sig in handled:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig in handled:
            old = previous[sig]
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


# Creating a container takes well under a second with overlay2; a Ctrl-C meanwhile
# waits this long for it, so as to remove it too (vfs copies the root filesystem and
# can take longer: such a container is left behind, with the label, as after SIGKILL).
CREATE_GRACE_SECONDS = 3.0
_creating = 0  # containers being created now (under _live_cond)
_live_cond = threading.Condition(_live_lock)


def _on_interrupt() -> None:
    """The cleanup octolint.interrupt runs on SIGINT/SIGTERM before the process ends."""
    _interrupted.set()
    with _live_cond:
        _live_cond.wait_for(lambda: _creating == 0, timeout=CREATE_GRACE_SECONDS)
    remove_live_containers()


on_interrupt(_on_interrupt)


def remove_live_containers() -> None:
    with _live_lock:
        containers = list(_live.values())
    for container in containers:
        _remove(container)


def _remove(container: Any) -> None:
    import docker.errors
    import requests

    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass  # already gone (removed by the other path)
    except (docker.errors.DockerException, requests.RequestException):
        pass  # the engine went away: nothing more octolint can do
    finally:
        with _live_lock:
            _live.pop(container.id, None)


# -- running the probe -----------------------------------------------------------------


def run_probe(image: ResolvedImage) -> ProbeResult:
    """Run the probe in the Docker engine (DOCKER_HOST); the image must be there."""
    from octolint.image.sources.daemon import DaemonError, connect

    limit = time_limit()
    # The image ID when known, so the engine runs exactly the image read statically.
    reference = image.config_digest or image.reference
    try:
        client = connect()
    except DaemonError as exc:
        raise ProbeError(image.reference, f"--probe needs a Docker engine, but the {exc}") from None
    # Creating and removing a container copies or deletes the whole root filesystem
    # with some storage drivers (vfs): minutes for a big image. The time limit is
    # for running the image, so it does not count.
    client.api.timeout = round(max(limit, ENGINE_TIMEOUT_SECONDS))
    try:
        container = _create(client, reference, image.reference)
        try:
            return parse_probe_output(_run(container, limit, image.reference))
        finally:
            _remove(container)
    finally:
        client.close()


def _create(client: Any, reference: str, shown: str) -> Any:
    import docker.errors

    global _creating
    if _interrupted.is_set():
        raise KeyboardInterrupt
    with _live_cond:
        _creating += 1
    try:
        client.images.get(reference)
        container = client.containers.create(reference, **safe_run_options())
        with _live_lock:  # before _creating drops: the interrupt cleanup must see it
            _live[container.id] = container
    except docker.errors.ImageNotFound:
        raise ProbeError(shown, "--probe needs the image in the Docker engine "
                         "(docker pull or docker load it first)") from None  # fmt: skip
    except docker.errors.DockerException as exc:
        raise ProbeError(shown, f"probe failed: {_one_line(exc)}") from None
    finally:
        with _live_cond:
            _creating -= 1
            _live_cond.notify_all()
    if _interrupted.is_set():  # the handler ran while the engine was creating it
        _remove(container)
        raise KeyboardInterrupt
    return container


def _run(container: Any, limit: float, reference: str) -> str:
    import docker.errors
    import requests

    started = time.monotonic()
    try:
        container.start()
        container.wait(timeout=max(1.0, limit - (time.monotonic() - started)))
        return _logs(container)
    except (requests.RequestException, docker.errors.DockerException) as exc:
        if _interrupted.is_set():  # the interrupt handler removed the container
            raise KeyboardInterrupt from None
        if time.monotonic() - started >= limit - 0.5:  # the wait's read timed out
            raise ProbeError(reference, f"the probe did not finish within {limit:g} s "
                             f"(container stopped and removed; {TIME_LIMIT_ENV} sets the limit)"
                             ) from None  # fmt: skip
        raise ProbeError(reference, f"probe failed: {_one_line(exc)}") from None


def _logs(container: Any) -> str:
    """The container's stdout, at most MAX_OUTPUT bytes of it."""
    chunks, size = [], 0
    for chunk in container.logs(stdout=True, stderr=False, stream=True):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_OUTPUT:
            break
    return b"".join(chunks)[:MAX_OUTPUT].decode("utf-8", "replace")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def safe_run_options() -> dict[str, Any]:
    """The container: no network, read-only, unprivileged, small, labelled."""
    from docker.types import LogConfig

    return {
        "entrypoint": ["/bin/sh", "-c", PROBE_SCRIPT, "octolint-probe"],
        "command": [*CANDIDATES, SENTINEL],  # "$@" of the script
        "network_disabled": True,
        "network_mode": "none",
        "read_only": True,
        "mem_limit": MEMORY_LIMIT,
        "memswap_limit": MEMORY_LIMIT,  # no swap on top
        "pids_limit": PIDS_LIMIT,
        "nano_cpus": 1_000_000_000,  # one CPU
        "security_opt": ["no-new-privileges"],
        "cap_drop": ["ALL"],
        "log_config": LogConfig(type="json-file", config={"max-size": "2m", "max-file": "1"}),
        "labels": {LABEL: "1"},
        "stdin_open": False,
        "tty": False,
    }
