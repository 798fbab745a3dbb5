"""`octolint image` against a malicious registry (issue 11, points 2 and 3).

The registry and every "other host" are http.server threads in this test, on
127.0.0.1 and 127.0.0.2, HTTPS with a throw-away CA where it matters. The user has
Basic credentials for the registry in a fresh ``$DOCKER_CONFIG/config.json``.

- Credentials go to the registry the user named, and to a token server it names
  over HTTPS (plain HTTP only for a loopback or --insecure-registry host); never to
  a host the registry redirected to, whatever that host challenges with.
- Redirects never downgrade HTTPS to HTTP, never leave http(s), never loop.
- Endless bodies (errors, /v2/, tokens) end at a cap, in bounded memory.
- ``--timeout`` bounds each exchange as a whole: a server dripping a byte every 2 s
  is cut off at about ``--timeout``, and a layer must keep making real progress.

Each case runs the CLI as a subprocess (its peak RSS measured by a small parent) and
expects one clean error line and exit code 3.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import run_measured
from imagebuild import Image, build_image, tar_layer
from infra import make_certificates

USER, PASSWORD = "alice", "s3cret-" + "y" * 12
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
MAX_RSS_KB = 250 * 1024  # the bar is 500 MB; octolint itself needs ~60 MB
DRIP_SECONDS = 2.0

Handler = Callable[[BaseHTTPRequestHandler], None]


# --- a malicious server -------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None


@dataclass
class Hostile:
    """An HTTP(S) server that answers each path with a handler the test sets."""

    host: str
    scheme: str
    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def netloc(self) -> str:
        assert self.server is not None
        return f"{self.host}:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    def authorizations(self) -> list[str]:
        return [s.authorization for s in self.seen if s.authorization]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        owner: Hostile = self.server.owner  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        owner.seen.append(Seen(self.command, path, self.headers.get("Authorization")))
        handler = owner.routes.get(path) or owner.routes.get("*")
        try:
            if handler is None:
                send(self, 404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"no"}]}')
            else:
                handler(self)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass  # the client hung up, as it should on an endless or slow answer

    do_GET = do_POST = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True


_RUNNING: list[_Server] = []


@pytest.fixture(autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    while _RUNNING:
        server = _RUNNING.pop()
        server.shutdown()  # its handler threads are daemons: a dripping one just ends
        server.server_close()


def start(host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None) -> Hostile:
    server = _Server((host, 0), _Handler)
    _RUNNING.append(server)
    owner = Hostile(host, "https" if tls else "http", server=server)
    server.owner = owner  # type: ignore[attr-defined]
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()  # fmt: skip
    return owner


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    h.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        h.send_header(name.replace("_", "-"), value)
    h.end_headers()
    h.wfile.write(body)


def redirect(location: str, status: int = 307) -> Handler:
    return lambda h: send(h, status, Location=location)


def endless(status: int, **headers: str) -> Handler:
    """A body without a length that never ends (until the client hangs up)."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.end_headers()
        prefix, chunk = b'{"errors":[{"code":"X","message":"', b"A" * 65536
        h.wfile.write(prefix)
        for _ in range(200_000):  # 12 GiB: far beyond any bound
            h.wfile.write(chunk)

    return handler


def drip(status: int = 200, *, in_headers: bool = False, **headers: str) -> Handler:
    """One byte every DRIP_SECONDS: of a header, or of a 1000-byte body."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(f"HTTP/1.1 {status} OK\r\n".encode())
        if in_headers:
            h.wfile.write(b"X-Slow: ")
        else:
            for name, value in {"Content-Length": "1000", **headers}.items():
                h.wfile.write(f"{name.replace('_', '-')}: {value}\r\n".encode())
            h.wfile.write(b"\r\n")
        for _ in range(100):
            h.wfile.write(b"a")
            h.wfile.flush()
            time.sleep(DRIP_SECONDS)

    return handler


def serve_image(registry: Hostile, image: Image, *, basic: bool = True) -> str:
    """Routes for repository 'app', tag '1'; with ``basic``, only with the user's Basic
    credentials. Returns the reference."""

    def guarded(handler: Handler) -> Handler:
        def check(h: BaseHTTPRequestHandler) -> None:
            if basic and h.headers.get("Authorization") != BASIC:
                send(h, 401, b"{}", WWW_Authenticate='Basic realm="hostile"')
            else:
                handler(h)

        return check

    def blob(data: bytes, media_type: str) -> Handler:
        return lambda h: send(h, 200, data, Content_Type=media_type)

    registry.routes["/v2/"] = guarded(lambda h: send(h, 200, b"{}"))
    registry.routes["/v2/app/manifests/1"] = guarded(
        blob(image.manifest.data, image.manifest.media_type)
    )
    for item in image.blobs():
        registry.routes[f"/v2/app/blobs/{item.digest}"] = guarded(blob(item.data, item.media_type))
    return f"{registry.netloc}/app:1"


# --- fixtures and running the CLI ---------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    made = make_certificates(tmp_path_factory.mktemp("hostile-certs"))
    if isinstance(made, str):
        pytest.skip(made)
    return made


@pytest.fixture(scope="module")
def image() -> Image:
    layer = tar_layer({"bin/sh": b"#!fake shell\n", "etc/os-release": "ID=debian\n"},
                      dirs=["bin", "etc"])  # fmt: skip
    return build_image([layer], cmd=["/bin/sh"])


@pytest.fixture
def registry(certificates: tuple[Path, Path, Path]) -> Hostile:
    """The registry the user names: HTTPS on 127.0.0.1."""
    return start("127.0.0.1", tls=certificates[1:])


def user_env(tmp_path: Path, registry: Hostile, ca: Path) -> dict[str, str]:
    """A fresh HOME and Docker config holding Basic credentials for ``registry``."""
    docker = tmp_path / "docker"
    docker.mkdir(exist_ok=True)
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (docker / "config.json").write_text(json.dumps({"auths": {registry.netloc: {"auth": auth}}}))
    ours = ("OCTOLINT_", "DOCKER_", "REQUESTS_", "HTTP", "http")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return {
        **clean,
        "HOME": str(tmp_path),
        "OCTOLINT_CACHE_DIR": str(tmp_path / "cache"),
        "DOCKER_CONFIG": str(docker),
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
        "REQUESTS_CA_BUNDLE": str(ca),
        "NO_PROXY": "*",
        "NO_COLOR": "1",
    }


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_kb: int

    def error_line(self) -> str:
        assert self.returncode == 3, (self.returncode, self.stderr[-2000:])
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("octolint: error: "), self.stderr[-2000:]
        return lines[0]


def octolint(env: dict[str, str], *args: str, bound: float = 30) -> Run:
    """`octolint image --source registry ARGS`, with its time and peak RSS."""
    command = [sys.executable, "-m", "octolint", "image", "--source", "registry", *args]
    started = time.monotonic()
    proc, peak = run_measured(command, env=env, timeout=bound + 30)
    seconds = time.monotonic() - started
    run = Run(proc.returncode, proc.stdout, proc.stderr, seconds, peak // 1024)
    assert run.seconds < bound, f"took {run.seconds:.1f}s (bound {bound}s): {run.stderr[-500:]}"
    assert run.max_rss_kb < MAX_RSS_KB, f"peak RSS {run.max_rss_kb} KiB"
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    assert PASSWORD not in run.stderr + run.stdout
    return run


# --- point 2: credentials stay with the registry ------------------------------------------


@pytest.mark.parametrize("challenge", ["bearer-http-realm", "basic"])
def test_a_host_the_registry_redirects_to_never_gets_credentials(
    registry: Hostile, certificates: tuple[Path, Path, Path], image: Image, tmp_path: Path,
    challenge: str,
) -> None:  # fmt: skip
    """The issue's case: a blob redirected to another host that answers 401 with a
    Bearer realm on plain HTTP (or a Basic challenge)."""
    other = start("127.0.0.1", tls=certificates[1:])  # reached as "localhost": another host
    realm = start("127.0.0.2")
    ref = serve_image(registry, image)
    config = f"/v2/app/blobs/{image.config.digest}"
    registry.routes[config] = redirect(f"https://localhost:{other.netloc.split(':')[1]}/cfg")
    header = (f'Bearer realm="{realm.url}/token",service="x"' if challenge != "basic"
              else 'Basic realm="blobs"')  # fmt: skip
    other.routes["/cfg"] = lambda h: send(h, 401, b"{}", WWW_Authenticate=header)
    realm.routes["/token"] = lambda h: send(h, 200, b'{"token": "stolen"}')

    line = octolint(user_env(tmp_path, registry, certificates[0]), ref).error_line()

    assert BASIC in registry.authorizations()  # the registry itself did get them
    assert [s.path for s in other.seen] and not other.authorizations()
    assert not realm.seen
    assert f"registry {registry.netloc}, repository app: fetching blob" in line
    assert "HTTP 401 from https://localhost:" in line and "where the registry redirected" in line


def test_a_blob_redirected_to_another_host_is_fetched_without_credentials(
    registry: Hostile, certificates: tuple[Path, Path, Path], image: Image, tmp_path: Path
) -> None:
    """What registries with a blob store do: it works, and the store sees no credentials."""
    store = start("127.0.0.1", tls=certificates[1:])
    ref = serve_image(registry, image)
    port = store.netloc.split(":")[1]
    for item in image.blobs():
        registry.routes[f"/v2/app/blobs/{item.digest}"] = redirect(
            f"https://localhost:{port}/store/{item.digest}?X-Signature=abc", 302
        )
        store.routes[f"/store/{item.digest}"] = lambda h, data=item.data: send(h, 200, data)
    run = octolint(user_env(tmp_path, registry, certificates[0]), ref, "--format", "json")
    assert run.returncode in (0, 1), run.stderr
    assert json.loads(run.stdout)["findings"] is not None
    assert len(store.seen) == len(image.blobs()) and not store.authorizations()


def test_a_redirect_down_to_plain_http_is_refused(
    registry: Hostile, certificates: tuple[Path, Path, Path], image: Image, tmp_path: Path
) -> None:
    elsewhere = start("127.0.0.2")
    elsewhere.routes["*"] = lambda h: send(h, 200, image.manifest.data)
    ref = serve_image(registry, image)
    registry.routes["/v2/app/manifests/1"] = redirect(f"{elsewhere.url}/manifest", 302)
    line = octolint(user_env(tmp_path, registry, certificates[0]), ref).error_line()
    assert f"registry {registry.netloc}, repository app: fetching manifest 1:" in line
    assert f"redirected from HTTPS down to plain HTTP (http://{elsewhere.netloc}/manifest)" in line
    assert not elsewhere.seen


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/v2/app/manifests/1", "redirect loop at https://"),
        ("/loop/a", "redirect loop at https://"),
        ("/chain/0", "more than 5 redirects"),
        ("file:///etc/passwd", "to 'file:///etc/passwd': only http(s) URLs are followed"),
        ("gopher://127.0.0.1:70/x", "only http(s) URLs are followed"),
        ("http://[::1", "redirected to an invalid URL"),
        ("", "HTTP 302 redirect without a Location"),
    ],
)
def test_a_bad_redirect_is_one_clean_error(
    registry: Hostile, certificates: tuple[Path, Path, Path], image: Image, tmp_path: Path,
    location: str, expected: str,
) -> None:  # fmt: skip
    ref = serve_image(registry, image)
    registry.routes["/v2/app/manifests/1"] = redirect(location, 302)
    registry.routes["/loop/a"] = redirect("/loop/b")
    registry.routes["/loop/b"] = redirect("/loop/a")
    for n in range(20):
        registry.routes[f"/chain/{n}"] = redirect(f"/chain/{n + 1}")
    line = octolint(user_env(tmp_path, registry, certificates[0]), ref).error_line()
    assert f"registry {registry.netloc}, repository app: fetching manifest 1: " in line
    assert expected in line
    assert len(registry.seen) < 20


def _loopback_name() -> str | None:
    """A host name (not 'localhost') that /etc/hosts maps to loopback only, if any: for
    octolint it is a remote host, yet nothing can leave the machine."""
    name = socket.gethostname()
    try:
        addresses = {a[4][0] for a in socket.getaddrinfo(name, 80, proto=socket.IPPROTO_TCP)}
    except OSError:
        return None
    loopback = all(a.startswith("127.") or a == "::1" for a in addresses)
    return name if name != "localhost" and addresses and loopback else None


def test_credentials_never_go_to_a_plain_http_token_server_on_another_host(
    registry: Hostile, certificates: tuple[Path, Path, Path], image: Image, tmp_path: Path
) -> None:
    name = _loopback_name()
    if name is None:
        pytest.skip("no host name that resolves to loopback only")
    tokens = start("127.0.0.1")
    port = tokens.netloc.split(":")[1]
    ref = serve_image(registry, image)
    challenge = f'Bearer realm="http://{name}:{port}/token",service="x"'
    registry.routes["/v2/"] = lambda h: send(h, 401, b"{}", WWW_Authenticate=challenge)
    line = octolint(user_env(tmp_path, registry, certificates[0]), ref).error_line()
    assert f"the registry's token server http://{name}:{port}/token is plain HTTP" in line
    assert not tokens.seen


def test_a_token_server_on_https_gets_the_credentials(
    registry: Hostile, certificates: tuple[Path, Path, Path], image: Image, tmp_path: Path
) -> None:
    """The allowed path, so that the refusals above are refusals of something that works."""
    tokens = start("127.0.0.1", tls=certificates[1:])
    ref = serve_image(registry, image, basic=False)
    challenge = f'Bearer realm="https://localhost:{tokens.netloc.split(":")[1]}/token"'
    tokens.routes["/token"] = lambda h: send(h, 200, b'{"token": "t0k3n"}')
    for path, handler in list(registry.routes.items()):

        def bearer(h: BaseHTTPRequestHandler, handler: Handler = handler) -> None:
            if h.headers.get("Authorization") == "Bearer t0k3n":
                handler(h)
            else:
                send(h, 401, b"{}", WWW_Authenticate=challenge)

        registry.routes[path] = bearer
    run = octolint(user_env(tmp_path, registry, certificates[0]), ref, "--format", "json")
    assert run.returncode in (0, 1), run.stderr
    assert tokens.authorizations() == [BASIC]
    assert BASIC not in registry.authorizations()


# --- point 3: bounded bodies and a timeout for the whole exchange --------------------------


def _token_endless(registry: Hostile, tokens: Hostile) -> None:
    challenge = f'Bearer realm="{tokens.url}/token"'
    registry.routes["/v2/"] = lambda h: send(h, 401, b"{}", WWW_Authenticate=challenge)
    tokens.routes["/token"] = endless(200, Content_Type="application/json")


ENDLESS: dict[str, tuple[Callable[[Hostile, Hostile], None], str]] = {
    "manifest-404": (
        lambda r, _: r.routes.__setitem__("/v2/app/manifests/1", endless(404)),
        "fetching manifest 1: HTTP 404",
    ),
    "manifest-500": (
        lambda r, _: r.routes.__setitem__("/v2/app/manifests/1", endless(500)),
        "fetching manifest 1: HTTP 500",
    ),
    "v2-500": (lambda r, _: r.routes.__setitem__("/v2/", endless(500)), "connecting: HTTP 500"),
    "redirect": (
        lambda r, _: r.routes.__setitem__(
            "/v2/app/manifests/1", endless(302, Location="/v2/app/manifests/2")
        ),
        "fetching manifest 1: HTTP 404",  # a redirect's body is never read
    ),
    "v2-200": (
        lambda r, _: r.routes.__setitem__("/v2/", endless(200)),
        "fetching manifest 1: HTTP 404",  # the ping's body is never read; the tag is missing
    ),
    "token": (_token_endless, "the answer is larger than 1048576 bytes"),
}


@pytest.mark.parametrize("case", list(ENDLESS))
def test_an_endless_body_ends_at_its_cap(
    certificates: tuple[Path, Path, Path], image: Image, tmp_path: Path, case: str
) -> None:
    registry, tokens = start("127.0.0.1"), start("127.0.0.2")
    serve_image(registry, image, basic=False)
    registry.routes.pop("/v2/app/manifests/1")
    setup, expected = ENDLESS[case]
    setup(registry, tokens)
    env = user_env(tmp_path, registry, certificates[0])
    line = octolint(env, f"{registry.netloc}/app:1", "--timeout", "5").error_line()
    assert expected in line


def test_a_compressed_answer_is_capped_after_decompression(
    certificates: tuple[Path, Path, Path], image: Image, tmp_path: Path
) -> None:
    """A 1 MiB gzip body that inflates to 1 GiB, sent though octolint asks for identity."""
    registry = start("127.0.0.1")
    ref = serve_image(registry, image, basic=False)
    bomb = gzip.compress(b"\0" * (16 << 20), compresslevel=9) * 64  # 64 gzip members
    registry.routes["/v2/app/manifests/1"] = lambda h: send(
        h, 200, bomb, Content_Encoding="gzip", Content_Type=image.manifest.media_type
    )
    env = user_env(tmp_path, registry, certificates[0])
    line = octolint(env, ref).error_line()
    assert "fetching manifest 1: it is larger than 4194304 bytes" in line
    assert registry.seen[-1].path == "/v2/app/manifests/1"


def test_a_config_larger_than_one_read_is_read_whole(
    certificates: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Configs up to 32 MiB are accepted; one of 3 MiB used to be cut at the first MiB."""
    layer = tar_layer({"bin/sh": b"#!fake shell\n"}, dirs=["bin"])
    big = build_image([layer], cmd=["/bin/sh"], labels={"padding": "x" * (3 << 20)})
    registry = start("127.0.0.1")
    ref = serve_image(registry, big, basic=False)
    env = user_env(tmp_path, registry, certificates[0])
    run = octolint(env, ref, "--format", "json", "--timeout", "1e12")  # a huge timeout too
    assert run.returncode in (0, 1), run.stderr
    assert json.loads(run.stdout)["findings"] is not None


DRIPS: dict[str, tuple[str, Handler, str]] = {
    "v2-headers": ("/v2/", drip(in_headers=True), "connecting: 127.0.0.1:"),
    "manifest-body": ("/v2/app/manifests/1", drip(), "fetching manifest 1: timed out after"),
    "token-body": ("/token", drip(Content_Type="application/json"), "authenticating at"),
}


@pytest.mark.parametrize("case", list(DRIPS))
@pytest.mark.slow
def test_a_server_dripping_a_byte_every_2s_is_cut_off_at_the_timeout(
    certificates: tuple[Path, Path, Path], image: Image, tmp_path: Path, case: str
) -> None:
    registry = start("127.0.0.1")
    ref = serve_image(registry, image, basic=False)
    path, handler, expected = DRIPS[case]
    registry.routes[path] = handler
    if path == "/token":
        challenge = f'Bearer realm="{registry.url}/token"'
        registry.routes["/v2/"] = lambda h: send(h, 401, b"{}", WWW_Authenticate=challenge)
    # Expected: about 6 s on a loaded VM (the 5 s timeout); 10x that. The old per-read
    # timeout never fired: the drip lasts 200 s.
    run = octolint(user_env(tmp_path, registry, certificates[0]), ref, "--timeout", "5", bound=60)
    line = run.error_line()
    assert expected in line and "timed out" in line


@pytest.mark.slow
def test_a_layer_dripping_a_byte_every_2s_is_given_up(
    certificates: tuple[Path, Path, Path], image: Image, tmp_path: Path
) -> None:
    """A layer may take longer than --timeout while it makes progress (1 MiB per
    --timeout), not at a byte every 2 s: resumed once, then given up."""
    registry = start("127.0.0.1")
    ref = serve_image(registry, image, basic=False)
    layer = image.layers[0].digest
    registry.routes[f"/v2/app/blobs/{layer}"] = drip()
    # Expected: about 11 s on a loaded VM (two windows of 5 s and a backoff); 10x that. Two
    # whole drips would take 400 s.
    run = octolint(user_env(tmp_path, registry, certificates[0]), ref, "--timeout", "5",
                   bound=110)  # fmt: skip
    line = run.error_line()
    assert f"fetching blob {layer[:19]}: connection lost after" in line and "(timed out)" in line
    assert len([s for s in registry.seen if s.path.endswith(layer)]) == 2
