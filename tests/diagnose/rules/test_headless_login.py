"""headless-login: a sign-in is due from a session whose localhost no browser can reach.

Every test builds the machine under a fake root (``Host(root=…)``): the
machine running the tests may itself be a container (/.dockerenv), which must
not decide what these tests see.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from authdoctor.collect import collect
from authdoctor.diagnose import diagnose
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.sandbox import api_key, chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import well_formed
from tests.logtools import REUSED, stored_login, tracing_line, write_text_log

ID = "headless-login"
WSL2 = "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 12.2.0) #1 SMP\n"


def findings(machine: Machine, root: Path | None = None, *files: str) -> list[Finding]:
    root = root or machine.root / "sys"
    root.mkdir(parents=True, exist_ok=True)
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).touch()
    host = machine.host()._replace(root=root)
    return list(diagnose(collect(host, execute=False)).findings)


def mine(machine: Machine, root: Path | None = None, *files: str) -> list[Finding]:
    return [well_formed(f, ID, Severity.INFO) for f in findings(machine, root, *files) if f.id == ID]


def test_ssh_without_a_login(machine: Machine) -> None:
    machine.env.update(SSH_CONNECTION="203.0.113.5 51234 198.51.100.7 22", USER="alice", DISPLAY="localhost:10.0")
    (f,) = mine(machine)
    assert f.title == "Sign in with `codex login --device-auth`: a browser cannot reach this session's localhost"
    assert "Codex is not logged in here" in f.detail and "an SSH session" in f.detail
    assert "http://localhost:1455/auth/callback" in f.detail and "localhost refused to connect" in f.detail
    assert f.fix.commands == ("codex login --device-auth", "ssh -L 1455:localhost:1455 alice@198.51.100.7")
    assert "Settings → Security" in f.fix.summary
    assert [(o.context, o.path) for o in f.origins] == [("environment", None)]


def test_linux_without_a_display(machine: Machine) -> None:
    (f,) = mine(machine)
    assert "a Linux session without a display" in f.detail
    assert f.fix.commands == ("codex login --device-auth",)


def test_docker_container(machine: Machine) -> None:
    machine.env["DISPLAY"] = ":0"
    (f,) = mine(machine, None, ".dockerenv")
    assert "a container (/.dockerenv exists" in f.detail
    assert f.origins[0].context == "file" and f.origins[0].path == "/.dockerenv"


def test_vs_code_dev_container(machine: Machine) -> None:
    machine.env.update(DISPLAY=":0", REMOTE_CONTAINERS="true", VSCODE_IPC_HOOK_CLI="/tmp/vscode-ipc-1.sock")
    (f,) = mine(machine)
    assert "a VS Code dev container" in f.detail and "Ports panel shows 1455" in f.detail


def test_refresh_failure_on_a_headless_machine(machine: Machine) -> None:
    machine.env["SSH_TTY"] = "/dev/pts/0"
    stored_login(machine, ago=timedelta(days=3))
    write_text_log(machine.codex_home / "log" / "codex-tui.log", [tracing_line(machine.now - timedelta(hours=1), REUSED)])
    (f,) = mine(machine)
    assert "rejecting this login's refresh token" in f.detail
    assert "refresh-failed" in {g.id for g in findings(machine)}


def test_wsl_with_localhost_forwarding_off(machine: Machine) -> None:
    root = machine.root / "wsl"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "version").write_text(WSL2)
    user = root / "mnt" / "c" / "Users" / "alice"
    user.mkdir(parents=True)
    (user / ".wslconfig").write_text("[wsl2]\nlocalhostForwarding=false\n")
    (f,) = mine(machine, root)
    assert "localhostForwarding=false` in C:\\Users\\alice\\.wslconfig" in f.detail
    assert "remove `localhostForwarding=false`" in f.fix.summary


# --- quiet -------------------------------------------------------------------------------------------


def test_quiet_when_logged_in(machine: Machine) -> None:
    machine.env["SSH_CONNECTION"] = "203.0.113.5 51234 198.51.100.7 22"
    machine.write_auth(chatgpt_auth(machine.now))
    assert mine(machine, None, ".dockerenv") == []


def test_quiet_on_a_desktop(machine: Machine) -> None:
    machine.env["WAYLAND_DISPLAY"] = "wayland-0"
    assert mine(machine) == []


def test_quiet_in_ci_with_an_api_key(machine: Machine) -> None:
    """A headless runner that uses CODEX_API_KEY needs no sign-in."""
    machine.env["CODEX_API_KEY"] = api_key()
    assert mine(machine, None, ".dockerenv") == []


def test_quiet_in_wsl_with_forwarding(machine: Machine) -> None:
    root = machine.root / "wsl"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "version").write_text(WSL2)
    assert mine(machine, root) == []


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_quiet_on_macos_and_windows_desktops(machine: Machine, platform: str) -> None:
    machine.platform = platform
    assert mine(machine) == []
