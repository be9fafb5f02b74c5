"""Who listens on the login callback ports (``Host.login_ports``: 1455, then 1457).

Facts this relies on:

* ``codex login`` (and the sign-in of the TUI, the IDE extensions and the
  desktop app) binds ``127.0.0.1:1455``.  When 1455 is taken it first asks an
  earlier Codex login server there to quit (``GET /cancel``), retries, and
  after 10 tries falls back to ``127.0.0.1:1457`` (openai/codex#19334).  The
  browser is sent to ``http://localhost:<port>/auth/callback``.
* Which local addresses matter: a socket on ``127.0.0.1``, ``0.0.0.0`` or
  ``::`` (or their IPv4-mapped forms) makes Codex's bind fail; one on ``::1``
  does not, but a browser that resolves ``localhost`` to ``::1`` first hands
  the callback to it.  A socket on any other address (a LAN address,
  ``127.0.0.2``) does neither, so it is not kept.
* Linux: the kernel lists every listening TCP socket of this network
  namespace, whoever owns it, with its address, port, owner's uid and
  inode.  A check asks through the sock_diag netlink interface
  (``Host.tcp_listeners``, host/sockdiag.py).  On the development VM the
  median over 2,000 in-process runs was 0.24 ms for both families, against
  3.7 ms for reading and parsing ``/proc/net/tcp`` and ``tcp6``: to format
  those files the kernel walks its whole connection table.  The /proc files
  are still read when netlink cannot answer (a sandbox without it), and when
  ``Host.proc`` is a stand-in directory.  In them, state ``0A`` is LISTEN
  and the local address is hex in 32-bit words of host byte order, followed
  by the uid and the inode.  The process holding a socket has a
  ``socket:[<inode>]`` link in ``/proc/<pid>/fd``, which only its own user
  (or root) may read: another user's listener is reported with
  ``pid=None``, never a guess.  A check pays only for that one question
  unless something listens.
* macOS: ``lsof -F`` field output (``p`` pid, ``c`` command, ``t`` IPv4/IPv6,
  ``n`` address).  Without root lsof sees only this user's processes, so a
  port lsof reports free is confirmed with a loopback connect.
* Windows: ``netstat -ano`` rows of listening sockets (the state column is
  translated, so a foreign address of port 0 tells), ``tasklist`` for the
  owner's name, and ``netsh … show excludedportrange``: Hyper-V, WSL 2 and
  Docker (WinNAT) reserve ranges such as 1447-1546 where ``bind`` fails with
  WSAEACCES (os error 10013) although nothing listens.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from authdoctor.host import Host, RunResult


class Listener(NamedTuple):
    """One socket listening on a watched port."""

    port: int
    address: str  # "127.0.0.1", "0.0.0.0", "::1", "::"
    pid: int | None = None  # None: the OS did not say (another user's process, or no permission)
    program: str | None = None  # the process name, as the process table shows it
    role: str | None = None  # for Codex: "login", "app-server", "tui" … (collect/processes.py roles)
    stopped: bool = False  # the holder is suspended (Ctrl-Z on a `codex login`)
    uid: int | None = None  # Linux: the user that opened the socket (known even when its process is not)
    user: str | None = None  # that user's name, when it is not the user running authdoctor
    path: str | None = None  # the holder's executable, when the OS says (tells Cursor's or JetBrains' helpers apart)
    via: str | None = None  # for Codex: what runs it ("VS Code extension", "desktop app" …), from its executable's path

    @property
    def blocks(self) -> bool:
        """Codex's ``bind(127.0.0.1:port)`` fails because of it (``::1`` only takes the browser's IPv6 callback)."""
        return self.address != "::1"


class PortEvidence(NamedTuple):
    ports: tuple[int, ...]  # the ports looked at
    listeners: tuple[Listener, ...] = ()
    visible: bool = True  # False: this system does not let us see listeners; ``note`` says why
    note: str = ""
    excluded: tuple[tuple[int, int], ...] = ()  # Windows: excluded port ranges that cover a watched port


def collect_ports(host: Host) -> PortEvidence | None:
    ports = tuple(dict.fromkeys(host.login_ports))
    return _looker(host.platform)(host, ports)


# One implementation per OS, all with this shape.
Looker = Callable[[Host, tuple[int, ...]], PortEvidence]

# Addresses that matter (see the module docstring), as decoded from /proc/net/tcp{,6}.
KEPT = frozenset({"127.0.0.1", "0.0.0.0", "::1", "::", "::ffff:127.0.0.1", "::ffff:0.0.0.0"})  # noqa: S104 - we read binds, we do not make them

# Subprocesses (macOS, Windows) must not hold up a check.
RUN_TIMEOUT = 1.5
# Finding the process that holds a socket walks every process's fd table.
OWNER_SEARCH_SECONDS = 0.5
# /proc/net/tcp of a busy server: more than this is not worth reading for a check.
MAX_TABLE_BYTES = 32 * 1024 * 1024


def _looker(platform: str) -> Looker:
    if platform.startswith("linux"):
        return linux_listeners
    if platform == "darwin":
        return macos_listeners
    if platform.startswith("win"):
        return windows_listeners
    return _unsupported


def _unsupported(host: Host, ports: tuple[int, ...]) -> PortEvidence:
    return PortEvidence(
        ports, visible=False, note=f"Listeners on the login callback ports cannot be seen on this system ({host.platform})."
    )


def _port_words(ports: Sequence[int]) -> str:
    return f"port {ports[0]}" if len(ports) == 1 else "ports " + ", ".join(str(p) for p in ports[:-1]) + f" and {ports[-1]}"


# --- Linux: sock_diag netlink, or /proc ------------------------------------------


class Socket(NamedTuple):
    """A listening socket, from sock_diag or /proc/net/tcp{,6}."""

    port: int
    address: str
    uid: int | None
    inode: int


def linux_listeners(host: Host, ports: tuple[int, ...]) -> PortEvidence:
    if host.proc is None:
        return PortEvidence(
            ports,
            visible=False,
            note="Listeners on the login callback ports cannot be seen here: there is no process table (/proc) to read "
            "(an image under --root runs nothing).",
        )
    sockets, unreadable = listening(host, host.proc, ports)
    if unreadable:
        return PortEvidence(
            ports,
            visible=False,
            note=f"Listeners on the login callback ports cannot be seen: {'; '.join(unreadable)} could not be read.",
        )
    if not sockets:
        return PortEvidence(ports)
    return _owned(host, host.proc, ports, sockets)


def listening(host: Host, proc: Path, ports: tuple[int, ...]) -> tuple[list[Socket], list[str]]:
    """The sockets listening on ``ports`` on loopback or every address (netlink, else ``proc/net/tcp{,6}``),
    and the tables that could not be read.  Also what the proxy check asks (collect/network.py)."""
    found = host.tcp_listeners()
    if found is None:
        return _proc_sockets(proc, host, ports)
    wanted = set(ports)
    return [Socket(port, address, uid, inode) for address, port, uid, inode in found if port in wanted and address in KEPT], []


def _proc_sockets(proc: Path, host: Host, ports: tuple[int, ...]) -> tuple[list[Socket], list[str]]:
    """The listening sockets on ``ports`` from ``proc/net/tcp{,6}``, and the tables that could not be read."""
    sockets: list[Socket] = []
    unreadable: list[str] = []
    for name in ("tcp", "tcp6"):
        path = proc / "net" / name
        try:
            data = host.read_bytes(path, limit=MAX_TABLE_BYTES)
        except FileNotFoundError as exc:
            if name == "tcp6":
                continue  # absent when IPv6 is disabled
            unreadable.append(f"{path} ({exc.strerror})")
            continue
        except (OSError, ValueError) as exc:
            unreadable.append(f"{path} ({exc.strerror if isinstance(exc, OSError) and exc.strerror else exc})")
            continue
        sockets += parse_proc_net_tcp(data, ports)
    return sockets, unreadable


def parse_proc_net_tcp(data: bytes, ports: Iterable[int]) -> list[Socket]:
    """The LISTEN sockets on ``ports`` bound to an address that matters, from /proc/net/tcp or tcp6."""
    wanted = {p: b":%04X " % p for p in ports}
    # Cheap on the common path: one substring search per port over the whole table.
    if not any(w in data for w in wanted.values()):
        return []
    found: list[Socket] = []
    for line in data.splitlines()[1:]:
        f = line.split()
        if len(f) < 10 or f[3] != b"0A":
            continue
        addr, _, port_hex = f[1].partition(b":")
        try:
            port = int(port_hex, 16)
            uid, inode = int(f[7]), int(f[9])
        except ValueError:
            continue
        if port not in wanted:
            continue
        address = proc_address(addr)
        if address in KEPT:
            found.append(Socket(port, address, uid, inode))
    return found


def proc_address(word: bytes) -> str | None:
    """A /proc/net/tcp{,6} address (hex, 32-bit words in host byte order) as text; None when it is not one."""
    try:
        raw = bytes.fromhex(word.decode("ascii"))
    except ValueError:
        return None
    if len(raw) not in (4, 16):
        return None
    from authdoctor.host.sockdiag import address_text

    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    # Spelled as the netlink answer spells it, so both sources give the same Listener.
    return address_text(raw)


def _owned(host: Host, proc: Path, ports: tuple[int, ...], sockets: list[Socket]) -> PortEvidence:
    """Name the process behind each socket, where this user may look."""
    me = host.uid
    root = me == 0
    # Another user's fd table is closed to us: look only when some socket is ours (or we are root).
    searchable = me is None or root or any(s.uid == me for s in sockets)
    owners, cut = find_socket_owners(proc, {s.inode for s in sockets}, me, OWNER_SEARCH_SECONDS) if searchable else ({}, False)
    described: dict[int, Listener] = {}
    notes: list[str] = []
    listeners: list[Listener] = []
    for s in sockets:
        pid = owners.get(s.inode)
        user = _user_name(s.uid) if s.uid is not None and s.uid != me else None
        if pid is None:
            listeners.append(Listener(s.port, s.address, uid=s.uid, user=user))
            if s.uid is not None and me is not None and s.uid != me and not root:
                notes.append(f"The socket on port {s.port} belongs to another user (uid {s.uid}); its process cannot be seen without root.")
            elif cut:
                notes.append(f"The search for the process holding port {s.port} was stopped after {OWNER_SEARCH_SECONDS:g} s.")
            else:
                notes.append(f"No process in this process table holds the socket on port {s.port} (it may run in another container).")
            continue
        if pid not in described:
            described[pid] = describe_process(proc, pid)
        listeners.append(described[pid]._replace(port=s.port, address=s.address, uid=s.uid, user=user))
    return PortEvidence(ports, tuple(_sorted(listeners)), note=" ".join(dict.fromkeys(notes)))


def find_socket_owners(proc: Path, inodes: set[int], me: int | None, budget: float) -> tuple[dict[int, int], bool]:
    """``{inode: pid}`` for the sockets found in some ``/proc/<pid>/fd``, and whether the time ran out first."""
    links = {f"socket:[{i}]": i for i in inodes}
    found: dict[int, int] = {}
    deadline = time.monotonic() + budget
    base = str(proc)
    try:
        pids = sorted((n for n in os.listdir(base) if n.isdigit()), key=int, reverse=True)  # noqa: PTH208 - names only
    except OSError:
        return found, False
    # Newest first: a login waiting for its callback is usually a recent process.
    for pid in pids:
        if time.monotonic() > deadline:
            return found, True
        if me not in (None, 0):
            try:
                if os.stat(f"{base}/{pid}").st_uid != me:  # noqa: PTH116 - plain os calls: this loop visits every process
                    continue
            except OSError:
                continue
        try:
            fds = os.listdir(f"{base}/{pid}/fd")  # noqa: PTH208
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"{base}/{pid}/fd/{fd}")  # noqa: PTH115
            except OSError:
                continue
            inode = links.pop(link, None)
            if inode is not None:
                found[inode] = int(pid)
                if not links:
                    return found, False
    return found, False


def describe_process(proc: Path, pid: int) -> Listener:
    """Name, state and Codex role of the process ``pid`` (port and address are filled in by the caller)."""
    from authdoctor.collect.processes import codex_role, via_of

    pid_dir = proc / str(pid)
    comm = _read_text(pid_dir / "comm", 256)
    try:
        exe: str | None = os.readlink(pid_dir / "exe").removesuffix(" (deleted)")  # noqa: PTH115
    except OSError:
        exe = None
    stat = _read_bytes(pid_dir / "stat", 4096) or b""
    # The name (field 2) is in parentheses and may hold spaces: the state follows the last one.
    state = stat.rpartition(b")")[2].split()[:1]
    stopped = state in ([b"T"], [b"t"])
    cmdline = _read_bytes(pid_dir / "cmdline", 64 * 1024) or b""
    argv = [a.decode("utf-8", "replace") for a in cmdline.rstrip(b"\0").split(b"\0")] if cmdline else []
    exe_name = exe.rsplit("/", 1)[-1] if exe else None
    program = comm or exe_name
    # A process may rename itself (comm); the executable's own name still tells.
    role = next((r for n in (comm, exe_name) if n and argv and (r := codex_role(n, argv)) is not None), None)
    via = via_of(exe) if role is not None and exe else None
    return Listener(0, "", pid, program, role, stopped, path=exe, via=via)


def _read_bytes(path: Path, limit: int) -> bytes | None:
    try:
        with path.open("rb") as fh:
            return fh.read(limit)
    except OSError:
        return None


def _read_text(path: Path, limit: int) -> str | None:
    data = _read_bytes(path, limit)
    if data is None:
        return None
    return data.decode("utf-8", "replace").strip() or None


def _user_name(uid: int) -> str | None:
    try:
        import pwd
    except ImportError:  # not on Windows
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _sorted(listeners: Iterable[Listener]) -> list[Listener]:
    return sorted(listeners, key=lambda li: (li.port, li.address, li.pid or 0))


# --- macOS: lsof ------------------------------------------------------------------


def macos_listeners(host: Host, ports: tuple[int, ...]) -> PortEvidence:
    argv = ["lsof", "-nP", "+c", "0", *(f"-iTCP:{p}" for p in ports), "-sTCP:LISTEN", "-Fpctn"]
    result = host.run(argv, timeout=RUN_TIMEOUT)
    problem = _run_problem(result, "lsof", ok=(0, 1))
    if problem is not None:
        return PortEvidence(ports, visible=False, note=f"Listeners on the login callback ports cannot be seen: {problem}.")
    # lsof exits 1 when some port has no listener; what it printed still counts.
    parsed = parse_lsof(result.stdout, ports)
    if parsed is None:
        return PortEvidence(
            ports,
            visible=False,
            note="Listeners on the login callback ports cannot be seen: lsof printed something authdoctor cannot read.",
        )
    listeners = _with_ps(host, parsed)
    notes: list[str] = []
    if host.uid != 0:
        # lsof shows only this user's processes: knock on the ports it says are free.
        quiet = [p for p in ports if not any(li.port == p for li in listeners)]
        unseen = [Listener(p, a) for p in quiet for a in ("127.0.0.1", "::1") if loopback_accepts(a, p)]
        if unseen:
            listeners += unseen
            notes.append(
                f"Something accepts connections on {_port_words(sorted({li.port for li in unseen}))}, but lsof does not show "
                "whose it is: it belongs to another user (`sudo lsof` names it)."
            )
    return PortEvidence(ports, tuple(_sorted(listeners)), note=" ".join(notes))


def parse_lsof(out: bytes, ports: Iterable[int]) -> list[Listener] | None:
    """Listeners from ``lsof -F pctn`` output; None when it is not that format at all."""
    wanted = set(ports)
    found: list[Listener] = []
    pid: int | None = None
    command: str | None = None
    family: str | None = None
    recognised = False
    for raw in out.decode("utf-8", "replace").splitlines():
        if not raw:
            continue
        tag, value = raw[0], raw[1:]
        if tag == "p":
            if not value.isdigit():
                return None
            pid, command, family, recognised = int(value), None, None, True
        elif tag == "c":
            command = value
        elif tag == "f":
            family = None
        elif tag == "t":
            family = value
        elif tag == "n":
            parsed = _host_port(value)
            if pid is None or parsed is None:
                return None
            host_part, port = parsed
            address = _lsof_address(host_part, family)
            if port in wanted and address in KEPT:
                found.append(Listener(port, address, pid, command))
        elif tag not in _LSOF_FIELDS:
            return None
    if out.strip() and not recognised:
        return None
    return found


# Every field identifier lsof -F may print (it adds some unasked); a line starting otherwise is not lsof's.
_LSOF_FIELDS = frozenset("acCdDfFgGiKklLmMnNoOpPrRsStTuZ0")


def _lsof_address(host_part: str, family: str | None) -> str:
    if host_part == "*":
        return "::" if family == "IPv6" else "0.0.0.0"  # noqa: S104
    return host_part


def _host_port(text: str) -> tuple[str, int] | None:
    """``127.0.0.1:1455`` / ``[::1]:1455`` / ``*:1455`` (and a connection's ``a->b``: its local side)."""
    text = text.split("->", 1)[0].strip()
    host_part, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    host_part = host_part.removeprefix("[").removesuffix("]").split("%", 1)[0]
    return host_part, int(port)


def _with_ps(host: Host, listeners: list[Listener]) -> list[Listener]:
    """Add whether each holder is stopped and, for Codex, its role (``ps`` knows both)."""
    pids = sorted({li.pid for li in listeners if li.pid is not None})
    if not pids:
        return listeners
    result = host.run(["ps", "-o", "pid=", "-o", "stat=", "-o", "args=", "-p", ",".join(map(str, pids))], timeout=RUN_TIMEOUT)
    if result.returncode != 0:
        return listeners
    from authdoctor.collect.processes import codex_role, via_of

    info: dict[int, tuple[bool, str | None, str | None]] = {}
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        # Arguments are split on blanks: enough to find the subcommand, and never kept.
        argv = fields[2:]
        exe = argv[0]
        role = codex_role(exe.rsplit("/", 1)[-1], argv)
        info[int(fields[0])] = ("T" in fields[1], role, via_of(exe) if role is not None else None)
    out = []
    for li in listeners:
        stopped, role, via = info.get(li.pid or -1, (False, None, None))
        out.append(li._replace(stopped=stopped, role=role, via=via))
    return out


def loopback_accepts(address: str, port: int, timeout: float = 0.2) -> bool:
    """Whether something accepts a TCP connection on ``address:port`` (loopback: answered at once)."""
    import socket

    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            return s.connect_ex((address, port)) == 0
    except OSError:
        return False


# --- Windows: netstat, tasklist, netsh --------------------------------------------


def windows_listeners(host: Host, ports: tuple[int, ...]) -> PortEvidence:
    notes: list[str] = []
    excluded, problem = _excluded(host, ports)
    if problem is not None:
        notes.append(f"Excluded port ranges could not be read: {problem}.")
    result = host.run(["netstat", "-ano"], timeout=RUN_TIMEOUT)
    problem = _run_problem(result, "netstat", ok=(0,))
    parsed = parse_netstat(result.stdout, ports) if problem is None else None
    if parsed is None:
        why = problem or "netstat printed something authdoctor cannot read"
        return PortEvidence(
            ports,
            visible=False,
            note=" ".join([f"Listeners on the login callback ports cannot be seen: {why}.", *notes]),
            excluded=excluded,
        )
    names = _task_names(host, sorted({li.pid for li in parsed if li.pid is not None})[:8])
    listeners = [li._replace(program=names.get(li.pid or -1)) for li in parsed]
    return PortEvidence(ports, tuple(_sorted(listeners)), note=" ".join(notes), excluded=excluded)


def parse_netstat(out: bytes, ports: Iterable[int]) -> list[Listener] | None:
    """Listening TCP sockets on ``ports`` from ``netstat -ano``; None when the output is not netstat's."""
    wanted = set(ports)
    found: list[Listener] = []
    rows = 0
    for line in out.decode("utf-8", "replace").splitlines():
        f = line.split()
        if not f or f[0].upper() not in ("TCP", "UDP"):
            continue
        rows += 1
        # Proto, Local, Foreign, State (translated, maybe several words), PID.
        if f[0].upper() != "TCP" or len(f) < 5 or not f[-1].isdigit():
            continue
        local, foreign = _host_port(f[1]), _host_port(f[2])
        if local is None or foreign is None:
            continue
        listening = f[3] == "LISTENING" or foreign[1] == 0
        address, port = local
        if listening and port in wanted and address in KEPT:
            pid = int(f[-1])
            found.append(Listener(port, address, pid or None))
    if rows == 0 and b"Proto" not in out:
        return None  # not even the table's heading: an error message, or nothing at all
    return found


def parse_tasklist(out: bytes) -> dict[int, str]:
    """``{pid: image name}`` from ``tasklist /FO CSV /NH`` (``"Cursor.exe","5678","Console","1","120,000 K"``)."""
    names: dict[int, str] = {}
    for line in out.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not (line.startswith('"') and line.endswith('"')):
            continue  # "INFO: No tasks are running …", in the system's language
        fields = line[1:-1].split('","')
        if len(fields) >= 2 and fields[1].isdigit():
            names[int(fields[1])] = fields[0]
    return names


def _task_names(host: Host, pids: Sequence[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for pid in pids:
        result = host.run(["tasklist", "/FI", f"PID eq {pid}", "/FO", "CSV", "/NH"], timeout=RUN_TIMEOUT)
        if result.returncode == 0:
            names.update(parse_tasklist(result.stdout))
        elif result.timed_out:
            break
    return names


def parse_excluded_ranges(out: bytes) -> list[tuple[int, int]] | None:
    """Ranges from ``netsh interface ipv4 show excludedportrange protocol=tcp``; None when the output has no table."""
    ranges: list[tuple[int, int]] = []
    table = False
    for line in out.decode("utf-8", "replace").splitlines():
        f = line.split()
        if f and set("".join(f)) == {"-"}:
            table = True  # the dashes under "Start Port  End Port", whatever the language
            continue
        # "      1447        1546" or, for ranges an administrator added, "  50000   50059     *".
        if len(f) in (2, 3) and f[0].isdigit() and f[1].isdigit() and f[2:] in ([], ["*"]):
            ranges.append((int(f[0]), int(f[1])))
    return ranges if table or ranges else None


def _excluded(host: Host, ports: Sequence[int]) -> tuple[tuple[tuple[int, int], ...], str | None]:
    covering: list[tuple[int, int]] = []
    for family in ("ipv4", "ipv6"):
        result = host.run(["netsh", "interface", family, "show", "excludedportrange", "protocol=tcp"], timeout=RUN_TIMEOUT)
        problem = _run_problem(result, "netsh", ok=(0,))
        ranges = parse_excluded_ranges(result.stdout) if problem is None else None
        if ranges is None:
            return tuple(covering), problem or "netsh printed something authdoctor cannot read"
        covering += [r for r in ranges if any(r[0] <= p <= r[1] for p in ports)]
    return tuple(dict.fromkeys(covering)), None


# --- shared -----------------------------------------------------------------------


def _run_problem(result: RunResult, program: str, *, ok: tuple[int, ...]) -> str | None:
    """Why a program's answer cannot be used, in words; None when it can."""
    if result.error is not None:
        return f"{program} could not be run ({result.error})"
    if result.timed_out:
        return f"{program} did not answer within {RUN_TIMEOUT:g} s"
    if result.returncode not in ok:
        first = next((ln.strip() for ln in result.stderr.decode("utf-8", "replace").splitlines() if ln.strip()), "")
        said = f": {first[:160]}" if first else ""
        return f"{program} failed (exit status {result.returncode}){said}"
    return None
