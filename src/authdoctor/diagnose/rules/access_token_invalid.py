"""access-token-invalid: CODEX_ACCESS_TOKEN is malformed or expired."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, a_or_an, env_origins, expiry_words, kind_words, remove_hint

ID = "access-token-invalid"


def check(f: Facts) -> Iterable[Finding]:
    if f.ev.var(K.CODEX_ACCESS_TOKEN) is None or f.res.interactive.source != f"env:{K.CODEX_ACCESS_TOKEN}":
        return []
    token = f.res.interactive
    if token.problem:
        what = f"CODEX_ACCESS_TOKEN ({token.fingerprint}) cannot work: {token.problem}"
        title = "CODEX_ACCESS_TOKEN is not a valid access token"
    elif token.expires_at is not None and token.expires_at <= f.now:
        what = f"CODEX_ACCESS_TOKEN is {a_or_an(kind_words(token.kind))} token ({token.fingerprint}) that {expiry_words(token, f.now)}"
        title = "CODEX_ACCESS_TOKEN has expired"
    else:
        return []
    detail = (
        f"{what}. Codex uses it ahead of any stored login and does not fall back, so every request is rejected "
        "(typically `403 … deleted_agent_runtime_id` or `401 Unauthorized`)."
    )
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title=title,
            detail=detail,
            origins=env_origins(f, K.CODEX_ACCESS_TOKEN),
            fix=Fix(
                summary=f"{remove_hint(f, K.CODEX_ACCESS_TOKEN)}. "
                "Then sign in with `codex login`, or ask your workspace admin for a new access token.",
                commands=(f"unset {K.CODEX_ACCESS_TOKEN}",),
                automatic=True,
                removes=(K.CODEX_ACCESS_TOKEN,),
            ),
        )
    ]


RULE = Rule(ID, check, "CODEX_ACCESS_TOKEN is unset or well-formed and unexpired")
