"""Real loopback servers for the ``--online`` tests: a TLS web server, HTTP CONNECT and SOCKS5 proxies.

Everything listens on 127.0.0.1 on a port the kernel picks, runs in daemon
threads, records what it was sent, and is stopped by its context manager.
Certificates come from ``trustme``: a throwaway CA (named like a corporate
TLS-inspection CA, so a failed verification has an issuer to name) and a
server certificate for the OpenAI host names and 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import trustme

NAMES = ("auth.openai.com", "chatgpt.com", "api.openai.com", "localhost", "127.0.0.1")
CA_NAME = "Corp Proxy CA"


class Pki:
    """A throwaway CA and a server certificate it issued."""

    def __init__(self, tmp: Path, *, not_before: datetime | None = None, not_after: datetime | None = None) -> None:
        self.ca = trustme.CA(organization_name=CA_NAME)
        self.leaf = self.ca.issue_cert(*NAMES, not_before=not_before, not_after=not_after)
        self.ca_file = tmp / "corp-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.leaf.configure_cert(ctx)
        return ctx


def free_port() -> int:
    """A loopback port where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    out: dict[str, str] = {}
    for line in lines[1:]:
        k, colon, v = line.partition(":")
        if colon:
            out[k.strip().lower()] = v.strip()
    return lines[0], out


class _Server:
    """A threaded accept loop on 127.0.0.1; subclasses handle one connection."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        # close() alone does not wake a thread blocked in accept(); shutdown() does.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=2)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._guarded, args=(conn,), daemon=True).start()

    def _guarded(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with contextlib.suppress(OSError), conn:
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class TlsServer(_Server):
    """Answers every request with ``status`` and a ``Date`` header of the chosen time (or none)."""

    def __init__(self, context: ssl.SSLContext, *, date: datetime | None = None, status: int = 200, extra: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.context = context
        self.date = date
        self.status = status
        self.extra = extra
        self.sni: list[str | None] = []

        def remember(_sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
            self.sni.append(name)

        context.sni_callback = remember

    def handle(self, conn: socket.socket) -> None:
        with self.context.wrap_socket(conn, server_side=True) as tls:
            head = _read_head(tls)
            self.requests.append(_headers(head))
            lines = [f"HTTP/1.1 {self.status} {'OK' if self.status == 200 else 'Forbidden'}", "Content-Length: 0", "Connection: close"]
            if self.date is not None:
                lines.append(f"Date: {format_datetime(self.date, usegmt=True)}")
            lines.extend(self.extra)
            tls.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())


class ConnectProxy(_Server):
    """An HTTP proxy: ``tunnel`` pipes CONNECT through; ``407`` and ``403`` refuse it.

    With ``credentials`` it tunnels only when ``Proxy-Authorization`` carries them (else 407).
    """

    def __init__(self, mode: str = "tunnel", credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.mode = mode
        self.credentials = credentials

    def handle(self, conn: socket.socket) -> None:
        head = _read_head(conn)
        line, headers = _headers(head)
        self.requests.append((line, headers))
        parts = line.split()
        if len(parts) < 2 or parts[0] != "CONNECT":
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        if self.mode == "403":
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        expected = None
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
        if self.mode == "407" or (expected is not None and headers.get("proxy-authorization") != expected):
            conn.sendall(
                b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n'
            )
            return
        host, _, port = parts[1].rpartition(":")
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        _pipe(conn, upstream)


class Socks5Proxy(_Server):
    """A SOCKS-only proxy (RFC 1928; user name and password, RFC 1929, when ``credentials`` are given), like ``ssh -D``.

    Anything that is not a SOCKS5 greeting (an HTTP CONNECT) gets ``05 FF``: no acceptable method.
    """

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.targets: list[str] = []

    def handle(self, conn: socket.socket) -> None:
        version, count = _exact(conn, 2)
        methods = _exact(conn, count) if version == 5 else b""
        wanted = 2 if self.credentials is not None else 0
        if wanted not in methods:
            conn.sendall(b"\x05\xff")
            return
        conn.sendall(bytes([5, wanted]))
        if wanted == 2:
            _, ulen = _exact(conn, 2)
            user = _exact(conn, ulen).decode()
            plen = _exact(conn, 1)[0]
            password = _exact(conn, plen).decode()
            ok = (user, password) == self.credentials
            conn.sendall(b"\x01\x00" if ok else b"\x01\x01")
            if not ok:
                return
        _, _, _, kind = _exact(conn, 4)
        if kind == 1:
            host = socket.inet_ntoa(_exact(conn, 4))
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, _exact(conn, 16))
        else:
            host = _exact(conn, _exact(conn, 1)[0]).decode()
        port = int.from_bytes(_exact(conn, 2), "big")
        self.targets.append(f"{host}:{port}")
        try:
            upstream = socket.create_connection((host, port), timeout=5)
        except OSError:
            conn.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")
            return
        conn.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")
        _pipe(conn, upstream)


def _exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError
        data += chunk
    return data


def _pipe(a: socket.socket, b: socket.socket) -> None:
    def pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=pump, args=(b, a), daemon=True)
    other.start()
    pump(a, b)
    other.join(timeout=10)
    b.close()


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word (a stuck proxy or server)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    try:
        yield int(s.getsockname()[1])
    finally:
        s.close()
