"""The planner: which findings are fixed, which places are edited, and what becomes a manual step."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from authdoctor.collect.origins.model import EXPORT, Setting
from authdoctor.diagnose import Diagnosis
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.where import OriginRecord, VariableReport
from authdoctor.errors import AuthdoctorError
from authdoctor.plan.model import FileChange, FolderAside, KeyringAside, MoveAside, RegistryDelete
from authdoctor.plan.planner import make_plan, reason_words, select
from authdoctor.sandbox import agent_identity_jwt, chatgpt_auth
from authdoctor.secret import Secret
from tests.conftest import FIXED_NOW, Machine

VAR = "CODEX_ACCESS_TOKEN"


def finding(fid: str, severity: Severity = Severity.ERROR, *, removes: tuple[str, ...] = (VAR,), automatic: bool = True) -> Finding:
    return Finding(fid, severity, "t", "d", Fix("s", automatic=automatic, removes=removes))


def test_select_defaults_to_automatic_errors() -> None:
    found = [
        finding("access-token-overrides-login"),
        finding("api-key-env-overrides-login", Severity.WARNING, removes=("CODEX_API_KEY",)),
        finding("not-logged-in", removes=(), automatic=False),
    ]
    assert [f.id for f in select(found)] == ["access-token-overrides-login"]
    assert [f.id for f in select(found, ["api-key-env-overrides-login"])] == ["api-key-env-overrides-login"]
    with pytest.raises(AuthdoctorError, match="no automatic fix for not-logged-in"):
        select(found, ["not-logged-in"])
    with pytest.raises(AuthdoctorError, match="no finding workspace-mismatch"):
        select(found, ["workspace-mismatch"])


def _setting(path: Path, family: str, **kw: object) -> Setting:
    base: dict[str, object] = {
        "var": VAR,
        "action": EXPORT,
        "exported": True,
        "value": Secret("v" * 30),
        "path": path,
        "line": 1,
        "text": f"export {VAR}=<redacted>",
        "family": family,
    }
    base.update(kw)
    return Setting(**base)  # type: ignore[arg-type]


def _diagnosis(machine: Machine, *settings: Setting) -> Diagnosis:
    records = tuple(OriginRecord(s, ("ctx",), ("ctx",), "wins") for s in settings)
    return machine.diagnosis()._replace(origins={VAR: VariableReport(VAR, None, records, ())})


def test_places_that_are_not_files_become_manual_steps(machine: Machine, tmp_path: Path) -> None:
    etc = tmp_path / "etc-profile"
    etc.write_text(f"export {VAR}=x\n")
    etc.chmod(0o644)
    settings = [
        _setting(Path("tmux"), "tmux", line=0, editable=False, blocker="tmux-server"),
        _setting(Path("/etc/profile"), "posix"),
        _setting(machine.home / ".bashrc", "trace", blocker="eval"),
        _setting(Path("HKLM/SYSTEM/CurrentControlSet/Control/Session Manager/Environment"), "registry", line=0, blocker="registry-machine"),
        _setting(Path("HKCU/Environment"), "registry", line=0, blocker="registry"),
        _setting(Path("launchctl"), "launchd", line=0, blocker="live-session"),
    ]
    plan = make_plan(machine.host(), _diagnosis(machine, *settings), [finding("access-token-overrides-login")], stamp="2026-11-20")
    reasons = sorted(s.reason for s in plan.manual)
    assert reasons == ["eval", "live-session", "registry-machine", "system-file", "tmux-server"]
    [reg] = plan.changes
    assert isinstance(reg, RegistryDelete) and (reg.hive, reg.key, reg.name) == ("HKCU", "Environment", VAR)
    commands = {c for s in plan.manual for c in s.commands}
    assert f"tmux set-environment -gu {VAR}" in commands and f"launchctl unsetenv {VAR}" in commands
    assert all(reason_words(s.reason) != s.reason for s in plan.manual)


def test_a_traced_setting_on_a_line_the_static_scan_knows_is_not_doubled(machine: Machine) -> None:
    rc = machine.home / ".bashrc"
    rc.write_bytes(f"export {VAR}=abc\n".encode())
    static = _setting(rc, "bash", span=(0, len(f"export {VAR}=abc")), part=(7, len(f"export {VAR}=abc")))
    traced = _setting(rc, "trace", blocker="generated")
    plan = make_plan(machine.host(), _diagnosis(machine, static, traced), [finding("access-token-overrides-login")], stamp="2026-11-20")
    assert plan.manual == ()
    [change] = plan.changes
    assert isinstance(change, FileChange) and change.lines == (1,)
    assert change.after == f"# export {VAR}=abc  # disabled by authdoctor 2026-11-20 ({VAR})\n".encode()


def test_symlinked_dotfile_edits_the_target(machine: Machine) -> None:
    real = machine.home / "dotfiles" / "zshrc"
    real.parent.mkdir()
    real.write_text(f"export {VAR}=abc\n")
    link = machine.home / ".zshrc"
    link.symlink_to(real)
    s = _setting(link, "zsh", span=(0, len(f"export {VAR}=abc")), part=(7, len(f"export {VAR}=abc")))
    plan = make_plan(machine.host(), _diagnosis(machine, s), [finding("access-token-overrides-login")], stamp="2026-11-20")
    [change] = plan.changes
    assert isinstance(change, FileChange)
    assert change.path == link and change.target == real.resolve() and "link" in change.note


def test_broken_auth_json_is_moved_aside(machine: Machine) -> None:
    machine.write_auth(b"{")
    [f] = [f for f in machine.findings() if f.id == "auth-file-unreadable"]
    assert f.fix.automatic and f.fix.moves
    plan = make_plan(machine.host(), machine.diagnosis(), [f], stamp="2026-11-20")
    [move] = plan.changes
    assert isinstance(move, MoveAside) and move.dest.name == "auth.json.authdoctor-2026-11-20" and move.before == b"{"


def test_findings_name_what_fix_removes(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(FIXED_NOW))
    machine.env[VAR] = agent_identity_jwt(FIXED_NOW, expires_in=-timedelta(days=3))
    by_id = {f.id: f for f in machine.findings()}
    assert by_id["access-token-overrides-login"].fix.removes == (VAR,)
    assert by_id["access-token-overrides-login"].fix.automatic


# --- a dead login: the keyring entry and legacy folders ---------------------------------------------------------


def _dead(**fix: object) -> Finding:
    return Finding("refresh-failed", Severity.ERROR, "t", "d", Fix("s", automatic=True, **fix))  # type: ignore[arg-type]


def test_a_keyring_login_is_fixable_and_planned_without_reading_it(machine: Machine) -> None:
    f = _dead(moves_keyring="cli|0123456789abcdef")
    assert select([f]) == [f]
    plan = make_plan(machine.host(), machine.diagnosis(), [f], stamp="2026-11-20")
    [aside] = plan.changes
    assert isinstance(aside, KeyringAside)
    assert (aside.service, aside.account, aside.cures) == ("Codex Auth", "cli|0123456789abcdef", ("refresh-failed",))
    assert "codex login --device-auth" in aside.then
    assert machine.keyring.calls == []  # the plan neither probes nor reads the keyring


def test_legacy_folders_alone_are_not_a_fix(machine: Machine) -> None:
    assert select([_dead(moves_legacy=True)]) == []


def test_legacy_folder_is_planned_once_with_what_it_holds(machine: Machine) -> None:
    folder = machine.home / ".config" / "codex"
    (folder / "profiles").mkdir(parents=True)
    (folder / "profiles" / "credentials.json").write_text("{}")
    (folder / "auth.json").write_text("{}")
    (folder / "notes.txt").write_text("x")
    (folder.with_name("codex.authdoctor-2026-11-20")).mkdir()  # an older move: the next free name is used
    f = _dead(moves_legacy=True, moves_keyring="cli|0123456789abcdef")
    plan = make_plan(machine.host(), machine.diagnosis(), [f, f._replace(id="other")], stamp="2026-11-20")
    [aside] = [c for c in plan.changes if isinstance(c, FolderAside)]
    assert aside.holds == ("auth.json", "profiles/credentials.json")
    assert aside.dest.name == "codex.authdoctor-2026-11-20-2"
    assert aside.ino == folder.stat().st_ino


def test_a_symlinked_legacy_folder_is_left_alone(machine: Machine) -> None:
    real = machine.root / "elsewhere"
    real.mkdir()
    (real / "auth.json").write_text("{}")
    (machine.home / ".config").mkdir()
    (machine.home / ".config" / "codex").symlink_to(real)
    plan = make_plan(machine.host(), machine.diagnosis(), [_dead(moves_legacy=True)], stamp="2026-11-20")
    assert plan.changes == () and plan.manual == ()
