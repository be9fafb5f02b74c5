"""Running Codex processes on macOS and Windows, where there is no ``/proc``.

macOS: ``ps`` lists every process with its start time and state; for the few
that look like Codex, ``sysctl(KERN_PROCARGS2)`` gives the real argument
vector and the environment the process started with.  The kernel hands it
out only for one's own processes, and not for some hardened ones: then the
process is listed with ``hidden`` saying so -- never guessed.

Windows: ``tasklist`` lists ``codex.exe`` processes by pid.  Windows lets no
process read another's environment without debugging rights, and tasklist
does not show command lines, so each is listed with its role unknown and
``hidden`` saying that its environment cannot be seen.  (WMI's
``Win32_Process`` has command lines but costs about a second per check.)

Neither of these can run on the Linux machine the tests run on; their parsers
are pure functions, tested with output recorded in the real formats, and the
commands run through :meth:`Host.run` like every other program.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.host import Host

if TYPE_CHECKING:
    from authdoctor.collect.processes import CodexProcess

PS_TIMEOUT = 2.0
MAC_HIDDEN = "macOS does not show this process's environment to other processes"
WINDOWS_HIDDEN = "Windows does not let one process read another's environment or command line without administrator rights"
UNKNOWN = "unknown"  # Windows: the role cannot be told without the command line

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


class PsRow(NamedTuple):
    pid: int
    uid: int | None
    stopped: bool
    started: datetime | None
    executable: str  # macOS: the executable's path as ps shows it (`comm`)


# --- macOS ------------------------------------------------------------------------

# `lstart` first: it is fixed-width ("Sat Nov 21 02:30:32 2026"), so the path after it may hold spaces.
PS_ARGV = ("ps", "-axww", "-o", "pid=,uid=,state=,lstart=,comm=")


def parse_ps(text: str) -> list[PsRow]:
    """Rows of ``ps -axww -o pid=,uid=,state=,lstart=,comm=`` (run with ``LC_ALL=C``)."""
    rows: list[PsRow] = []
    for line in text.splitlines():
        parts = line.split(None, 8)
        if len(parts) < 9 or not parts[0].isdigit():
            continue
        pid, uid, state, _, month, day, clock, year, exe = parts
        rows.append(PsRow(int(pid), int(uid) if uid.isdigit() else None, state.startswith("T"), _lstart(month, day, clock, year), exe))
    return rows


def _lstart(month: str, day: str, clock: str, year: str) -> datetime | None:
    try:
        hour, minute, second = (int(x) for x in clock.split(":"))
        # ps prints local time; the check compares in UTC.
        local = datetime(int(year), _MONTHS[month], int(day), hour, minute, second)
        return local.astimezone(UTC)
    except (KeyError, ValueError, OverflowError):
        return None


def parse_procargs2(buf: bytes) -> tuple[list[str], list[bytes]] | None:
    """``(argv, environ)`` from a ``KERN_PROCARGS2`` buffer: argc, the exec path, padding, argv, environ."""
    if len(buf) < 4:
        return None
    (argc,) = struct.unpack_from("=i", buf)
    rest = buf[4:]
    end = rest.find(b"\0")
    if end < 0 or argc < 0:
        return None
    at = end
    while at < len(rest) and rest[at] == 0:
        at += 1
    strings = rest[at:].split(b"\0")
    if len(strings) < argc:
        return None
    argv = [s.decode("utf-8", "replace") for s in strings[:argc]]
    environ: list[bytes] = []
    for item in strings[argc:]:
        if not item:
            break
        environ.append(item)
    return argv, environ


def _procargs2(pid: int) -> bytes | None:
    """The raw ``KERN_PROCARGS2`` of a process, or None when the kernel refuses (another user, a hardened process)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        sysctl = libc.sysctl
    except (OSError, AttributeError, TypeError):
        return None
    ctl_kern, kern_argmax, kern_procargs2 = 1, 8, 49
    size = ctypes.c_size_t(ctypes.sizeof(ctypes.c_int))
    argmax = ctypes.c_int(0)
    mib = (ctypes.c_int * 2)(ctl_kern, kern_argmax)
    if sysctl(mib, 2, ctypes.byref(argmax), ctypes.byref(size), None, 0) != 0 or argmax.value <= 0:
        return None
    buf = ctypes.create_string_buffer(argmax.value)
    size = ctypes.c_size_t(argmax.value)
    mib3 = (ctypes.c_int * 3)(ctl_kern, kern_procargs2, pid)
    if sysctl(mib3, 3, buf, ctypes.byref(size), None, 0) != 0:
        return None
    return buf.raw[: size.value]


def darwin_processes(
    host: Host, watch: Iterable[str], procargs: Callable[[int], bytes | None] = _procargs2
) -> tuple[CodexProcess, ...] | None:
    """Codex processes on macOS; None when ``ps`` could not be run.  Tests pass ``procargs`` (the real one needs a Mac)."""
    from authdoctor.collect import processes as P

    env = {**host.env, "LC_ALL": "C"}
    res = host.run(PS_ARGV, timeout=PS_TIMEOUT, env=env)
    if res.returncode != 0:
        return None
    wanted = [n.encode() + b"=" for n in dict.fromkeys(watch)]
    me = os.getpid()
    found: list[P.CodexProcess] = []
    for row in parse_ps(res.stdout.decode("utf-8", "replace")):
        name = _base(row.executable)
        if row.pid == me or not (P.maybe_codex(name) or name == "Codex"):
            continue
        raw = procargs(row.pid)
        parsed = parse_procargs2(raw) if raw is not None else None
        if parsed is None:
            if name in ("codex", "Codex") or name.startswith("codex-"):
                role = P.TUI if name == "codex" else P.OTHER
                found.append(
                    P.CodexProcess(
                        row.pid, role, None, frozenset(), False, row.started, row.uid, name, stopped=row.stopped, hidden=MAC_HIDDEN
                    )
                )
            continue
        argv, environ = parsed
        found_role = P.codex_role(name, argv)
        if found_role is None:
            continue
        values = P.watched_values(environ, wanted)
        home = P.codex_home_of(host, environ)
        via = P.via_of(row.executable)
        found.append(
            P.CodexProcess(
                row.pid,
                found_role,
                home,
                frozenset(values),
                True,
                row.started,
                row.uid,
                name,
                None,
                tuple(values.items()),
                row.stopped,
                via,
            )
        )
    return tuple(sorted(found, key=lambda p: p.pid))


def _base(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


# --- Windows ----------------------------------------------------------------------

TASKLIST_ARGV = ("tasklist", "/FO", "CSV", "/NH", "/FI", "IMAGENAME eq codex.exe")


def parse_tasklist(text: str) -> list[tuple[str, int]]:
    """``(image, pid)`` rows of ``tasklist /FO CSV /NH`` (the login-port reader's parser); the "no tasks" line and garbage are skipped."""
    from authdoctor.collect.ports import parse_tasklist as names_by_pid

    return [(image, pid) for pid, image in names_by_pid(text.encode("utf-8", "replace")).items()]


def windows_processes(host: Host) -> tuple[CodexProcess, ...] | None:
    from authdoctor.collect import processes as P

    res = host.run(TASKLIST_ARGV, timeout=PS_TIMEOUT)
    if res.returncode != 0:
        return None
    text = res.stdout.decode("utf-8", "replace")
    return tuple(
        P.CodexProcess(pid, UNKNOWN, None, frozenset(), False, None, None, image.removesuffix(".exe"), hidden=WINDOWS_HIDDEN)
        for image, pid in sorted(parse_tasklist(text), key=lambda r: r[1])
        if image.lower() == "codex.exe"
    )
