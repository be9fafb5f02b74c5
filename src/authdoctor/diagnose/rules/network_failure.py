"""network-failure: Codex's auth requests failed in transit (network, DNS, TLS, proxy), which is not a dead login.

A refresh that never reached the server looks like a refresh failure in the
terminal ("Failed to refresh token: error sending request for url …"), but the
refresh token is fine: signing in again would not help, fixing the network does.
Model traffic failing while offline is ordinary, so only failing *auth* requests
(refresh, login exchange, agent identity) count, plus region blocks and
server-side refresh errors.
"""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import signatures as S
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules import _logs as L
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "network-failure"


def check(f: Facts) -> Iterable[Finding]:
    logs = f.ev.logs
    if logs is None:
        return []
    found = L.summaries(logs, (S.TRANSPORT,), auth_only=True) + L.summaries(logs, (S.REGION, S.SERVER))
    found = [s for s in found if S.BY_ID[s.signature].finding == ID]
    if not found:
        return []
    sig = L.most_specific(found)
    dead = L.summaries(logs, (S.REFRESH,))
    verdict = (
        "The refresh token itself may be fine: no request reached the auth server and was rejected."
        if not dead
        else "Some refreshes did reach the server and were rejected too (see refresh-failed)."
    )
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title="Codex could not reach the auth server (network trouble, not a dead login)",
            detail=(
                f"Codex logged {L.count(found)} failed auth request(s) {L.since_words(logs, f.now)}, {L.when(found, f.now)} "
                f"in {L.where(found[0])}: {sig.cause} {verdict}"
            ),
            fix=Fix(summary=sig.next_step, commands=sig.commands),
            origins=L.origins(found),
        )
    ]


RULE = Rule(ID, check, "no auth request failed in transit since the current login")
