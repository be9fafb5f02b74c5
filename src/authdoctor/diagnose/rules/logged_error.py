"""logged-error: the Codex logs show another known auth error since the current login.

Refresh failures and network trouble have their own findings; this one reports
the rest of the signature table (access tokens, workspace and plan, the login
flow, storage, configuration) with each cause and next step.  Signatures whose
words also occur in unrelated log lines ("Permission denied", "is already in
use") count only on lines about auth.
"""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import signatures as S
from authdoctor.collect.logs.model import LogSummary
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules import _logs as L
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "logged-error"
CATEGORIES = (S.ACCESS_TOKEN, S.WORKSPACE, S.CONFIG, S.LOGIN, S.STORAGE)
# Their patterns are generic words: only lines about auth count.
_GENERIC = (S.LOGIN, S.STORAGE)


def check(f: Facts) -> Iterable[Finding]:
    logs = f.ev.logs
    if logs is None:
        return []
    found = [
        s
        for s in L.summaries(logs, CATEGORIES)
        if S.BY_ID[s.signature].finding != "network-failure"
        and (S.BY_ID[s.signature].category not in _GENERIC or s.auth_requests or s.source.endswith("codex-login.log"))
    ]
    if not found:
        return []
    by_sig: dict[str, list[LogSummary]] = {}
    for s in found:
        by_sig.setdefault(s.signature, []).append(s)
    parts = []
    commands: list[str] = []
    for sid, group in by_sig.items():
        sig = S.BY_ID[sid]
        parts.append(f"{sig.cause} Logged {L.count(group)}×, {L.when(group, f.now)}, in {L.where(group[0])}; see {sig.finding}.")
        commands.extend(c for c in sig.commands if c not in commands)
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title="The Codex logs show auth errors since the current login",
            detail=f"Codex logged known errors {L.since_words(logs, f.now)}: " + " ".join(parts),
            fix=Fix(summary=" ".join(S.BY_ID[s].next_step for s in by_sig), commands=tuple(commands)),
            origins=L.origins(found),
        )
    ]


RULE = Rule(ID, check, "the Codex logs show no other auth error since the current login")
