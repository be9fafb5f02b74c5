"""login-port-busy: real listeners on free ports (Linux), recorded tool output for macOS and Windows."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from authdoctor.collect import collect
from authdoctor.diagnose import Diagnosis, diagnose
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.diagnose.rules import login_port_busy
from authdoctor.host import Host
from authdoctor.report.as_json import render_json
from authdoctor.report.as_text import render_text
from authdoctor.report.model import CheckReport
from tests.conftest import Machine
from tests.diagnose.rules.conftest import well_formed
from tests.porttools import LSOF_OUTPUT, NETSH_V4, PS_OUTPUT, children, free_port, gone, listening, printing, windows_tools
from tests.proctools import linux_only
from tests.report.test_as_text import PLAIN

ID = "login-port-busy"
PASSED = login_port_busy.RULE.passed
DEVICE = "codex login --device-auth"


def _host(machine: Machine, *ports: int) -> Host:
    """The machine with the real process table and the ports under test."""
    return machine.host()._replace(proc=Path("/proc"), login_ports=ports)


def _diagnosis(host: Host) -> Diagnosis:
    return diagnose(collect(host, execute=False))


def _one(host: Host) -> Finding:
    found = [f for f in _diagnosis(host).findings if f.id == ID]
    assert len(found) == 1, found
    f = well_formed(found[0], ID, Severity.WARNING)
    assert "There is no `--login-port` option" in f.detail
    assert DEVICE in f.fix.summary and f.fix.commands[-1] == DEVICE
    assert not f.fix.automatic
    return f


def _quiet(host: Host) -> Diagnosis:
    d = _diagnosis(host)
    assert ID not in {f.id for f in d.findings}
    return d


# --- Linux, real listeners -----------------------------------------------------------


@linux_only
def test_a_running_codex_login_on_the_first_port(machine: Machine, tmp_path: Path) -> None:
    fallback = free_port()
    with children(tmp_path) as kids:
        login = kids.start("codex", ("login",))
        f = _one(_host(machine, login.port, fallback))
    pid = login.pid
    # A running Codex login server quits when a new `codex login` asks it to: the port is not lost, the old sign-in is.
    assert f.title == f"A running `codex login` (pid {pid}) is waiting on port {login.port}: a new `codex login` cancels it"
    assert f"127.0.0.1:{login.port} is held by a `codex login` that is still running (pid {pid})" in f.detail
    assert f"asks the Codex login server on {login.port} to quit and takes the port over" in f.detail
    assert "falls back" not in f.detail
    assert f"Finish the sign-in in the browser tab `codex login` (pid {pid}) opened" in f.fix.summary
    assert f.fix.commands == (f"kill {pid}", DEVICE)
    assert [(o.context, o.path) for o in f.origins] == [("listener", f"/proc/{pid}")]


@linux_only
def test_a_stopped_codex_login_and_the_fix_really_ends_it(machine: Machine, tmp_path: Path) -> None:
    with children(tmp_path) as kids:
        login = kids.start("codex", ("login",))
        login.stop()
        f = _one(_host(machine, login.port, free_port()))
        pid = login.pid
        assert f.title.startswith(f"Port {login.port} is taken by a stopped `codex login` (pid {pid})")
        assert "suspended with Ctrl-Z" in f.detail and "can neither answer the browser nor quit" in f.detail
        assert "`fg`" in f.fix.summary
        assert f.fix.commands == (f"kill {pid}", f"kill -CONT {pid}", DEVICE)
        # The commands, as the person would paste them, end the stopped login and free the port.
        for command in f.fix.commands[:2]:
            subprocess.run(["/bin/sh", "-c", command], check=True)
        assert gone(pid)
        _quiet(_host(machine, login.port))


@linux_only
def test_both_ports_taken(machine: Machine, tmp_path: Path) -> None:
    with listening() as a, listening("0.0.0.0") as b:
        pa, pb = a.getsockname()[1], b.getsockname()[1]
        f = _one(_host(machine, pa, pb))
    assert f.title.startswith(f"Ports {pa} and {pb} are both taken by ")
    assert f.title.endswith(": `codex login` cannot start its browser sign-in")
    assert f"0.0.0.0:{pb} (all addresses)" in f.detail
    assert f"with both taken, the browser login fails (`Port 127.0.0.1:{pb} is already in use`)" in f.detail


@linux_only
def test_only_the_fallback_taken(machine: Machine, tmp_path: Path) -> None:
    first = free_port()
    with listening() as s:
        port = s.getsockname()[1]
        f = _one(_host(machine, first, port))
    assert f.title.startswith(f"Port {port} is taken by ") and f.title.endswith(f"no fallback is left if {first} is busy")
    assert f"{first} is free, so the browser login works now" in f.detail


@linux_only
def test_ipv6_loopback_only_takes_the_browser_callback(machine: Machine, tmp_path: Path) -> None:
    with children(tmp_path) as kids:
        tool = kids.start("port-hog", address="::1")
        f = _one(_host(machine, tool.port, free_port()))
    assert (
        f.title
        == f"Port-hog (pid {tool.pid}) listens on [::1]:{tool.port}: a browser that resolves localhost to ::1 may send the sign-in there"
    )
    assert f"[::1]:{tool.port} is held by port-hog (pid {tool.pid})" in f.detail
    assert "its login server still starts" in f.detail
    assert f"`http://localhost:{tool.port}/auth/callback`" in f.detail and "instead of Codex" in f.detail


@linux_only
@pytest.mark.parametrize(
    ("name", "args", "words", "step"),
    [
        (
            "cursor",
            ("--type=utility",),
            "Cursor (cursor, pid {pid}), which uses this port for a sign-in of its own",
            "Close Cursor (pid {pid})",
        ),
        ("pycharm", (), "a JetBrains IDE (pycharm, pid {pid})", "Close the JetBrains IDE (pid {pid}) or run `kill {pid}`"),
        (
            "codex",
            (),
            "an interactive codex on its sign-in screen (pid {pid})",
            "Close the interactive codex on its sign-in screen (pid {pid})",
        ),
        ("codex", ("app-server",), "codex app-server (pid {pid}), signing in", "Close codex app-server (pid {pid})"),
        ("port-hog", ("serve",), "port-hog (pid {pid}), a program authdoctor does not recognise", "Stop port-hog (pid {pid})"),
    ],
)
def test_who_holds_it(machine: Machine, tmp_path: Path, name: str, args: tuple[str, ...], words: str, step: str) -> None:
    with children(tmp_path) as kids:
        holder = kids.start(name, args)
        f = _one(_host(machine, holder.port, free_port()))
    assert words.format(pid=holder.pid) in f.detail
    assert step.format(pid=holder.pid) in f.fix.summary
    assert f.fix.commands == (f"kill {holder.pid}", DEVICE)


@linux_only
def test_nothing_listens_passes_and_says_so(machine: Machine) -> None:
    d = _quiet(_host(machine, free_port(), free_port()))
    assert PASSED in d.passed
    assert PASSED == "nothing listens on the login callback ports (127.0.0.1:1455, :1457)"


def test_without_a_process_table_the_rule_claims_nothing(machine: Machine) -> None:
    d = _quiet(machine.host())  # the machine fixture hides /proc
    assert d.evidence.ports is not None and not d.evidence.ports.visible
    assert PASSED not in d.passed


@pytest.mark.parametrize("uid", [12345])
def test_another_users_socket_names_no_process(machine: Machine, tmp_path: Path, uid: int) -> None:
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    # 127.0.0.1:1455 LISTEN, opened by uid 1000 (recorded from a little-endian machine).
    (proc / "net" / "tcp").write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:05AF 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n"
    )
    machine.uid = uid
    f = _one(machine.host()._replace(proc=proc, platform="linux"))
    assert f.title == "Port 1455 is taken by another user's process: `codex login` has to fall back to 1457"
    assert "another user (uid 1000)" in f.detail and "without root" in f.detail
    assert f.fix.commands == ("sudo ss -ltnp 'sport = :1455'", DEVICE)
    assert [(o.context, o.path) for o in f.origins] == [("listener", None)]


@linux_only
def test_rendered_report(machine: Machine, tmp_path: Path) -> None:
    with children(tmp_path) as kids:
        login = kids.start("codex", ("login",))
        d = _diagnosis(_host(machine, login.port, free_port()))
    report = CheckReport.build(d)
    text = render_text(report, PLAIN, verbose=True)
    assert "running `codex login`" in text and PASSED not in text
    assert f'"id": "{ID}"' in render_json(report)


# --- macOS and Windows, recorded output ------------------------------------------------


def test_macos_stopped_login_and_an_ide(machine: Machine, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    printing(bindir, "lsof", LSOF_OUTPUT)
    printing(bindir, "ps", PS_OUTPUT)
    machine.platform = "darwin"
    machine.env["PATH"] = str(bindir)
    f = _one(machine.host()._replace(login_ports=(1455, 1457), uid=501))
    assert f.title == "Ports 1455 and 1457 are both taken: `codex login` cannot start its browser sign-in"
    assert "127.0.0.1:1455 is held by a stopped `codex login` (pid 4242)" in f.detail
    assert "0.0.0.0:1457 (all addresses) and [::]:1457 (all addresses) are held by Cursor (Cursor Helper (Plugin), pid 7781)" in f.detail
    assert f.fix.commands == ("kill 4242", "kill -CONT 4242", "kill 7781", DEVICE)


def test_macos_without_lsof_says_nothing(machine: Machine, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    machine.platform = "darwin"
    machine.env["PATH"] = str(empty)
    d = _quiet(machine.host()._replace(login_ports=(1455, 1457)))
    assert d.evidence.ports is not None and "lsof could not be run" in d.evidence.ports.note
    assert PASSED not in d.passed


def test_windows_excluded_range_without_listener(machine: Machine, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    windows_tools(bindir, netstat="  Proto  Local Address  Foreign Address  State  PID\r\n", v4=NETSH_V4)
    machine.platform = "win32"
    machine.env["PATH"] = str(bindir)
    f = _one(machine.host()._replace(login_ports=(1455, 1457), uid=None))
    assert f.title == "Ports 1455 and 1457 are both taken by a Windows excluded port range: `codex login` cannot start its browser sign-in"
    assert "Windows reserves ports 1447-1546" in f.detail and "WSAEACCES (os error 10013)" in f.detail
    assert "administrator prompt" in f.fix.summary
    assert f.fix.commands == ("net stop winnat && net start winnat", DEVICE)
    assert [o.context for o in f.origins] == ["excluded-port-range"]


def test_windows_listener_uses_taskkill(machine: Machine, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    windows_tools(bindir)
    machine.platform = "win32"
    machine.env["PATH"] = str(bindir)
    f = _one(machine.host()._replace(login_ports=(1455, 1457), uid=None))
    assert f.title == "Port 1455 is taken by Cursor (pid 5678): `codex login` has to fall back to 1457"
    assert "a JetBrains IDE (idea64.exe, pid 7777)" in f.detail
    # 1457 has only an IPv6-loopback listener: the fallback works, but the browser may knock there.
    assert "Should Codex fall back to 1457" not in f.detail and "`http://localhost:1457/auth/callback`" in f.detail
    assert f.fix.commands == ("taskkill /PID 5678", "taskkill /PID 7777", DEVICE)
