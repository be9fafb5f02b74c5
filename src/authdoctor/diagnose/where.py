"""Which setting of a variable wins for which kind of process.  Pure: works on scans, does no I/O.

Trails from the origin sources are combined into the contexts a person cares
about -- a new login shell, a new interactive shell, GUI apps, Windows
processes started from Explorer -- and the last setting in effect wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.collect.origins.contexts import TRACED_SUFFIX, context_settings, contexts_for
from authdoctor.collect.origins.model import UNSET, OriginScan, ScanNote, Setting, winner
from authdoctor.secret import Secret, place


class ContextVerdict(NamedTuple):
    name: str
    winner: Setting | None
    covered: bool  # at least one of its trails was scanned


class OriginRecord(NamedTuple):
    """One setting, with what became of it."""

    setting: Setting
    contexts: tuple[str, ...]  # trails it was found in
    wins_in: tuple[str, ...]  # contexts (see Context) where it is the one in effect
    status: str  # "wins" | "shadowed" | "unset-later" | "unsets" | "inactive"


class VariableReport(NamedTuple):
    name: str
    current: Secret | None  # the value in this terminal, if any
    records: tuple[OriginRecord, ...]
    verdicts: tuple[ContextVerdict, ...]


def _trail_settings(scans: Iterable[OriginScan]) -> dict[str, list[Setting]]:
    by_trail: dict[str, list[Setting]] = {}
    for scan in scans:
        for trail in scan.trails:
            by_trail.setdefault(trail.context, []).extend(trail.settings)
    return by_trail


def _key(s: Setting) -> tuple[str, str, int, str]:
    return (s.var, str(s.path), s.line, s.action)


def analyse(
    scans: tuple[OriginScan, ...], names: Iterable[str], *, env: Mapping[str, str], shell: str, platform: str
) -> tuple[VariableReport, ...]:
    trails = _trail_settings(scans)
    contexts = contexts_for(shell, platform)
    reports: list[VariableReport] = []
    for name in names:
        verdicts: list[ContextVerdict] = []
        for ctx in contexts:
            # context_settings prefers a traced trail (it really ran) over the static reading.
            covered = any(t in trails or f"{t}{TRACED_SUFFIX}" in trails for t in ctx.trails)
            verdicts.append(ContextVerdict(ctx.name, winner(context_settings(ctx.trails, trails), name), covered))
        # Every other trail (VS Code, direnv, fish when the login shell is zsh, …) gets its own verdict.
        listed = {t for ctx in contexts for t in ctx.trails} | {f"{t}{TRACED_SUFFIX}" for ctx in contexts for t in ctx.trails}
        for trail, settings in trails.items():
            if trail not in listed and any(s.var == name for s in settings):
                verdicts.append(ContextVerdict(trail, winner(settings, name), True))

        records: dict[tuple[str, str, int, str], OriginRecord] = {}
        for trail, settings in trails.items():
            mine = [s for s in settings if s.var == name]
            for i, s in enumerate(mine):
                later = mine[i + 1 :]
                if s.action == UNSET:
                    status = "unsets"
                elif any(x.action == UNSET for x in later) and winner(mine, name) is None:
                    status = "unset-later"
                elif later:
                    status = "shadowed"
                elif not s.exported:
                    status = "inactive"
                else:
                    status = "wins"
                key = _key(s)
                wins_in = tuple(v.name for v in verdicts if v.winner is not None and _key(v.winner) == key)
                prev = records.get(key)
                if prev is None:
                    records[key] = OriginRecord(s, (trail,), wins_in, "wins" if wins_in else status)
                else:
                    best = "wins" if wins_in or prev.status == "wins" else prev.status
                    records[key] = prev._replace(contexts=(*prev.contexts, trail), status=best)
        current = env.get(name)
        value = None if current is None else place(current) if name in K.PLAIN_VARS else Secret(current)
        reports.append(VariableReport(name, value, tuple(records.values()), tuple(verdicts)))
    return tuple(reports)


def all_notes(scans: tuple[OriginScan, ...]) -> tuple[ScanNote, ...]:
    seen: dict[tuple[str, str, str], ScanNote] = {}
    for scan in scans:
        for note in scan.notes:
            seen.setdefault((str(note.path), note.kind, note.message), note)
    return tuple(seen.values())
