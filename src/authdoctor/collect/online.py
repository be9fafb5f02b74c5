"""The opt-in ``--online`` probe: can Codex's hosts be reached the way Codex itself would reach them?

Never run by default, never sends a credential, never reads ``auth.json``.  For
each host Codex talks to (``auth.openai.com`` for login and token refresh,
``chatgpt.com`` for the ChatGPT backend, ``api.openai.com`` for API keys; all on
443) it goes through the same stages as Codex's HTTP client and says how far it got:

1. DNS: the host's addresses (skipped through a proxy, which resolves the name);
2. TCP: a connection to the host, or to the proxy;
3. proxy: ``CONNECT host:443`` (a 407 means the proxy wants a password; a
   ``user:password@`` in the proxy URL is sent as ``Proxy-Authorization:
   Basic``, the proxy's credential, never Codex's and never stored).  Also to a
   ``socks4://``/``socks5://``/``socks5h://`` proxy: Codex 0.169.0's HTTP client
   (sign-in, token refresh, chatgpt.com) has no SOCKS support and sends an HTTP
   ``CONNECT`` there too (observed; only its Responses WebSocket speaks SOCKS5),
   so a SOCKS-only proxy fails here exactly as it fails for Codex.  An
   ``https://`` proxy (TLS to the proxy itself) is not tested yet, and the
   result says so;
4. TLS: the handshake with SNI, verified the way Codex's rustls client verifies
   (TLS 1.2 at least; roots from ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set,
   else the platform's, plus the bundle named by ``CODEX_CA_CERTIFICATE`` or
   ``SSL_CERT_FILE``: see :mod:`authdoctor.codex.netconfig`).  The issuer of the
   server's certificate is recorded; when verification fails, the certificate is
   fetched again without verification only to name its issuer (a corporate
   proxy that intercepts TLS shows up as its own CA);
5. HTTP: ``HEAD / HTTP/1.1`` with ``Host``, ``User-Agent: authdoctor/<version>
   (--online)`` and ``Connection: close`` -- no ``Authorization``, no cookie.
   The status (403 with ``cf-mitigated: challenge`` is a Cloudflare challenge) and
   the ``Date`` header are recorded; ``Date`` minus the local clock is the skew.

The proxy and CA are those of the environment Codex runs with: this process's
environment with ``$CODEX_HOME/.env`` applied (:func:`netconfig.codex_env`).
Values are revealed only inside the probe; the evidence keeps variable names,
the proxy's ``host:port`` and whether its URL holds a user name, never the URL.

Every stage has a short timeout (:data:`STAGE_TIMEOUT`) and the whole probe a
budget (:data:`BUDGET`); the hosts are probed in parallel threads.  Name
resolution has no timeout of its own in the socket API, so it runs in a
daemon thread that is abandoned when it takes too long.

``AUTHDOCTOR_ONLINE_TARGETS`` (a test and mirror hook) replaces the hosts:
``auth.openai.com=127.0.0.1:8443,chatgpt.com=127.0.0.1:8443`` -- the name on the
left is used for SNI, ``Host``, ``NO_PROXY`` and the proxy choice, the address on
the right is where the probe connects (through a proxy: what it asks the proxy
to connect to).  A name without ``=address`` is probed on port 443.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.codex import netconfig as N
from authdoctor.collect.evidence import DotenvEvidence
from authdoctor.host import Host
from authdoctor.secret import REGISTRY, scrub

if TYPE_CHECKING:
    import socket
    import ssl
    from typing import Any

    # What getaddrinfo returns: (family, type, proto, canonname, sockaddr).
    _AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[str, int] | tuple[str, int, int, int] | tuple[int, bytes]]

STAGE_TIMEOUT = 3.0  # seconds per stage (DNS, TCP, proxy, TLS, HTTP)
BUDGET = 6.0  # seconds for the whole probe, all hosts in parallel
TARGETS_VAR = "AUTHDOCTOR_ONLINE_TARGETS"
HTTPS_PORT = 443

# Stages, in the order a request goes through them.
DNS = "dns"
TCP = "tcp"
PROXY = "proxy"
TLS = "tls"
HTTP = "http"
STAGES = (DNS, TCP, PROXY, TLS, HTTP)

# Stable names for what went wrong (JSON and rules read them).
DNS_NO_ADDRESS = "dns-no-address"
DNS_FAILED = "dns-failed"
TCP_REFUSED = "tcp-refused"
TCP_TIMEOUT = "tcp-timeout"
TCP_FAILED = "tcp-failed"
PROXY_UNREACHABLE = "proxy-unreachable"  # cannot be resolved, refuses, or does not answer
PROXY_AUTH = "proxy-auth"  # 407 Proxy Authentication Required
PROXY_DENIED = "proxy-denied"  # the proxy would not connect to the host
PROXY_GARBLED = "proxy-garbled"  # the proxy does not answer CONNECT with HTTP (a SOCKS-only proxy)
CA_UNUSABLE = "ca-unusable"  # the CA bundle Codex would load is unreadable or holds no certificate
TLS_UNTRUSTED = "tls-untrusted"  # certificate verify failed
TLS_CLOCK = "tls-clock"  # certificate "not yet valid" / "expired": often the local clock
TLS_FAILED = "tls-failed"  # handshake failed, cut, or timed out
HTTP_CHALLENGE = "http-challenge"  # 403 with cf-mitigated: challenge
HTTP_FORBIDDEN = "http-forbidden"  # 403 otherwise: region block, refused network
HTTP_FAILED = "http-failed"  # no answer, not HTTP
OUT_OF_TIME = "out-of-time"
PROBE_FAILED = "probe-failed"  # a bug in the probe itself: said, never a traceback

_SOCKS_ONLY = " (a SOCKS-only proxy? Codex's sign-in client speaks only HTTP CONNECT)"
_MAX_HEAD = 16 * 1024  # a response head bigger than this is not worth reading
# openssl-probe's candidates for the platform bundle (what rustls-native-certs reads on Linux and BSD).
_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/share/certs/ca-root-nss.crt",
    "/usr/local/etc/openssl/cert.pem",
    "/opt/homebrew/etc/openssl@3/cert.pem",
)
_MAC_KEYCHAINS = ("/System/Library/Keychains/SystemRootCertificates.keychain", "/Library/Keychains/System.keychain")


class ProxyRoute(NamedTuple):
    """The proxy a request goes through: the variable that names it and its URL without user name or password."""

    variable: str
    url: N.ProxyUrl


class TargetResult(NamedTuple):
    """How far one host got, in plain facts; ``error`` is fit to show (no secret, no URL)."""

    host: str  # the name (SNI, Host, NO_PROXY, proxy choice)
    port: int = HTTPS_PORT
    address: str | None = None  # where the probe connected instead (AUTHDOCTOR_ONLINE_TARGETS)
    proxy: ProxyRoute | None = None
    no_proxy: str | None = None  # the NO_PROXY variable that made it bypass a configured proxy
    stages: tuple[str, ...] = ()  # the stages passed, in order
    failed: str | None = None  # the stage that failed (None with an error: the probe itself ran out of time or broke)
    kind: str | None = None  # what went wrong (the constants above)
    error: str | None = None
    note: str | None = None  # what was not tested, and why
    resolved: tuple[str, ...] = ()  # the addresses DNS gave
    tls_version: str | None = None
    tls_issuer: str | None = None  # CN (and O) of the issuer of the server's certificate
    tls_verified: bool | None = None
    http_status: int | None = None
    server_date: datetime | None = None
    skew_seconds: float | None = None  # server Date minus the local clock: positive when the local clock is behind
    elapsed_ms: int = 0

    @property
    def reached(self) -> bool:
        """The host answered over HTTP (any status but a block)."""
        return HTTP in self.stages

    @property
    def where(self) -> str:
        """``auth.openai.com`` or ``auth.openai.com (at 127.0.0.1:8443)``."""
        return f"{self.host} (at {self.address})" if self.address else self.host


class OnlineEvidence(NamedTuple):
    """What the ``--online`` probe found; an empty ``targets`` means it had nothing to probe."""

    targets: tuple[TargetResult, ...] = ()
    ca_bundle: tuple[str, str] | None = None  # (variable, path) of the bundle added to the roots
    native_roots: tuple[tuple[str, str], ...] = ()  # SSL_CERT_FILE / SSL_CERT_DIR replacing the platform's roots
    ca_problem: str | None = None  # why Codex could not load that bundle (it would not connect at all)
    overridden: bool = False  # the hosts came from AUTHDOCTOR_ONLINE_TARGETS
    wsl: bool = False  # Linux under WSL (the clock resync differs)
    elapsed_ms: int = 0


class _Target(NamedTuple):
    name: str
    connect_host: str
    connect_port: int
    overridden: bool


class _Fail(Exception):
    def __init__(self, stage: str, kind: str, message: str) -> None:
        super().__init__(message)
        self.stage, self.kind, self.message = stage, kind, message


class _OutOfTime(Exception):
    pass


class _Deadline:
    def __init__(self, budget: float) -> None:
        import time

        self._now = time.monotonic
        self.end = self._now() + budget

    def left(self) -> float:
        """Seconds the next blocking call may take: a stage's timeout, less near the end of the budget."""
        left = min(STAGE_TIMEOUT, self.end - self._now())
        if left <= 0.05:
            raise _OutOfTime
        return left


def collect_online(host: Host, dotenv: DotenvEvidence) -> OnlineEvidence:
    """Probe every host Codex talks to, with the proxy and CA settings Codex would use."""
    import time

    started = time.monotonic()
    env = N.codex_env(host.env, [(e.key, e.value.reveal()) for e in dotenv.entries])
    targets, overridden = _targets(host.env)
    bundle = N.ca_bundle(env)
    native = N.native_roots(env)
    context, ca_problem = _tls_context(host, env)
    deadline = _Deadline(BUDGET)
    results = _run_all(targets, lambda t: _probe(t, env, context, ca_problem, deadline, host.now), deadline)
    return OnlineEvidence(
        targets=results,
        ca_bundle=bundle,
        native_roots=native,
        ca_problem=ca_problem,
        overridden=overridden,
        wsl=_is_wsl(host),
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )


def _targets(env: Mapping[str, str]) -> tuple[list[_Target], bool]:
    raw = env.get(TARGETS_VAR, "").strip()
    if not raw:
        return [_Target(name, name, HTTPS_PORT, False) for name in N.CODEX_HOSTS], False
    found: list[_Target] = []
    for item in raw.split(","):
        name, eq, address = item.strip().partition("=")
        name = name.strip()
        if not name:
            continue
        if not eq:
            found.append(_Target(name, name, HTTPS_PORT, False))
            continue
        parsed = N.split_host_port(address.strip())
        if parsed is None:
            continue
        found.append(_Target(name, parsed[0], parsed[1] or HTTPS_PORT, True))
    return found, True


def _run_all(targets: Sequence[_Target], probe: Callable[[_Target], TargetResult], deadline: _Deadline) -> tuple[TargetResult, ...]:
    if not targets:
        return ()
    import time
    from concurrent.futures import ThreadPoolExecutor, wait

    pool = ThreadPoolExecutor(max_workers=len(targets), thread_name_prefix="authdoctor-online")
    try:
        futures = [pool.submit(probe, t) for t in targets]
        # Every stage is bounded by the deadline; the margin lets a worker finish its report.
        wait(futures, timeout=max(0.0, deadline.end - time.monotonic()) + 1.0)
        out = []
        for target, future in zip(targets, futures, strict=True):
            if not future.done():
                out.append(_base(target, None)._replace(kind=OUT_OF_TIME, error=f"no result within {BUDGET:.0f} s"))
            elif (exc := future.exception()) is not None:
                message = f"the online check of this host failed ({type(exc).__name__}: {scrub(str(exc))})"
                out.append(_base(target, None)._replace(kind=PROBE_FAILED, error=message))
            else:
                out.append(future.result())
        return tuple(out)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _base(target: _Target, route: ProxyRoute | None, no_proxy: str | None = None) -> TargetResult:
    address = _join(target.connect_host, target.connect_port) if target.overridden else None
    return TargetResult(
        host=target.name, port=HTTPS_PORT if not target.overridden else target.connect_port, address=address, proxy=route, no_proxy=no_proxy
    )


class _Run:
    """What one probe has found so far (mutable while it runs, frozen into a TargetResult at the end)."""

    def __init__(self, result: TargetResult) -> None:
        self.result = result
        self.stages: list[str] = []

    def passed(self, stage: str) -> None:
        self.stages.append(stage)

    def set(self, **fields: Any) -> None:
        self.result = self.result._replace(**fields)


def _probe(
    target: _Target,
    env: Mapping[str, str],
    context: ssl.SSLContext | None,
    ca_problem: str | None,
    deadline: _Deadline,
    clock: Callable[[], datetime],
) -> TargetResult:
    import time

    started = time.monotonic()
    choice = N.proxy_for(env, target.name)
    bypass = None
    if choice is None and "REQUEST_METHOD" not in env and N.proxy_for({k: v for k, v in env.items() if k not in N.NO_PAIR}, target.name):
        bypass = N.first_set(env, N.NO_PAIR)
    url = N.parse_proxy(choice.url) if choice is not None else None
    route = ProxyRoute(choice.name, url) if choice is not None and url is not None else None
    run = _Run(_base(target, route, bypass))
    credentials = N.proxy_credentials(choice.url) if choice is not None and url is not None and url.has_userinfo else None
    if choice is not None and url is not None and url.has_userinfo:
        _register(choice.url, credentials)
    sock: socket.socket | None = None
    try:
        if route is not None and route.url.scheme == "https":
            run.set(note="not tested: the online check does not test HTTPS proxies (TLS to the proxy itself) yet")
            return _finish(run, started)
        if route is not None:
            note = f"DNS skipped: the proxy resolves {target.name}"
            if route.url.scheme.startswith("socks"):
                note += f"; Codex's sign-in client sends HTTP CONNECT even to a {route.url.scheme}:// proxy, and so did this check"
            run.set(note=note)
        if context is None:
            # Codex fails while building its client, before any connection.
            raise _Fail(TLS, CA_UNUSABLE, f"CA: {ca_problem}; nothing was sent")
        sock = _open(target, route, credentials, deadline, run)
        tls = _handshake(context, sock, target, deadline, run)
        sock = tls
        run.passed(TLS)
        _head(tls, target, deadline, clock, run)
    except _Fail as fail:
        if fail.kind in (TLS_UNTRUSTED, TLS_CLOCK) and run.result.tls_issuer is None:
            issuer = _peek_issuer(target, route, credentials, deadline)
            if issuer:
                fail.message += f"; the server's certificate was issued by '{issuer}'"
                run.set(tls_issuer=issuer)
        run.set(failed=fail.stage, kind=fail.kind, error=fail.message)
    except _OutOfTime:
        run.set(failed=_next_stage(run), kind=OUT_OF_TIME, error=f"the online check ran out of time ({BUDGET:.0f} s)")
    finally:
        if sock is not None:
            sock.close()
    return _finish(run, started)


def _next_stage(run: _Run) -> str:
    order = (TCP, PROXY, TLS, HTTP) if run.result.proxy is not None else (DNS, TCP, TLS, HTTP)
    return next((s for s in order if s not in run.stages), HTTP)


def _finish(run: _Run, started: float) -> TargetResult:
    import time

    return run.result._replace(stages=tuple(run.stages), elapsed_ms=int((time.monotonic() - started) * 1000))


def _register(url: str, credentials: tuple[str, str | None] | None) -> None:
    """A proxy URL with a password, and the password, join the secrets every output is scrubbed of."""
    REGISTRY.add(url)
    if credentials is not None and credentials[1]:
        REGISTRY.add(credentials[1])


# --- the path to the host: DNS, TCP, proxy ------------------------------------------------


def _open(
    target: _Target, route: ProxyRoute | None, credentials: tuple[str, str | None] | None, deadline: _Deadline, run: _Run | None
) -> socket.socket:
    """A connected socket to the host: directly, or tunnelled through the proxy."""
    if route is None:
        addresses = _resolve_target(target, deadline)
        if run is not None:
            run.passed(DNS)
            run.set(resolved=tuple(dict.fromkeys(a[4][0] for a in addresses))[:4])
        sock = _connect_direct(target, addresses, deadline)
        if run is not None:
            run.passed(TCP)
        return sock
    sock = _connect_proxy(route, deadline)
    if run is not None:
        run.passed(TCP)
    try:
        _http_connect(sock, target, route, credentials, deadline)
    except BaseException:
        sock.close()
        raise
    if run is not None:
        run.passed(PROXY)
    return sock


def _resolve(host: str, port: int, deadline: _Deadline) -> list[_AddrInfo]:
    """getaddrinfo with a timeout: it runs in a daemon thread that is abandoned when it takes too long."""
    import socket
    import threading

    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["found"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    timeout = deadline.left()
    thread = threading.Thread(target=work, name="authdoctor-dns", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {_secs(timeout)}")
    error = box.get("error")
    if isinstance(error, OSError):
        raise error
    found = box.get("found")
    if not isinstance(found, list) or not found:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    return found


def _resolve_target(target: _Target, deadline: _Deadline) -> list[_AddrInfo]:
    import socket

    try:
        return _resolve(target.connect_host, target.connect_port, deadline)
    except TimeoutError:
        raise _Fail(DNS, DNS_FAILED, f"DNS: no answer for {target.name} within {_secs(STAGE_TIMEOUT)}") from None
    except socket.gaierror as exc:
        if exc.errno in _no_address_errnos():
            raise _Fail(DNS, DNS_NO_ADDRESS, f"DNS: no address for {target.name}") from None
        if exc.errno == getattr(socket, "EAI_AGAIN", None):
            raise _Fail(
                DNS, DNS_FAILED, f"DNS: cannot resolve {target.name} right now (no network, or the DNS server does not answer)"
            ) from None
        raise _Fail(DNS, DNS_FAILED, f"DNS: cannot resolve {target.name} ({_reason(exc)})") from None
    except OSError as exc:
        raise _Fail(DNS, DNS_FAILED, f"DNS: cannot resolve {target.name} ({_reason(exc)})") from None


def _no_address_errnos() -> set[int]:
    import socket

    return {n for n in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None)) if isinstance(n, int)}


def _connect(addresses: Sequence[_AddrInfo], deadline: _Deadline) -> socket.socket:
    """The first address that accepts; raises the last address's error."""
    import socket

    last: OSError = OSError("no address")
    for family, kind, proto, _, sockaddr in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(deadline.left())
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
        except BaseException:
            sock.close()
            raise
    raise last


def _connect_direct(target: _Target, addresses: Sequence[_AddrInfo], deadline: _Deadline) -> socket.socket:
    first = addresses[0][4]
    where = f"{_join(str(first[0]), int(first[1]))} ({target.name})"
    try:
        return _connect(addresses, deadline)
    except ConnectionRefusedError:
        raise _Fail(TCP, TCP_REFUSED, f"TCP: {where} refused the connection") from None
    except TimeoutError:
        raise _Fail(
            TCP, TCP_TIMEOUT, f"TCP: no answer from {where} within {_secs(STAGE_TIMEOUT)} (a firewall or VPN drops the traffic?)"
        ) from None
    except OSError as exc:
        raise _Fail(TCP, TCP_FAILED, f"TCP: cannot connect to {where} ({_reason(exc)})") from None


def _connect_proxy(route: ProxyRoute, deadline: _Deadline) -> socket.socket:
    proxy, who = route.url, f"proxy {route.url.address}"
    if not 0 < proxy.port < 65536:
        raise _Fail(TCP, PROXY_UNREACHABLE, f"{who} has no valid port, so every request through it fails ({route.variable})")
    try:
        addresses = _resolve(proxy.host, proxy.port, deadline)
    except TimeoutError:
        raise _Fail(
            TCP, PROXY_UNREACHABLE, f"{who} cannot be resolved: no DNS answer within {_secs(STAGE_TIMEOUT)} ({route.variable})"
        ) from None
    except OSError as exc:
        raise _Fail(TCP, PROXY_UNREACHABLE, f"{who} cannot be resolved ({_reason(exc)}) ({route.variable})") from None
    try:
        return _connect(addresses, deadline)
    except ConnectionRefusedError:
        raise _Fail(TCP, PROXY_UNREACHABLE, f"{who} refused the connection ({route.variable})") from None
    except TimeoutError:
        raise _Fail(TCP, PROXY_UNREACHABLE, f"{who} did not answer within {_secs(STAGE_TIMEOUT)} ({route.variable})") from None
    except OSError as exc:
        raise _Fail(TCP, PROXY_UNREACHABLE, f"{who} cannot be reached ({_reason(exc)}) ({route.variable})") from None


def _http_connect(
    sock: socket.socket, target: _Target, route: ProxyRoute, credentials: tuple[str, str | None] | None, deadline: _Deadline
) -> None:
    """``CONNECT host:port`` through an HTTP proxy; a 2xx opens the tunnel."""
    authority = _join(target.connect_host, target.connect_port)
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}", f"User-Agent: {_user_agent()}"]
    if credentials is not None:
        import base64

        user, password = credentials
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
        REGISTRY.add(token)
        lines.append(f"Proxy-Authorization: Basic {token}")
    who = f"proxy {route.url.address} ({route.variable})"
    try:
        sock.settimeout(deadline.left())
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii", "replace"))
        head = _read_head(sock, deadline)
    except TimeoutError:
        raise _Fail(PROXY, PROXY_UNREACHABLE, f"{who} did not answer CONNECT {authority} within {_secs(STAGE_TIMEOUT)}") from None
    except OSError as exc:
        if route.url.scheme.startswith("socks"):
            raise _Fail(PROXY, PROXY_GARBLED, f"{who} dropped the connection at CONNECT {authority}{_SOCKS_ONLY}") from None
        raise _Fail(PROXY, PROXY_UNREACHABLE, f"{who} dropped the connection during CONNECT ({_reason(exc)})") from None
    status, reason, _ = _parse_head(head)
    if status is None:
        socks = route.url.scheme.startswith("socks") or head[:1] in (b"\x00", b"\x04", b"\x05")
        what = "closed the connection without answering" if not head else "did not answer with HTTP to"
        raise _Fail(PROXY, PROXY_GARBLED, f"{who} {what} CONNECT {authority}{_SOCKS_ONLY if socks else ''}")
    if status == 407:
        if credentials is None:
            raise _Fail(PROXY, PROXY_AUTH, f"{who} requires a password (407 Proxy Authentication Required) and the proxy URL holds none")
        raise _Fail(PROXY, PROXY_AUTH, f"{who} rejected the user name and password in the proxy URL (407 Proxy Authentication Required)")
    if not 200 <= status < 300:
        raise _Fail(PROXY, PROXY_DENIED, f"{who} refused to connect to {authority}: {status} {reason}".rstrip())


# --- TLS ------------------------------------------------------------------------------------


def _tls_context(host: Host, env: Mapping[str, str]) -> tuple[ssl.SSLContext | None, str | None]:
    """The trust Codex's client would have, or why it would not build a client at all."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # rustls speaks nothing older
    context.set_alpn_protocols(["http/1.1"])
    native = N.native_roots(env)
    if native:
        # rustls-native-certs reads only these then; reqwest ignores what fails to load.
        for name, path in native:
            try:
                if name == "SSL_CERT_DIR":
                    context.load_verify_locations(capath=path)
                elif text := _pem_certificates(host.read_bytes(Path(path))):
                    context.load_verify_locations(cadata=text)
            except (OSError, ValueError):  # ssl.SSLError is an OSError
                continue
    else:
        _platform_roots(host, context)
    bundle = N.ca_bundle(env)
    if bundle is not None:
        name, path = bundle
        problem = _load_bundle(host, context, name, path)
        if problem is not None:
            return None, problem
    return context, None


def _platform_roots(host: Host, context: ssl.SSLContext) -> None:
    """The platform's trusted roots, read without this process's SSL_CERT_FILE (Codex's may differ)."""
    import ssl

    if host.is_windows:
        context.load_default_certs()
        return
    pems: list[str] = []
    for path in (*_BUNDLES, ssl.get_default_verify_paths().openssl_cafile):
        try:
            text = _pem_certificates(host.read_bytes(Path(path), limit=8 * 1024 * 1024))
        except (OSError, ValueError):
            continue
        if text:
            pems.append(text)
            break
    if host.platform == "darwin":
        # rustls-native-certs reads the keychains there: a corporate CA installed for the Mac is trusted.
        for keychain in _MAC_KEYCHAINS:
            out = host.run(["security", "find-certificate", "-a", "-p", keychain], timeout=STAGE_TIMEOUT)
            pems.append(_pem_certificates(out.stdout))
    capath = ssl.get_default_verify_paths().openssl_capath
    for text in pems:
        if text:
            try:
                context.load_verify_locations(cadata=text)
            except ssl.SSLError:
                continue
    if not pems and capath and Path(capath).is_dir():
        context.load_verify_locations(capath=capath)


def _load_bundle(host: Host, context: ssl.SSLContext, name: str, path: str) -> str | None:
    """Add Codex's CA bundle to the roots, or say why Codex would refuse it (custom_ca.rs)."""
    import ssl

    try:
        data = host.read_bytes(Path(path), limit=8 * 1024 * 1024)
    except IsADirectoryError:
        return f"{name} names {path}, a folder, not a PEM file: Codex refuses to start its HTTPS client"
    except FileNotFoundError:
        return f"{name} names {path}, which does not exist: Codex refuses to start its HTTPS client"
    except OSError as exc:
        return f"{name} names {path}, which cannot be read ({_reason(exc)}): Codex refuses to start its HTTPS client"
    except ValueError as exc:
        return f"{name} names {path}, which cannot be used ({exc})"
    text = _pem_certificates(data)
    if not text:
        return f"{name} names {path}, which holds no PEM certificate: Codex refuses to start its HTTPS client"
    try:
        context.load_verify_locations(cadata=text)
    except ssl.SSLError:
        return f"{name} names {path}, whose certificates cannot be parsed: Codex refuses to start its HTTPS client"
    return None


def _pem_certificates(data: bytes) -> str:
    """Every CERTIFICATE block (OpenSSL's TRUSTED CERTIFICATE too, as Codex normalises it), joined."""
    text = data.decode("utf-8", "replace").replace("TRUSTED CERTIFICATE-----", "CERTIFICATE-----")
    blocks = []
    start = text.find("-----BEGIN CERTIFICATE-----")
    while start >= 0:
        end = text.find("-----END CERTIFICATE-----", start)
        if end < 0:
            break
        end += len("-----END CERTIFICATE-----")
        blocks.append(text[start:end])
        start = text.find("-----BEGIN CERTIFICATE-----", end)
    return "\n".join(blocks) + ("\n" if blocks else "")


def _handshake(context: ssl.SSLContext, sock: socket.socket, target: _Target, deadline: _Deadline, run: _Run) -> ssl.SSLSocket:
    import ssl

    try:
        sock.settimeout(deadline.left())
        tls = context.wrap_socket(sock, server_hostname=target.name)
    except ssl.SSLCertVerificationError as exc:
        words = exc.verify_message or exc.reason or "certificate verify failed"
        # X509_V_ERR_CERT_NOT_YET_VALID (9) / X509_V_ERR_CERT_HAS_EXPIRED (10): the clock, or a stale certificate.
        kind = TLS_CLOCK if exc.verify_code in (9, 10) else TLS_UNTRUSTED
        run.set(tls_verified=False)
        raise _Fail(TLS, kind, f"TLS: certificate verify failed: {words}") from None
    except ssl.SSLError as exc:
        reason = exc.reason or str(exc)
        if reason == "WRONG_VERSION_NUMBER":
            raise _Fail(TLS, TLS_FAILED, f"TLS: {target.name} did not answer with TLS (something else listens there)") from None
        raise _Fail(TLS, TLS_FAILED, f"TLS: handshake with {target.name} failed ({reason})") from None
    except TimeoutError:
        raise _Fail(TLS, TLS_FAILED, f"TLS: no handshake with {target.name} within {_secs(STAGE_TIMEOUT)}") from None
    except OSError as exc:
        raise _Fail(TLS, TLS_FAILED, f"TLS: the connection was cut during the handshake with {target.name} ({_reason(exc)})") from None
    run.set(tls_verified=True, tls_version=tls.version(), tls_issuer=_issuer_from_dict(tls.getpeercert()))
    return tls


def _peek_issuer(target: _Target, route: ProxyRoute | None, credentials: tuple[str, str | None] | None, deadline: _Deadline) -> str | None:
    """The issuer of the certificate a server presents, fetched without verification only to name it."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        sock = _open(target, route, credentials, deadline, None)
    except (_Fail, _OutOfTime, OSError):
        return None
    try:
        sock.settimeout(deadline.left())
        with context.wrap_socket(sock, server_hostname=target.name) as tls:
            der = tls.getpeercert(binary_form=True)
        return _issuer_from_der(der) if der else None
    except (_OutOfTime, OSError, ValueError):
        return None
    finally:
        sock.close()


_OID_CN = bytes((0x55, 0x04, 0x03))
_OID_O = bytes((0x55, 0x04, 0x0A))


def _issuer_from_dict(cert: object) -> str | None:
    if not isinstance(cert, dict):
        return None
    names: dict[str, str] = {}
    for rdn in cert.get("issuer", ()):
        for key, value in rdn:
            names.setdefault(key, value)
    return _issuer_words(names.get("commonName"), names.get("organizationName"))


def _issuer_words(cn: str | None, org: str | None) -> str | None:
    if cn and org and org not in cn:
        return f"{cn} ({org})"
    return cn or org or None


def _issuer_from_der(der: bytes) -> str | None:
    """The issuer's CN and O from a DER certificate (X.509: Certificate > TBSCertificate > issuer Name)."""
    _, start, _ = _tlv(der, 0)  # Certificate
    _, pos, end = _tlv(der, start)  # TBSCertificate
    fields = 0
    while pos < end:
        tag, value, nxt = _tlv(der, pos)
        if tag == 0xA0:  # [0] version
            pos = nxt
            continue
        fields += 1
        if fields == 3:  # serialNumber, signature, issuer
            return _name_words(der, value, nxt)
        pos = nxt
    return None


def _name_words(der: bytes, pos: int, end: int) -> str | None:
    found: dict[bytes, str] = {}
    while pos < end:
        _, set_pos, set_end = _tlv(der, pos)  # RelativeDistinguishedName (SET)
        while set_pos < set_end:
            _, attr_pos, attr_end = _tlv(der, set_pos)  # AttributeTypeAndValue (SEQUENCE)
            oid_tag, oid_pos, oid_end = _tlv(der, attr_pos)
            value_tag, value_pos, value_end = _tlv(der, oid_end)
            if oid_tag == 0x06:
                found.setdefault(der[oid_pos:oid_end], _der_string(value_tag, der[value_pos:value_end]))
            set_pos = attr_end
        pos = set_end
    return _issuer_words(found.get(_OID_CN), found.get(_OID_O))


def _der_string(tag: int, raw: bytes) -> str:
    encoding = {0x1E: "utf-16-be", 0x1C: "utf-32-be", 0x14: "latin-1"}.get(tag, "utf-8")
    return raw.decode(encoding, "replace")


def _tlv(der: bytes, pos: int) -> tuple[int, int, int]:
    """``(tag, start of value, end of value)`` of the DER item at ``pos``."""
    if pos + 2 > len(der):
        raise ValueError("truncated DER")
    tag, length = der[pos], der[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or pos + count > len(der):
            raise ValueError("bad DER length")
        length = int.from_bytes(der[pos : pos + count], "big")
        pos += count
    if pos + length > len(der):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


# --- HTTP --------------------------------------------------------------------------------


def _user_agent() -> str:
    from authdoctor import __version__

    return f"authdoctor/{__version__} (--online)"


def _head(tls: ssl.SSLSocket, target: _Target, deadline: _Deadline, clock: Callable[[], datetime], run: _Run) -> None:
    """``HEAD /`` without any credential; records the status and the server's clock."""
    request = f"HEAD / HTTP/1.1\r\nHost: {target.name}\r\nUser-Agent: {_user_agent()}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    try:
        tls.settimeout(deadline.left())
        tls.sendall(request.encode("ascii", "replace"))
        head = _read_head(tls, deadline)
    except TimeoutError:
        raise _Fail(HTTP, HTTP_FAILED, f"HTTP: {target.name} did not answer within {_secs(STAGE_TIMEOUT)}") from None
    except OSError as exc:
        raise _Fail(HTTP, HTTP_FAILED, f"HTTP: the connection to {target.name} was cut before an answer ({_reason(exc)})") from None
    local = clock()
    status, _, headers = _parse_head(head)
    if status is None:
        what = "closed the connection without answering" if not head else "answered with something that is not HTTP"
        raise _Fail(HTTP, HTTP_FAILED, f"HTTP: {target.name} {what}")
    date = _http_date(headers.get("date"))
    run.set(http_status=status, server_date=date, skew_seconds=round((date - local).total_seconds(), 1) if date else None)
    if status == 403:
        if headers.get("cf-mitigated", "").strip().lower() == "challenge":
            raise _Fail(HTTP, HTTP_CHALLENGE, "HTTP 403 with a Cloudflare challenge page (cf-mitigated: challenge)")
        raise _Fail(HTTP, HTTP_FORBIDDEN, f"HTTP 403 Forbidden: {target.name} refused requests from this network")
    run.passed(HTTP)


def _read_head(sock: socket.socket, deadline: _Deadline) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < _MAX_HEAD:
        sock.settimeout(deadline.left())
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def _parse_head(head: bytes) -> tuple[int | None, str, dict[str, str]]:
    """``(status, reason, headers)`` of a response head; status None when it is not HTTP."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return None, "", {}
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, colon, value = line.partition(":")
        if colon:
            headers.setdefault(key.strip().lower(), value.strip())
    return int(parts[1]), (parts[2] if len(parts) > 2 else "").strip(), headers


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# --- small helpers ------------------------------------------------------------------------


def _is_wsl(host: Host) -> bool:
    if not host.platform.startswith("linux"):
        return False
    if host.env.get("WSL_DISTRO_NAME") or host.env.get("WSL_INTEROP"):
        return True
    try:
        return b"microsoft" in host.read_bytes(host.path("/proc/version"), limit=4096).lower()
    except (OSError, ValueError):
        return False


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _secs(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds == int(seconds) else f"{seconds:.1f} s"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
