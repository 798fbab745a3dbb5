"""HTTP plumbing for the registry client: deadlines that bound a whole exchange.

A socket timeout only bounds each single wait: a server that sends one byte just
before every timeout (a slow drip) holds a read forever, whether it drips the TLS
handshake, the headers or the body. A :class:`Deadline` bounds the exchange as a
whole instead: a watchdog thread shuts down every socket the exchange used when
the deadline passes, which ends any blocked read at once. The sockets are found
by the connection classes of :class:`WatchedAdapter`, which register each socket
they open or reuse with the deadline of the exchange running in that thread.

Imports requests and urllib3: import this module only where the network is used.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import HTTPResponse


class Deadline:
    """The moment an exchange must be over; its sockets are shut down then.

    ``extend()`` moves it to ``seconds`` from now (a layer download that keeps
    making progress). ``close()`` ends the watch; use it as a context manager.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._at = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def remaining(self) -> float:
        return max(self._at - time.monotonic(), 0.0)

    def extend(self) -> None:
        with self._cond:
            self._at = time.monotonic() + self.seconds
            self._cond.notify()

    def watch(self, sock: socket.socket) -> None:
        with self._cond:
            if self._closed:
                return
            if self.expired:
                _shutdown(sock)
                return
            if sock not in self._sockets:
                self._sockets.append(sock)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watchdog, name="octolint-deadline", daemon=True
                )
                self._thread.start()

    def _watchdog(self) -> None:
        with self._cond:
            while not self._closed:
                left = self._at - time.monotonic()
                if left <= 0:
                    self.expired = True
                    for sock in self._sockets:
                        _shutdown(sock)
                    return
                self._cond.wait(left)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._sockets.clear()  # they may go back to the pool: never shut them down later
            self._cond.notify()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _shutdown(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for an SSLSocket: its override drops the TLS
    # state that the thread blocked in recv() is still using. A shut down socket
    # makes that recv() return at once; the reader then fails and sees ``expired``.
    with suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_current = threading.local()


@contextmanager
def watched_by(deadline: Deadline) -> Iterator[None]:
    """Sockets opened or reused in this thread meanwhile are watched by ``deadline``."""
    previous = getattr(_current, "deadline", None)
    _current.deadline = deadline
    try:
        yield
    finally:
        _current.deadline = previous


def _watch(sock: socket.socket | None) -> None:
    deadline = getattr(_current, "deadline", None)
    if sock is not None and deadline is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)  # before the TLS handshake, which a server can drip too
        return sock

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        _watch(self.sock)  # a kept-alive connection, reused
        return super().getresponse()


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        _watch(self.sock)
        return super().getresponse()


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """requests' adapter, with connections that report their sockets to the deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):  # not SOCKS: it has its own pools
            manager.pool_classes_by_scheme = _POOLS
        return manager


class _Session(requests.Session):
    def get_redirect_target(self, resp: requests.Response) -> str | None:
        # The client follows redirects itself. Even with allow_redirects=False, requests
        # looks ahead at the next hop and reads the whole body of a redirect to do so.
        return None


def new_session() -> requests.Session:
    session = _Session()
    adapter = WatchedAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL: where credentials may go is decided by this."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)
