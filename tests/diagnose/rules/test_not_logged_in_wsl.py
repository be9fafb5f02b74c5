"""not-logged-in in WSL: a login of Codex on Windows is named, and copying it is discouraged (FM-03, FM-01)."""

from __future__ import annotations

from pathlib import Path

from authdoctor.collect import collect
from authdoctor.diagnose import diagnose
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.sandbox import chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import well_formed

WSL2 = "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 12.2.0) #1 SMP\n"


def wsl(machine: Machine, *, windows_login: bool) -> Path:
    root = machine.root / "wsl"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "version").write_text(WSL2)
    codex = root / "mnt" / "c" / "Users" / "alice" / ".codex"
    codex.mkdir(parents=True)
    if windows_login:
        (codex / "auth.json").write_text("{}")
    return codex


def not_logged_in(machine: Machine) -> list[Finding]:
    host = machine.host()._replace(root=machine.root / "wsl")
    return [
        well_formed(f, "not-logged-in", Severity.ERROR) for f in diagnose(collect(host, execute=False)).findings if f.id == "not-logged-in"
    ]


def test_windows_login_is_named(machine: Machine) -> None:
    codex = wsl(machine, windows_login=True)
    (f,) = not_logged_in(machine)
    assert f"WSL keeps its own login; Codex on Windows is logged in at {codex} — run `codex login` here" in f.detail
    assert "copies of one refresh token break each other" in f.detail


def test_no_windows_login_no_sentence(machine: Machine) -> None:
    wsl(machine, windows_login=False)
    (f,) = not_logged_in(machine)
    assert "WSL" not in f.detail


def test_logged_in_here_is_quiet(machine: Machine) -> None:
    wsl(machine, windows_login=True)
    machine.write_auth(chatgpt_auth(machine.now))
    assert not_logged_in(machine) == []
