"""Network settings Codex will use: proxies, CA bundles, headless and WSL markers.

Nothing here touches the network.  It reads the environment Codex would run
with (this one plus ``$CODEX_HOME/.env``, see :mod:`authdoctor.codex.netconfig`),
at most two CA files, ``/proc/version`` and, in WSL, the Windows user's
``.wslconfig``.  The one look beyond files: whether something listens on the
port of a proxy on *this machine's loopback* that Codex would use
(``/proc/net/tcp`` and ``tcp6`` on Linux, state ``0A`` = LISTEN; elsewhere a TCP
connect to 127.0.0.1/::1 with a 0.2 s timeout).  Never a connection to any
other host.

What Codex 0.169.0 does with these settings, observed with the real binary
(`codex doctor --json` and `codex exec`, offline, with a local listener
recording what each client sends):

* Proxies.  Upper-case beats lower-case (``HTTPS_PROXY`` over ``https_proxy``),
  and a variable that is *set* hides its partner even when empty
  (``HTTPS_PROXY=`` plus ``https_proxy=…`` connects directly).  A value the
  HTTP client cannot parse (spaces around it, ``not a url``) or whose scheme it
  does not know (``ftp://``) is ignored: Codex falls back to ``ALL_PROXY``, else
  connects directly.  A bare ``host:port`` means ``http://host:port``; without a
  port, 80.  An out-of-range port is not ignored: the requests fail.
* SOCKS.  ``socks4://``, ``socks5://`` and ``socks5h://`` are accepted, but the
  HTTP client that signs in, refreshes tokens and talks to chatgpt.com sends
  an HTTP ``CONNECT`` request to that port all the same (its build has no SOCKS
  support; only the Responses WebSocket speaks SOCKS5).  So a SOCKS proxy works
  for sign-in only when its port also accepts HTTP (the "mixed" ports of
  Clash or v2ray do); a SOCKS-only proxy (``ssh -D``, Tor) fails with
  ``error sending request for url (https://auth.openai.com/oauth/token)``.
  This contradicts the advice in FM-08 to use ``socks5h://``.
* CA bundles.  ``CODEX_CA_CERTIFICATE`` wins over ``SSL_CERT_FILE`` as the
  bundle Codex loads itself; an empty value counts as unset, a blank one
  (spaces) does not: Codex tries to open "  ".  ``CODEX_CA_CERTIFICATE`` in
  ``.env`` is ignored (a ``CODEX_`` key); ``SSL_CERT_FILE`` there applies.  A
  relative path is opened relative to the folder Codex starts in.  A bundle
  Codex cannot use stops *every* HTTPS request before it leaves the machine,
  with one of ``Failed to read CA certificate file F selected by VAR: No such
  file or directory (os error 2)`` (missing, dangling symlink; ``Is a directory
  (os error 21)``), ``Failed to load CA certificates from F selected by VAR: no
  certificates found in PEM file`` (empty, binary, DER, text, a private key
  alone, a UTF-16 file, a BOM or indentation before the only ``-----BEGIN
  CERTIFICATE-----``), ``… failed to parse PEM file: missing section end
  marker`` / ``base64 decode error``, or ``Failed to parse certificate #N from F
  selected by VAR: builder error`` (a block that is not a certificate: one bad
  block spoils the whole bundle).  Text around the PEM blocks, CRLF line ends, a
  missing final newline, missing base64 padding, other PEM blocks (keys) and
  ``TRUSTED CERTIFICATE`` blocks are fine, and so is a huge file whose
  certificates come first.  ``codex doctor`` itself only checks that the file
  can be opened ("custom CA env var points at an unreadable path") and calls an
  empty or binary file "readable".
* Trust.  Seen through a local TLS-intercepting proxy with a test CA, and a
  private mount namespace whose /etc/ssl/certs held that CA: the bundle in
  ``CODEX_CA_CERTIFICATE`` is *added* to the system's certificates, but a set
  ``SSL_CERT_FILE`` *replaces* them -- also when ``CODEX_CA_CERTIFICATE`` wins,
  and also when it names a missing or empty file -- and so does a set
  ``SSL_CERT_DIR`` once ``CODEX_CA_CERTIFICATE`` is set.  ``SSL_CERT_DIR`` alone
  naming a missing folder leaves sign-in and chatgpt.com alone; only the
  Responses WebSocket (api.openai.com) then trusts nothing and falls back to
  HTTPS.  A shadowed ``SSL_CERT_FILE`` is therefore not harmless: with it
  broken, Codex trusts only the ``CODEX_CA_CERTIFICATE`` bundle.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from pathlib import Path, PureWindowsPath
from typing import NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.codex.netconfig import (
    ALL_PAIR,
    AUTH_HOST,
    CHATGPT_HOST,
    HTTP_PAIR,
    HTTPS_PAIR,
    PAIRS,
    ca_bundle,
    first_set,
    no_proxy_matches,
)
from authdoctor.collect.evidence import DotenvEvidence
from authdoctor.host import Host
from authdoctor.secret import REDACTED, Secret, SecretRegistry

CODEX_CA = "CODEX_CA_CERTIFICATE"
SSL_CERT_FILE = "SSL_CERT_FILE"
SSL_CERT_DIR = "SSL_CERT_DIR"
CA_NAMES = (CODEX_CA, SSL_CERT_FILE)
PROXY_NAMES = tuple(name for pair in PAIRS for name in pair)
_URL_NAMES = frozenset((*HTTPS_PAIR, *HTTP_PAIR, *ALL_PAIR))
_WATCHED = (*PROXY_NAMES, *CA_NAMES, SSL_CERT_DIR)

SOCKS_SCHEMES = ("socks4", "socks4a", "socks5", "socks5h")
_DEFAULT_PORTS = {"http": 80, "https": 443, "socks4": 1080, "socks4a": 1080, "socks5": 1080, "socks5h": 1080}

# A CA bundle is a few hundred KiB (Mozilla's: 220 KiB); read no more than this.
CA_READ_LIMIT = 4 * 1024 * 1024
_SMALL_FILE = 64 * 1024
# A loopback port either answers at once or not at all.
CONNECT_TIMEOUT = 0.2

# Addresses without a password are not secrets: keeping them out of the global
# scrub list lets a finding name the proxy it means.
_ADDRESSES = SecretRegistry()

# Problem kinds of a proxy value (see ProxyVar.problem).
UNPARSABLE = "unparsable"  # Codex ignores the variable
UNSUPPORTED = "unsupported-scheme"  # Codex ignores the variable
BAD_PORT = "bad-port"  # Codex uses it and every request fails


class ProxyVar(NamedTuple):
    """One proxy variable as Codex sees it, from the shell or ``$CODEX_HOME/.env``."""

    name: str
    value: Secret  # may hold a password: only ``shown`` is ever displayed
    source: str  # "environment" | "dotenv"
    line: int | None = None  # the .env line
    shell_differs: bool = False  # from .env: the shell has no value or another one
    shell_set: bool = False  # the shell has this variable too (from .env: the value .env hides)
    shown: str | None = None  # scheme://[<redacted>@]host:port; None: NO_PROXY, or nothing safe to show
    scheme: str | None = None  # lower-case; None when the value names none (http is assumed)
    host: str | None = None  # lower-case, IPv6 without brackets
    port: int | None = None  # the port Codex connects to (the scheme's default when none is written)
    problem: str | None = None  # UNPARSABLE | UNSUPPORTED | BAD_PORT
    reason: str = ""  # the problem in words (never the value)
    loopback: bool = False
    listening: bool | None = None  # loopback proxies Codex uses: something listens; None: not looked at, or cannot be seen

    @property
    def usable(self) -> bool:
        return self.problem in (None, BAD_PORT) and bool(self.value)

    @property
    def target(self) -> tuple[str, str | None, int | None, str | None] | None:
        """What the value means to Codex, so two spellings of one proxy compare equal."""
        if self.problem is not None or self.host is None:
            return None
        return (self.scheme or "http", self.host, self.port, self.shown)


class CaFile(NamedTuple):
    """A CA bundle named by CODEX_CA_CERTIFICATE or SSL_CERT_FILE, and whether Codex can load it."""

    name: str
    path: str  # as written: a path is not a secret
    source: str  # "environment" | "dotenv"
    line: int | None = None
    problem: str | None = None  # "blank" | "relative" | "missing" | "dangling-symlink" | "not-a-file" | "unreadable" |
    # "empty" | "no-certificate" | "not-pem" | "malformed-pem" | "bad-certificate" | "too-large"
    message: str = ""  # what is wrong, or what it holds, in plain words
    certificates: int = 0
    codex_error: str = ""  # the start of the error Codex prints for it


class CertDir(NamedTuple):
    """SSL_CERT_DIR: Codex does not read it, but OpenSSL-based tools do."""

    value: str
    source: str
    line: int | None = None
    missing: tuple[str, ...] = ()  # folders it names that do not exist


class Marker(NamedTuple):
    """A sign that no local browser can reach this session's localhost."""

    kind: str  # "ssh" | "no-display" | "container" | "codespaces" | "dev-container" | "gitpod" | "devpod" | "vscode-remote"
    text: str  # what was seen, in words (names only)
    path: str | None = None  # the file that gave it away (/.dockerenv), as the target system names it


class WslEvidence(NamedTuple):
    """This Linux runs in WSL: its localhost and its Codex login are not Windows's."""

    version: int | None  # 1 or 2; None when /proc/version does not say
    distro: str | None
    users_dir: Path | None  # /mnt/c/Users (mapped)
    windows_user: str | None  # the Windows user folder name
    user_note: str = ""  # why no Windows user folder was picked
    wslconfig: Path | None = None  # %USERPROFILE%\.wslconfig (mapped), when it exists
    wslconfig_problem: str = ""
    networking_mode: str = "nat"  # [wsl2] networkingMode, lower-case; "nat" is the default
    mode_written: bool = False
    localhost_forwarding: bool = True  # [wsl2] localhostForwarding (default true)
    windows_auth: Path | None = None  # the Windows-side Codex login (/mnt/c/Users/<u>/.codex/auth.json), when it exists

    @property
    def nat(self) -> bool:
        return self.version != 1 and self.networking_mode == "nat"

    def windows_path(self, path: Path | None) -> str:
        """``C:\\Users\\u\\.wslconfig`` for a mapped path under the Windows user folder."""
        if path is None or self.users_dir is None:
            return ""
        try:
            rel = path.relative_to(self.users_dir)
        except ValueError:
            return str(path)
        return "C:\\Users\\" + "\\".join(rel.parts)


class NetworkEvidence(NamedTuple):
    proxies: tuple[ProxyVar, ...] = ()  # every proxy variable Codex sees, in netconfig.PAIRS order
    auth_proxy: str | None = None  # the variable whose proxy Codex uses for auth.openai.com; None: direct
    chatgpt_proxy: str | None = None  # … for chatgpt.com
    listeners_note: str = ""  # why listeners on this machine's loopback could not be seen
    ca_files: tuple[CaFile, ...] = ()  # in Codex's order: CODEX_CA_CERTIFICATE, then SSL_CERT_FILE
    ca_in_effect: str | None = None  # the variable Codex takes its trust store from
    cert_dir: CertDir | None = None
    markers: tuple[Marker, ...] = ()
    wsl: WslEvidence | None = None
    dotenv_path: Path | None = None
    ssh_login: str | None = None  # user@server-address of this SSH session, for an `ssh -L` command

    def proxy(self, name: str | None) -> ProxyVar | None:
        return next((p for p in self.proxies if p.name == name), None) if name else None

    def ca(self, name: str | None) -> CaFile | None:
        return next((c for c in self.ca_files if c.name == name), None) if name else None


class _Seen(NamedTuple):
    raw: str
    source: str
    line: int | None = None
    shell_differs: bool = False
    shell_set: bool = False


def collect_network(host: Host, dotenv: DotenvEvidence, codex_home: Path) -> NetworkEvidence | None:
    seen = _codex_view(host, dotenv)
    wsl = _wsl(host)
    markers = _markers(host, wsl)
    ssh = _ssh_login(host.env) if markers else None
    if not seen:
        return NetworkEvidence(markers=markers, wsl=wsl, dotenv_path=dotenv.path, ssh_login=ssh)
    proxies, auth, chatgpt, note = _proxies(host, seen, wsl)
    env = {name: s.raw for name, s in seen.items()}
    in_effect = ca_bundle(env)
    ca_files = tuple(_ca_file(host, name, seen[name]) for name in CA_NAMES if name in seen and seen[name].raw)
    cert_dir = _cert_dir(host, seen[SSL_CERT_DIR]) if SSL_CERT_DIR in seen and seen[SSL_CERT_DIR].raw.strip() else None
    return NetworkEvidence(
        proxies=proxies,
        auth_proxy=auth,
        chatgpt_proxy=chatgpt,
        listeners_note=note,
        ca_files=ca_files,
        ca_in_effect=in_effect[0] if in_effect else None,
        cert_dir=cert_dir,
        markers=markers,
        wsl=wsl,
        dotenv_path=dotenv.path,
        ssh_login=ssh,
    )


def _codex_view(host: Host, dotenv: DotenvEvidence) -> dict[str, _Seen]:
    """The watched variables as Codex sees them: the environment, then the .env lines it applies (last wins)."""
    seen = {name: _Seen(raw, "environment", shell_set=True) for name in _WATCHED if (raw := host.env.get(name)) is not None}
    for e in dotenv.entries:
        if e.applies and e.key in _WATCHED:
            seen[e.key] = _Seen(e.value.reveal(), "dotenv", e.line, e.differs_from_shell, e.key in host.env)
    return seen


# --- proxies -------------------------------------------------------------------------------


class _Parsed(NamedTuple):
    scheme: str | None = None
    host: str | None = None
    port: int | None = None
    userinfo: bool = False
    problem: str | None = None
    reason: str = ""
    showable: bool = False  # the host is a host name or address, never a token pasted into the variable


def parse_proxy(raw: str) -> _Parsed:
    """Read a proxy URL the way Codex's HTTP client does (hyper-util's env matcher over ``http::Uri``)."""
    if not raw:
        return _Parsed(problem=UNPARSABLE, reason="it is empty")
    if raw != raw.strip():
        return _Parsed(problem=UNPARSABLE, reason="it has spaces or a line break around it")
    if any(c.isspace() or ord(c) < 0x20 or c in '"<>\\^`{|}' for c in raw):
        return _Parsed(problem=UNPARSABLE, reason="it is not a URL (it holds spaces or characters a URL cannot)")
    scheme = None
    rest = raw
    if "://" in raw:
        scheme, _, rest = raw.partition("://")
        if not scheme or not scheme[0].isalpha() or not all(c.isalnum() or c in "+-." for c in scheme):
            return _Parsed(problem=UNPARSABLE, reason="its scheme is not valid")
        scheme = scheme.lower()
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority = rest[:end]
    _, at, hostport = authority.rpartition("@")
    if not hostport:
        return _Parsed(problem=UNPARSABLE, reason="it names no host")
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            return _Parsed(problem=UNPARSABLE, reason="its IPv6 address has no closing bracket")
        host_part, port_part = hostport[1:close], hostport[close + 1 :]
        if port_part and not port_part.startswith(":"):
            return _Parsed(problem=UNPARSABLE, reason="it is not a URL")
        port_text = port_part[1:] if port_part else ""
    else:
        host_part, _, port_text = hostport.partition(":")
        if ":" in port_text:
            return _Parsed(problem=UNPARSABLE, reason="it is not a URL (an IPv6 address needs brackets)")
    if not host_part:
        return _Parsed(problem=UNPARSABLE, reason="it names no host")
    if port_text and not port_text.isdigit():
        return _Parsed(problem=UNPARSABLE, reason="its port is not a number")
    if scheme is not None and scheme not in _DEFAULT_PORTS:
        return _Parsed(scheme, problem=UNSUPPORTED, reason=f"{scheme}:// is not a proxy scheme Codex knows (http, https, socks…)")
    port = int(port_text) if port_text else _DEFAULT_PORTS[scheme or "http"]
    parsed = _Parsed(scheme, host_part.lower().rstrip("."), port, bool(at), showable=_showable_host(host_part))
    if not 0 < port < 65536:
        return parsed._replace(problem=BAD_PORT, reason=f"its port {port} is not a TCP port (1-65535)")
    return parsed


def _showable_host(host: str) -> bool:
    """A host name or address, never something else that ended up in the variable (a token)."""
    if not host or len(host) > 253 or any(len(label) > 63 for label in host.split(".")):
        return False
    if any(len(label) >= 40 and any(c.isdigit() for c in label) and any(c.isalpha() for c in label) for label in host.split(".")):
        return False  # a random-looking run that long is a credential, not a host name
    if not all(c.isalnum() or c in ".-_:%" for c in host):
        return False
    from authdoctor.secret import redact_tokens

    return redact_tokens(host) == host


def display(parsed: _Parsed) -> str | None:
    if parsed.host is None or parsed.problem not in (None, BAD_PORT) or not parsed.showable:
        return None
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    user = f"{REDACTED}@" if parsed.userinfo else ""
    return f"{parsed.scheme or 'http'}://{user}{host}:{parsed.port}"


def _wrap(raw: str, shown: str | None, *, address: bool) -> Secret:
    """Register the value for scrubbing unless it is a plain address the report may name."""
    if address and shown is not None and REDACTED not in shown:
        return Secret(raw, registry=_ADDRESSES)
    secret = Secret(raw)
    if "@" in raw:
        # The password alone can show up elsewhere (a log line, curl's output).
        userinfo = raw.partition("://")[2].rpartition("@")[0] if "://" in raw else raw.rpartition("@")[0]
        secret_part = userinfo.partition(":")[2]
        for piece in (userinfo, secret_part):
            if piece:
                Secret(piece)
    return secret


def _no_proxy_value(raw: str) -> Secret:
    from authdoctor.secret import redact_tokens

    return Secret(raw, registry=_ADDRESSES) if redact_tokens(raw) == raw else Secret(raw)


def is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host in ("localhost", "localhost.") or host.endswith(".localhost"):
        return True
    if not (host[:1].isdigit() or ":" in host):
        return False
    import ipaddress

    try:
        ip = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def _proxies(host: Host, seen: Mapping[str, _Seen], wsl: WslEvidence | None) -> tuple[tuple[ProxyVar, ...], str | None, str | None, str]:
    found: list[ProxyVar] = []
    for name in PROXY_NAMES:
        s = seen.get(name)
        if s is None:
            continue
        base = ProxyVar(name, Secret(""), s.source, s.line, s.shell_differs, s.shell_set)
        if name not in _URL_NAMES:
            found.append(base._replace(value=_no_proxy_value(s.raw)))
            continue
        if not s.raw:
            found.append(base._replace(problem=UNPARSABLE, reason="it is empty"))
            continue
        parsed = parse_proxy(s.raw)
        shown = display(parsed)
        found.append(
            base._replace(
                value=_wrap(s.raw, shown, address=not parsed.userinfo),
                shown=shown,
                scheme=parsed.scheme,
                host=parsed.host,
                port=parsed.port,
                problem=parsed.problem,
                reason=parsed.reason,
                loopback=parsed.problem is None and is_loopback(parsed.host),
            )
        )
    if not any(p.name in _URL_NAMES for p in found):
        return tuple(found), None, None, ""
    env = {p.name: seen[p.name].raw for p in found}
    usable = {p.name for p in found if p.usable}
    auth = choose(env, usable, AUTH_HOST)
    chatgpt = choose(env, usable, CHATGPT_HOST)
    used = {auth, chatgpt}
    note = ""
    cache: dict[tuple[str, int], bool | None] = {}
    out = []
    for p in found:
        if p.name in used and p.loopback and p.host is not None and p.port is not None and p.problem is None:
            key = (p.host, p.port)
            if key not in cache:
                cache[key], why = _listening(host, p.host, p.port, wsl)
                note = note or why
            p = p._replace(listening=cache[key])
        out.append(p)
    return tuple(out), auth, chatgpt, note


def choose(env: Mapping[str, str], usable: Container[str], host: str, *, no_proxy: bool = True) -> str | None:
    """The variable whose proxy Codex uses for ``https://host``; None: it connects directly.

    Like netconfig.proxy_for, except that a URL with an impossible port is *used*
    (and fails), not skipped: Codex 0.169.0 does not fall back to ALL_PROXY then.
    """
    if no_proxy and no_proxy_matches(env, host):
        return None
    for pair in (HTTPS_PAIR, ALL_PAIR):
        name = first_set(env, pair)
        if name is not None and name in usable:
            return name
    return None


# --- is anything listening on a loopback port? ----------------------------------------------


def _listening(host: Host, name: str, port: int, wsl: WslEvidence | None) -> tuple[bool | None, str]:
    """Whether a proxy on this machine's loopback is running, and if that cannot be seen, why."""
    if host.root != Path("/") and host.proc is None:
        return None, "an image (--root) has no running programs, so whether its proxy runs cannot be seen"
    addresses = _loopback_addresses(name)
    if host.proc is not None and host.platform.startswith("linux"):
        from authdoctor.collect.ports import listening

        sockets, unreadable = listening(host, host.proc, (port,))
        if not unreadable:
            if _table_has({(s.address, s.port) for s in sockets}, addresses, port):
                return True, ""
            if wsl is None:
                return False, ""
            # WSL with mirrored networking: a Windows program listening on 127.0.0.1
            # answers here without appearing in this kernel's table.
    return _connect_any(addresses, port)


def _loopback_addresses(name: str) -> tuple[str, ...]:
    if name in ("localhost", "localhost.") or name.endswith(".localhost"):
        return ("127.0.0.1", "::1")
    import ipaddress

    ip = ipaddress.ip_address(name.partition("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return (str(mapped),) if mapped is not None else (str(ip),)


def _table_has(table: set[tuple[str, int]], addresses: tuple[str, ...], port: int) -> bool:
    for addr in addresses:
        v6 = ":" in addr
        # A socket listening on every address also answers on loopback.
        wild = ("::",) if v6 else ("0.0.0.0", "::", f"::ffff:{addr}")  # noqa: S104 - an address read from the table, nothing binds
        if any((a, port) in table for a in (addr, *wild)):
            return True
    return False


def _connect_any(addresses: tuple[str, ...], port: int) -> tuple[bool | None, str]:
    import socket

    unanswered = False
    for addr in addresses:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(CONNECT_TIMEOUT)
                sock.connect((addr, port))
            return True, ""
        except ConnectionRefusedError:
            continue
        except TimeoutError:
            unanswered = True
        except OSError:
            # No IPv6 on this machine, or the address cannot be used here.
            continue
    if unanswered:
        return None, f"the port did not answer within {CONNECT_TIMEOUT} s (Windows takes about a second to refuse a closed local port)"
    return False, ""


# --- CA bundles ------------------------------------------------------------------------------


def _ca_file(host: Host, name: str, s: _Seen) -> CaFile:
    base = CaFile(name, s.raw, s.source, s.line)
    read_err = f"Failed to read CA certificate file {s.raw} selected by {name}"
    load_err = f"Failed to load CA certificates from {s.raw} selected by {name}"
    if not s.raw.strip():
        return base._replace(problem="blank", message="is no file name at all, yet Codex tries to open it", codex_error=read_err)
    raw_path = Path(s.raw)
    if not (PureWindowsPath(s.raw).is_absolute() if host.is_windows else raw_path.is_absolute()):
        return base._replace(
            problem="relative",
            message="is a relative path, which Codex opens from the folder it is started in, so it works in one folder at most",
            codex_error=read_err,
        )
    path = host.path(raw_path)
    import stat as st

    try:
        info = path.stat()
    except FileNotFoundError:
        if host.stat(path, follow=False) is not None:
            return base._replace(
                problem="dangling-symlink", message="is a symbolic link to a file that does not exist", codex_error=read_err
            )
        return base._replace(problem="missing", message="does not exist", codex_error=read_err)
    except PermissionError:
        return base._replace(
            problem="unreadable", message="cannot be reached (permission denied on a folder above it)", codex_error=read_err
        )
    except OSError as exc:
        return base._replace(problem="unreadable", message=f"cannot be opened ({exc.strerror or type(exc).__name__})", codex_error=read_err)
    if st.S_ISDIR(info.st_mode):
        return base._replace(problem="not-a-file", message="is a folder, not a file", codex_error=read_err)
    if not st.S_ISREG(info.st_mode):
        # A FIFO or a device: opening it could block, and it is no bundle.
        return base._replace(problem="not-a-file", message="is not a regular file (a device, pipe or socket)", codex_error=load_err)
    try:
        with path.open("rb") as fh:
            data = fh.read(CA_READ_LIMIT + 1)
    except PermissionError:
        return base._replace(problem="unreadable", message="cannot be read (permission denied)", codex_error=read_err)
    except OSError as exc:
        return base._replace(problem="unreadable", message=f"cannot be read ({exc.strerror or type(exc).__name__})", codex_error=read_err)
    truncated = len(data) > CA_READ_LIMIT
    result = scan_pem(data[:CA_READ_LIMIT], complete=not truncated)
    if truncated and result.problem in ("empty", "not-pem", "no-certificate"):
        mib = CA_READ_LIMIT // (1024 * 1024)
        return base._replace(
            problem="too-large",
            message=f"is larger than {mib} MiB, far more than any CA bundle, and its first {mib} MiB hold no usable certificate",
            codex_error=load_err,
            certificates=result.certificates,
        )
    if result.problem is None:
        return base._replace(certificates=result.certificates, message=f"holds {result.certificates} certificate(s)")
    err = f"Failed to parse certificate #{result.bad_index} from {s.raw} selected by {name}" if result.bad_index else load_err
    return base._replace(problem=result.problem, message=result.message, certificates=result.certificates, codex_error=err)


class PemScan(NamedTuple):
    certificates: int
    problem: str | None = None
    message: str = ""
    bad_index: int = 0  # 1-based number of the certificate block Codex rejects


_CERT_LABELS = (b"CERTIFICATE", b"TRUSTED CERTIFICATE")


def scan_pem(data: bytes, *, complete: bool = True) -> PemScan:
    """Find the certificates Codex would load, with rustls-pemfile's rules.

    Only a line that *starts* with ``-----BEGIN `` opens a block (so a BOM or
    indentation hides it); text outside blocks is skipped; a block needs its
    own ``-----END <label>-----``; its body is base64 (line breaks and spaces
    ignored, padding optional).  ``CERTIFICATE`` and ``TRUSTED CERTIFICATE`` blocks are
    certificates; each must be one DER SEQUENCE, or Codex rejects the bundle.
    """
    if not data.strip():
        return PemScan(0, "empty", "is empty")
    label: bytes | None = None
    body_start = 0
    certs = 0
    blocks = 0
    # Only lines that start with five dashes matter; jump from one to the next
    # instead of walking every line (a system bundle has thousands).
    for start, end in _dash_lines(data):
        line = data[start:end].rstrip(b"\r ")
        if label is None:
            if line.startswith(b"-----BEGIN "):
                if not line.endswith(b"-----") or line.endswith(b"------"):
                    return PemScan(certs, "malformed-pem", "has a damaged `-----BEGIN` line")
                label, body_start = line[len(b"-----BEGIN ") : -5], end + 1
            continue
        if line != b"-----END " + label + b"-----":
            continue
        blocks += 1
        if label in _CERT_LABELS:
            certs += 1
            verdict = _certificate_body(data[body_start:start], exact=label == b"CERTIFICATE")
            if verdict == "base64":
                return PemScan(certs - 1, "malformed-pem", f"has certificate #{certs} with characters that are not base64")
            if verdict == "der":
                return PemScan(certs - 1, "bad-certificate", f"has a block #{certs} marked CERTIFICATE that is not a certificate", certs)
        label = None
    if label is not None and complete:
        return PemScan(certs, "malformed-pem", f"ends inside a `-----BEGIN {label.decode('ascii', 'replace')}-----` block (no END line)")
    if certs:
        return PemScan(certs)
    if blocks:
        return PemScan(0, "no-certificate", "holds PEM blocks but no `-----BEGIN CERTIFICATE-----` (a private key alone?)")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return PemScan(0, "not-pem", "is UTF-16 text, which Codex cannot read; save it as plain ASCII PEM")
    if data[:3] == b"\xef\xbb\xbf" and data[3:].lstrip(b"\r\n").startswith(b"-----BEGIN"):
        return PemScan(0, "not-pem", "starts with a byte-order mark, which hides its first `-----BEGIN` line from Codex")
    if b"-----BEGIN" in data:
        return PemScan(0, "not-pem", "has `-----BEGIN` lines that do not start at the beginning of a line (indented?)")
    if data[:1] == b"\x30":
        return PemScan(0, "not-pem", "looks like a binary (DER) certificate; Codex needs PEM text (`openssl x509 -inform der`)")
    if b"\x00" in data[:4096]:
        return PemScan(0, "not-pem", "is binary data, not a PEM bundle")
    return PemScan(0, "not-pem", "holds no `-----BEGIN CERTIFICATE-----` block")


def _dash_lines(data: bytes) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of every line that begins with ``-----`` (end: its newline, or the end of the data)."""
    at = 0 if data.startswith(b"-----") else data.find(b"\n-----") + 1
    while at > 0 or (at == 0 and data.startswith(b"-----")):
        end = data.find(b"\n", at)
        end = len(data) if end < 0 else end
        yield at, end
        if end >= len(data):
            return
        nxt = data.find(b"\n-----", end)
        if nxt < 0:
            return
        at = nxt + 1


_WS = b" \t\r\n"
_B64_ALPHABET_WS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=" + _WS


def _certificate_body(body: bytes, *, exact: bool) -> str | None:
    """None for a block body that holds a certificate; "base64" or "der" for what is wrong with it.

    Standard base64 with optional padding, as rustls-pemfile reads it.  Only the
    DER header is decoded: an X.509 certificate is a SEQUENCE whose first element
    is the tbsCertificate SEQUENCE, and the outer length must match the data
    (``TRUSTED CERTIFICATE`` blocks carry trust settings after it).  Decoding
    every byte of a 150-certificate system bundle would cost milliseconds.
    """
    import binascii

    # One pass for the alphabet; whitespace is only counted, never copied out.
    if body.translate(None, _B64_ALPHABET_WS):
        return "base64"
    tail = body.rstrip(_WS)
    pad = len(tail) - len(tail.rstrip(b"="))
    chars = len(body) - sum(body.count(c) for c in (b"\n", b"\r", b" ", b"\t")) - pad
    if pad > 2 or body.count(b"=") != pad or chars % 4 == 1:
        return "base64"
    size = chars // 4 * 3 + max(chars % 4 - 1, 0)
    head_chars = body[:40].translate(None, _WS).rstrip(b"=")[:12]
    try:
        head = binascii.a2b_base64(head_chars + b"=" * (-len(head_chars) % 4))
    except (binascii.Error, ValueError):
        return "base64"
    if len(head) < 4 or head[0] != 0x30:
        return "der"
    outer = _der_length(head, 1)
    if outer is None:
        return "der"
    length, start = outer
    end = start + length
    if end > size or (exact and end != size) or start >= len(head) or head[start] != 0x30:
        return "der"
    return None


def _der_length(der: bytes, at: int) -> tuple[int, int] | None:
    """``(length, offset of the contents)`` of the DER element whose length byte is at ``at``."""
    if at >= len(der):
        return None
    first = der[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if count == 0 or count > 4 or at + 1 + count > len(der):
        return None
    return int.from_bytes(der[at + 1 : at + 1 + count], "big"), at + 1 + count


def _cert_dir(host: Host, s: _Seen) -> CertDir:
    missing = []
    for part in s.raw.split(";" if host.is_windows else ":"):
        if part and Path(part).is_absolute() and host.stat(host.path(part)) is None:
            missing.append(part)
    return CertDir(s.raw, s.source, s.line, tuple(missing))


# --- headless markers ------------------------------------------------------------------------

_SSH_VARS = ("SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT")
_CONTAINER_FILES = (("/.dockerenv", "a Docker container"), ("/run/.containerenv", "a Podman container"))
_REMOTE_ENV = (
    ("CODESPACES", "codespaces", "a GitHub Codespace"),
    ("REMOTE_CONTAINERS", "dev-container", "a VS Code dev container"),
    ("GITPOD_WORKSPACE_ID", "gitpod", "a Gitpod workspace"),
    ("DEVPOD", "devpod", "a DevPod workspace"),
)


def _ssh_login(env: Mapping[str, str]) -> str | None:
    """``user@address`` this session was reached at (SSH_CONNECTION: client address, port, server address, port)."""
    fields = (env.get("SSH_CONNECTION") or "").split()
    user = env.get("USER") or env.get("LOGNAME")
    if len(fields) != 4 or not user or not all(c.isalnum() or c in "._-" for c in user):
        return None
    server = fields[2]
    if not all(c.isalnum() or c in ".:%" for c in server):
        return None
    return f"{user}@{server}"


def _markers(host: Host, wsl: WslEvidence | None) -> tuple[Marker, ...]:
    env = host.env
    found: list[Marker] = []
    ssh = next((v for v in _SSH_VARS if env.get(v)), None)
    if ssh:
        found.append(Marker("ssh", f"{ssh} is set: this terminal is an SSH session"))
    for var, kind, words in _REMOTE_ENV:
        if env.get(var):
            found.append(Marker(kind, f"{var} is set: this is {words}"))
    for path, words in _CONTAINER_FILES:
        if host.stat(host.path(path), follow=False) is not None:
            found.append(Marker("container", f"{path} exists: this is {words}", path))
    if env.get("container"):
        found.append(Marker("container", "the `container` variable is set: this is a container"))
    if env.get("VSCODE_IPC_HOOK_CLI") and found:
        found.append(Marker("vscode-remote", "VSCODE_IPC_HOOK_CLI is set: this is VS Code's remote terminal"))
    if host.platform.startswith("linux") and wsl is None and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        found.append(Marker("no-display", "neither DISPLAY nor WAYLAND_DISPLAY is set: no graphical session, so no browser here"))
    return tuple(found)


# --- WSL -------------------------------------------------------------------------------------

_NOT_USERS = frozenset({"public", "default", "default user", "all users", "defaultuser0", "wdagutilityaccount"})


def _proc_dir(host: Host) -> Path | None:
    """An image's /proc (under --root), else the live one; a test Host with neither has none."""
    if host.root != Path("/"):
        return host.path("/proc")
    return host.proc


def _read_small(host: Host, path: Path) -> bytes | None:
    try:
        return host.read_bytes(path, _SMALL_FILE)
    except (OSError, ValueError):
        return None


def _wsl(host: Host) -> WslEvidence | None:
    if not host.platform.startswith("linux"):
        return None
    env = host.env
    proc = _proc_dir(host)
    version_text = ""
    if proc is not None:
        data = _read_small(host, proc / "version")
        version_text = data.decode("utf-8", "replace").lower() if data else ""
    if not (env.get("WSL_DISTRO_NAME") or env.get("WSL_INTEROP") or "microsoft" in version_text):
        return None
    if "wsl2" in version_text or "microsoft-standard" in version_text:
        version: int | None = 2
    elif "-microsoft" in version_text:
        version = 1
    else:
        version = None
    users_dir = host.path(_mount_root(host) + "c/Users")
    user, note = _windows_user(host, users_dir)
    wsl = WslEvidence(version, env.get("WSL_DISTRO_NAME"), users_dir, user, note)
    if user is None:
        return wsl
    folder = users_dir / user
    auth = folder / K.DEFAULT_HOME_DIRNAME / K.AUTH_FILENAME
    wsl = wsl._replace(windows_auth=auth if host.stat(auth) is not None else None)
    config = folder / ".wslconfig"
    data = _read_small(host, config)
    if data is None:
        if host.stat(config) is not None:
            return wsl._replace(wslconfig=config, wslconfig_problem="it cannot be read")
        return wsl
    sections = parse_ini(_decode(data))
    wsl2 = sections.get("wsl2", {})
    mode = wsl2.get("networkingmode") or sections.get("experimental", {}).get("networkingmode")
    forwarding = wsl2.get("localhostforwarding", "true").strip().lower() != "false"
    return wsl._replace(
        wslconfig=config,
        networking_mode=(mode or "nat").strip().lower(),
        mode_written=mode is not None,
        localhost_forwarding=forwarding,
    )


def _mount_root(host: Host) -> str:
    """Where Windows drives are mounted: ``[automount] root`` in /etc/wsl.conf, ``/mnt/`` by default."""
    data = _read_small(host, host.path("/etc/wsl.conf"))
    root = parse_ini(_decode(data)).get("automount", {}).get("root", "") if data else ""
    root = root.strip().strip('"') or "/mnt/"
    return root if root.endswith("/") else root + "/"


def _windows_user(host: Host, users_dir: Path) -> tuple[str | None, str]:
    try:
        entries = [p for p in host.list_dir(users_dir) if p.name.lower() not in _NOT_USERS and p.is_dir()]
    except OSError:
        return None, f"{users_dir} cannot be read (is drive C: mounted?)"
    me = (host.env.get("USER") or host.env.get("LOGNAME") or "").lower()
    mine = [p for p in entries if me and p.name.lower() == me]
    if mine:
        return mine[0].name, ""
    if len(entries) == 1:
        return entries[0].name, ""
    if not entries:
        return None, f"{users_dir} holds no user folder"
    return None, f"{users_dir} holds {len(entries)} user folders and none is named like this Linux user, so which is yours is unknown"


def _decode(data: bytes) -> str:
    """Notepad saves .wslconfig as UTF-8 (maybe with a BOM) or UTF-16."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8-sig", "replace")


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """``.wslconfig`` / ``wsl.conf``: ``[section]`` and ``key = value`` lines, names case-insensitive, ``#``/``;`` comments."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and "]" in line:
            current = sections.setdefault(line[1 : line.index("]")].strip().lower(), {})
            continue
        key, eq, value = line.partition("=")
        if eq and current is not None:
            value = value.split("#", 1)[0].split(";", 1)[0].strip()
            current[key.strip().lower()] = value
    return sections
