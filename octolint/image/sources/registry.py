"""Images in a registry, read through the distribution (Docker Registry v2) API.

**Transport.** HTTPS with certificate verification (``REQUESTS_CA_BUNDLE`` names the
CA bundle to trust, as everywhere with requests). For *insecure* registries, those named with
``--insecure-registry HOST[:PORT]`` and loopback ones (``localhost``, ``127.0.0.0/8``,
``::1``, as Docker treats them), HTTPS is tried first and plain HTTP is used when the
server does not speak TLS. A certificate that fails verification is an error, except
for registries named with ``--insecure-registry``, where it is accepted (as Docker does).
``docker.io`` is served by ``registry-1.docker.io``.

**Authentication.** The registry's ``WWW-Authenticate`` challenge decides: ``Bearer``
gets a token from the realm (anonymously, or with the user's credentials;
``token`` or ``access_token``), ``Basic`` sends the credentials. Credentials come from
``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``) as the Docker CLI
reads them: ``credHelpers[host]``, else ``credsStore``, run as ``docker-credential-NAME get``
with the server URL on stdin; else ``auths[host]`` (``auth`` base64 ``user:password``, or
``username``/``password``, or ``identitytoken``). Credentials and tokens never appear in
an error message or a log line: every message is scrubbed of them.

**Retries.** Connection errors, HTTP 429 and 5xx answers to GETs are retried with
exponential backoff (or after ``Retry-After`` of a 429 or 503, capped at 10 s).
``timeout`` bounds each step (one request with all its retries) and every single
network wait; a layer download as a whole may take longer, as long as data keeps
coming. A layer download that breaks off (reset, stalled, cut short) is resumed
where it stopped with a Range request, with backoff, for at most ``timeout``
seconds without progress (see ``_ResponseReader``).
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import json
import logging
import os
import re
import subprocess
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlencode, urlsplit

from octolint.errors import InputError
from octolint.image.model import Descriptor, Platform, ResolvedImage
from octolint.image.sources.base import (
    MAX_CONFIG_BYTES,
    MAX_MANIFEST_BYTES,
    DigestMismatchError,
    Fetched,
    ImageContext,
    ImageNotFoundError,
    ImageSourceError,
    check_digest_syntax,
    digest_of,
    manifest_accept_types,
    resolve_document,
    short_digest,
    verify_bytes,
)
from octolint.imageref import DOCKER_HUB, ImageRef, parse_image_ref

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"  # the key Docker stores Hub logins under
_HUB_NAMES = frozenset({DOCKER_HUB, "index.docker.io", DOCKER_HUB_API, DOCKER_HUB_SERVER})
MAX_ATTEMPTS = 5
FIRST_BACKOFF = 0.5  # seconds; doubled after each failed attempt
MAX_RETRY_AFTER = 10.0  # a Retry-After beyond this is capped (and bounded by the timeout)
MAX_RESUMES = 10  # Range requests to finish one broken blob download, in all
CHUNK = 1024 * 1024
_HELPER_PREFIX = "docker-credential-"


# --- errors ------------------------------------------------------------------------------


class RegistryError(ImageSourceError):
    """A registry step failed; names the host, the repository, the step and the status."""

    def __init__(
        self, host: str, repository: str, step: str, message: str, status: int | None = None
    ):
        super().__init__(f"registry {host}, repository {repository}", f"{step}: {message}")
        self.host = host
        self.repository = repository
        self.step = step
        self.status = status


class RegistryAuthError(RegistryError):
    """Authentication was required and failed, or access was denied."""


class RegistryNotFoundError(RegistryError, ImageNotFoundError):
    """The registry has no such repository, tag, manifest or blob (HTTP 404)."""


class CredentialsError(InputError):
    """The Docker config file or a credential helper could not give credentials."""


# --- credentials -------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """What to authenticate with; ``origin`` says where it came from (for messages)."""

    username: str = field(repr=False)
    secret: str = field(repr=False)  # a password, or an identity (refresh) token
    origin: str = ""
    identity_token: bool = False

    @property
    def secrets(self) -> list[str]:
        """Every form of the secret that could end up in text, for scrubbing."""
        pair = f"{self.username}:{self.secret}".encode()
        return [s for s in (self.secret, base64.b64encode(pair).decode()) if s]


def docker_config_path() -> Path:
    configured = os.environ.get("DOCKER_CONFIG")
    if configured:
        return Path(configured) / "config.json"
    return Path.home() / ".docker" / "config.json"


def is_docker_hub(registry: str) -> bool:
    return registry in _HUB_NAMES or _hostname(registry) in _HUB_NAMES


def api_host(registry: str) -> str:
    """The host serving the v2 API: Docker Hub's names map to registry-1.docker.io."""
    return DOCKER_HUB_API if is_docker_hub(registry) else registry


def credential_server_url(registry: str) -> str:
    """The server URL credentials are stored under (what `docker login` used)."""
    return DOCKER_HUB_SERVER if is_docker_hub(registry) else registry


def _hostname(key: str) -> str:
    """A config key as a hostname, as Docker's ConvertToHostname: no scheme, no path."""
    for scheme in ("http://", "https://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
    return key.split("/", 1)[0]


def _lookup(table: object, registry: str) -> tuple[str, Any] | None:
    """(key, value) of the entry of a config table that is for ``registry``."""
    if not isinstance(table, dict):
        return None
    hub = is_docker_hub(registry)
    for key, value in table.items():
        host = _hostname(str(key))
        if host == registry or (hub and host in _HUB_NAMES):
            return str(key), value
    return None


def find_credentials(
    registry: str, *, config_path: Path | None = None, timeout: float = 30.0
) -> Credentials | None:
    """The user's credentials for ``registry`` from the Docker config; None when none."""
    path = config_path or docker_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(str(path), f"cannot read the Docker config: {exc}") from None
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise CredentialsError(str(path), f"the Docker config is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise CredentialsError(str(path), "the Docker config is not a JSON object")
    helper = _lookup(config.get("credHelpers"), registry)
    store = helper[1] if helper else config.get("credsStore")
    if isinstance(store, str) and store:
        return _from_helper(store, credential_server_url(registry), timeout)
    entry = _lookup(config.get("auths"), registry)
    if entry is None:
        return None
    return _from_auths(entry[1], f"{path} (auths '{entry[0]}')")


def _from_auths(entry: object, origin: str) -> Credentials | None:
    if not isinstance(entry, dict):
        raise CredentialsError(origin, "the entry is not a JSON object")
    username, password = entry.get("username") or "", entry.get("password") or ""
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise CredentialsError(origin, "'auth' is not base64 of 'user:password'") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise CredentialsError(origin, "'auth' is not base64 of 'user:password'")
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return Credentials(str(username), token, origin, identity_token=True)
    if not username and not password:
        return None  # an entry with only an email, or emptied by `docker logout`
    return Credentials(str(username), str(password), origin)


def _from_helper(name: str, server_url: str, timeout: float) -> Credentials | None:
    """Run `docker-credential-NAME get` (the credential helper protocol)."""
    program = _HELPER_PREFIX + name
    try:
        proc = subprocess.run(
            [program, "get"],
            input=server_url.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise CredentialsError(program, "credential helper not found on PATH") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CredentialsError(program, f"credential helper failed: {exc}") from None
    output = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        if "credentials not found" in output.lower():
            return None
        # A helper can fail after printing its answer, so stdout is never quoted, and
        # stderr only as its first line, without anything shaped like a secret's JSON
        # nor any JSON string stdout holds (the helper may echo it there too).
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = re.sub(r'(?i)"(secret|password|token)"\s*:\s*"(?:[^"\\]|\\.)*"?',
                        r'"\1": "***"', lines[0][:4096] if lines else "")  # fmt: skip
        echoed = re.findall(r'"((?:[^"\\]|\\.){6,})"', output[:65536])  # JSON strings
        for value in sorted(echoed, key=len, reverse=True):
            detail = detail.replace(value, "***")
        reason = detail[:200] or "nothing on stderr"
        raise CredentialsError(
            program, f"credential helper failed (exit {proc.returncode}; its output is not "
            f"shown, it may hold credentials): {reason}"
        )  # fmt: skip
    try:
        answer = json.loads(output)
        username, secret = answer["Username"], answer["Secret"]
    except (ValueError, KeyError, TypeError):
        raise CredentialsError(program, "credential helper printed no valid JSON") from None
    if not isinstance(username, str) or not isinstance(secret, str) or not secret:
        return None
    origin = f"credential helper {program}"
    if username == "<token>":  # Docker's marker for an identity token
        return Credentials(username, secret, origin, identity_token=True)
    return Credentials(username, secret, origin)


# --- challenges --------------------------------------------------------------------------

_CHALLENGE_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """'Bearer realm="...",service="...",scope="..."' -> ('bearer', {...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for match in _CHALLENGE_PARAM.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


# --- the client --------------------------------------------------------------------------


def is_loopback(registry: str) -> bool:
    host = _hostname(registry)
    if host.startswith("["):  # [::1]:5000
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listed(registry: str, insecure: Iterable[str]) -> bool:
    """``registry`` (host[:port]) is named in --insecure-registry (a bare host: any port)."""
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    return any(entry in (registry, host) for entry in (_hostname(e) for e in insecure))


def _connection_reason(exc: Exception) -> str:
    """A short reason for a connection failure ('Connection refused', 'timed out')."""
    import requests

    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    text = str(exc)
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if match:
        return match.group(1).strip()
    if "CERTIFICATE_VERIFY_FAILED" in text:
        detail = re.search(r"certificate verify failed: ([^(')\]]+)", text)
        return "TLS certificate verification failed" + (
            f" ({detail.group(1).strip()})" if detail else ""
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    return type(exc).__name__


class RegistryClient:
    """A v2 API session for one repository: scheme, authentication, retries, errors."""

    def __init__(
        self,
        registry: str,
        repository: str,
        *,
        insecure_registries: Iterable[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        docker_config: Path | None = None,
    ):
        import requests  # here, not at import time: the CLI imports sources lazily anyway

        self.registry = registry
        self.repository = repository
        self.host = api_host(registry)
        self.timeout = timeout
        self.docker_config = docker_config
        self._explicitly_insecure = _listed(registry, insecure_registries)
        self._may_use_http = self._explicitly_insecure or is_loopback(registry)
        self._verify = True
        self._base: str | None = None
        self._auth: str | None = None  # the Authorization header value
        self._credentials: Credentials | None = None
        self._credentials_loaded = False
        self._secrets: list[str] = []
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "octolint"

    # ---- errors, scrubbed of secrets

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def error(
        self,
        step: str,
        message: str,
        status: int | None = None,
        cls: type[RegistryError] = RegistryError,
    ) -> RegistryError:
        return cls(self.registry, self.repository, step, self._scrub(message), status)

    def _status_error(self, response: requests.Response, step: str) -> RegistryError:
        status = response.status_code
        detail = self._scrub(_registry_error_detail(response))
        text = f"HTTP {status} {response.reason or ''}".rstrip() + (
            f" ({detail})" if detail else ""
        )
        if status == 401:
            return self.error(step, f"{text}; {self._auth_advice()}", status, RegistryAuthError)
        if status == 403:
            return self.error(step, f"{text}: access denied", status, RegistryAuthError)
        if status == 404:
            return self.error(step, text, status, RegistryNotFoundError)
        return self.error(step, text, status)

    def _auth_advice(self) -> str:
        if self._credentials is None:
            return (
                f"the registry requires authentication and no credentials for {self.registry} "
                f"were found in {self.docker_config or docker_config_path()} "
                f"(run `docker login {self.registry}`)"
            )
        return f"the registry refused the credentials from {self._credentials.origin}"

    # ---- HTTP with retries

    def _request(
        self,
        method: str,
        url: str,
        step: str,
        *,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        retry: bool = True,
        auth: tuple[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One logical request: retried on connection errors, 429 and 5xx (GETs only)."""
        import requests

        deadline = time.monotonic() + self.timeout
        backoff = FIRST_BACKOFF
        idempotent = method in ("GET", "HEAD")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            remaining = max(deadline - time.monotonic(), 0.1)
            try:
                response = self._send(
                    method,
                    url,
                    headers=dict(headers or {}),
                    stream=stream,
                    auth=auth,
                    data=data,
                    verify=self._verify,
                    timeout=(remaining, self.timeout),  # (connect, each read)
                )
            except requests.exceptions.SSLError:
                raise  # permanent; the caller decides (plain HTTP fallback or an error)
            except (requests.ConnectionError, requests.Timeout) as exc:
                wait = backoff
                if not retry or attempt == MAX_ATTEMPTS or time.monotonic() + wait >= deadline:
                    raise self.error(
                        step, f"cannot reach {self.host}: {_connection_reason(exc)}"
                    ) from None
                log.debug("%s %s: %s; retrying in %.1fs", method, url, type(exc).__name__, wait)
            else:
                log.debug("%s %s -> %s", method, url, response.status_code)
                transient = response.status_code == 429 or response.status_code >= 500
                if not (transient and idempotent and retry) or attempt == MAX_ATTEMPTS:
                    return response
                wait = _retry_after(response, backoff)
                if time.monotonic() + wait >= deadline:
                    return response  # no time left to wait: the caller reports this status
                response.close()
                log.debug("retrying %s in %.1fs", url, wait)
            time.sleep(wait)
            backoff *= 2
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt

    def _send(self, method: str, url: str, **options: Any) -> requests.Response:
        if self._verify:
            return self._session.request(method, url, **options)
        # --insecure-registry asked for this; urllib3 would warn on every request.
        import urllib3

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            return self._session.request(method, url, **options)

    def _base_url(self) -> str:
        """The scheme and host to use, found with a ping of /v2/ (which also authenticates)."""
        if self._base is None:
            self._ping()
        assert self._base is not None
        return self._base

    def _ping(self) -> None:
        https, http = f"https://{self.host}", f"http://{self.host}"
        response = None if self._plain_http_only(https) else self._https_ping(https)
        base = https
        if response is None:
            response, base = self._request("GET", f"{http}/v2/", "connecting"), http
        with response:
            self._check_ping(response, base, "connecting")
        self._base = base  # only now: what is not reachable is pinged again next time

    def _plain_http_only(self, https: str) -> bool:
        """True when a loopback registry does not speak TLS, found with a bare handshake.

        Performance only: that takes about 1 ms, where the verified HTTPS ping that
        _https_ping would try first costs 25-40 ms (loading the CA bundle), a tenth
        of a warm scan, only to fail and fall back to HTTP. The outcome is the same:
        for a loopback host, any failure of the HTTPS ping leads to plain HTTP. A
        server that completes the handshake, or a proxied host, goes the usual way.
        """
        import socket
        import ssl

        import requests

        if not is_loopback(self.registry) or requests.utils.get_environ_proxies(https):
            return False
        try:
            address = urlsplit(https)
            host, port = address.hostname or "localhost", address.port or 443
        except ValueError:  # a port out of range: let the usual path report it
            return False
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False  # only "does it speak TLS?": nothing is sent
        context.verify_mode = ssl.CERT_NONE
        try:
            with socket.create_connection((host, port), timeout=self.timeout) as sock:
                context.wrap_socket(sock, server_hostname=host).close()
            return False
        except OSError:  # ssl.SSLError included: an HTTP answer, a reset, a refusal
            return True

    def _https_ping(self, base: str) -> requests.Response | None:
        """GET https://HOST/v2/; None when plain HTTP should be tried instead."""
        import requests

        try:
            # An insecure registry that refuses HTTPS connections most likely speaks HTTP
            # only: no point retrying HTTPS then.
            return self._request("GET", f"{base}/v2/", "connecting", retry=not self._may_use_http)
        except requests.exceptions.SSLError as exc:
            reason = _connection_reason(exc)
            if "certificate" in reason and self._explicitly_insecure:
                self._verify = False  # what --insecure-registry asks for, as with Docker
                log.info("%s: TLS certificate not verified (--insecure-registry)", self.registry)
                return self._https_ping(base)
            if "certificate" not in reason and self._may_use_http:
                return None  # the server does not speak TLS
            advice = "trust its CA with REQUESTS_CA_BUNDLE, or pass --insecure-registry"
            raise self.error(
                "connecting", f"{reason} for {base} ({advice} {self.registry})"
            ) from None
        except RegistryError:
            if not self._may_use_http:
                raise
            return None

    def _check_ping(self, response: requests.Response, base: str, step: str) -> None:
        if response.status_code == 401:
            self._authenticate(response, "authenticating")
        elif response.status_code == 404:
            raise self.error(step, f"{base}/v2/ answers HTTP 404: not a registry (v2 API)", 404)
        elif response.status_code >= 400:
            raise self._status_error(response, step)

    # ---- authentication

    def _load_credentials(self) -> Credentials | None:
        if not self._credentials_loaded:
            self._credentials = find_credentials(
                self.registry, config_path=self.docker_config, timeout=self.timeout
            )
            self._credentials_loaded = True
            if self._credentials is not None:
                self._secrets.extend(self._credentials.secrets)
        return self._credentials

    def _authenticate(self, response: requests.Response, step: str) -> None:
        """Answer a 401's challenge: fetch a token (Bearer) or send credentials (Basic)."""
        header = response.headers.get("WWW-Authenticate", "")
        scheme, params = parse_challenge(header)
        credentials = self._load_credentials()
        if scheme == "bearer":
            token = self._fetch_token(params, credentials, step)
            self._secrets.append(token)
            self._auth = f"Bearer {token}"
        elif scheme == "basic":
            if credentials is None or credentials.identity_token:
                raise self._status_error(response, step)
            pair = f"{credentials.username}:{credentials.secret}".encode()
            self._auth = "Basic " + base64.b64encode(pair).decode()
        else:
            raise self.error(
                step,
                f"HTTP 401 with an unsupported challenge '{scheme or 'none'}'",
                401,
                RegistryAuthError,
            )

    def _fetch_token(
        self, params: dict[str, str], credentials: Credentials | None, step: str
    ) -> str:
        realm = params.get("realm", "")
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise self.error(
                step,
                f"the registry's Bearer challenge has no valid realm ('{realm[:100]}')",
                401,
                RegistryAuthError,
            )
        query = {"scope": f"repository:{self.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        step = f"{step} at {parts.netloc}"
        if credentials is not None and credentials.identity_token:
            form = {
                **query,
                "grant_type": "refresh_token",
                "refresh_token": credentials.secret,
                "client_id": "octolint",
            }
            response = self._request("POST", realm, step, data=form, retry=False)
        else:
            auth = (credentials.username, credentials.secret) if credentials else None
            url = realm + ("&" if parts.query else "?") + urlencode(query)
            response = self._request("GET", url, step, auth=auth)
        with response:
            if response.status_code in (401, 403):
                raise self.error(
                    step,
                    f"HTTP {response.status_code}; {self._auth_advice()}",
                    response.status_code,
                    RegistryAuthError,
                )
            if response.status_code != 200:
                raise self._status_error(response, step)
            try:
                answer = response.json()
                token = answer.get("token") or answer.get("access_token")
            except (ValueError, AttributeError):
                token = None
        if not isinstance(token, str) or not token:
            raise self.error(
                step, "the token server's answer holds no token", None, RegistryAuthError
            )
        return token

    # ---- API calls

    def get(
        self,
        path: str,
        step: str,
        *,
        accept: str | None = None,
        stream: bool = False,
        offset: int = 0,
    ) -> requests.Response:
        """GET /v2/<repository>/<path>, authenticated; a RegistryError unless HTTP 200
        (or 206 for a request from ``offset`` > 0, which asks for a byte range)."""
        url = f"{self._base_url()}/v2/{self.repository}/{path}"
        for attempt in (1, 2):
            headers = {"Accept": accept} if accept else {}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            if self._auth:
                headers["Authorization"] = self._auth
            response = self._request("GET", url, step, headers=headers, stream=stream)
            if response.status_code == 401 and attempt == 1:
                # First contact with this scope, or an expired token: answer the challenge once.
                with response:
                    self._authenticate(response, "authenticating")
                continue
            if response.status_code not in ((200, 206) if offset else (200,)):
                with response:
                    raise self._status_error(response, step)
            return response
        raise AssertionError("unreachable")

    def resume(self, path: str, step: str, offset: int) -> Iterator[bytes]:
        """The body of GET ``path`` from byte ``offset`` on (a Range request; from a
        server that ignores ranges, the whole body with the first bytes skipped)."""
        response = self.get(path, step, stream=True, offset=offset)
        chunks = response.iter_content(chunk_size=CHUNK)
        if response.status_code == 206:
            given = response.headers.get("Content-Range", "")
            if not given.startswith(f"bytes {offset}-"):
                response.close()
                raise self.error(step, f"asked for bytes {offset}- but got '{given[:60]}'")
            return chunks
        return _skip(chunks, offset)

    def fetch_manifest(self, reference: str) -> Fetched:
        """A manifest or index by tag or digest; verified when fetched by digest."""
        step = f"fetching manifest {short_digest(reference) if ':' in reference else reference}"
        with self.get(
            f"manifests/{reference}", step, accept=manifest_accept_types(), stream=True
        ) as response:
            data = self._read_limited(response, MAX_MANIFEST_BYTES, step)
            media_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
            served_digest = response.headers.get("Docker-Content-Digest", "")
        where = f"registry {self.registry}, repository {self.repository}"
        if ":" in reference:
            verify_bytes(
                data,
                check_digest_syntax(reference, where),
                f"manifest {short_digest(reference)}",
                where,
            )
            return Fetched(data, media_type, reference)
        digest = digest_of(data)
        if served_digest.startswith("sha256:") and served_digest != digest:
            raise DigestMismatchError(
                where,
                f"{step}: the manifest does not match the digest the registry states "
                f"({short_digest(served_digest)})",
            )
        return Fetched(data, media_type, digest)

    def fetch_blob(self, digest: str, limit: int) -> bytes:
        """A small blob (a config) in memory; its verification is the caller's."""
        step = f"fetching blob {short_digest(digest)}"
        with self.get(f"blobs/{digest}", step, stream=True) as response:
            return self._read_limited(response, limit, step)

    @contextmanager
    def open_blob(self, digest: str) -> Iterator[BinaryIO]:
        step = f"fetching blob {short_digest(digest)}"
        path = f"blobs/{digest}"
        response = self.get(path, step, stream=True)
        with response:
            reader = _ResponseReader(response, self, step, resume=path)
            yield io.BufferedReader(reader, CHUNK)

    def _read_limited(self, response: requests.Response, limit: int, step: str) -> bytes:
        reader = _ResponseReader(response, self, step)
        data = reader.read(limit + 1)
        if len(data) > limit:
            raise self.error(step, f"larger than {limit} bytes: refusing to read it")
        return data

    def close(self) -> None:
        self._session.close()


def _retry_after(response: requests.Response, backoff: float) -> float:
    """Seconds to wait before retrying: Retry-After (seconds or a date) of a 429 or 503, capped."""
    value = response.headers.get("Retry-After", "").strip()
    if response.status_code not in (429, 503) or not value:
        return backoff
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return backoff
    return min(max(when - time.time(), 0.0), MAX_RETRY_AFTER)


def _registry_error_detail(response: requests.Response) -> str:
    """'MANIFEST_UNKNOWN: manifest unknown' from a registry's JSON error body, if any."""
    try:
        first = json.loads(response.content[:65536])["errors"][0]
        return f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")
    except Exception:  # no JSON, another shape, a broken connection: the status is enough
        return ""


def _skip(chunks: Iterator[bytes], count: int) -> Iterator[bytes]:
    """``chunks`` without their first ``count`` bytes."""
    for chunk in chunks:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:]
        count = 0


class _ResponseReader(io.RawIOBase):
    """A streamed response body as a file; errors become RegistryErrors naming the step.

    With ``resume`` (the API path of a blob), a download that breaks off (reset,
    stalled longer than the timeout, cut short) continues where it stopped with a
    Range request, after a backoff, up to MAX_ATTEMPTS times in a row, MAX_RESUMES
    times in all, and for at most ``timeout`` seconds without progress. That is safe:
    the blob is verified against its digest as it is read, so a resumed download that
    does not fit is rejected.
    """

    def __init__(self, response: requests.Response, client: RegistryClient, step: str,
                 *, resume: str | None = None):  # fmt: skip
        self._chunks: Iterator[bytes] = response.iter_content(chunk_size=CHUNK)
        self._pending = b""
        self._client = client
        self._step = step
        self._count = 0
        self._resume = resume
        self._failures = 0  # in a row, without a byte in between
        self._resumes = 0  # in all: a server that always breaks off soon cannot loop us
        self._stalled_since = 0.0

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bytes:
        import requests

        while True:
            try:
                chunk = next(self._chunks, b"")
            except (requests.RequestException, OSError) as exc:
                self._recover(_connection_reason(exc))
                continue
            if chunk:
                self._failures = 0
            return chunk

    def _recover(self, reason: str) -> None:
        """Resume after a break, or raise the error that names it."""
        now = time.monotonic()
        if self._failures == 0:
            self._stalled_since = now
        self._failures += 1
        wait = FIRST_BACKOFF * 2 ** (self._failures - 1)
        out_of_time = now + wait - self._stalled_since >= self._client.timeout
        self._resumes += 1
        exhausted = self._failures >= MAX_ATTEMPTS or self._resumes > MAX_RESUMES
        if self._resume is None or exhausted or out_of_time:
            raise self._client.error(
                self._step, f"connection lost after {self._count} bytes ({reason})"
            )
        log.debug("%s: connection lost after %d bytes (%s); resuming in %.1fs",
                  self._step, self._count, reason, wait)  # fmt: skip
        time.sleep(wait)
        self._chunks = self._client.resume(self._resume, self._step, self._count)

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            self._pending = self._next_chunk()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self._count += size
        return size


# --- the source --------------------------------------------------------------------------


class RegistrySource:
    """An ImageSource for a reference in a registry."""

    kind = "registry"

    def __init__(
        self,
        ref: str | ImageRef,
        *,
        insecure_registries: Iterable[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        docker_config: Path | None = None,
    ):
        parsed = parse_image_ref(ref) if isinstance(ref, str) else ref
        if parsed is None:
            raise ImageNotFoundError(str(ref), "not a valid image reference")
        self.ref = parsed
        self.description = f"registry {parsed.registry}"
        self.client = RegistryClient(
            parsed.registry,
            parsed.repository,
            insecure_registries=insecure_registries,
            timeout=timeout,
            docker_config=docker_config,
        )

    def _display_ref(self) -> str:
        ref = self.ref
        if ref.tag or ref.digest:
            return str(ref)
        return f"{ref}:latest"

    def resolve(
        self, platform: Platform | None = None, all_platforms: bool = False
    ) -> list[ResolvedImage]:
        # A digest wins over a tag (name:tag@digest), as with docker pull.
        top = self.client.fetch_manifest(self.ref.digest or self.ref.tag or "latest")
        ctx = ImageContext(
            reference=self._display_ref(),
            source=self.kind,
            where=f"registry {self.ref.registry}, repository {self.ref.repository}",
            description=self.description,
            fetch_manifest=lambda d: self.client.fetch_manifest(d.digest),
            fetch_config=lambda d: self.client.fetch_blob(d.digest, MAX_CONFIG_BYTES),
        )
        return resolve_document(top, ctx, platform, all_platforms)

    def open_blob(
        self, image: ResolvedImage, layer: Descriptor
    ) -> AbstractContextManager[BinaryIO]:
        return self.client.open_blob(layer.digest)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RegistrySource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
