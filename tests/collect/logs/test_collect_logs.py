"""collect_logs: which logs are read, since when, and every signature in text logs and in a real SQLite log database."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from authdoctor.codex import signatures as S
from authdoctor.collect.logs import collect_logs
from authdoctor.collect.logs.model import LogEvidence
from tests.conftest import Machine
from tests.logtools import MODELS_OFFLINE, REUSED, add_rows, create_db, set_login_time, tracing_line, write_text_log
from tests.logtools import stored_login as _login


def _logs(machine: Machine) -> LogEvidence:
    ev = machine.evidence()
    assert ev.logs is not None
    return ev.logs


def _every_pattern() -> list[tuple[str, str]]:
    return [(sig.id, pattern) for sig in S.SIGNATURES for pattern in sig.patterns]


def test_every_signature_row_can_be_reached() -> None:
    """No row is dead: each has a pattern that classifies as that row (the table order is specific-first)."""
    for sig in S.SIGNATURES:
        assert any(S.classify(f"x {p} y") == sig for p in sig.patterns), sig.id


@pytest.mark.parametrize(("sig_id", "pattern"), _every_pattern())
def test_every_pattern_in_a_text_log(machine: Machine, sig_id: str, pattern: str) -> None:
    _login(machine)
    line = tracing_line(machine.now - timedelta(minutes=5), f"auth: {pattern} (while refreshing token)")
    write_text_log(machine.codex_home / "log" / "codex-tui.log", [line])
    expected = S.classify(line)
    assert expected is not None
    found = {s.signature: s for s in _logs(machine).summaries}
    assert expected.id in found
    hit = found[expected.id]
    assert hit.hits == 1 and hit.last.line == 1 and hit.last.at is not None
    assert pattern in hit.last.excerpt


@pytest.mark.parametrize(("sig_id", "pattern"), _every_pattern())
def test_every_pattern_in_a_real_sqlite_log_db(machine: Machine, sig_id: str, pattern: str) -> None:
    _login(machine)
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(minutes=5), f"auth: {pattern}")], pid=777)
    expected = S.classify(pattern)
    assert expected is not None
    found = {s.signature: s for s in _logs(machine).summaries}
    assert expected.id in found
    assert found[expected.id].processes == ("777",)
    assert found[expected.id].last.row == 1


def test_the_captured_database_of_codex_0_169(machine: Machine) -> None:
    """The real rows the 0.169.0 daemon wrote (epoch 2026-11-21): reused, logged by one process."""
    auth = _login(machine)
    set_login_time(auth, machine.now - timedelta(days=30))
    create_db(machine.codex_home / "logs_2.sqlite", real_rows=True)
    logs = _logs(machine)
    reused = logs.of("refresh-token-reused")
    assert len(reused) == 1 and reused[0].hits == 3 and reused[0].processes == ("30753",)
    assert reused[0].auth_requests == 3
    assert "already used" in reused[0].last.excerpt


def test_errors_from_before_the_login_are_history(machine: Machine) -> None:
    _login(machine, ago=timedelta(hours=1))
    old = machine.now - timedelta(hours=2)
    write_text_log(machine.codex_home / "log" / "codex-tui.log", [tracing_line(old, REUSED)])
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(old, REUSED)])
    logs = _logs(machine)
    assert logs.summaries == ()
    assert logs.since_reason == "the current login"


def test_a_log_not_written_since_the_login_is_not_opened(machine: Machine) -> None:
    _login(machine, ago=timedelta(hours=1))
    log = write_text_log(machine.codex_home / "log" / "codex-tui.log", [tracing_line(machine.now - timedelta(days=3), REUSED)])
    stamp = (machine.now - timedelta(days=3)).timestamp()
    os.utime(log, (stamp, stamp))
    (source,) = _logs(machine).sources
    assert source.skipped is not None and "not written since the current login" in source.skipped


def test_without_a_login_the_last_seven_days_count(machine: Machine) -> None:
    write_text_log(
        machine.codex_home / "log" / "codex-tui.log",
        [tracing_line(machine.now - timedelta(days=9), REUSED), tracing_line(machine.now - timedelta(days=1), REUSED)],
    )
    logs = _logs(machine)
    assert logs.since_reason == "the last 7 days"
    assert [s.hits for s in logs.summaries] == [1]


def test_log_dir_from_config_and_the_daemon_stderr_log(machine: Machine) -> None:
    _login(machine)
    custom = machine.root / "elsewhere" / "logs"
    machine.write_config(f'log_dir = "{custom}"\n')
    at = machine.now - timedelta(minutes=1)
    write_text_log(
        custom / "codex-login.log", [tracing_line(at, "login callback state mismatch", level="WARN", target="codex_login::server")]
    )
    daemon = machine.codex_home / "app-server-daemon" / "daemon.stderr.log"
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    coloured = f"\x1b[2m{stamp}\x1b[0m \x1b[31mERROR\x1b[0m \x1b[2mcodex_login::auth::manager\x1b[0m\x1b[2m:\x1b[0m {REUSED}"
    write_text_log(daemon, [coloured])
    create_db(custom / "logs_2.sqlite")
    logs = _logs(machine)
    origins = {Path(s.path).name: s.origin for s in logs.sources}
    assert origins == {"codex-login.log": "log_dir", "daemon.stderr.log": "daemon", "logs_2.sqlite": "log_dir"}
    found = {s.signature: s for s in logs.summaries}
    assert "login-state-mismatch" in found
    assert found["refresh-token-reused"].last.excerpt.startswith(at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert "\x1b" not in found["refresh-token-reused"].last.excerpt


def test_sqlite_home_and_the_environment_variable(machine: Machine) -> None:
    _login(machine)
    elsewhere = machine.root / "state"
    machine.env["CODEX_SQLITE_HOME"] = str(elsewhere)
    db = create_db(elsewhere / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(minutes=2), REUSED)])
    assert [s.signature for s in _logs(machine).summaries] == ["refresh-token-reused"]


def test_reading_while_codex_writes(machine: Machine) -> None:
    """A WAL reader neither waits for Codex's open write transaction nor sees its uncommitted rows."""
    _login(machine)
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(minutes=3), REUSED)])
    writer = sqlite3.connect(db, timeout=0)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO logs (ts, ts_nanos, level, target, feedback_log_body) VALUES (?, 0, 'ERROR', 't', ?)",
            (int(machine.now.timestamp()) - 60, MODELS_OFFLINE),
        )
        logs = _logs(machine)
    finally:
        writer.rollback()
        writer.close()
    assert [s.signature for s in logs.summaries] == ["refresh-token-reused"]
    assert logs.sources[0].note is None


def test_read_only_folder_without_the_shm_file_is_read_immutable(machine: Machine, tmp_path: Path) -> None:
    if os.getuid() == 0:
        pytest.skip("root writes into read-only folders")
    _login(machine)
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(minutes=3), REUSED)])
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for extra in ("-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    machine.codex_home.chmod(0o555)
    try:
        logs = _logs(machine)
    finally:
        machine.codex_home.chmod(0o755)
    assert [s.signature for s in logs.summaries] == ["refresh-token-reused"]


def test_nothing_is_created_next_to_the_database(machine: Machine) -> None:
    _login(machine)
    db = create_db(machine.codex_home / "logs_2.sqlite")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    before = sorted(p.name for p in machine.codex_home.iterdir())
    before_bytes = db.read_bytes()
    _logs(machine)
    assert sorted(p.name for p in machine.codex_home.iterdir()) == before
    assert db.read_bytes() == before_bytes


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_damaged_or_foreign_database_is_reported_not_fatal(machine: Machine, content: bytes) -> None:
    _login(machine)
    (machine.codex_home / "logs_2.sqlite").write_bytes(content)
    logs = _logs(machine)
    (source,) = logs.sources
    assert logs.summaries == ()
    if content:
        assert (source.skipped is not None and "SQLite" in source.skipped) or "table" in (source.skipped or "")


def test_a_database_of_another_shape(machine: Machine) -> None:
    _login(machine)
    conn = sqlite3.connect(machine.codex_home / "logs_2.sqlite")
    conn.execute("CREATE TABLE other (x)")
    conn.close()
    (source,) = _logs(machine).sources
    assert source.skipped == "it has no Codex log table (an unknown or older format)"


def test_unreadable_log_is_named_not_fatal(machine: Machine) -> None:
    if os.getuid() == 0:
        pytest.skip("root reads chmod-000 files")
    _login(machine)
    log = write_text_log(machine.codex_home / "log" / "codex-tui.log", [tracing_line(machine.now - timedelta(minutes=1), REUSED)])
    log.chmod(0)
    (source,) = _logs(machine).sources
    assert source.skipped == "permission denied"


def test_a_directory_named_like_a_log_is_ignored(machine: Machine) -> None:
    _login(machine)
    (machine.codex_home / "log" / "codex-tui.log").mkdir(parents=True)
    assert _logs(machine).sources == ()


def test_desktop_and_ide_logs(machine: Machine) -> None:
    """macOS desktop logs (YYYY/MM/DD) and the VS Code extension's output channel, newest sessions only."""
    machine.platform = "darwin"
    _login(machine)
    at = machine.now - timedelta(minutes=4)
    day = machine.home / "Library" / "Logs" / "com.openai.codex" / "2026" / "11" / "20"
    write_text_log(day / "codex-desktop-1.log", [f"{at.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}Z [error] {REUSED}"])
    vscode = (
        machine.home / "Library" / "Application Support" / "Code" / "logs" / "20261120T100000" / "window1" / "exthost" / "openai.chatgpt"
    )
    write_text_log(
        vscode / "Codex.log", [f"{at.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]} [error] Token exchange failed: error sending request for url"]
    )
    logs = _logs(machine)
    assert {s.origin for s in logs.sources} == {"desktop", "ide"}
    assert {s.signature for s in logs.summaries} == {"refresh-token-reused", "token-exchange-unreachable"}


def test_collect_logs_direct_call_with_explicit_window(machine: Machine) -> None:
    auth = _login(machine)
    write_text_log(machine.codex_home / "log" / "codex-tui.log", [tracing_line(machine.now - timedelta(days=40), REUSED)])
    ev = machine.evidence()
    logs = collect_logs(machine.host(), machine.codex_home, ev.config, ev.auth_file, since=None, since_reason="all entries")
    assert [s.signature for s in logs.summaries] == ["refresh-token-reused"]
    assert auth.exists()


def test_falls_back_to_immutable_when_the_wal_cannot_be_attached(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root cannot reproduce a read-only folder, so the first (WAL) open is made to fail the way SQLite does there."""
    from authdoctor.collect.logs import sqlite_log

    _login(machine)
    db = create_db(machine.codex_home / "logs_2.sqlite")
    add_rows(db, [(machine.now - timedelta(minutes=3), REUSED)])
    real = sqlite_log._connect

    def connect(path: Path, immutable: bool) -> sqlite3.Connection:
        if not immutable:
            raise sqlite3.OperationalError("unable to open database file")
        return real(path, immutable)

    monkeypatch.setattr(sqlite_log, "_connect", connect)
    logs = _logs(machine)
    assert [s.signature for s in logs.summaries] == ["refresh-token-reused"]
    assert logs.sources[0].note == "read without its write-ahead log, so the newest entries may be missing"
