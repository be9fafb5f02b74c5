"""Who listens on the login callback ports: real sockets and processes on Linux, recorded tool output for macOS and Windows."""

from __future__ import annotations

import errno
import json
import os
import platform
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast

import pytest

from authdoctor.collect import ports as P
from authdoctor.collect.ports import Listener, PortEvidence, collect_ports
from authdoctor.host import Host
from tests.conftest import REPO
from tests.porttools import (
    LSOF_OUTPUT,
    NETSH_V4,
    NETSTAT_GERMAN,
    NO_TASKS,
    PS_OUTPUT,
    SYSTEM_PYTHON,
    TASKS,
    children,
    fake_program,
    free_port,
    listening,
    printing,
    windows_tools,
)
from tests.proctools import linux_only

root_only = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to run a process as another user")
NOBODY = 65534


def linux_host(tmp_path: Path, *ports: int) -> Host:
    return Host(env={"HOME": str(tmp_path), "PATH": os.defpath}, home=tmp_path, platform="linux", uid=os.getuid(), login_ports=ports)


def _seen(host: Host) -> PortEvidence:
    ev = collect_ports(host)
    assert ev is not None
    return ev


# --- Linux, for real --------------------------------------------------------------


@linux_only
def test_a_listener_in_this_process(tmp_path: Path) -> None:
    with listening() as s:
        port = s.getsockname()[1]
        other = free_port()
        ev = _seen(linux_host(tmp_path, port, other))
    assert ev.visible and ev.ports == (port, other) and ev.excluded == () and ev.note == ""
    (li,) = ev.listeners
    assert (li.port, li.address, li.pid, li.uid, li.user) == (port, "127.0.0.1", os.getpid(), os.getuid(), None)
    assert li.program == Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert li.path == os.path.realpath(sys.executable)
    assert li.role is None and not li.stopped and li.blocks


@linux_only
def test_nothing_listens(tmp_path: Path) -> None:
    ev = _seen(linux_host(tmp_path, free_port(), free_port()))
    assert ev.visible and ev.listeners == () and ev.note == ""


@linux_only
@pytest.mark.parametrize(
    ("address", "shown"),
    [("::1", "::1"), ("::", "::"), ("0.0.0.0", "0.0.0.0"), ("::ffff:127.0.0.1", "::ffff:127.0.0.1")],
)
def test_ipv6_wildcard_and_mapped_binds(tmp_path: Path, address: str, shown: str) -> None:
    if ":" in address and not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    with listening(address) as s:
        ev = _seen(linux_host(tmp_path, s.getsockname()[1]))
    (li,) = ev.listeners
    assert li.address == shown and li.pid == os.getpid()
    assert li.blocks is (shown != "::1")


@linux_only
def test_an_address_codex_never_uses_is_left_out(tmp_path: Path) -> None:
    # 127.0.0.2 neither stops Codex binding 127.0.0.1 nor receives the browser's callback.
    with listening("127.0.0.2") as s:
        ev = _seen(linux_host(tmp_path, s.getsockname()[1]))
    assert ev.visible and ev.listeners == ()


@linux_only
def test_a_connection_or_time_wait_on_the_port_is_not_a_listener(tmp_path: Path) -> None:
    with listening() as server:
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
    # The listener is gone; the port still has an established connection on it.
    hex_port = f":{port:04X} ".encode()
    assert hex_port in Path("/proc/net/tcp").read_bytes()
    assert _seen(linux_host(tmp_path, port)).listeners == ()
    # The server side closes first: its end of the port waits in TIME_WAIT.
    accepted.close()
    client.close()
    deadline = time.monotonic() + 5
    while b" 06 " not in b"".join(ln for ln in Path("/proc/net/tcp").read_bytes().splitlines() if hex_port in ln):
        assert time.monotonic() < deadline, "no TIME_WAIT seen"
        time.sleep(0.01)
    ev = _seen(linux_host(tmp_path, port))
    assert ev.visible and ev.listeners == ()


@linux_only
def test_a_codex_login_child_and_its_role(tmp_path: Path) -> None:
    with children(tmp_path) as kids:
        login = kids.start("codex", ("login",))
        tui = kids.start("codex", ())
        server = kids.start("codex", ("app-server",))
        ev = _seen(linux_host(tmp_path, login.port, tui.port, server.port))
    by_pid = {li.pid: li for li in ev.listeners}
    assert by_pid[login.pid].role == "login"
    assert by_pid[tui.pid].role == "tui"
    assert by_pid[server.pid].role == "app-server"
    assert all(li.program == "codex" and not li.stopped for li in ev.listeners)
    assert {li.port for li in ev.listeners} == {login.port, tui.port, server.port}


@linux_only
def test_a_stopped_codex_login(tmp_path: Path) -> None:
    with children(tmp_path) as kids:
        login = kids.start("codex", ("-c", "model=o3", "login"))
        login.stop()
        ev = _seen(linux_host(tmp_path, login.port))
    (li,) = ev.listeners
    assert (li.pid, li.role, li.stopped) == (login.pid, "login", True)


@linux_only
def test_an_unknown_program(tmp_path: Path) -> None:
    with children(tmp_path) as kids:
        tool = kids.start("port-hog", ("serve",))
        ev = _seen(linux_host(tmp_path, tool.port))
    (li,) = ev.listeners
    assert (li.pid, li.program, li.role) == (tool.pid, "port-hog", None)


@linux_only
def test_one_process_on_both_ports_and_both_families(tmp_path: Path) -> None:
    with listening() as a, listening("::1") as b:
        pa, pb = a.getsockname()[1], b.getsockname()[1]
        ev = _seen(linux_host(tmp_path, pa, pb))
    me = os.getpid()
    assert {(li.port, li.address, li.pid) for li in ev.listeners} == {(pa, "127.0.0.1", me), (pb, "::1", me)}


@linux_only
@root_only
@pytest.mark.skipif(SYSTEM_PYTHON is None, reason="no system Python another user may run")
def test_root_sees_another_users_listener(tmp_path: Path) -> None:
    with children(tmp_path) as kids:
        theirs = kids.start("python3", user=NOBODY)
        ev = _seen(linux_host(tmp_path, theirs.port))
    (li,) = ev.listeners
    assert (li.pid, li.uid, li.user) == (theirs.pid, NOBODY, "nobody")


def _collect_as(uid: int, *ports: int) -> dict[str, object]:
    """collect_ports run by another user, in a Python of its own (no access to the test's files)."""
    assert SYSTEM_PYTHON is not None
    code = (
        "import json, os, sys\n"
        "from pathlib import Path\n"
        "from authdoctor.collect.ports import collect_ports\n"
        "from authdoctor.host import Host\n"
        "ports = tuple(int(p) for p in sys.argv[1:])\n"
        "ev = collect_ports(Host(env={}, home=Path('/'), platform='linux', uid=os.getuid(), login_ports=ports))\n"
        "print(json.dumps({'visible': ev.visible, 'note': ev.note, 'listeners': [li._asdict() for li in ev.listeners]}))\n"
    )
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", code, *map(str, ports)],
        env={"PATH": os.defpath, "PYTHONPATH": str(REPO / "src"), "PYTHONDONTWRITEBYTECODE": "1"},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=30,
        user=uid,
        group=uid,
        extra_groups=[],
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return data


@linux_only
@root_only
@pytest.mark.skipif(SYSTEM_PYTHON is None, reason="no system Python another user may run")
def test_another_users_listener_is_seen_but_not_its_process(tmp_path: Path) -> None:
    with listening() as s, children(tmp_path) as kids:
        port = s.getsockname()[1]
        mine = kids.start("python3", user=NOBODY)
        seen = _collect_as(NOBODY, port, mine.port)
    listeners = {li["port"]: li for li in cast(list[dict[str, Any]], seen["listeners"])}
    assert seen["visible"] is True
    # root's socket: the port is known to be taken, by whom cannot be seen -- no guess.
    theirs = listeners[port]
    assert (theirs["pid"], theirs["program"], theirs["uid"], theirs["user"]) == (None, None, 0, "root")
    assert "another user (uid 0)" in str(seen["note"]) and "without root" in str(seen["note"])
    # Its own process is found as usual.
    assert listeners[mine.port]["pid"] == mine.pid


# --- Linux: a process table that is missing, unreadable or odd ------------------------------------

PROC_TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def _fake_proc(tmp_path: Path, tcp: str | None, tcp6: str | None = None) -> Path:
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    if tcp is not None:
        (proc / "net" / "tcp").write_text(PROC_TCP_HEADER + tcp)
    if tcp6 is not None:
        (proc / "net" / "tcp6").write_text(PROC_TCP_HEADER + tcp6)
    return proc


@pytest.mark.skipif(sys.byteorder != "little", reason="the recorded table is from a little-endian machine")
def test_recorded_proc_table_with_garbage_lines(tmp_path: Path) -> None:
    tcp = (
        "   0: 0100007F:05AF 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n"
        "   1: 0100007F:05AF 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1 0 100 0 0 10 0\n"
        "   2: 00000000:05B1 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 4244 1 0 100 0 0 10 0\n"
        "   3: 1401A8C0:05B1 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 4245 1 0 100 0 0 10 0\n"
        "   4: garbage line\n"
        "   5: ZZZZZZZZ:05AF 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 xx 1 0 100 0 0 10 0\n"
    )
    # No tcp6 (IPv6 disabled): still visible.
    proc = _fake_proc(tmp_path, tcp)
    host = linux_host(tmp_path, 1455, 1457)._replace(proc=proc, uid=12345)
    ev = _seen(host)
    assert ev.visible
    assert [(li.port, li.address, li.pid, li.uid) for li in ev.listeners] == [
        (1455, "127.0.0.1", None, 1000),
        (1457, "0.0.0.0", None, 1001),
    ]
    # Sockets of other users: their processes are not searched, and the note says so.
    assert "another user (uid 1000)" in ev.note and "another user (uid 1001)" in ev.note


def test_no_process_table_is_not_visible(tmp_path: Path) -> None:
    ev = _seen(linux_host(tmp_path, 1455, 1457)._replace(proc=None))
    assert not ev.visible and ev.listeners == ()
    assert "cannot be seen" in ev.note and "/proc" in ev.note


def test_an_unreadable_table_is_not_visible(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, None)
    (proc / "net" / "tcp").mkdir()  # reading it fails
    ev = _seen(linux_host(tmp_path, 1455)._replace(proc=proc))
    assert not ev.visible and ev.listeners == ()
    assert f"{proc}/net/tcp" in ev.note and "could not be read" in ev.note


def test_a_missing_tcp_table_is_not_visible(tmp_path: Path) -> None:
    # Only tcp6 may be missing (IPv6 off); without tcp nothing was looked at, so nothing is claimed.
    proc = _fake_proc(tmp_path, None, tcp6="")
    ev = _seen(linux_host(tmp_path, 1455)._replace(proc=proc))
    assert not ev.visible and f"{proc}/net/tcp (No such file or directory)" in ev.note


def test_an_unknown_system_is_not_visible(tmp_path: Path) -> None:
    ev = _seen(linux_host(tmp_path, 1455)._replace(platform="freebsd14"))
    assert not ev.visible and "freebsd14" in ev.note


@pytest.mark.skipif(sys.byteorder != "little", reason="little-endian words")
@pytest.mark.parametrize(
    ("word", "text"),
    [
        (b"0100007F", "127.0.0.1"),
        (b"00000000", "0.0.0.0"),
        (b"00000000000000000000000001000000", "::1"),
        (b"00000000000000000000000000000000", "::"),
        (b"0000000000000000FFFF00000100007F", "::ffff:127.0.0.1"),
        (b"000080FE00000000FF005802FE3D2A1C", "fe80:0000:0000:0000:0258:00ff:1c2a:3dfe"),
        (b"0100007", None),
        (b"nothex!!", None),
    ],
)
def test_proc_addresses(word: bytes, text: str | None) -> None:
    assert P.proc_address(word) == text


@linux_only
def test_the_owner_search_stops_when_time_is_up(tmp_path: Path) -> None:
    with listening() as s:
        inode = os.fstat(s.fileno()).st_ino
        assert P.find_socket_owners(Path("/proc"), {inode}, os.getuid(), 0.0) == ({}, True)
        assert P.find_socket_owners(Path("/proc"), {inode}, os.getuid(), 5.0) == ({inode: os.getpid()}, False)


@linux_only
def test_nothing_listening_costs_one_netlink_question_and_no_heavy_import(tmp_path: Path) -> None:
    """The common path: one sock_diag question -- no /proc table, no subprocess, no process walk, and not ``socket`` (~5 ms to import)."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from authdoctor.host import Host\n"
        "from authdoctor.collect.ports import collect_ports\n"
        "host = Host(env={}, home=Path('/'), platform='linux', uid=0, login_ports=(int(sys.argv[1]), int(sys.argv[2])))\n"
        "before = set(sys.modules)\n"
        "t = time.perf_counter(); ev = collect_ports(host); took = time.perf_counter() - t\n"
        "print(','.join(sorted(set(sys.modules) - before)), ev.visible, ev.listeners, took)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(free_port()), str(free_port())],
        env={"PYTHONPATH": str(REPO / "src"), "PATH": os.defpath},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    assert out[1:3] == ["True", "()"], out
    imported = set(out[0].split(","))
    assert "authdoctor.host.sockdiag" in imported  # netlink answered
    # struct (small, C-backed) packs the netlink messages; base64 used to bring it in earlier.
    assert imported <= {"authdoctor.host.sockdiag", "_socket", "struct", "_struct"}, imported
    assert float(out[3]) < 0.5


def _proc_by_another_name(tmp_path: Path) -> Path:
    """The real /proc under another path: a Host over it reads /proc/net/tcp{,6} instead of asking sock_diag."""
    link = tmp_path / "real-proc"
    link.symlink_to("/proc")
    return link


@linux_only
def test_netlink_and_proc_give_the_same_answer(tmp_path: Path) -> None:
    addresses = ["127.0.0.1", "0.0.0.0", "127.0.0.2"] + (["::1", "::", "::ffff:127.0.0.1"] if socket.has_ipv6 else [])
    with ExitStack() as stack, children(tmp_path) as kids:
        mine = [stack.enter_context(listening(a)) for a in addresses]
        login = kids.start("codex", ("login",), address="::" if socket.has_ipv6 else "0.0.0.0")
        with listening() as server:
            port = server.getsockname()[1]
            client = stack.enter_context(socket.create_connection(("127.0.0.1", port)))
            stack.enter_context(server.accept()[0])
        ports = (*(s.getsockname()[1] for s in mine), login.port, port, free_port())
        netlink_host = linux_host(tmp_path, *ports)
        proc_host = netlink_host._replace(proc=_proc_by_another_name(tmp_path))
        assert netlink_host.tcp_listeners() is not None and proc_host.tcp_listeners() is None
        by_netlink, by_proc = _seen(netlink_host), _seen(proc_host)
        # The raw sockets too, before the addresses that do not matter are dropped.
        raw = {(a, p, u, i) for a, p, u, i in netlink_host.tcp_listeners() or [] if p in ports}
        tables = b"".join(Path(f"/proc/net/{n}").read_bytes() for n in ("tcp", "tcp6"))
        assert {(s.address, s.port, s.uid, s.inode) for s in P.parse_proc_net_tcp(tables, ports)} == {r for r in raw if r[0] in P.KEPT}
        assert ("127.0.0.2", mine[2].getsockname()[1], os.getuid(), os.fstat(mine[2].fileno()).st_ino) in raw
        assert client.getsockname()[1] not in {r[1] for r in raw}
    assert by_netlink == by_proc
    kept = [a for a in addresses if a != "127.0.0.2"]
    assert sorted((li.address, li.pid) for li in by_netlink.listeners) == sorted(
        [*((a, os.getpid()) for a in kept), ("::" if socket.has_ipv6 else "0.0.0.0", login.pid)]
    )
    assert next(li for li in by_netlink.listeners if li.pid == login.pid).role == "login"


# socket(AF_NETLINK, ...) fails with EPERM, as in a sandbox without netlink: a seccomp filter, then collect_ports.
# seccomp_data: nr at 0, arch at 4, args[0] at 16 (its low word, little-endian).
NO_NETLINK = """\
import ctypes, json, os, platform, socket, struct, sys
from pathlib import Path
arch, nr_socket = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}[platform.machine()]
LD, JEQ, RET = 0x20, 0x15, 0x06
def op(code, jt, jf, k):
    return struct.pack("=HBBI", code, jt, jf, k)
prog = b"".join([
    op(LD, 0, 0, 4), op(JEQ, 0, 5, arch),
    op(LD, 0, 0, 0), op(JEQ, 0, 3, nr_socket),
    op(LD, 0, 0, 16), op(JEQ, 0, 1, socket.AF_NETLINK),
    op(RET, 0, 0, 0x00050000 | 1),  # SECCOMP_RET_ERRNO | EPERM
    op(RET, 0, 0, 0x7FFF0000),  # SECCOMP_RET_ALLOW
])
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]
fprog = Fprog(len(prog) // 8, prog)
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0, ctypes.get_errno()  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
try:
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)
    refused = None
except OSError as exc:
    refused = exc.errno
from authdoctor.collect.ports import collect_ports
from authdoctor.host import Host
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
port = s.getsockname()[1]
host = Host(env={}, home=Path("/"), platform="linux", uid=os.getuid(), login_ports=(port,))
ev = collect_ports(host)
print(json.dumps({"refused": refused, "netlink": host.tcp_listeners(), "pid": os.getpid(), "port": port,
                  "visible": ev.visible, "note": ev.note, "listeners": [li._asdict() for li in ev.listeners]}))
"""


@linux_only
@pytest.mark.skipif(platform.machine() not in ("x86_64", "aarch64"), reason="the seccomp filter knows these two architectures")
def test_without_netlink_the_proc_tables_are_read() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", NO_NETLINK],
        env={"PYTHONPATH": str(REPO / "src"), "PATH": os.defpath},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0 and "PR_SET_SECCOMP" in proc.stderr:
        pytest.skip(f"seccomp filters cannot be installed here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["refused"] == errno.EPERM and seen["netlink"] is None
    assert seen["visible"] is True and seen["note"] == ""
    (li,) = seen["listeners"]
    assert (li["port"], li["address"], li["pid"], li["uid"]) == (seen["port"], "127.0.0.1", seen["pid"], os.getuid())


# --- macOS: lsof and ps, recorded -----------------------------------------------------------------


def mac_host(tmp_path: Path, bindir: Path, *ports: int, uid: int = 0) -> Host:
    return Host(env={"HOME": str(tmp_path), "PATH": str(bindir)}, home=tmp_path, platform="darwin", uid=uid, proc=None, login_ports=ports)


def test_macos_lsof_and_ps(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    # lsof exits 1 when one of the -i specs matched nothing; what it printed still counts.
    printing(bindir, "lsof", LSOF_OUTPUT, status=1)
    printing(bindir, "ps", PS_OUTPUT)
    ev = _seen(mac_host(tmp_path, bindir, 1455, 1457))
    assert ev.visible and ev.note == ""
    assert [(li.port, li.address, li.pid, li.program, li.role, li.stopped) for li in ev.listeners] == [
        (1455, "127.0.0.1", 4242, "codex", "login", True),
        (1457, "0.0.0.0", 7781, "Cursor Helper (Plugin)", None, False),
        (1457, "::", 7781, "Cursor Helper (Plugin)", None, False),
    ]


def test_macos_lsof_arguments(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    log = tmp_path / "argv"
    fake_program(bindir, "lsof", f'printf "%s\\n" "$@" > "{log}"\nexit 1\n')
    ev = _seen(mac_host(tmp_path, bindir, 1455, 1457))
    assert ev.visible and ev.listeners == ()
    assert log.read_text().split("\n")[:-1] == ["-nP", "+c", "0", "-iTCP:1455", "-iTCP:1457", "-sTCP:LISTEN", "-Fpctn"]


def test_macos_without_ps_still_names_the_holder(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    printing(bindir, "lsof", LSOF_OUTPUT)
    ev = _seen(mac_host(tmp_path, bindir, 1455))
    assert [(li.pid, li.program, li.role, li.stopped) for li in ev.listeners] == [(4242, "codex", None, False)]


def test_macos_lsof_missing(tmp_path: Path) -> None:
    bindir = tmp_path / "empty"
    bindir.mkdir()
    ev = _seen(mac_host(tmp_path, bindir, 1455, 1457))
    assert not ev.visible and ev.listeners == ()
    assert "cannot be seen" in ev.note and "lsof could not be run" in ev.note


def test_macos_lsof_garbage(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    printing(bindir, "lsof", "COMMAND   PID USER   FD   TYPE\nsomething else entirely\n")
    ev = _seen(mac_host(tmp_path, bindir, 1455))
    assert not ev.visible and "cannot read" in ev.note


def test_macos_lsof_error(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    fake_program(bindir, "lsof", "echo 'lsof: unsupported option: -F' >&2\nexit 2\n")
    ev = _seen(mac_host(tmp_path, bindir, 1455))
    assert not ev.visible and "lsof failed (exit status 2): lsof: unsupported option: -F" in ev.note


def test_macos_lsof_that_hangs(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    fake_program(bindir, "lsof", "exec /bin/sleep 30\n")
    t = time.monotonic()
    ev = _seen(mac_host(tmp_path, bindir, 1455))
    assert time.monotonic() - t < P.RUN_TIMEOUT + 3
    assert not ev.visible and "did not answer" in ev.note


def test_macos_without_root_knocks_on_ports_lsof_calls_free(tmp_path: Path) -> None:
    """lsof run by a user shows only that user's processes: a port it calls free is confirmed with a connect."""
    bindir = tmp_path / "bin"
    printing(bindir, "lsof", "", status=1)
    with listening() as s:
        port = s.getsockname()[1]
        free = free_port()
        ev = _seen(mac_host(tmp_path, bindir, port, free, uid=501))
    assert ev.visible
    assert [(li.port, li.address, li.pid) for li in ev.listeners] == [(port, "127.0.0.1", None)]
    assert "lsof does not show whose it is" in ev.note and str(port) in ev.note


def test_parse_lsof() -> None:
    assert P.parse_lsof(b"", [1455]) == []
    assert P.parse_lsof(b"p12\nccodex\nf3\ntIPv6\nn[::1]:1455\n", [1455]) == [Listener(1455, "::1", 12, "codex")]
    # A connection's name is local->remote: its local side is not a listener on a watched port here.
    assert P.parse_lsof(b"p12\nccurl\nf3\ntIPv4\nn127.0.0.1:50000->127.0.0.1:1455\n", [1455]) == []
    assert P.parse_lsof(b"n127.0.0.1:1455\n", [1455]) is None  # a name before any process
    assert P.parse_lsof(b"pabc\n", [1455]) is None
    assert P.parse_lsof(b"p12\n!weird\n", [1455]) is None


# --- Windows: netstat, tasklist, netsh, recorded ---------------------------------------------------


def win_host(tmp_path: Path, bindir: Path, *ports: int) -> Host:
    return Host(
        env={"USERPROFILE": str(tmp_path), "PATH": str(bindir)}, home=tmp_path, platform="win32", uid=None, proc=None, login_ports=ports
    )


def test_windows_netstat_tasklist_and_an_excluded_range(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    windows_tools(bindir, v4=NETSH_V4)
    ev = _seen(win_host(tmp_path, bindir, 1455, 1457))
    assert ev.visible and ev.note == ""
    assert [(li.port, li.address, li.pid, li.program) for li in ev.listeners] == [
        (1455, "127.0.0.1", 5678, "Cursor.exe"),
        (1457, "::1", 7777, "idea64.exe"),
    ]
    assert ev.excluded == ((1447, 1546),)


def test_windows_in_another_language(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    windows_tools(bindir, netstat=NETSTAT_GERMAN)
    ev = _seen(win_host(tmp_path, bindir, 1455, 1457))
    assert [(li.port, li.address, li.pid, li.program) for li in ev.listeners] == [(1457, "0.0.0.0", 3141, "codex.exe")]
    assert ev.excluded == ()


def test_windows_netstat_missing_still_reads_excluded_ranges(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    windows_tools(bindir, netstat=None, v4=NETSH_V4)
    ev = _seen(win_host(tmp_path, bindir, 1455, 1457))
    assert not ev.visible and ev.listeners == ()
    assert "netstat could not be run" in ev.note
    assert ev.excluded == ((1447, 1546),)


def test_windows_garbage_from_every_tool(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    printing(bindir, "netstat", "The system cannot find the path specified.\r\n")
    printing(bindir, "netsh", "The following command was not found: interface ipv4 show excludedportrange protocol=tcp.\r\n")
    ev = _seen(win_host(tmp_path, bindir, 1455))
    assert not ev.visible and ev.listeners == () and ev.excluded == ()
    assert "netstat printed something authdoctor cannot read" in ev.note
    assert "Excluded port ranges could not be read" in ev.note


def test_windows_unknown_pid_has_no_name(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    windows_tools(
        bindir, netstat="  Proto  Local Address  Foreign Address  State  PID\r\n  TCP    127.0.0.1:1455  0.0.0.0:0  LISTENING  4040\r\n"
    )
    ev = _seen(win_host(tmp_path, bindir, 1455))
    assert [(li.pid, li.program) for li in ev.listeners] == [(4040, None)]


def test_parse_tasklist() -> None:
    assert P.parse_tasklist(f"{TASKS[5678]}\r\n".encode()) == {5678: "Cursor.exe"}
    assert P.parse_tasklist(NO_TASKS.encode()) == {}
    assert P.parse_tasklist(b"\xff\xfe garbage") == {}


def test_parse_excluded_ranges() -> None:
    assert P.parse_excluded_ranges(NETSH_V4.encode()) == [(1447, 1546), (5357, 5357), (50000, 50059)]
    assert P.parse_excluded_ranges(b"Error: 1\r\n") is None
    # German headings, same table.
    assert P.parse_excluded_ranges(b"Startport    Endport\r\n----------    --------\r\n      1447        1546\r\n") == [(1447, 1546)]


def test_parse_netstat_keeps_listening_rows_on_addresses_that_matter() -> None:
    text = (
        "  Proto  Local Address  Foreign Address  State  PID\n"
        "  TCP  [::]:1455  [::]:0  LISTENING  8\n"
        "  TCP  10.0.0.5:1455  0.0.0.0:0  LISTENING  9\n"
    )
    assert P.parse_netstat(text.encode(), [1455]) == [Listener(1455, "::", 8)]
    assert P.parse_netstat(b"", [1455]) is None
