"""Ctrl-C (SIGINT) and SIGTERM during an image scan: stop at once, exit 130.

A scan's work runs in worker threads (one per image, a pool per image's layers),
and Python delivers signals to the main thread only, where the scan is waiting
for them. Raising KeyboardInterrupt there is not enough: the thread pools are
joined on the way out, and at interpreter exit, so the process would end only
once every download, decompression, index write or probe had finished (19 s
after Ctrl-C on a 456 MB archive; a connection attempt to an unreachable
registry, to its end). None of that work can be stopped from outside its thread
(a blocking connect, a zlib call, an SQLite insert), and none of it needs to
finish: what a scan leaves behind is made safe to abandon at any instant instead.

- The layer cache writes each entry to a temporary file and renames it into
  place when complete, so an entry is whole or absent; the temporary files being
  written are created here (:func:`new_temporary`) and deleted.
- Probe containers are removed by a cleanup the probe registers
  (:func:`on_interrupt`).

The main thread waits for the workers with :func:`result`, which wakes often
enough to run the handler: the kernel may deliver the signal to a worker thread.
Then the process says "octolint: interrupted" on stderr and ends with
``os._exit(130)``, without joining threads. :func:`exit_at_once` installs that
handler; the CLI uses it around a scan (a library caller keeps Python's usual
KeyboardInterrupt). A signal ignored when octolint started (``nohup``, a
background job) stays ignored.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # the CLI imports this module for every command: kept light
    from concurrent.futures import Future

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C; also for SIGTERM
POLL = 0.1  # seconds: how often the main thread looks for a signal while it waits
T = TypeVar("T")

_cleanups: list[Callable[[], None]] = []
_temporary: set[str] = set()
_lock = threading.RLock()  # the handler takes it in the main thread, which may hold it
_active = False
_stopping = False


def on_interrupt(cleanup: Callable[[], None]) -> None:
    """Run ``cleanup`` (in the main thread, before exiting) when a scan is interrupted.
    It must be quick and must not wait for the worker threads."""
    with _lock:
        if cleanup not in _cleanups:
            _cleanups.append(cleanup)


def new_temporary(directory: str | os.PathLike[str], prefix: str, suffix: str) -> str:
    """A new empty file (``tempfile.mkstemp``'s), deleted if the process is interrupted
    before :func:`forget_temporary`. Created and registered at once, under the lock
    the handler takes: none is created unregistered, nor after the handler looked."""
    import tempfile

    with _lock:
        if _stopping:
            raise KeyboardInterrupt  # the process is ending: no new file
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
        _temporary.add(name)
    os.close(fd)
    return name


def forget_temporary(name: str) -> None:
    """``name`` was renamed or deleted: an interrupt leaves it alone now."""
    with _lock:
        _temporary.discard(name)


def result(future: Future[T]) -> T:
    """``future.result()``, for the main thread: it wakes every POLL seconds. The kernel
    may deliver a signal to any thread; Python then runs its handler in the main thread,
    but only once that thread wakes, and a wait without a timeout would last until the
    future is done (the signal lost for the scan's duration)."""
    from concurrent.futures import TimeoutError as FutureTimeout

    while True:
        try:
            return future.result(timeout=POLL)
        except FutureTimeout:
            continue


def active() -> bool:
    """Whether :func:`exit_at_once` is in force (then nothing else need handle signals)."""
    return _active


@contextmanager
def exit_at_once() -> Iterator[None]:
    """Meanwhile, SIGINT and SIGTERM clean up and end the process (see the module
    docstring). Outside the main thread (where handlers cannot be set) it does nothing."""
    global _active
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in signals}
    handled = [sig for sig, old in previous.items() if old is not signal.SIG_IGN]
    for sig in handled:
        signal.signal(sig, _handler)
    _active = True
    try:
        yield
    finally:
        _active = False
        for sig in handled:
            old = previous[sig]
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


def _handler(signum: int, frame: FrameType | None) -> None:
    global _stopping
    if _stopping:  # a second Ctrl-C while cleaning up (an engine slow to remove a probe)
        os._exit(EXIT_INTERRUPTED)
    with _lock:
        _stopping = True
        cleanups, temporary = list(_cleanups), list(_temporary)
    for cleanup in cleanups:
        with suppress(Exception):  # a cleanup that fails must not keep the process alive
            cleanup()
    for name in temporary:
        with suppress(OSError):
            os.unlink(name)
    _say_interrupted()
    os._exit(EXIT_INTERRUPTED)


def _say_interrupted() -> None:
    with suppress(Exception):
        sys.stdout.flush()  # what was printed, not what the dying threads would print
    terminal = False
    with suppress(Exception):
        terminal = sys.stderr.isatty()
    # On a terminal, the progress display hid the cursor and holds the line.
    text = ("\r\x1b[2K\x1b[?25h" if terminal else "") + "octolint: interrupted\n"
    with suppress(OSError):
        os.write(2, text.encode())
