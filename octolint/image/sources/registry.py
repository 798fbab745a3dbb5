"""Images in a registry, read through the distribution (Docker Registry v2) API.

**Transport.** HTTPS with certificate verification (``REQUESTS_CA_BUNDLE`` names the
CA bundle to trust, as everywhere with requests). For *insecure* registries, those named with
``--insecure-registry HOST[:PORT]`` and loopback ones (``localhost``, ``127.0.0.0/8``,
``::1``, as Docker treats them), HTTPS is tried first and plain HTTP is used when the
server does not speak TLS. A certificate that fails verification is an error, except
for registries named with ``--insecure-registry``, where it is accepted (as Docker does).
``docker.io`` is served by ``registry-1.docker.io``.

**Redirects** are followed by the client itself, at most MAX_REDIRECTS per request:
to ``http(s)`` URLs only, never from HTTPS down to plain HTTP, and a loop is an error.
The ``Authorization`` header goes to the origin (scheme, host, port) of the request
only; a host the registry redirects to (a blob store) never gets it.

**Authentication.** Only a 401 from the registry's own origin is answered; one from a
host it redirected to is an error. The ``WWW-Authenticate`` challenge decides: ``Bearer``
gets a token from the realm (anonymously, or with the user's credentials;
``token`` or ``access_token``), ``Basic`` sends the credentials. A realm gets the
credentials over HTTPS, or over plain HTTP only when it is a loopback host, a host
named with ``--insecure-registry``, or the insecure registry's own host. Credentials
come from ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``) as the
Docker CLI reads them: ``credHelpers[host]``, else ``credsStore``, run as
``docker-credential-NAME get`` with the server URL on stdin; else ``auths[host]``
(``auth`` base64 ``user:password``, or ``username``/``password``, or
``identitytoken``). Credentials and tokens never appear in an error message or a log
line: every message is scrubbed of them.

**Bounds.** Every body is streamed and read up to a cap for its kind: an error's
body MAX_ERROR_BYTES (only its first JSON error is shown), a token server's answer
MAX_TOKEN_BYTES, a manifest MAX_MANIFEST_BYTES, a config MAX_CONFIG_BYTES; the body
of /v2/ and of a redirect is never read. ``timeout`` bounds each step as a whole
(connecting, redirects, retries, the token it needs, and reading the answer), with
a deadline that shuts the sockets down (see ``transport``): per-read timeouts alone
let a server that drips a byte at a time hold a read forever. A layer download may
take longer: the request must be answered within ``timeout``, then each further
MIN_PROGRESS (1 MiB) must arrive within ``timeout`` of the previous one.

**Retries.** Connection errors, HTTP 429 and 5xx answers to GETs are retried with
exponential backoff (or after ``Retry-After`` of a 429 or 503, capped at 10 s),
within the step's ``timeout``; not the connection errors a retry would meet again
(an unknown host, nothing listening, no route: ``_lasting``), nor certificate
errors and 401/403/404, which fail at once. On a terminal, a wait longer than a
second shows what is awaited (``octolint.progress.waiting``). A layer download
that breaks off (reset, stalled, too slow, cut short) is resumed where it stopped
with a Range request, with backoff, for at most ``timeout`` seconds without
progress (see ``_ResponseReader``).
"""

from __future__ import annotations

import base64
import binascii
import errno
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
from urllib.parse import urlencode, urljoin, urlsplit

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

    from octolint.image.sources.transport import Deadline

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
BLOB_BUFFER = 64 * 1024  # see open_blob
MAX_TIMEOUT = 1e6  # seconds; a larger --timeout would overflow socket timeouts
MAX_REDIRECTS = 5  # Docker follows 10; a registry and its blob store need one or two
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_ERROR_BYTES = 64 * 1024  # of an error's body: only its first JSON error is shown
MAX_TOKEN_BYTES = 1024 * 1024  # a token server's answer (tokens are a few KiB)
MIN_PROGRESS = CHUNK  # a layer download must bring this much every `timeout` seconds
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


# Helpers are programs on PATH with plain names (desktop, ecr-login, osxkeychain).
# A name holding a path separator would run a path relative to the working
# directory, a checkout when DOCKER_CONFIG points into one: refused.
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


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
        if not _HELPER_NAME.match(store):
            raise CredentialsError(
                str(path),
                f"credential helper {store!r} is not a program name (letters, digits, '.', "
                "'_', '-'); not run",
            )
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


def _connection_reason(exc: Exception, deadline: Deadline | None = None) -> str:
    """A short reason for a connection failure ('Connection refused', 'timed out')."""
    import requests

    if isinstance(exc, requests.exceptions.Timeout) or (deadline is not None and deadline.expired):
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


# Connection failures that a retry a few seconds later would meet again: no such host,
# nothing listening, no route. Only the others (timeouts, resets, a connection cut
# short) are retried; waiting out the backoff for these would only delay the error
# (offline, a scan would wait 8 s to say what was known after 20 ms).
_LASTING_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH})


def _lasting(exc: BaseException) -> bool:
    """Whether a connection error is one retrying cannot fix (see _LASTING_ERRNOS)."""
    import socket

    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:  # the cause sits under requests' and urllib3's wrappers
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, socket.gaierror):  # DNS: offline, or no such name
            return True
        if isinstance(item, OSError) and item.errno in _LASTING_ERRNOS:
            return True
        if type(item).__name__ == "NameResolutionError":  # urllib3 2's, from a gaierror
            return True
        pending += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return False


def _brief(url: str) -> str:
    """A URL for a message: no query (signed URLs carry credentials there), at most 100 chars."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url[:100]
    if not parts.netloc:
        return url.split("?", 1)[0][:100]
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"[:100]


def _netloc(url: str) -> str:
    """'host:port' of a URL, without any user info."""
    return urlsplit(url).netloc.rpartition("@")[2]


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
        # here, not at import time: the CLI imports sources lazily anyway
        from octolint.image.sources import transport

        self.registry = registry
        self.repository = repository
        self.host = api_host(registry)
        self.timeout = min(timeout, MAX_TIMEOUT)
        self.docker_config = docker_config
        self._insecure = tuple(insecure_registries)
        self._explicitly_insecure = _listed(registry, self._insecure)
        self._may_use_http = self._explicitly_insecure or is_loopback(registry)
        self._verify = True
        self._base: str | None = None
        self._auth: str | None = None  # the Authorization header value, for _base only
        self._credentials: Credentials | None = None
        self._credentials_loaded = False
        self._secrets: list[str] = []
        self._session = transport.new_session()
        self._session.headers["User-Agent"] = "octolint"
        # Blobs are compressed already and documents small: a compressed answer is only
        # a way to make a small body large (urllib3 bounds what one read decompresses).
        self._session.headers["Accept-Encoding"] = "identity"

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

    def _timeout_error(self, step: str, url: str) -> RegistryError:
        limit = f"--timeout {self.timeout:g} s"
        return self.error(step, f"{_netloc(url)} timed out: no complete answer within {limit}")

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

    # ---- HTTP: redirects, retries, deadlines

    def _request(
        self,
        method: str,
        url: str,
        step: str,
        deadline: Deadline,
        *,
        headers: Mapping[str, str] | None = None,
        authorization: str | None = None,
        retry: bool = True,
        data: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One logical request, its body unread (streamed), within ``deadline``.

        Redirects are followed here, not by requests: at most MAX_REDIRECTS, to http(s)
        only, never from HTTPS down to HTTP, and ``authorization`` goes only to the
        origin of ``url`` (requests would also keep it for a same-host HTTP hop, and
        reads each redirect's whole body). Each hop is retried (see _attempts).
        """
        from octolint.image.sources.transport import origin

        home, seen = origin(url), {url}
        for _ in range(MAX_REDIRECTS + 1):
            hop = dict(headers or {})
            if authorization and origin(url) == home:
                hop["Authorization"] = authorization
            response = self._attempts(method, url, step, deadline, hop, retry, data)
            if response.status_code not in _REDIRECTS:
                return response
            with response:  # a redirect's body is never read
                location = response.headers.get("Location", "")
            url, method, data = self._redirect(url, location, response.status_code, method,
                                               data, step)  # fmt: skip
            if url in seen:
                raise self.error(step, f"redirect loop at {_brief(url)}")
            seen.add(url)
        raise self.error(step, f"more than {MAX_REDIRECTS} redirects (last to {_brief(url)})")

    def _redirect(
        self,
        current: str,
        location: str,
        status: int,
        method: str,
        data: Mapping[str, str] | None,
        step: str,
    ) -> tuple[str, str, Mapping[str, str] | None]:
        """(url, method, data) of the next hop; a RegistryError for a redirect not followed."""
        from octolint.image.sources.transport import origin

        if not location.strip():
            raise self.error(step, f"HTTP {status} redirect without a Location")
        try:
            target = urljoin(current, location.strip())
            parts = urlsplit(target)
            host = parts.hostname
        except ValueError:
            raise self.error(step, f"redirected to an invalid URL '{location[:100]}'") from None
        if parts.scheme not in ("http", "https") or not host:
            raise self.error(
                step, f"redirected to '{_brief(target)}': only http(s) URLs are followed"
            )
        if parts.scheme == "http" and urlsplit(current).scheme == "https":
            raise self.error(
                step, f"redirected from HTTPS down to plain HTTP ({_brief(target)}): refused"
            )
        if status == 303 or (status in (301, 302) and method == "POST"):
            return target, "GET", None  # as browsers do; the form is not sent on
        if data is not None and origin(target) != origin(current):
            # The form holds the identity token: it goes to the realm the registry named only.
            raise self.error(step, f"the token server redirects to {_brief(target)}: refused")
        return target, method, data

    def _attempts(
        self,
        method: str,
        url: str,
        step: str,
        deadline: Deadline,
        headers: dict[str, str],
        retry: bool,
        data: Mapping[str, str] | None,
    ) -> requests.Response:
        """One hop: retried on connection errors, 429 and 5xx (GETs only)."""
        import requests

        from octolint.image.sources.transport import watched_by
        from octolint.progress import waiting

        backoff = FIRST_BACKOFF
        idempotent = method in ("GET", "HEAD")
        for attempt in range(1, MAX_ATTEMPTS + 1):
            remaining = deadline.remaining()
            if remaining <= 0:
                raise self._timeout_error(step, url)
            try:
                # The deadline bounds connecting, TLS, headers and the body; a terminal
                # shows the wait once it lasts (octolint.progress).
                with watched_by(deadline), waiting(f"{step}: waiting for {_netloc(url)}"):
                    response = self._send(
                        method,
                        url,
                        headers=headers,
                        stream=True,  # every body is read in bounded chunks, or not at all
                        allow_redirects=False,
                        data=data,
                        verify=self._verify,
                        timeout=(remaining, remaining),  # (connect, each read)
                    )
            except requests.RequestException as exc:
                if deadline.expired or isinstance(exc, requests.Timeout):
                    raise self._timeout_error(step, url) from None
                if isinstance(exc, requests.exceptions.SSLError):
                    raise  # permanent; the caller decides (plain HTTP fallback or an error)
                wait = backoff
                again = retry and isinstance(exc, requests.ConnectionError) and not _lasting(exc)
                if not again or attempt == MAX_ATTEMPTS or wait >= deadline.remaining():
                    raise self.error(
                        step, f"cannot reach {_netloc(url)}: {_connection_reason(exc)}"
                    ) from None
                log.debug("%s %s: %s; retrying in %.1fs", method, url, type(exc).__name__, wait)
            else:
                if deadline.expired:  # headers cut short by the shutdown can look complete
                    response.close()
                    raise self._timeout_error(step, url)
                log.debug("%s %s -> %s", method, url, response.status_code)
                transient = response.status_code == 429 or response.status_code >= 500
                if not (transient and idempotent and retry) or attempt == MAX_ATTEMPTS:
                    return response
                wait = _retry_after(response, backoff)
                if wait >= deadline.remaining():
                    return response  # no time left to wait: the caller reports this status
                response.close()  # unread: a retried error's body does not matter
                log.debug("retrying %s in %.1fs", url, wait)
            with waiting(f"{step}: {_netloc(url)} failed; retrying"):
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

    def _base_url(self, deadline: Deadline) -> str:
        """The scheme and host to use, found with a ping of /v2/ (which also authenticates)."""
        if self._base is None:
            self._ping(deadline)
        assert self._base is not None
        return self._base

    def _ping(self, deadline: Deadline) -> None:
        https, http = f"https://{self.host}", f"http://{self.host}"
        plain = self._plain_http_only(https, deadline)
        response = None if plain else self._https_ping(https, deadline)
        base = https
        if response is None:
            response = self._request("GET", f"{http}/v2/", "connecting", deadline)
            base = http
        with response:  # the body of /v2/ is never read
            self._check_ping(response, base, "connecting", deadline)
        self._base = base  # only now: what is not reachable is pinged again next time

    def _plain_http_only(self, https: str, deadline: Deadline) -> bool:
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

        from octolint.progress import waiting

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
            with waiting(f"connecting: waiting for {self.host}"):
                endpoint = (host, port)
                with socket.create_connection(endpoint, timeout=deadline.remaining()) as sock:
                    deadline.watch(sock)  # a handshake dripped byte by byte ends in time too
                    context.wrap_socket(sock, server_hostname=host).close()
            return False
        except (OSError, ValueError):  # ssl.SSLError included: an HTTP answer, a reset...
            return not deadline.expired  # out of time: the usual path reports it

    def _https_ping(self, base: str, deadline: Deadline) -> requests.Response | None:
        """GET https://HOST/v2/; None when plain HTTP should be tried instead."""
        import requests

        try:
            # An insecure registry that refuses HTTPS connections most likely speaks HTTP
            # only: no point retrying HTTPS then.
            return self._request(
                "GET", f"{base}/v2/", "connecting", deadline, retry=not self._may_use_http
            )
        except requests.exceptions.SSLError as exc:
            reason = _connection_reason(exc)
            if "certificate" in reason and self._explicitly_insecure:
                self._verify = False  # what --insecure-registry asks for, as with Docker
                log.info("%s: TLS certificate not verified (--insecure-registry)", self.registry)
                return self._https_ping(base, deadline)
            if "certificate" not in reason and self._may_use_http:
                return None  # the server does not speak TLS
            advice = "trust its CA with REQUESTS_CA_BUNDLE, or pass --insecure-registry"
            raise self.error(
                "connecting", f"{reason} for {base} ({advice} {self.registry})"
            ) from None
        except RegistryError:
            if not self._may_use_http or deadline.expired:
                raise
            return None

    def _check_ping(
        self, response: requests.Response, base: str, step: str, deadline: Deadline
    ) -> None:
        if response.status_code == 401:
            self._check_challenger(response, base, step)
            self._authenticate(response, "authenticating", deadline)
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

    def _check_challenger(self, response: requests.Response, base: str, step: str) -> None:
        """Only the registry's own 401 is answered: a host it redirected to (a blob
        store, or anyone) gets neither the credentials nor a token meant for it."""
        from octolint.image.sources.transport import origin

        if origin(response.url) != origin(base):
            raise self.error(
                step,
                f"HTTP 401 from {_brief(response.url)}, where the registry redirected: "
                f"credentials are sent to {self.host} only",
                401,
                RegistryAuthError,
            )

    def _authenticate(self, response: requests.Response, step: str, deadline: Deadline) -> None:
        """Answer a 401's challenge: fetch a token (Bearer) or send credentials (Basic)."""
        header = response.headers.get("WWW-Authenticate", "")
        scheme, params = parse_challenge(header)
        credentials = self._load_credentials()
        if scheme == "bearer":
            token = self._fetch_token(params, credentials, step, deadline)
            self._secrets.append(token)
            self._auth = f"Bearer {token}"
        elif scheme == "basic":
            if credentials is None or credentials.identity_token:
                raise self._status_error(response, step)
            self._auth = "Basic " + _basic(credentials)
        else:
            raise self.error(
                step,
                f"HTTP 401 with an unsupported challenge '{scheme or 'none'}'",
                401,
                RegistryAuthError,
            )

    def _plain_http_allowed(self, host: str, port: int | None) -> bool:
        """Whether credentials may go to ``host`` over plain HTTP: a loopback address,
        a host named with --insecure-registry, or the insecure registry's own host."""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{port}" if port else ""
        if is_loopback(netloc) or _listed(netloc, self._insecure):
            return True
        own = urlsplit(f"//{self.host}").hostname
        return self._explicitly_insecure and host == own

    def _realm(self, params: dict[str, str], credentials: Credentials | None, step: str) -> str:
        """The challenge's realm, if the credentials may go there."""
        realm = params.get("realm", "")
        try:
            parts = urlsplit(realm)
            host, port = parts.hostname, parts.port
        except ValueError:
            host = port = None
        if host is None or parts.scheme not in ("http", "https"):
            raise self.error(
                step,
                f"the registry's Bearer challenge has no valid realm ('{realm[:100]}')",
                401,
                RegistryAuthError,
            )
        if parts.scheme == "http" and credentials and not self._plain_http_allowed(host, port):
            raise self.error(
                step,
                f"the registry's token server {_brief(realm)} is plain HTTP: credentials are "
                "only sent over HTTPS (or to a loopback or --insecure-registry host)",
                401,
                RegistryAuthError,
            )
        return realm

    def _fetch_token(
        self,
        params: dict[str, str],
        credentials: Credentials | None,
        step: str,
        deadline: Deadline,
    ) -> str:
        realm = self._realm(params, credentials, step)
        parts = urlsplit(realm)
        query = {"scope": f"repository:{self.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        step = f"{step} at {_netloc(realm)}"
        if credentials is not None and credentials.identity_token:
            form = {
                **query,
                "grant_type": "refresh_token",
                "refresh_token": credentials.secret,
                "client_id": "octolint",
            }
            response = self._request("POST", realm, step, deadline, data=form, retry=False)
        else:
            basic = f"Basic {_basic(credentials)}" if credentials else None
            url = realm + ("&" if parts.query else "?") + urlencode(query)
            response = self._request("GET", url, step, deadline, authorization=basic)
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
            data = self._read_limited(response, MAX_TOKEN_BYTES, step, deadline, "the answer")
        try:
            answer = json.loads(data)
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
        deadline: Deadline,
        *,
        accept: str | None = None,
        offset: int = 0,
    ) -> requests.Response:
        """GET /v2/<repository>/<path>, authenticated, its body unread; a RegistryError
        unless HTTP 200 (or 206 for a request from ``offset`` > 0, a byte range)."""
        base = self._base_url(deadline)
        url = f"{base}/v2/{self.repository}/{path}"
        for attempt in (1, 2):
            headers = {"Accept": accept} if accept else {}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            response = self._request(
                "GET", url, step, deadline, headers=headers, authorization=self._auth
            )
            if response.status_code == 401 and attempt == 1:
                # First contact with this scope, or an expired token: answer the challenge once.
                with response:
                    self._check_challenger(response, base, step)
                    self._authenticate(response, "authenticating", deadline)
                continue
            if response.status_code not in ((200, 206) if offset else (200,)):
                with response:
                    raise self._status_error(response, step)
            return response
        raise AssertionError("unreachable")

    def resume(
        self, path: str, step: str, offset: int, deadline: Deadline
    ) -> tuple[requests.Response, Iterator[bytes]]:
        """The body of GET ``path`` from byte ``offset`` on (a Range request; from a
        server that ignores ranges, the whole body with the first bytes skipped)."""
        response = self.get(path, step, deadline, offset=offset)
        chunks = response.iter_content(chunk_size=CHUNK)
        if response.status_code == 206:
            given = response.headers.get("Content-Range", "")
            if not given.startswith(f"bytes {offset}-"):
                response.close()
                raise self.error(step, f"asked for bytes {offset}- but got '{given[:60]}'")
            return response, chunks
        return response, _skip(chunks, offset, deadline)

    def fetch_manifest(self, reference: str) -> Fetched:
        """A manifest or index by tag or digest; verified when fetched by digest."""
        from octolint.image.sources.transport import Deadline

        step = f"fetching manifest {short_digest(reference) if ':' in reference else reference}"
        with Deadline(self.timeout) as deadline:
            response = self.get(
                f"manifests/{reference}", step, deadline, accept=manifest_accept_types()
            )
            with response:
                data = self._read_limited(response, MAX_MANIFEST_BYTES, step, deadline)
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
        from octolint.image.sources.transport import Deadline

        step = f"fetching blob {short_digest(digest)}"
        with Deadline(self.timeout) as deadline:
            response = self.get(f"blobs/{digest}", step, deadline)
            with response:
                return self._read_limited(response, limit, step, deadline)

    @contextmanager
    def open_blob(self, digest: str) -> Iterator[BinaryIO]:
        """A layer blob, streamed: it must come at MIN_PROGRESS bytes per ``timeout`` at
        least (see _ResponseReader); the request itself is answered within ``timeout``."""
        from octolint.image.sources.transport import Deadline

        step = f"fetching blob {short_digest(digest)}"
        path = f"blobs/{digest}"
        deadline = Deadline(self.timeout)
        try:
            response = self.get(path, step, deadline)
        except BaseException:
            deadline.close()
            raise
        with _ResponseReader(response, self, step, deadline, resume=path) as reader:
            # The layer's inflater reads half a megabyte at a time: past the buffer's
            # size, reads go straight into its own buffer instead of through this one.
            yield io.BufferedReader(reader, BLOB_BUFFER)

    def _read_limited(
        self,
        response: requests.Response,
        limit: int,
        step: str,
        deadline: Deadline,
        what: str = "it",
    ) -> bytes:
        """The whole body, within ``deadline``; an error rather than more than ``limit``."""
        reader = _ResponseReader(response, self, step, deadline)
        parts, size = [], 0
        while size <= limit:
            chunk = reader.read(limit + 1 - size)
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
        if size > limit:
            raise self.error(step, f"{what} is larger than {limit} bytes: refusing to read it")
        return b"".join(parts)

    def close(self) -> None:
        self._session.close()


def _basic(credentials: Credentials) -> str:
    return base64.b64encode(f"{credentials.username}:{credentials.secret}".encode()).decode()


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
    """'MANIFEST_UNKNOWN: manifest unknown' from a registry's JSON error body, if any.

    Reads MAX_ERROR_BYTES at most (and only while the exchange's deadline lasts):
    an error body is the server's to make endless.
    """
    body = bytearray()
    try:
        for chunk in response.iter_content(chunk_size=16384):
            body += chunk
            if len(body) >= MAX_ERROR_BYTES:
                break
        first = json.loads(bytes(body[:MAX_ERROR_BYTES]))["errors"][0]
        return f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")[:300]
    except Exception:  # no JSON, another shape, a broken connection: the status is enough
        return ""


def _skip(chunks: Iterator[bytes], count: int, deadline: Deadline) -> Iterator[bytes]:
    """``chunks`` without their first ``count`` bytes; bytes skipped are progress too."""
    for chunk in chunks:
        if count >= len(chunk):
            count -= len(chunk)
            deadline.extend()  # chunks are at most MIN_PROGRESS long
            continue
        yield chunk[count:]
        count = 0


class _ResponseReader(io.RawIOBase):
    """A streamed response body as a file; errors become RegistryErrors naming the step.

    The body must be complete by ``deadline``, which ``close()`` ends. With
    ``resume`` (the API path of a layer blob), the deadline moves ``timeout`` on
    each time another MIN_PROGRESS bytes arrived instead: a layer may take as long
    as it needs while it makes progress, but not a byte every few seconds. A
    download that breaks off (reset, stalled, cut short, too slow) continues where
    it stopped with a Range request, after a backoff, up to MAX_ATTEMPTS times
    without progress, MAX_RESUMES times in all, and for at most ``timeout`` seconds
    without progress. That is safe: the blob is verified against its digest as it is
    read, so a resumed download that does not fit is rejected.
    """

    def __init__(self, response: requests.Response, client: RegistryClient, step: str,
                 deadline: Deadline, *, resume: str | None = None):  # fmt: skip
        self._response = response
        self._chunks: Iterator[bytes] = response.iter_content(chunk_size=CHUNK)
        self._deadline = deadline
        self._pending = memoryview(b"")
        self._client = client
        self._step = step
        self._count = 0
        self._resume = resume
        self._next_progress = MIN_PROGRESS
        self._failures = 0  # in a row, without progress in between
        self._resumes = 0  # in all: a server that always breaks off soon cannot loop us
        self._stalled_since = 0.0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._response.close()
        if self._resume is not None:  # its own deadlines; else the caller's, still in use
            self._deadline.close()
        super().close()

    def _next_chunk(self) -> bytes:
        import requests

        while True:
            try:
                chunk = next(self._chunks, b"")
            except (requests.RequestException, OSError) as exc:
                self._recover(_connection_reason(exc, self._deadline))
                continue
            if not chunk and self._deadline.expired:
                # A body without a length ends at the shutdown as if it were complete.
                self._recover("timed out")
                continue
            if self._resume is not None and self._count + len(chunk) >= self._next_progress:
                self._deadline.extend()
                self._next_progress = self._count + len(chunk) + MIN_PROGRESS
                self._failures = 0
            return chunk

    def _recover(self, reason: str) -> None:
        """Resume after a break, or raise the error that names it."""
        from octolint.image.sources.transport import Deadline

        now = time.monotonic()
        if self._failures == 0:
            self._stalled_since = now
        self._failures += 1
        wait = FIRST_BACKOFF * 2 ** (self._failures - 1)
        out_of_time = now + wait - self._stalled_since >= self._client.timeout
        self._resumes += 1
        exhausted = self._failures >= MAX_ATTEMPTS or self._resumes > MAX_RESUMES
        if self._resume is None and reason == "timed out":
            raise self._client.error(
                self._step,
                f"timed out after {self._count} bytes: no complete answer within "
                f"--timeout {self._client.timeout:g} s",
            )
        if self._resume is None or exhausted or out_of_time:
            raise self._client.error(
                self._step, f"connection lost after {self._count} bytes ({reason})"
            )
        log.debug("%s: connection lost after %d bytes (%s); resuming in %.1fs",
                  self._step, self._count, reason, wait)  # fmt: skip
        time.sleep(wait)
        self._response.close()
        self._deadline.close()
        self._deadline = Deadline(self._client.timeout)
        self._next_progress = self._count + MIN_PROGRESS
        self._response, self._chunks = self._client.resume(
            self._resume, self._step, self._count, self._deadline
        )

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            self._pending = memoryview(self._next_chunk())  # handed out without copies
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
