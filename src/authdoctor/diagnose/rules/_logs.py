"""What the log rules share: picking the hits that count, and saying where they are."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from authdoctor.codex import signatures as S
from authdoctor.codex.tokens import relative
from authdoctor.collect.logs.model import LogEvidence, LogSummary
from authdoctor.diagnose.finding import Origin


def summaries(logs: LogEvidence | None, categories: Iterable[str], *, auth_only: bool = False) -> list[LogSummary]:
    """The summaries whose signature is in ``categories`` (with ``auth_only``: only failing auth requests)."""
    if logs is None:
        return []
    wanted = set(categories)
    out = []
    for s in logs.summaries:
        sig = S.BY_ID.get(s.signature)
        if sig is None or sig.category not in wanted:
            continue
        if auth_only and not s.auth_requests:
            continue
        out.append(s)
    return out


def most_specific(found: Iterable[LogSummary]) -> S.Signature:
    """The earliest table row among the hits: the table lists specific causes before generic ones."""
    order = {sig.id: i for i, sig in enumerate(S.SIGNATURES)}
    return S.BY_ID[min((s.signature for s in found), key=lambda sid: order.get(sid, len(order)))]


def where(s: LogSummary) -> str:
    hit = s.last
    place = f"{hit.source}:{hit.line}" if hit.line else (f"{hit.source} (row {hit.row})" if hit.row else hit.source)
    return place


def origins(found: Iterable[LogSummary]) -> tuple[Origin, ...]:
    """One origin per log and signature: the last occurrence, already scrubbed."""
    out = []
    for s in found:
        hit = s.last
        # A database row is not a line: it is named in the text instead.
        text = f"row {hit.row}: {hit.excerpt}" if hit.row and not hit.line else hit.excerpt
        out.append(Origin(context="log", text=text, path=hit.source, line=hit.line))
    return tuple(out)


def when(found: Iterable[LogSummary], now: datetime) -> str:
    stamps = [s.last.at for s in found if s.last.at is not None]
    return f"last {relative(max(stamps), now)}" if stamps else "undated"


def count(found: Iterable[LogSummary]) -> int:
    return sum(s.hits for s in found)


def since_words(logs: LogEvidence, now: datetime) -> str:
    if logs.since is None:
        return "in the logs"
    return f"since {logs.since_reason} ({relative(logs.since, now)})"


def short(path: str, home: Path) -> str:
    try:
        return "~/" + str(Path(path).relative_to(home))
    except ValueError:
        return path
