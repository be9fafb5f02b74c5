"""access-token-overrides-login: CODEX_ACCESS_TOKEN beats the stored login."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login, env_origins, expiry_words, kind_words, places, remove_hint

ID = "access-token-overrides-login"


def check(f: Facts) -> Iterable[Finding]:
    access = f.ev.var(K.CODEX_ACCESS_TOKEN)
    stored = f.res.stored
    # Only when Codex really takes the token (workload identity or
    # forced_login_method = "api" can make it skip it).
    if access is None or f.res.interactive.source != f"env:{K.CODEX_ACCESS_TOKEN}":
        return []
    if stored is None or stored.kind in ("unreadable", "none"):
        return []
    token = f.res.interactive
    if stored.fingerprint is not None and stored.fingerprint == token.fingerprint:
        # The same token exported and stored (`codex login --with-access-token`):
        # the override changes nothing.
        return []
    trouble = ""
    if token.problem:
        trouble = " The token itself is unusable (see access-token-invalid), so every request fails."
    elif (words := expiry_words(token, f.now)) and token.expires_at and token.expires_at <= f.now:
        trouble = f" The token {words}, so every request fails."
    where = places(f, K.CODEX_ACCESS_TOKEN)
    if access.source == "startup":
        lives = f"It is not set in this terminal, but {where[0] if where else 'a start-up file'} exports it to every new terminal and app."
    elif where:
        lives = f"It comes from {', '.join(where)}, not from Codex's files."
    else:
        lives = "It lives in your environment, not in Codex's files."
    detail = (
        f"Codex reads CODEX_ACCESS_TOKEN before the login it stores, so {describe_login(stored, f.now)} is never used."
        f"{trouble} {lives} So signing in again, reinstalling or deleting ~/.codex changes nothing, and Codex works "
        "for another OS user or machine that lacks the variable."
    )
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title=f"CODEX_ACCESS_TOKEN overrides your {kind_words(stored.kind)} login",
            detail=detail,
            origins=env_origins(f, K.CODEX_ACCESS_TOKEN),
            fix=Fix(
                summary=f"Remove CODEX_ACCESS_TOKEN. {remove_hint(f, K.CODEX_ACCESS_TOKEN)}. If you meant to use that token, "
                "store it once with `printenv CODEX_ACCESS_TOKEN | codex login --with-access-token` instead.",
                commands=(f"unset {K.CODEX_ACCESS_TOKEN}",),
                automatic=True,
                removes=(K.CODEX_ACCESS_TOKEN,),
            ),
        )
    ]


RULE = Rule(ID, check, "no CODEX_ACCESS_TOKEN overrides the stored login")
