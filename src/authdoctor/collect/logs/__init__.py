"""Collect what the Codex logs say since the current login (see ``sources.py`` for where they are)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor.collect.logs.model import LogEvidence, LogSource

if TYPE_CHECKING:
    from typing import Final

    from authdoctor.collect.evidence import AuthFileEvidence, ConfigEvidence
    from authdoctor.host import Host

# Without a stored login there is no "since the login": recent history is what matters.
RECENT: Final = timedelta(days=7)


def login_time(auth: AuthFileEvidence) -> datetime | None:
    """When the current login was stored: Codex writes auth.json on login and on every successful refresh."""
    from datetime import UTC

    times = []
    if auth.mtime is not None:
        times.append(datetime.fromtimestamp(auth.mtime, UTC))
    if auth.login is not None and auth.login.last_refresh is not None:
        times.append(auth.login.last_refresh)
    return max(times) if times else None


def collect_logs(
    host: Host,
    codex_home: Path,
    config: ConfigEvidence,
    auth: AuthFileEvidence,
    *,
    since: datetime | None = None,
    since_reason: str | None = None,
) -> LogEvidence:
    from authdoctor.collect.logs.sources import candidates

    if since is None and since_reason is None:
        since = login_time(auth)
        since_reason = "the current login"
        if since is None:
            since = host.now() - RECENT
            since_reason = "the last 7 days"
    reason = since_reason or "all entries"
    sources: list[LogSource] = []
    to_read = []
    for cand in candidates(host, codex_home, config):
        if since is not None and cand.mtime < since.timestamp():
            sources.append(LogSource(str(cand.path), cand.kind, cand.origin, cand.size, skipped=f"not written since {reason}"))
        else:
            to_read.append(cand)
    if not to_read:
        # The common case: nothing was logged since the login.  No scanner, no sqlite3 import.
        return LogEvidence(since, reason, tuple(sources))
    from authdoctor.collect.logs.scan import Aggregator, scan_file

    agg = Aggregator()
    for cand in to_read:
        path = str(cand.path)
        try:
            if cand.kind == "sqlite":
                from authdoctor.collect.logs.sqlite_log import LogDbError, scan_db

                try:
                    db = scan_db(cand.path, agg, since=since)
                except LogDbError as exc:
                    sources.append(LogSource(path, cand.kind, cand.origin, cand.size, skipped=str(exc)))
                    continue
                sources.append(LogSource(path, "sqlite", cand.origin, cand.size, note=db.note))
            else:
                scan = scan_file(cand.path, path, agg, since=since, size=cand.size)
                sources.append(LogSource(path, "text", cand.origin, cand.size, scanned_bytes=scan.scanned_bytes))
        except PermissionError:
            sources.append(LogSource(path, cand.kind, cand.origin, cand.size, skipped="permission denied"))
        except OSError as exc:
            why = f"it cannot be read ({exc.strerror or type(exc).__name__})"
            sources.append(LogSource(path, cand.kind, cand.origin, cand.size, skipped=why))
    summaries = sorted(agg.summaries(), key=lambda s: s.last.at.timestamp() if s.last.at else float("-inf"), reverse=True)
    return LogEvidence(since, reason, tuple(sources), tuple(summaries))
