"""Read Codex's SQLite log database (``logs_2.sqlite``, table ``logs``) safely while Codex writes to it.

The database is opened read-only through a URI (``mode=ro``): nothing is ever
created or written, and in WAL mode a reader neither blocks Codex's writer nor
waits for it.  When the write-ahead log cannot be attached (a read-only folder
without the ``-shm`` file), the file is read as ``immutable`` and the report
says that the newest entries may be missing.  Rows are filtered in SQL (time
and ``instr`` on every pattern), then streamed: memory stays constant.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote

from authdoctor.codex import signatures as S
from authdoctor.collect.logs.model import LogHit
from authdoctor.collect.logs.scan import Aggregator, excerpt, is_auth_request

if TYPE_CHECKING:
    from typing import Final

TABLE: Final = "logs"
_BUSY_MS: Final = 250


class DbScan(NamedTuple):
    rows_matched: int
    note: str | None = None


class LogDbError(Exception):
    """The database could not be read at all (the message is fit for the report)."""


def _connect(path: Path, immutable: bool) -> sqlite3.Connection:
    uri = f"file:{quote(str(path))}?mode=ro" + ("&immutable=1" if immutable else "")
    conn = sqlite3.connect(uri, uri=True, timeout=_BUSY_MS / 1000, check_same_thread=False)
    conn.execute("PRAGMA query_only = 1")
    return conn


def scan_db(path: Path, agg: Aggregator, *, since: datetime | None) -> DbScan:
    note = None
    try:
        conn = _connect(path, immutable=False)
        try:
            return DbScan(_query(conn, path, agg, since))
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        first = str(exc)
    # Without the -shm file in a read-only folder SQLite cannot attach the WAL.
    try:
        conn = _connect(path, immutable=True)
        try:
            note = "read without its write-ahead log, so the newest entries may be missing"
            return DbScan(_query(conn, path, agg, since), note)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise LogDbError(_words(first, str(exc))) from None


def _words(*messages: str) -> str:
    for message in messages:
        low = message.lower()
        if "not a database" in low or "malformed" in low:
            return "it is not a readable SQLite database (damaged or not SQLite)"
        if "no such table" in low or "no such column" in low:
            return "it has no Codex log table (an unknown or older format)"
        if "locked" in low or "busy" in low:
            return "Codex held it locked for longer than authdoctor waits"
    return "it cannot be opened read-only"


def _query(conn: sqlite3.Connection, path: Path, agg: Aggregator, since: datetime | None) -> int:
    patterns = S.all_patterns()
    where = " OR ".join("instr(feedback_log_body, ?) > 0" for _ in patterns)
    params: list[object] = list(patterns)
    sql = f"SELECT id, ts, ts_nanos, feedback_log_body, process_uuid FROM {TABLE} WHERE ({where})"  # noqa: S608 - fixed text
    if since is not None:
        sql += " AND ts >= ?"
        params.append(int(since.timestamp()))
    source = str(path)
    matched = 0
    for rowid, ts, nanos, body, process in conn.execute(sql, params):
        if not isinstance(body, str):
            continue
        sig = S.classify(body)
        if sig is None:
            continue
        at = _when(ts, nanos)
        if since is not None and at is not None and at < since:
            continue
        matched += 1
        agg.add(
            LogHit(
                sig.id,
                source,
                at,
                excerpt(body),
                row=rowid if isinstance(rowid, int) else None,
                process=_pid(process),
                auth_request=is_auth_request(body),
            )
        )
    return matched


def _when(ts: object, nanos: object) -> datetime | None:
    if not isinstance(ts, int):
        return None
    extra = nanos / 1e9 if isinstance(nanos, int) else 0.0
    try:
        return datetime.fromtimestamp(ts + extra, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _pid(process_uuid: object) -> str | None:
    """``pid:30753:83a5…`` → ``30753``: which Codex process logged it."""
    if not isinstance(process_uuid, str):
        return None
    parts = process_uuid.split(":")
    return parts[1] if len(parts) >= 2 and parts[0] == "pid" and parts[1].isdigit() else None
