"""access-token-overrides-login: CODEX_ACCESS_TOKEN beats the stored login."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login, env_origin, expiry_words, kind_words, unset_hint

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
    detail = (
        f"Codex reads CODEX_ACCESS_TOKEN before the login it stores, so {describe_login(stored, f.now)} is never used."
        f"{trouble} Signing in again, reinstalling or deleting ~/.codex changes nothing while the variable is set, "
        "because it lives in your environment, not in Codex's files. That is also why Codex works for another OS user or machine."
    )
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title=f"CODEX_ACCESS_TOKEN overrides your {kind_words(stored.kind)} login",
            detail=detail,
            origins=(env_origin(f.ev, K.CODEX_ACCESS_TOKEN),),
            fix=Fix(
                summary=f"Remove CODEX_ACCESS_TOKEN. {unset_hint(K.CODEX_ACCESS_TOKEN)}. If you meant to use that token, "
                "store it once with `printenv CODEX_ACCESS_TOKEN | codex login --with-access-token` instead.",
                commands=(f"unset {K.CODEX_ACCESS_TOKEN}",),
            ),
        )
    ]


RULE = Rule(ID, check, "no CODEX_ACCESS_TOKEN overrides the stored login")
