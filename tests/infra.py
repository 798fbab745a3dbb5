"""Real test infrastructure on 127.0.0.1: registries, a token server, a Docker engine.

Session fixtures start each component once, on a random free port with its own temp
dir, and stop it at the end of the session:

- ``plain_registry``: Debian's ``docker-registry`` (distribution 2.x), no auth, HTTP;
- ``basic_registry``: the same with htpasswd basic auth (bcrypt hash: the ``bcrypt``
  package, else ``htpasswd`` from apache2-utils);
- ``tls_registry``: HTTPS with a certificate from a throw-away CA made with ``openssl``
  (``tls_registry.ca_bundle``; tests pass it as ``REQUESTS_CA_BUNDLE``);
- ``token_registry``: a token server and an auth-enforcing reverse proxy (both
  ``http.server`` threads) in front of ``plain_registry``: the proxy answers 401 with a
  ``Bearer`` challenge unless the request carries a token the token server issued for
  that repository; repositories under ``private/`` need basic credentials at the token
  server; for repositories with ``oauth`` in their name it answers ``access_token``;
- ``fault_proxy`` (function scope): a pass-through proxy to ``plain_registry`` that
  injects failures (statuses, truncated or altered bodies) for matching paths;
- ``docker_engine``: ``dockerd`` with its own socket, data root and exec root (vfs, no
  networking), ``DOCKER_HOST``-style address in ``docker_engine.host``.

A component that cannot start (binary missing, not root for dockerd) makes the tests
that need it skip with the reason, or fail when ``OCTOLINT_REQUIRE_INFRA=1`` (CI).
Registered for every test by ``conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import imagebuild
import pytest
import requests

REQUIRE_INFRA = os.environ.get("OCTOLINT_REQUIRE_INFRA") == "1"
START_TIMEOUT = 30.0
TEST_USER = "octo"
TEST_PASSWORD = "s3cret-Pa55-" + "x" * 8  # tests check it never shows up in messages
TOKEN_SERVICE = "octolint-test-registry"


def unavailable(reason: str) -> None:
    """Skip the test, or fail it when CI requires the infrastructure."""
    if REQUIRE_INFRA:
        pytest.fail(f"test infrastructure unavailable (OCTOLINT_REQUIRE_INFRA=1): {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(
    check: Callable[[], bool], timeout: float, process: subprocess.Popen[bytes] | None = None
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if check():
                return True
        except Exception:  # not up yet
            pass
        time.sleep(0.1)
    return False


def _stop(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL to the process group it leads (started with a new session)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- docker-registry ---------------------------------------------------------------------


@dataclass
class Registry:
    host: str  # "127.0.0.1:PORT": what image references name
    url: str  # "http://127.0.0.1:PORT" or https
    auth: tuple[str, str] | None = None
    ca_bundle: Path | None = None
    workdir: Path | None = None

    def ref(self, repository: str, tag: str = "latest") -> str:
        return f"{self.host}/{repository}:{tag}"

    def push(self, repository: str, tag: str, target: imagebuild.Target) -> str:
        verify: bool | str = str(self.ca_bundle) if self.ca_bundle else True
        return imagebuild.push(self.url, repository, tag, target, auth=self.auth, verify=verify)


def hash_password(password: str) -> str | None:
    """A bcrypt hash for htpasswd (the only kind distribution accepts); None if no tool."""
    try:
        import bcrypt

        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    except ImportError:
        pass
    htpasswd = shutil.which("htpasswd")
    if htpasswd:
        out = subprocess.run(
            [htpasswd, "-nbBC", "5", "x", password],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        return out.strip().split(":", 1)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import crypt  # Python < 3.13, where libcrypt knows bcrypt ($2b$)

            hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))
            return hashed if hashed and hashed.startswith("$2") else None
        except (ImportError, AttributeError, ValueError):
            return None


def start_registry(
    workdir: Path, *, htpasswd: Path | None = None, tls: tuple[Path, Path] | None = None
) -> tuple[Registry, subprocess.Popen[bytes]] | str:
    """Start docker-registry; (registry, process), or the reason it could not start."""
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not os.access(binary, os.X_OK):
        return "docker-registry not installed (Debian package docker-registry)"
    workdir.mkdir(parents=True, exist_ok=True)
    started: tuple[Registry, subprocess.Popen[bytes]] | str = ""
    for _ in range(3):  # the free port may be taken before the registry binds it
        started = _start_registry_once(binary, workdir, htpasswd, tls)
        if not isinstance(started, str) or "address already in use" not in started:
            break
    return started


def _start_registry_once(
    binary: str, workdir: Path, htpasswd: Path | None, tls: tuple[Path, Path] | None
) -> tuple[Registry, subprocess.Popen[bytes]] | str:
    port = free_port()
    http: dict[str, Any] = {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)}
    if tls:
        http["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
    config: dict[str, Any] = {
        "version": "0.1",
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(workdir / "data")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": http,
    }
    if htpasswd:
        config["auth"] = {"htpasswd": {"realm": "octolint-test", "path": str(htpasswd)}}
    config_path = workdir / "config.yml"
    config_path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    log_path = workdir / "registry.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, "serve", str(config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    scheme = "https" if tls else "http"
    registry = Registry(f"127.0.0.1:{port}", f"{scheme}://127.0.0.1:{port}", workdir=workdir)
    verify: bool | str = str(tls[0].parent / "ca.crt") if tls else True

    def answers() -> bool:
        status = requests.get(f"{registry.url}/v2/", timeout=2, verify=verify).status_code
        return status in (200, 401)

    if not _wait_until(answers, START_TIMEOUT, process):
        _stop(process)
        return f"docker-registry did not start:\n{_log_tail(log_path)}"
    return registry, process


@pytest.fixture(scope="session")
def plain_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    started = start_registry(tmp_path_factory.mktemp("registry-plain"))
    if isinstance(started, str):
        unavailable(started)
        return
    registry, process = started
    yield registry
    _stop(process)


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("registry-basic")
    hashed = hash_password(TEST_PASSWORD)
    if hashed is None:
        unavailable("no bcrypt: pip install bcrypt, or apt-get install apache2-utils")
        return
    htpasswd = workdir / "htpasswd"
    htpasswd.write_text(f"{TEST_USER}:{hashed}\n")
    started = start_registry(workdir, htpasswd=htpasswd)
    if isinstance(started, str):
        unavailable(started)
        return
    registry, process = started
    registry.auth = (TEST_USER, TEST_PASSWORD)
    yield registry
    _stop(process)


def make_certificates(directory: Path) -> tuple[Path, Path, Path] | str:
    """(ca.crt, server.crt, server.key) for 127.0.0.1 and localhost, made with openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return "openssl not installed"
    directory.mkdir(parents=True, exist_ok=True)
    ca_crt, ca_key = directory / "ca.crt", directory / "ca.key"
    crt, key, csr = directory / "server.crt", directory / "server.key", directory / "server.csr"
    extensions = directory / "server.ext"
    extensions.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    commands = [
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            ca_key,
            "-out",
            ca_crt,
            "-days",
            "2",
            "-subj",
            "/CN=octolint test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        [
            openssl,
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            csr,
            "-subj",
            "/CN=localhost",
        ],
        [
            openssl,
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca_crt,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            crt,
            "-days",
            "2",
            "-extfile",
            extensions,
        ],
    ]
    for command in commands:
        done = subprocess.run([str(c) for c in command], capture_output=True, timeout=60)
        if done.returncode != 0:
            return f"openssl failed: {done.stderr.decode(errors='replace')[-500:]}"
    return ca_crt, crt, key


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("registry-tls")
    certificates = make_certificates(workdir / "certs")
    if isinstance(certificates, str):
        unavailable(certificates)
        return
    ca_crt, crt, key = certificates
    started = start_registry(workdir, tls=(crt, key))
    if isinstance(started, str):
        unavailable(started)
        return
    registry, process = started
    registry.ca_bundle = ca_crt
    yield registry
    _stop(process)


# --- token server and proxies (http.server threads) --------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client never blocks shutdown
    owner: Any


def _serve(handler: type[BaseHTTPRequestHandler], owner: Any) -> _Server:
    server = _Server(("127.0.0.1", 0), handler)
    server.owner = owner
    server.timeout = 10
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    ).start()
    return server


def _basic_user(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


@dataclass
class TokenServer:
    """Issues bearer tokens: anonymously for public repositories, with credentials for private/."""

    username: str = TEST_USER
    password: str = TEST_PASSWORD
    refresh_token: str = "refresh-" + secrets.token_hex(8)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> repository
    requests_seen: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: _Server | None = None

    @property
    def realm(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def issue(
        self, params: dict[str, str], user: tuple[str, str] | None, grant: str | None
    ) -> tuple[int, dict[str, Any]]:
        scope = params.get("scope", "")
        match = re.fullmatch(r"repository:([^:]+):pull", scope)
        if params.get("service") != TOKEN_SERVICE or not match:
            return 400, {"errors": [{"code": "INVALID_REQUEST"}]}
        repository = match.group(1)
        authenticated = user == (self.username, self.password) or grant == self.refresh_token
        if (user is not None or grant is not None) and not authenticated:
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]}
        if repository.startswith("private/") and not authenticated:
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
        token = "tok-" + secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = repository
        key = "access_token" if "oauth" in repository else "token"
        return 200, {key: token, "expires_in": 300}


class _TokenHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        owner: TokenServer = self.server.owner  # type: ignore[attr-defined]
        params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        user = _basic_user(self.headers.get("Authorization"))
        owner.requests_seen.append(
            {"method": "GET", "params": params, "user": user[0] if user else None}
        )
        self._answer(*owner.issue(params, user, None))

    def do_POST(self) -> None:
        owner: TokenServer = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        owner.requests_seen.append({"method": "POST", "params": form, "user": None})
        if form.get("grant_type") != "refresh_token":
            self._answer(400, {"error": "unsupported_grant_type"})
            return
        self._answer(*owner.issue(form, None, form.get("refresh_token")))


@dataclass
class Fault:
    """Applied to the next ``count`` requests whose path matches ``pattern``.

    Actions: "status" (answer ``status``, with ``retry_after``), "truncate" (half the
    body, then close), "reset" (half the body, then a TCP reset), "append" (a space
    after the body), "corrupt" (one byte of the body changed: same size, other digest),
    "slow" (wait ``delay`` seconds before answering), "stall" (half the body, then wait
    ``delay`` seconds before the rest), "expire" (a 401 Bearer challenge, as for an
    expired token; only on a proxy with a token server).
    """

    pattern: str
    action: str
    status: int = 503
    retry_after: str | None = None
    count: int = 1
    delay: float = 0.0


@dataclass
class Proxy:
    """A reverse proxy to a registry, optionally demanding tokens and injecting faults."""

    upstream: Registry
    tokens: TokenServer | None = None
    faults: list[Fault] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # "GET /v2/..." per request
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: _Server | None = None

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def ref(self, repository: str, tag: str = "latest") -> str:
        return f"{self.host}/{repository}:{tag}"

    def add_fault(self, pattern: str, action: str, **options: Any) -> Fault:
        fault = Fault(pattern, action, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and re.search(fault.pattern, path):
                    fault.count -= 1
                    return fault
        return None

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


_FORWARDED_HEADERS = (
    "content-type", "docker-content-digest", "location", "etag", "content-range", "accept-ranges",
)  # fmt: skip


class _ProxyHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _challenge(self, owner: Proxy, repository: str | None) -> None:
        assert owner.tokens is not None
        scope = f',scope="repository:{repository}:pull"' if repository else ""
        body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
        self.send_response(401)
        self.send_header(
            "WWW-Authenticate",
            f'Bearer realm="{owner.tokens.realm}",service="{TOKEN_SERVICE}"{scope}',
        )
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self, owner: Proxy, repository: str | None) -> bool:
        if owner.tokens is None:
            return True
        header = self.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        granted = owner.tokens.tokens.get(token)
        return granted is not None and (repository is None or granted == repository)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        owner: Proxy = self.server.owner  # type: ignore[attr-defined]
        owner.seen.append(f"{self.command} {self.path}")
        match = re.match(r"^/v2/(.+?)/(manifests|blobs|tags)/", self.path)
        repository = match.group(1) if match else None
        if not self._authorized(owner, repository):
            self._challenge(owner, repository)
            return
        fault = owner.take_fault(self.path)
        if fault is not None and fault.action == "expire" and owner.tokens is not None:
            self._challenge(owner, repository)
            return
        if fault is not None and fault.action == "slow":
            time.sleep(fault.delay)
        if fault is not None and fault.action == "status":
            self.send_response(fault.status)
            if fault.retry_after is not None:
                self.send_header("Retry-After", fault.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._forward(owner, fault)

    def _forward(self, owner: Proxy, fault: Fault | None) -> None:
        upstream = owner.upstream.host.split(":")
        connection = http.client.HTTPConnection(upstream[0], int(upstream[1]), timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")}
            connection.request(self.command, self.path, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            if fault is not None and fault.action == "append":
                body += b" "
            if fault is not None and fault.action == "corrupt" and body:
                middle = len(body) // 2
                body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() in _FORWARDED_HEADERS:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if fault is not None and fault.action in ("truncate", "reset", "stall"):
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                if fault.action == "stall":
                    time.sleep(fault.delay)
                    self.wfile.write(body[len(body) // 2 :])
                    return
                if fault.action == "reset":  # close with RST, not FIN: "connection reset"
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                self.close_connection = True
                return
            self.wfile.write(body)
        finally:
            connection.close()


def start_proxy(upstream: Registry, tokens: TokenServer | None = None) -> Proxy:
    proxy = Proxy(upstream, tokens)
    proxy.server = _serve(_ProxyHandler, proxy)
    return proxy


@pytest.fixture(scope="session")
def token_registry(plain_registry: Registry) -> Iterator[Proxy]:
    """The plain registry behind a Bearer-token proxy (see the module docstring)."""
    tokens = TokenServer()
    tokens.server = _serve(_TokenHandler, tokens)
    proxy = start_proxy(plain_registry, tokens)
    yield proxy
    proxy.close()
    tokens.server.shutdown()
    tokens.server.server_close()


@pytest.fixture
def fault_proxy(plain_registry: Registry) -> Iterator[Proxy]:
    """A pass-through proxy to the plain registry; append Fault()s to ``.faults``."""
    proxy = start_proxy(plain_registry)
    yield proxy
    proxy.close()


# --- dockerd -----------------------------------------------------------------------------


@dataclass
class DockerEngine:
    host: str  # "unix:///tmp/.../docker.sock": the DOCKER_HOST value
    client: Any  # docker.DockerClient

    def load(self, archive: bytes) -> None:
        """`docker load` of a docker-archive (raises on an error the engine reports)."""
        for message in self.client.api.load_image(archive):
            if isinstance(message, dict) and message.get("error"):
                raise RuntimeError(f"docker load failed: {message['error']}")


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        unavailable("dockerd not installed (Debian package docker.io)")
        return
    if os.geteuid() != 0:
        unavailable("dockerd needs root")
        return
    try:
        import docker
    except ImportError:
        unavailable("the docker Python package is not installed")
        return
    # A short directory: a unix socket path must stay under 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="octolint-dockerd-", dir="/tmp"))
    socket_path = root / "docker.sock"
    log_path = root / "dockerd.log"
    command = [
        dockerd,
        "--host",
        f"unix://{socket_path}",
        "--data-root",
        str(root / "data"),
        "--exec-root",
        str(root / "exec"),
        "--pidfile",
        str(root / "docker.pid"),
        "--storage-driver=vfs",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--log-level=warn",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    host = f"unix://{socket_path}"
    clients: list[Any] = []

    def answers() -> bool:
        client = docker.DockerClient(base_url=host, timeout=5)
        clients.append(client)
        return bool(client.ping())

    try:
        if not _wait_until(answers, 60, process):
            _stop(process)
            unavailable(f"dockerd did not start:\n{_log_tail(log_path)}")
            return
        # Loading a 60 MB layer with vfs takes far longer than the ping timeout.
        working = docker.DockerClient(base_url=host, timeout=300)
        clients.append(working)
        yield DockerEngine(host, working)
    finally:
        for client in clients:
            client.close()
        _stop(process, grace=30)
        shutil.rmtree(root, ignore_errors=True)
