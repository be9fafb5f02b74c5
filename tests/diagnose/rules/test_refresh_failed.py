"""refresh-failed: the logs show the refresh token rejected after the current login was stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import api_key, chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import one, quiet
from tests.logtools import FIXTURES, REUSED, STATUS_401, UNREACHABLE, add_rows, create_db, set_login_time, tracing_line, write_text_log
from tests.logtools import stored_login as _login
from tests.report.test_as_text import PLAIN

ID = "refresh-failed"


def _tui(machine: Machine, *messages: str, ago: timedelta = timedelta(minutes=10)) -> Path:
    at = machine.now - ago
    return write_text_log(machine.codex_home / "log" / "codex-tui.log", [tracing_line(at, m) for m in messages])


@pytest.mark.parametrize(
    ("fixture", "title_words", "cause_words"),
    [
        ("refresh-reused.log", "already used", "single-use"),
        ("refresh-expired.log", "has expired", "for too long"),
        ("refresh-invalidated.log", "revoked", "revoked"),
        ("refresh-unknown-401.log", "rejects its refresh token", "401/403"),
    ],
)
def test_each_captured_refresh_failure(machine: Machine, fixture: str, title_words: str, cause_words: str) -> None:
    """The real lines Codex 0.169.0 wrote, dated after the login."""
    auth = _login(machine, ago=timedelta(days=40))
    set_login_time(auth, machine.now - timedelta(days=40))
    log = machine.codex_home / "log" / "codex-tui.log"
    log.parent.mkdir(parents=True)
    log.write_bytes((FIXTURES / fixture).read_bytes())
    f = one(machine, ID, Severity.ERROR)
    assert title_words in f.title
    assert cause_words in f.detail or cause_words.lower() in f.detail.lower()
    assert f.fix.automatic and f.fix.moves == str(auth)
    assert f.fix.commands[-1] in ("codex login", "codex login --device-auth")
    assert "never refreshes or revokes" in f.fix.summary
    assert all(o.context == "log" and o.path == str(log) for o in f.origins)


def test_reused_in_the_real_log_database(machine: Machine) -> None:
    machine.now = datetime(2026, 11, 22, tzinfo=UTC)
    _login(machine, ago=timedelta(days=40))
    create_db(machine.codex_home / "logs_2.sqlite", real_rows=True)
    f = one(machine, ID, Severity.ERROR)
    assert "already used" in f.title
    assert "logs_2.sqlite (row" in f.detail


def test_old_errors_before_the_login_are_history(machine: Machine) -> None:
    _login(machine, ago=timedelta(hours=1))
    _tui(machine, REUSED, ago=timedelta(hours=2))
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(hours=5), REUSED)])
    quiet(machine, ID)


def test_a_successful_refresh_after_the_error_ends_it(machine: Machine) -> None:
    """Codex rewrites auth.json on every successful refresh: a failure before that was survived."""
    auth = _login(machine, ago=timedelta(hours=5))
    _tui(machine, REUSED, ago=timedelta(hours=4))
    set_login_time(auth, machine.now - timedelta(hours=1))
    quiet(machine, ID)


def test_network_failure_is_not_a_dead_login(machine: Machine) -> None:
    _login(machine)
    _tui(machine, UNREACHABLE, UNREACHABLE)
    quiet(machine, ID)
    assert "network-failure" in machine.ids()


def test_status_line_alone_is_a_rejection(machine: Machine) -> None:
    _login(machine)
    _tui(machine, STATUS_401)
    f = one(machine, ID, Severity.ERROR)
    assert "rejects its refresh token" in f.title


def test_the_most_specific_cause_names_the_finding(machine: Machine) -> None:
    _login(machine)
    _tui(machine, STATUS_401, REUSED)
    f = one(machine, ID, Severity.ERROR)
    assert "already used" in f.title


def test_issue_wording_stream_error(machine: Machine) -> None:
    _login(machine)
    _tui(machine, "stream error: Failed to refresh token: 401 Unauthorized; retrying 1/5 in 187ms…")
    one(machine, ID, Severity.ERROR)


def test_no_stored_login_no_finding(machine: Machine) -> None:
    """After the dead login was moved aside, the old errors must not keep the finding alive."""
    _tui(machine, REUSED)
    quiet(machine, ID)
    assert "not-logged-in" in machine.ids()


def test_several_processes_are_named(machine: Machine) -> None:
    _login(machine)
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(minutes=9), REUSED)], pid=101)
    add_rows(db, [(machine.now - timedelta(minutes=8), REUSED)], pid=202)
    f = one(machine, ID, Severity.ERROR)
    assert "2 different Codex processes" in f.detail and "101" in f.detail and "202" in f.detail


def test_headless_machine_is_told_to_use_device_auth(machine: Machine) -> None:
    machine.env["SSH_CONNECTION"] = "10.0.0.1 5555 10.0.0.2 22"
    _login(machine)
    _tui(machine, REUSED)
    f = one(machine, ID, Severity.ERROR)
    assert f.fix.commands[-1] == "codex login --device-auth"


def test_desktop_session_gets_the_browser_login(machine: Machine) -> None:
    machine.env["DISPLAY"] = ":0"
    _login(machine)
    _tui(machine, REUSED)
    assert one(machine, ID, Severity.ERROR).fix.commands[-1] == "codex login"


def test_api_key_login_with_refresh_errors_from_history(machine: Machine) -> None:
    """An API-key login written after the errors: nothing to refresh, the errors are history."""
    _tui(machine, REUSED, ago=timedelta(hours=5))
    auth = machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    set_login_time(auth, machine.now - timedelta(hours=1))
    quiet(machine, ID)


def test_the_refresh_token_never_appears(machine: Machine) -> None:
    payload = chatgpt_auth(machine.now, last_refresh_ago=timedelta(hours=3))
    auth = machine.write_auth(payload)
    set_login_time(auth, machine.now - timedelta(hours=3))
    token = payload["tokens"]["refresh_token"]
    _tui(machine, REUSED + f" body={token}")
    report = machine.report()
    from authdoctor.report.as_json import render_json
    from authdoctor.report.as_text import render_text

    for text in (render_text(report, PLAIN), render_json(report)):
        assert token not in text


def _keyring_login(machine: Machine, mode: str, *, entry: bool = True) -> str:
    from authdoctor.codex import knowledge as K
    from authdoctor.host.keyring import SERVICE, FakeKeyringWriter

    machine.write_config(f'cli_auth_credentials_store = "{mode}"\n')
    account = K.keyring_account(str(machine.codex_home.resolve()))
    machine.keyring.store = FakeKeyringWriter({(SERVICE, account): b"{}"} if entry else {})
    return account


def test_a_keyring_login_is_moved_into_the_journal(machine: Machine) -> None:
    account = _keyring_login(machine, "keyring")
    _tui(machine, REUSED)
    f = one(machine, ID, Severity.ERROR)
    assert f.fix.automatic and f.fix.moves is None and f.fix.moves_keyring == account and f.fix.moves_legacy
    assert f.fix.commands == (f"secret-tool clear service 'Codex Auth' username '{account}'", "codex login --device-auth")
    assert "private copy in its journal" in f.fix.summary and "never refreshes or revokes" in f.fix.summary


def test_auto_mode_with_a_keyring_entry_moves_both(machine: Machine) -> None:
    account = _keyring_login(machine, "auto")
    auth = _login(machine, ago=timedelta(days=30))
    _tui(machine, REUSED)
    f = one(machine, ID, Severity.ERROR)
    assert f.fix.moves_keyring == account and f.fix.moves == str(auth)


def test_auto_mode_without_a_keyring_entry_moves_the_file(machine: Machine) -> None:
    _keyring_login(machine, "auto", entry=False)
    auth = _login(machine)
    _tui(machine, REUSED)
    f = one(machine, ID, Severity.ERROR)
    assert f.fix.moves == str(auth) and f.fix.moves_keyring is None


def test_macos_by_hand_command(machine: Machine) -> None:
    machine.platform = "darwin"
    account = _keyring_login(machine, "keyring")
    _tui(machine, REUSED)
    f = one(machine, ID, Severity.ERROR)
    assert f.fix.commands[0] == f"security delete-generic-password -s 'Codex Auth' -a '{account}'"
