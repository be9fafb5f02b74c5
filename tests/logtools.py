"""Build Codex logs in the real formats of Codex 0.169.0 (see tests/fixtures/codex-0.169.0).

* text logs: the ``tracing`` format of ``codex-tui.log`` / ``daemon.stderr.log``
  (``2026-11-21T01:45:14.876016Z ERROR codex_login::auth::manager: …``);
* ``logs_2.sqlite``: the real schema, copied from the file the daemon wrote
  (``logs_2.sql``), filled with rows shaped like the real ones.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor.sandbox import chatgpt_auth

if TYPE_CHECKING:
    from tests.conftest import Machine

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "codex-0.169.0"
LOGIN_TARGET = "codex_login::auth::manager"
_UUID = "83a56f49-0000-0000-0000-000000000000"


def tracing_line(at: datetime, message: str, *, level: str = "ERROR", target: str = LOGIN_TARGET) -> str:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{stamp} {level:>5} {target}: {message}"


def write_text_log(path: Path, lines: Iterable[str], *, append: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
    return path


def schema() -> str:
    text = (FIXTURES / "logs_2.sql").read_text()
    return "\n".join(line for line in text.splitlines() if not line.startswith("INSERT") and not line.startswith("--"))


def create_db(path: Path, *, real_rows: bool = False) -> Path:
    """An empty logs_2.sqlite with the real schema in WAL mode (as Codex keeps it), or with the captured rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        if real_rows:
            conn.executescript((FIXTURES / "logs_2.sql").read_text())
        else:
            conn.executescript(schema())
        conn.commit()
    finally:
        conn.close()
    return path


def add_rows(
    path: Path, rows: Iterable[tuple[datetime, str]], *, level: str = "ERROR", target: str = LOGIN_TARGET, pid: int = 4242
) -> None:
    conn = sqlite3.connect(path)
    try:
        for at, body in rows:
            ts = at.timestamp()
            conn.execute(
                "INSERT INTO logs (ts, ts_nanos, level, target, feedback_log_body, module_path, file, line, thread_id, process_uuid,"
                " estimated_bytes) VALUES (?, ?, ?, ?, ?, ?, 'login/src/auth/manager.rs', 2711, NULL, ?, ?)",
                (
                    int(ts),
                    round((ts - int(ts)) * 1e9),
                    level,
                    target,
                    body,
                    target,
                    f"pid:{pid}:{_UUID}",
                    len(body),
                ),
            )
        conn.commit()
    finally:
        conn.close()


def set_login_time(auth: Path, when: datetime) -> None:
    """Codex rewrites auth.json on login and on each successful refresh: its mtime is the login time."""
    os.utime(auth, (when.timestamp(), when.timestamp()))


def stored_login(machine: Machine, ago: timedelta = timedelta(hours=3)) -> Path:
    """A ChatGPT login stored ``ago`` before the machine's clock (auth.json written then)."""
    auth = machine.write_auth(chatgpt_auth(machine.now, last_refresh_ago=ago))
    set_login_time(auth, machine.now - ago)
    return auth


REUSED = (
    "Failed to refresh token: Your access token could not be refreshed because your refresh token was already used. "
    "Please log out and sign in again."
)
STATUS_401 = "Failed to refresh token status=401 Unauthorized"
UNREACHABLE = "Failed to refresh token: error sending request for url (http://127.0.0.1:9/oauth/token)"
MODELS_OFFLINE = "failed to refresh available models: Connection failed: error sending request"
