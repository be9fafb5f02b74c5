"""What the Codex logs say, as plain data.

Constant size whatever the logs weigh: per signature and source we keep a
count, the first and the last occurrence, never the lines themselves.
Excerpts are scrubbed of every known secret and cut short before they get here.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class LogSource(NamedTuple):
    """One log file or log database that was looked at."""

    path: str
    kind: str  # "text" | "sqlite"
    origin: str  # "log_dir" | "daemon" | "codex_home" | "desktop" | "ide"
    size: int = 0
    scanned_bytes: int = 0  # text logs: bytes read after seeking to the current login
    skipped: str | None = None  # why it was not read (older than the login, unreadable …)
    note: str | None = None  # e.g. "read without its write-ahead log"


class LogHit(NamedTuple):
    """One occurrence of a signature."""

    signature: str
    source: str
    at: datetime | None
    excerpt: str  # scrubbed, at most a few hundred characters, colour codes removed
    line: int | None = None  # 1-based line of a text log, when known
    row: int | None = None  # rowid in a log database
    process: str | None = None  # the logging process, when the log says (logs_2.sqlite process_uuid)
    auth_request: bool = False  # the failing request was a token refresh or login exchange


class LogSummary(NamedTuple):
    """Every occurrence of one signature in one source, summed up."""

    signature: str
    source: str
    hits: int  # how many times (`count` would shadow tuple.count)
    first: LogHit
    last: LogHit
    processes: tuple[str, ...] = ()  # distinct logging processes (at most a few)
    auth_requests: int = 0  # how many of them were auth requests


class LogEvidence(NamedTuple):
    since: datetime | None  # only entries at or after this instant count (the current login)
    since_reason: str  # "the current login" | "the last 7 days" | "all entries"
    sources: tuple[LogSource, ...] = ()
    summaries: tuple[LogSummary, ...] = ()

    def of(self, *signatures: str) -> tuple[LogSummary, ...]:
        return tuple(s for s in self.summaries if s.signature in signatures)
