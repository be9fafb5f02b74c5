"""refresh-conflict-risk: the login's refresh token has more than one holder (copies, processes, logs)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from authdoctor.collect import collect
from authdoctor.diagnose import Diagnosis, diagnose
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.report.as_json import render_json
from authdoctor.report.as_text import render_text
from authdoctor.report.model import CheckReport
from authdoctor.sandbox import api_key, chatgpt_auth, write_auth, write_private
from tests.conftest import Machine
from tests.diagnose.rules.conftest import assert_no_secret, machine_secrets, one, quiet, well_formed
from tests.logtools import REUSED, add_rows, create_db, set_login_time
from tests.proctools import EXEC, MANAGED_DAEMON, PID_UPDATE_LOOP, TUI, env_for, linux_only, stand_ins
from tests.report.test_as_text import PLAIN

ID = "refresh-conflict-risk"


def _login(machine: Machine, ago: timedelta = timedelta(hours=3)) -> dict[str, Any]:
    payload = chatgpt_auth(machine.now, last_refresh_ago=ago)
    set_login_time(machine.write_auth(payload), machine.now - ago)
    return payload


def _with_processes(machine: Machine) -> Diagnosis:
    """Diagnose with the real process table (the machine fixture hides it)."""
    return diagnose(collect(machine.host()._replace(proc=Path("/proc")), execute=False))


def _mine(diagnosis: Diagnosis) -> list[Finding]:
    return [f for f in diagnosis.findings if f.id == ID]


def _rendered(diagnosis: Diagnosis) -> str:
    report = CheckReport.build(diagnosis)
    return render_text(report, PLAIN, verbose=True) + render_json(report)


def _assert_no_token(text: str, payload: dict[str, Any]) -> None:
    for key in ("id_token", "access_token", "refresh_token"):
        token = payload["tokens"][key]
        for piece in (token, *token.split(".")):
            if len(piece) >= 8:
                assert piece not in text


# --- copies ----------------------------------------------------------------------


def test_two_homes_hold_the_same_chain(machine: Machine) -> None:
    custom = machine.root / "work-codex"
    custom.mkdir()
    machine.env["CODEX_HOME"] = str(custom)
    payload = _login(machine)
    default = write_auth(machine.home / ".codex", payload)
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "This login's refresh token is also stored in another place"
    assert "single-use" in f.detail and "~/.codex/auth.json" in f.detail
    assert [(o.context, o.path) for o in f.origins] == [("copy", str(default))]
    assert not f.fix.automatic and f.fix.moves is None
    # Delete first, sign in after: `codex login` would revoke the shared token.
    assert f.fix.commands == (f"rm {default}", f"CODEX_HOME={(machine.home / '.codex').resolve()} codex login")
    assert "revoke" in f.fix.summary and "exactly one Codex" in f.fix.summary
    assert "could not be checked" in f.detail  # the machine fixture has no process table


def test_a_backup_copy_of_auth_json(machine: Machine) -> None:
    payload = _login(machine)
    bak = write_private(machine.codex_home / "auth.json.bak", json.dumps(payload))
    f = one(machine, ID, Severity.WARNING)
    assert f.fix.commands == (f"rm {bak}",)
    assert "Delete this copy (~/.codex/auth.json.bak)" in f.fix.summary


def test_copies_with_other_tokens_are_not_a_risk(machine: Machine) -> None:
    _login(machine)
    write_private(machine.codex_home / "auth.json.bak", json.dumps(chatgpt_auth(machine.now)))
    write_auth(machine.home / ".codex-work", chatgpt_auth(machine.now))
    quiet(machine, ID)
    assert "this login's refresh token has one holder" in " ".join(machine.diagnosis().passed)


def test_an_api_key_login_has_no_refresh_chain(machine: Machine) -> None:
    key = api_key()
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": key})
    write_private(machine.codex_home / "auth.json.bak", json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": key}))
    quiet(machine, ID)
    assert not any("refresh token has one holder" in p for p in machine.diagnosis().passed)


# --- processes -------------------------------------------------------------------


@linux_only
def test_two_exec_refreshers_on_one_home(machine: Machine) -> None:
    payload = _login(machine)
    with stand_ins(machine.root) as stand:
        first = stand.start(EXEC, env=env_for(machine.home))
        second = stand.start(EXEC, env=env_for(machine.home))
        elsewhere = stand.start(EXEC, env=env_for(machine.home, machine.root))  # another home: not this login
        diagnosis = _with_processes(machine)
    [f] = _mine(diagnosis)
    well_formed(f, ID, Severity.WARNING)
    assert f.title == "2 Codex processes refresh the same login on their own"
    low, high = sorted((first, second))
    assert f"pid {low}, codex exec; pid {high}, codex exec" in f.detail
    assert str(elsewhere) not in f.detail
    # The older one is kept (pids can wrap around, so either may be it); the other is the one to stop.
    [kill] = f.fix.commands
    keep = first if kill == f"kill {second}" else second
    assert kill == f"kill {first + second - keep}"
    assert f"Keep one refresher on ~/.codex (pid {keep}, codex exec)" in f.fix.summary
    assert [(o.context, o.path) for o in f.origins] == [("process", f"/proc/{low}"), ("process", f"/proc/{high}")]
    text = _rendered(diagnosis)
    assert ID in text
    _assert_no_token(text, payload)


@linux_only
def test_tui_with_its_daemon_and_helper_is_one_refresher(machine: Machine) -> None:
    _login(machine)
    with stand_ins(machine.root) as stand:
        stand.start(TUI, env=env_for(machine.home))
        stand.start(TUI, env=env_for(machine.home))
        stand.start(MANAGED_DAEMON, env=env_for(machine.home))
        stand.start(PID_UPDATE_LOOP, env=env_for(machine.home))
        diagnosis = _with_processes(machine)
    assert _mine(diagnosis) == []
    assert any("refresh token has one holder" in p for p in diagnosis.passed)


@linux_only
def test_an_exec_next_to_the_daemon_is_a_second_refresher(machine: Machine) -> None:
    _login(machine)
    codex_home = machine.home / ".codex"
    (codex_home / "app-server-daemon").mkdir(parents=True)
    with stand_ins(machine.root) as stand:
        stand.start(TUI, env=env_for(machine.home))
        exe = stand.start(EXEC, env=env_for(machine.home))
        daemon = stand.start(MANAGED_DAEMON, env=env_for(machine.home))
        (codex_home / "app-server-daemon" / "daemon.pid").write_text(json.dumps({"pid": daemon, "processStartTime": 1}))
        diagnosis = _with_processes(machine)
    [f] = _mine(diagnosis)
    # The daemon is the one to keep: the TUI needs it.
    assert f"Keep one refresher on ~/.codex (pid {daemon}," in f.fix.summary
    assert f.fix.commands == (f"kill {exe}",)


@linux_only
def test_a_process_on_the_other_home_is_named(machine: Machine) -> None:
    custom = machine.root / "work-codex"
    custom.mkdir()
    machine.env["CODEX_HOME"] = str(custom)
    payload = _login(machine)
    write_auth(machine.home / ".codex", payload)
    with stand_ins(machine.root) as stand:
        other = stand.start(EXEC, env=env_for(machine.home))
        diagnosis = _with_processes(machine)
    [f] = _mine(diagnosis)
    assert f"in use right now by pid {other}" in f.detail
    assert "could not be checked" not in f.detail


# --- logs --------------------------------------------------------------------------


def test_reuse_logged_by_two_processes(machine: Machine) -> None:
    payload = _login(machine)
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(minutes=9), REUSED)], pid=101)
    add_rows(db, [(machine.now - timedelta(minutes=8), REUSED)], pid=202)
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "2 Codex processes used up the same refresh token"
    assert "pids 101, 202" in f.detail
    assert all(o.context == "log" for o in f.origins)
    assert "refresh-failed" in machine.ids()  # the dead login itself is refresh-failed's error
    text = _rendered(machine.diagnosis())
    _assert_no_token(text, payload)
    assert_no_secret([f], *machine_secrets(machine))


def test_reuse_logged_by_one_process_is_not_this_rule(machine: Machine) -> None:
    _login(machine)
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(minutes=9), REUSED), (machine.now - timedelta(minutes=5), REUSED)], pid=101)
    quiet(machine, ID)


def test_every_sign_at_once_renders_without_a_secret(machine: Machine) -> None:
    payload = _login(machine)
    write_private(machine.codex_home / "auth.json.bak", json.dumps(payload))
    write_auth(machine.home / ".codex-old", payload)
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(minutes=9), REUSED)], pid=101)
    add_rows(db, [(machine.now - timedelta(minutes=8), REUSED)], pid=202)
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "This login's refresh token is also stored in 2 other places"
    assert {o.context for o in f.origins} == {"copy", "log"}
    text = _rendered(machine.diagnosis())
    assert "auth.json.bak" in text
    _assert_no_token(text, payload)


def test_reused_token_with_two_homes_holding_it(machine: Machine) -> None:
    """The issue's story: refresh_token_reused in the logs, and a second CODEX_HOME with the same login.
    refresh-failed says the login is dead; refresh-conflict-risk says why and what to remove first."""
    import json
    from datetime import timedelta

    from authdoctor.sandbox import chatgpt_auth, write_auth
    from tests.logtools import REUSED, set_login_time, tracing_line, write_text_log

    payload = chatgpt_auth(machine.now, last_refresh_ago=timedelta(hours=3))
    auth = machine.write_auth(payload)
    set_login_time(auth, machine.now - timedelta(hours=3))
    other = machine.home / ".codex-work"
    other.mkdir()
    copy = write_auth(other, json.loads(json.dumps(payload)))
    write_text_log(machine.codex_home / "log" / "codex-tui.log", [tracing_line(machine.now - timedelta(minutes=5), REUSED)])
    ids = machine.ids()
    assert {"refresh-failed", "refresh-conflict-risk"} <= ids
    [risk] = machine.findings("refresh-conflict-risk")
    assert str(copy) in risk.detail or any(o.path == str(copy) for o in risk.origins)
    [failed] = machine.findings("refresh-failed")
    assert "already used" in failed.title
