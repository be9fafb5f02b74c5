"""Stream a log of any size for the error signatures, in constant memory.

The file is read in fixed-size blocks into one reused buffer; one compiled
alternation of every signature pattern finds the candidate lines, and only
those lines are decoded and classified (``codex/signatures.classify``).  RE2
(``google-re2``) runs the alternation at ``grep``'s speed (``bench/bench_logs.py``:
about 1x ``grep -c -E`` on a 1 GiB codex-tui.log); Python's ``re`` is the
fallback when RE2 is not installed (some 100 times slower on this alternation),
and is used for tiny inputs, where importing RE2 would cost more than it saves.

Appended logs are in time order, so only the part after the current login is
read: a binary search on the line timestamps finds where it starts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, Protocol

from authdoctor.codex import signatures as S
from authdoctor.collect.logs.model import LogHit, LogSummary
from authdoctor.secret import redact_tokens

if TYPE_CHECKING:
    from typing import Final

# Bytes read at a time.  Throughput hardly depends on it between 64 KiB and 8 MiB; peak memory does.
BLOCK: Final = 1024 * 1024
# A "line" longer than this (a binary file, a log without newlines) is cut: memory stays bounded.
MAX_LINE: Final = 1024 * 1024
# Below this many bytes the standard library is faster than importing RE2 (about 9 ms with its compile);
# above it, ``re`` loses fast: it runs this alternation at a few MB/s.
RE2_THRESHOLD: Final = 16 * 1024
# Logs bigger than this are binary-searched for the first line after ``since``.
SEEK_THRESHOLD: Final = 1024 * 1024
EXCERPT: Final = 300
# How far above a continuation line (a multi-line message) to look for the dated line it belongs to.
LOOKBACK: Final = 4096
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TS = re.compile(rb"^\s*\[?(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?\s*(Z|[+-]\d\d:?\d\d)?")
# What makes a failing request an auth request (a refresh or a login exchange), not model traffic.
_AUTH_MARKERS: Final = (
    "Failed to refresh token",
    "refresh token",
    "refreshing token",
    "oauth/token",
    "Token exchange",
    "token exchange",
    "agent identity",
    "codex_login",
)


class _Pattern(Protocol):
    def search(self, data: bytes | bytearray, pos: int = ..., endpos: int = ...) -> Any: ...


class _BlockReader(Protocol):
    """A binary file that can fill a buffer (``open(path, "rb")``, ``io.BytesIO``)."""

    def seek(self, offset: int, whence: int = ..., /) -> int: ...
    def readinto(self, buffer: Any, /) -> int | None: ...


class Matcher(NamedTuple):
    pattern: _Pattern
    engine: str  # "re2" | "re"


def matcher(expected_bytes: int = 0) -> Matcher:
    """One compiled alternation of every signature pattern."""
    source = S.alternation().encode()
    if expected_bytes >= RE2_THRESHOLD:
        try:
            import re2  # type: ignore[import-untyped]
        except ImportError:
            pass
        else:
            return Matcher(re2.compile(source), "re2")
    return Matcher(re.compile(source), "re")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def parse_timestamp(line: bytes) -> datetime | None:
    """The timestamp a log line starts with (``tracing``, desktop and VS Code formats); naive ones are local time."""
    m = _TS.match(_ANSI.sub("", line[:120].decode("ascii", "replace")).encode())
    if m is None:
        return None
    date, time, frac, zone = (g.decode() if g else "" for g in m.groups())
    text = f"{date}T{time}{frac[:7]}"
    if zone == "Z":
        text += "+00:00"
    elif zone:
        text += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo is None else when


def excerpt(line: str) -> str:
    text = redact_tokens(strip_ansi(line).strip())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def is_auth_request(line: str) -> bool:
    return any(m in line for m in _AUTH_MARKERS)


class Aggregator:
    """Sums hits up per (signature, source): a count, the first and the last.  Constant memory."""

    MAX_PROCESSES: Final = 8

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], list[Any]] = {}

    def add(self, hit: LogHit) -> None:
        key = (hit.signature, hit.source)
        entry = self._by_key.get(key)
        if entry is None:
            self._by_key[key] = [1, hit, hit, [hit.process] if hit.process else [], int(hit.auth_request)]
            return
        entry[0] += 1
        if hit.at is not None and (entry[1].at is None or hit.at < entry[1].at):
            entry[1] = hit
        if hit.at is None or entry[2].at is None or hit.at >= entry[2].at:
            entry[2] = hit
        if hit.process and hit.process not in entry[3] and len(entry[3]) < self.MAX_PROCESSES:
            entry[3].append(hit.process)
        entry[4] += int(hit.auth_request)

    def summaries(self) -> list[LogSummary]:
        return [LogSummary(sig, src, e[0], e[1], e[2], tuple(e[3]), e[4]) for (sig, src), e in self._by_key.items()]


class TextScan(NamedTuple):
    scanned_bytes: int
    lines_matched: int  # lines holding at least one pattern (what `grep -c` counts)
    start_offset: int


def seek_since(fh: BinaryIO, size: int, since: datetime) -> int:
    """An offset at or before the first line stamped at or after ``since`` (binary search on line timestamps)."""
    lo, hi = 0, size
    probe = 64 * 1024
    while hi - lo > probe:
        mid = (lo + hi) // 2
        fh.seek(mid)
        chunk = fh.read(probe)
        stamp = None
        pos = chunk.find(b"\n") + 1
        while 0 < pos < len(chunk):
            end = chunk.find(b"\n", pos)
            stamp = parse_timestamp(chunk[pos : end if end >= 0 else len(chunk)])
            if stamp is not None or end < 0:
                break
            pos = end + 1
        if stamp is None:
            # No dated line here: do not guess, keep the earlier half in play.
            hi = mid
        elif stamp < since:
            lo = mid
        else:
            hi = mid
    if lo == 0:
        return 0
    fh.seek(lo)
    first = fh.read(probe)
    nl = first.find(b"\n")
    return lo + nl + 1 if nl >= 0 else lo


def scan_lines(
    fh: _BlockReader,
    source: str,
    match: Matcher,
    agg: Aggregator,
    *,
    since: datetime | None = None,
    start: int = 0,
    count_lines: bool = True,
) -> TextScan:
    """Classify every line holding a pattern, from ``start`` to the end of ``fh``.

    One buffer, allocated once, holds three regions: a little *context* (the
    last whole lines already scanned, so a continuation line at the top of a
    block still finds the dated line above it), the *tail* (the unfinished
    last line of the previous block) and the block just read into it.  Only
    the context and the tail are moved between blocks, never the block.
    """
    fh.seek(start)
    block, max_line = BLOCK, MAX_LINE
    buf = bytearray(LOOKBACK + max_line + block)
    view = memoryview(buf)
    search = match.pattern.search
    head = 0  # where the bytes not yet searched start (after the context)
    end = 0  # where the valid bytes end
    scanned = 0
    matched = 0
    line_no = 1 if start == 0 and count_lines else None
    try:
        while True:
            got = fh.readinto(view[end : end + block]) or 0
            scanned += got
            end += got
            if not got:
                cut = end  # the end of the input: the tail is the last line
            else:
                nl = buf.rfind(b"\n", head, end)
                cut = nl + 1 if nl >= 0 else head
                if end - cut > max_line:
                    cut = end  # an enormous line: take it as it is rather than grow without bound
            pos = counted_to = head
            while pos < cut:
                m = search(buf, pos, cut)
                if m is None:
                    break
                begin = buf.rfind(b"\n", 0, m.start()) + 1
                stop = buf.find(b"\n", m.end(), cut)
                stop = cut if stop < 0 else stop
                matched += 1
                if line_no is not None:
                    line_no += buf.count(b"\n", counted_to, begin)
                    counted_to = begin
                # Of an enormous line, the part around the match.
                low = begin if stop - begin <= max_line else max(begin, m.start() - max_line // 2)
                _record(bytes(view[low : min(stop, low + max_line)]), buf, begin, source, line_no, since, agg)
                pos = stop + 1
            if not got:
                break
            if line_no is not None:
                line_no += buf.count(b"\n", counted_to, cut)
            # Keep the context (whole lines, at most LOOKBACK bytes) and the tail; drop the rest.
            low = cut - LOOKBACK
            keep = 0 if low <= 0 else (buf.find(b"\n", low, cut) + 1 or cut)
            buf[: end - keep] = buf[keep:end]
            head, end = cut - keep, end - keep
    finally:
        view.release()
    return TextScan(scanned, matched, start)


def _record(raw: bytes, data: bytearray, begin: int, source: str, line_no: int | None, since: datetime | None, agg: Aggregator) -> None:
    text = strip_ansi(raw.decode("utf-8", "replace")).rstrip("\r")
    sig = S.classify(text)
    if sig is None:
        return
    stamp = parse_timestamp(raw)
    if stamp is None:
        stamp = _previous_stamp(data, begin)
    if since is not None and stamp is not None and stamp < since:
        return
    agg.add(LogHit(sig.id, source, stamp, excerpt(text), line=line_no, auth_request=is_auth_request(text)))


def _previous_stamp(data: bytearray, begin: int) -> datetime | None:
    """A continuation line (a multi-line message) belongs to the nearest dated line above it, within LOOKBACK bytes."""
    floor = max(0, begin - LOOKBACK)
    stop = begin - 1  # the newline that ends the line above
    while stop >= floor:
        nl = data.rfind(b"\n", floor, stop)
        if nl < 0 and floor > 0:
            return None  # the line above starts out of reach
        stamp = parse_timestamp(bytes(data[nl + 1 : stop]))
        if stamp is not None:
            return stamp
        stop = nl
    return None


def scan_file(path: Path, source: str, agg: Aggregator, *, since: datetime | None, size: int) -> TextScan:
    """Scan one text log, from the first line after ``since`` when the log is dated."""
    with path.open("rb") as fh:
        start = seek_since(fh, size, since) if since is not None and size > SEEK_THRESHOLD else 0
        return scan_lines(fh, source, matcher(size - start), agg, since=since, start=start)
