"""stale-process-environment: real stand-in Codex processes that hold what a fresh start would not."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from authdoctor.collect import collect
from authdoctor.collect.processes import codex_processes
from authdoctor.diagnose import Diagnosis, diagnose
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.report.as_json import render_json
from authdoctor.report.as_text import render_text
from authdoctor.report.model import CheckReport
from authdoctor.sandbox import chatgpt_auth, make_jwt
from authdoctor.secret import Secret
from tests.conftest import Machine
from tests.diagnose.rules.conftest import well_formed
from tests.logtools import add_rows, create_db, set_login_time
from tests.proctools import (
    EXEC,
    IDE_APP_SERVER,
    MANAGED_DAEMON,
    PID_UPDATE_LOOP,
    TUI,
    Stand,
    env_for,
    linux_only,
    real_proc_host,
    stand_ins,
)
from tests.report.test_as_text import PLAIN

ID = "stale-process-environment"
ACCOUNT_CHANGED = (
    "Failed to refresh token: Your access token could not be refreshed because you have since logged out or signed in to "
    "another account. Please sign in again."
)


def _token() -> str:
    return "at-stand-in-" + os.urandom(12).hex()


def _login(machine: Machine, *, auth_time: datetime | None = None) -> dict[str, Any]:
    machine.now = datetime.now(UTC)  # real processes start on the real clock
    payload = chatgpt_auth(machine.now)
    if auth_time is not None:
        claims = {
            "auth_time": int(auth_time.timestamp()),
            "email": "dev@example.com",
            "exp": int((machine.now + timedelta(days=1)).timestamp()),
        }
        payload["tokens"]["id_token"] = make_jwt(claims)
    machine.write_auth(payload)
    return payload


def _diagnose(machine: Machine) -> Diagnosis:
    """With the real process table (the machine fixture hides it)."""
    return diagnose(collect(machine.host()._replace(proc=Path("/proc")), execute=False))


def _mine(diagnosis: Diagnosis, *pids: int) -> Finding | None:
    """The finding, restricted to the stand-ins of this test (other tests' processes may run alongside)."""
    found = [f for f in diagnosis.findings if f.id == ID]
    assert len(found) <= 1
    if not found:
        return None
    f = found[0]
    well_formed(f, ID, Severity.WARNING)
    return f if any(o.path == f"/proc/{pid}" for o in f.origins for pid in pids) else None


def _rendered(diagnosis: Diagnosis) -> str:
    report = CheckReport.build(diagnosis)
    return render_text(report, PLAIN, verbose=True) + render_json(report)


@linux_only
def test_a_tui_that_holds_the_access_token_next_to_a_stored_login(machine: Machine, tmp_path: Path) -> None:
    _login(machine)
    token = _token()
    with stand_ins(tmp_path) as stand:
        pid = stand.start(TUI, env=env_for(machine.home, CODEX_ACCESS_TOKEN=token))
        diagnosis = _diagnose(machine)
        f = _mine(diagnosis, pid)
        text = _rendered(diagnosis)
    assert f is not None
    assert f.title.endswith(("A running Codex process still holds CODEX_ACCESS_TOKEN", "processes still hold CODEX_ACCESS_TOKEN"))
    assert f"pid {pid} (interactive codex)" in f.detail
    assert "overrides your stored login" in f.detail
    assert "`/quit`" in f.fix.summary
    assert token not in text and token not in repr(diagnosis.evidence)


@linux_only
def test_the_daemon_is_killed_and_the_helpers_are_not_named(machine: Machine, tmp_path: Path) -> None:
    _login(machine)
    env = env_for(machine.home, CODEX_API_KEY="sk-" + os.urandom(16).hex())
    with stand_ins(tmp_path) as stand:
        daemon = stand.start(MANAGED_DAEMON, env=env)
        loop = stand.start(PID_UPDATE_LOOP, env=env)
        login = stand.start(("login",), env=env)
        f = _mine(_diagnose(machine), daemon, loop, login)
    assert f is not None
    assert f"kill {daemon}" in f.fix.commands
    assert {o.path for o in f.origins} >= {f"/proc/{daemon}"}
    assert f"/proc/{loop}" not in {o.path for o in f.origins} and f"/proc/{login}" not in {o.path for o in f.origins}


@linux_only
def test_a_proxy_a_new_terminal_no_longer_gives(machine: Machine, tmp_path: Path) -> None:
    _login(machine)
    machine.env["HTTPS_PROXY"] = "http://127.0.0.1:3128"
    with stand_ins(tmp_path) as stand:
        old = stand.start(EXEC, env=env_for(machine.home, HTTPS_PROXY="http://127.0.0.1:9999"))
        same = stand.start(EXEC, env=env_for(machine.home, HTTPS_PROXY="http://127.0.0.1:3128"))
        removed = stand.start(EXEC, env=env_for(machine.home, SSL_CERT_FILE="/etc/old-ca.pem"))
        diagnosis = _diagnose(machine)
    f = _mine(diagnosis, old)
    assert f is not None
    assert f"pid {old} (codex exec)" in f.detail and "holds HTTPS_PROXY with a value a new terminal no longer gives" in f.detail
    assert f"pid {removed} (codex exec)" in f.detail and "holds SSL_CERT_FILE" in f.detail
    assert f"pid {same} " not in f.detail
    assert "127.0.0.1:9999" not in _rendered(diagnosis)


@linux_only
def test_a_dotenv_value_decides_and_the_inherited_one_does_not_matter(machine: Machine, tmp_path: Path) -> None:
    _login(machine)
    machine.write_dotenv("HTTPS_PROXY=http://127.0.0.1:3128\n")
    with stand_ins(tmp_path) as stand:
        pid = stand.start(EXEC, env=env_for(machine.home, HTTPS_PROXY="http://127.0.0.1:9999"))
        assert _mine(_diagnose(machine), pid) is None


@linux_only
def test_a_process_on_a_home_a_new_terminal_no_longer_sets(machine: Machine, tmp_path: Path) -> None:
    _login(machine)
    old_home = tmp_path / "codex-work"
    old_home.mkdir()
    with stand_ins(tmp_path) as stand:
        pid = stand.start(IDE_APP_SERVER, env=env_for(machine.home, old_home, CODEX_ACCESS_TOKEN=_token()))
        f = _mine(_diagnose(machine), pid)
    assert f is not None
    # On another home, only the stale CODEX_HOME is ours to report: that process has its own login.
    assert "holds CODEX_HOME" in f.detail and "CODEX_ACCESS_TOKEN" not in f.detail
    assert "Reload Window" in f.fix.summary


@linux_only
def test_a_process_that_started_before_the_sign_in(machine: Machine, tmp_path: Path) -> None:
    with stand_ins(tmp_path) as stand:
        pid = stand.start(TUI, env=env_for(machine.home))
        _login(machine, auth_time=datetime.now(UTC) + timedelta(minutes=2))
        f = _mine(_diagnose(machine), pid)
        assert f is not None
        assert "before you signed in" in f.detail
        _login(machine, auth_time=datetime.now(UTC) - timedelta(hours=1))
        assert _mine(_diagnose(machine), pid) is None


@linux_only
def test_a_running_process_that_logged_its_login_was_replaced(machine: Machine, tmp_path: Path) -> None:
    _login(machine)
    set_login_time(machine.codex_home / "auth.json", machine.now - timedelta(hours=1))  # the log line comes after the login
    db = create_db(machine.codex_home / "logs_2.sqlite")
    with stand_ins(tmp_path) as stand:
        pid = stand.start(MANAGED_DAEMON, env=env_for(machine.home))
        add_rows(db, [(machine.now - timedelta(seconds=30), ACCOUNT_CHANGED)], pid=pid)
        f = _mine(_diagnose(machine), pid)
    assert f is not None
    assert "its login was replaced" in f.detail
    assert f"kill {pid}" in f.fix.commands


@linux_only
def test_quiet_when_nothing_is_stale(machine: Machine, tmp_path: Path) -> None:
    _login(machine)
    machine.env["CODEX_ACCESS_TOKEN"] = token = _token()
    with stand_ins(tmp_path) as stand:
        # Without a stored login the token is the credential, and this terminal has the same value.
        (machine.codex_home / "auth.json").unlink()
        pid = stand.start(TUI, env=env_for(machine.home, CODEX_ACCESS_TOKEN=token))
        clean = stand.start(TUI, env=env_for(machine.home))
        diagnosis = _diagnose(machine)
    assert _mine(diagnosis, pid, clean) is None


def test_quiet_and_not_claimed_when_processes_cannot_be_seen(machine: Machine) -> None:
    _login(machine)
    diagnosis = machine.diagnosis()  # the machine fixture has no process table
    assert ID not in {f.id for f in diagnosis.findings}
    assert not any("running Codex process holds" in p for p in diagnosis.passed)


@linux_only
def test_the_process_table_reads_values_state_and_what_runs_it(tmp_path: Path) -> None:
    home = tmp_path / "other-home"
    home.mkdir()
    token = _token()
    extension = Stand(tmp_path / ".vscode" / "extensions" / "openai.chatgpt-26.1.0" / "bin" / "linux-x86_64")
    with stand_ins(tmp_path) as stand:
        pid = stand.start(TUI, env=env_for(home, CODEX_ACCESS_TOKEN=token))
        os.kill(pid, signal.SIGSTOP)
        try:
            ide = extension.start(IDE_APP_SERVER, env=env_for(home))
            found = {p.pid: p for p in codex_processes(real_proc_host(home)) or ()}
        finally:
            os.kill(pid, signal.SIGCONT)
            extension.stop()
    assert found[pid].value("CODEX_ACCESS_TOKEN") == Secret(token)
    assert found[pid].stopped and not found[ide].stopped
    assert found[ide].via == "VS Code extension" and found[pid].via is None
    assert token not in repr(found)
