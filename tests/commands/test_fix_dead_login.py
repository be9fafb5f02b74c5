"""``authdoctor fix`` for a dead login (refresh-failed): auth.json, the keyring entry and legacy folders go aside, and come back.

The dead login is built the way Codex leaves it: a stored ChatGPT login, then
real-format ``Failed to refresh token`` lines (captured from Codex 0.169.0)
dated after it in ``$CODEX_HOME/log/codex-tui.log``.  The keyring is the fake
from tests/conftest.py with an in-memory store behind the writer interface.
"""

from __future__ import annotations

import json
import stat
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from authdoctor.apply.journal import Journal, journal_root
from authdoctor.apply.undo import undo
from authdoctor.codex import knowledge as K
from authdoctor.commands.fix import fix, keyring_for
from authdoctor.errors import AuthdoctorError
from authdoctor.host.keyring import SERVICE, FakeKeyringWriter
from authdoctor.plan.model import FolderAside, KeyringAside, MoveAside
from authdoctor.report.fix_report import APPLIED, DRY_RUN, outcome_json, render_outcome_text, render_plan_text
from authdoctor.sandbox import chatgpt_auth
from tests.commands.test_fix import args
from tests.conftest import Machine
from tests.logtools import FIXTURES, set_login_time, tracing_line, write_text_log
from tests.report.test_as_text import PLAIN

posix_only = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX modes")
CURE = "refresh-failed"


def dead_log(machine: Machine) -> Path:
    """The captured 0.169.0 refresh-token-reused lines, re-dated ten minutes ago (after the login)."""
    at = machine.now - timedelta(minutes=10)
    messages = [line.split(": ", 1)[1] for line in (FIXTURES / "refresh-reused.log").read_text().splitlines() if ": " in line]
    assert messages, "the fixture holds the real lines"
    return write_text_log(machine.codex_home / "log" / "codex-tui.log", [tracing_line(at, m) for m in messages[:4]])


def file_login(machine: Machine, mode: int = 0o600) -> tuple[Path, bytes]:
    auth = machine.write_auth(chatgpt_auth(machine.now, last_refresh_ago=timedelta(hours=3)), mode=mode)
    set_login_time(auth, machine.now - timedelta(hours=3))
    dead_log(machine)
    return auth, auth.read_bytes()


def keyring_login(machine: Machine, *, mode: str = "keyring") -> tuple[FakeKeyringWriter, str, bytes]:
    machine.write_config(f'cli_auth_credentials_store = "{mode}"\n')
    account = K.keyring_account(str(machine.codex_home.resolve()))
    secret = json.dumps(chatgpt_auth(machine.now, last_refresh_ago=timedelta(hours=3)), separators=(",", ":")).encode()
    store = FakeKeyringWriter({(SERVICE, account): secret})
    machine.keyring.store = store
    dead_log(machine)
    return store, account, secret


def journal(machine: Machine) -> Journal:
    return Journal(journal_root(machine.host()))


def entry_text(machine: Machine) -> str:
    """Every name and every entry.json in the journal (the .bak files hold the secrets, by design)."""
    root = journal_root(machine.host())
    out = []
    for p in sorted(root.rglob("*")):
        out.append(str(p))
        if p.name == "entry.json":
            out.append(p.read_text("utf-8"))
    return "\n".join(out)


def refresh_tokens(secret: bytes) -> list[str]:
    doc = json.loads(secret)
    return [doc["tokens"]["refresh_token"], doc["tokens"]["access_token"]]


# --- a login in auth.json ---------------------------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_file_login_moved_aside_and_back(machine: Machine, mode: int) -> None:
    auth, before = file_login(machine, mode)
    dry = fix(machine.host(), args(dry_run=True))
    assert dry.status == DRY_RUN
    [move] = [c for c in dry.plan.changes if isinstance(c, MoveAside)]
    assert move.path == auth and move.cures == (CURE,)
    assert "codex login --device-auth" in move.then  # a Linux session without a display
    assert "move ~/.codex/auth.json aside to auth.json.authdoctor-2026-11-20" in render_plan_text(dry.plan, machine.home, PLAIN)

    outcome = fix(machine.host(), args(yes=True))
    assert outcome.status == APPLIED
    assert not auth.exists()
    assert outcome.verification is not None and outcome.verification.remaining == ()
    entry = journal(machine).latest()
    assert entry is not None
    [record] = entry.records
    assert record["kind"] == "move" and record["status"] == "written"
    assert entry.read_backup(record["backup"]) == before
    assert "Next: run `codex login --device-auth`" in render_outcome_text(outcome, PLAIN)
    assert outcome_json(outcome)["next"] == [move.then]

    undo(journal(machine))
    assert auth.read_bytes() == before
    assert stat.S_IMODE(auth.stat().st_mode) == mode


def test_desktop_session_is_told_to_use_the_browser_login(machine: Machine) -> None:
    machine.env["DISPLAY"] = ":0"
    file_login(machine)
    outcome = fix(machine.host(), args(yes=True))
    text = render_outcome_text(outcome, PLAIN)
    assert "Next: run `codex login` (or `codex login --device-auth` on a machine without a browser)" in text
    assert "never refreshes or revokes" in text


# --- a login in the OS keyring ------------------------------------------------------------------------------------


def test_keyring_login_moved_into_the_journal_and_back(machine: Machine) -> None:
    store, account, secret = keyring_login(machine)
    dry = fix(machine.host(), args(dry_run=True))
    assert dry.plan.changes == (KeyringAside(SERVICE, account, (CURE,), dry.plan.changes[0].then),)  # type: ignore[union-attr]
    assert store.log == []  # planning never reads the secret

    outcome = fix(machine.host(), args(yes=True))
    assert outcome.status == APPLIED
    assert store.items == {}
    assert outcome.verification is not None and outcome.verification.remaining == ()
    entry = journal(machine).latest()
    assert entry is not None
    [record] = entry.records
    assert {k: record[k] for k in ("kind", "service", "account", "status")} == {
        "kind": "keyring",
        "service": SERVICE,
        "account": account,
        "status": "written",
    }
    assert record["fingerprint"].startswith("sha256:")
    backup = entry.backup_path(record["backup"])
    assert backup.read_bytes() == secret
    if not sys.platform.startswith("win"):
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        assert stat.S_IMODE(entry.path.stat().st_mode) == 0o700

    # The secret is nowhere but in the private backup: not in entry.json, file names, output or JSON.
    shown = render_outcome_text(outcome, PLAIN) + json.dumps(outcome_json(outcome)) + entry_text(machine)
    for token in [secret.decode(), *refresh_tokens(secret)]:
        assert token not in shown

    done = undo(journal(machine), keyring=keyring_for(machine.host()))
    assert done.restored == (f"keyring: {SERVICE} / {account}",)
    assert store.items == {(SERVICE, account): secret}


def test_undo_refuses_when_a_new_login_is_in_the_keyring(machine: Machine) -> None:
    store, account, secret = keyring_login(machine)
    fix(machine.host(), args(yes=True))
    newer = b'{"auth_mode":"chatgpt","tokens":"from a new codex login"}'
    store.items[(SERVICE, account)] = newer  # `codex login` ran
    with pytest.raises(AuthdoctorError) as info:
        undo(journal(machine), keyring=keyring_for(machine.host()))
    assert "new entry" in info.value.message and "will not overwrite" in info.value.message
    assert secret.decode() not in info.value.message + info.value.hint
    assert store.items[(SERVICE, account)] == newer
    entry = journal(machine).latest()
    assert entry is not None and entry.state == "applied"

    # The same entry as before (put back by hand): nothing to restore, and undo completes.
    store.items[(SERVICE, account)] = secret
    assert undo(journal(machine), keyring=keyring_for(machine.host())).restored == ()
    assert store.items == {(SERVICE, account): secret}


def test_undo_without_a_keyring_refuses_and_changes_nothing(machine: Machine) -> None:
    store, _, _ = keyring_login(machine)
    fix(machine.host(), args(yes=True))
    with pytest.raises(AuthdoctorError, match="cannot reach the OS keyring"):
        undo(journal(machine), keyring=None)
    assert store.items == {}


def test_a_locked_keyring_refuses_the_whole_plan(machine: Machine) -> None:
    store, account, secret = keyring_login(machine)
    store.failing.add("get")
    with pytest.raises(AuthdoctorError, match="refused to get"):
        fix(machine.host(), args(yes=True))
    store.failing.clear()
    assert store.items == {(SERVICE, account): secret}
    assert journal(machine).entries() == []


def test_auto_mode_moves_the_keyring_entry_and_the_fallback_file(machine: Machine) -> None:
    store, account, secret = keyring_login(machine, mode="auto")
    auth = machine.write_auth(chatgpt_auth(machine.now, last_refresh_ago=timedelta(days=30)))
    set_login_time(auth, machine.now - timedelta(days=30))  # an older login, left behind as the fallback
    before = auth.read_bytes()
    outcome = fix(machine.host(), args(yes=True))
    assert {type(c) for c in outcome.plan.changes} == {KeyringAside, MoveAside}
    assert store.items == {} and not auth.exists()
    undo(journal(machine), keyring=keyring_for(machine.host()))
    assert store.items == {(SERVICE, account): secret}
    assert auth.read_bytes() == before


# --- legacy folders -----------------------------------------------------------------------------------------------


def legacy(base: Path, files: dict[str, bytes]) -> Path:
    folder = base / "codex"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def test_legacy_folder_moved_aside_and_back(machine: Machine) -> None:
    auth, before = file_login(machine)
    folder = legacy(machine.home / ".config", {"auth.json": b'{"old": true}', "cache/state.bin": b"\0\1"})
    outcome = fix(machine.host(), args(yes=True))
    [aside] = [c for c in outcome.plan.changes if isinstance(c, FolderAside)]
    assert aside.path == folder and aside.dest == folder.with_name("codex.authdoctor-2026-11-20")
    assert aside.holds == ("auth.json",)
    assert not folder.exists() and (aside.dest / "cache" / "state.bin").read_bytes() == b"\0\1"
    assert "legacy folder" in render_plan_text(outcome.plan, machine.home, PLAIN)

    done = undo(journal(machine))
    assert set(done.restored) == {str(auth), str(folder)}
    assert (folder / "auth.json").read_bytes() == b'{"old": true}'
    assert (folder / "cache" / "state.bin").read_bytes() == b"\0\1"
    assert not aside.dest.exists()
    assert auth.read_bytes() == before


def test_legacy_folder_under_xdg_config_home(machine: Machine) -> None:
    file_login(machine)
    xdg = machine.root / "xdg"
    machine.env["XDG_CONFIG_HOME"] = str(xdg)
    ignored = legacy(machine.home / ".config", {"auth.json": b"{}"})
    folder = legacy(xdg, {"tokens.json": b"{}"})
    plan = fix(machine.host(), args(dry_run=True)).plan
    assert [c.path for c in plan.changes if isinstance(c, FolderAside)] == [folder]
    assert ignored.is_dir()


def test_windows_appdata_folder(machine: Machine) -> None:
    machine.platform = "win32"
    appdata = machine.home / "AppData" / "Roaming"
    machine.env["APPDATA"] = str(appdata)
    file_login(machine)
    folder = legacy(appdata, {"auth.json": b"{}"})
    plan = fix(machine.host(), args(dry_run=True)).plan
    assert [c.path for c in plan.changes if isinstance(c, FolderAside)] == [folder]


@pytest.mark.parametrize(
    "files",
    [{}, {"config.toml": b"model = 'o3'\n"}, {"a/b/auth.json": b"{}"}],
    ids=["empty", "no-credentials", "too-deep"],
)
def test_legacy_folder_without_credentials_is_left_alone(machine: Machine, files: dict[str, bytes]) -> None:
    file_login(machine)
    folder = legacy(machine.home / ".config", files)
    folder.mkdir(parents=True, exist_ok=True)
    plan = fix(machine.host(), args(dry_run=True)).plan
    assert not [c for c in plan.changes if isinstance(c, FolderAside)]


def test_the_codex_home_in_use_is_never_a_legacy_folder(machine: Machine) -> None:
    machine.env["CODEX_HOME"] = str(machine.home / ".config" / "codex")
    auth, _ = file_login(machine)
    plan = fix(machine.host(), args(dry_run=True)).plan
    assert [type(c) for c in plan.changes] == [MoveAside]
    assert plan.changes[0].path == auth  # type: ignore[union-attr]


def test_no_legacy_move_without_a_dead_login(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    legacy(machine.home / ".config", {"auth.json": b"{}"})
    assert fix(machine.host(), args(yes=True)).plan.changes == ()
