"""api-key-env-overrides-login: CODEX_API_KEY wins for non-interactive runs."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login, env_origins

ID = "api-key-env-overrides-login"


def check(f: Facts) -> Iterable[Finding]:
    key = f.ev.var(K.CODEX_API_KEY)
    if key is None:
        return []
    interactive = f.res.interactive
    if interactive.kind == "api-key" and interactive.fingerprint == f.res.exec.fingerprint:
        # The stored login is the very same key: every run uses one credential.
        return []
    if interactive.present:
        instead = f"instead of {describe_login(interactive, f.now)}"
    else:
        instead = "while interactive `codex` is not logged in at all (CODEX_API_KEY does not count there)"
    detail = (
        f"CODEX_API_KEY ({f.res.exec.fingerprint}) is set. `codex exec`, `codex review` and the SDK use it {instead}, "
        "and bill that API key. Interactive `codex` and `codex login status` ignore it, which makes the two disagree."
    )
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title="CODEX_API_KEY overrides your login for non-interactive runs",
            detail=detail,
            origins=env_origins(f, K.CODEX_API_KEY),
            fix=Fix(
                summary="Unless you want API-key billing for every `codex exec`, unset CODEX_API_KEY and remove it from your "
                "shell start-up files; pass it only to the command that needs it (`CODEX_API_KEY=… codex exec …`).",
                commands=(f"unset {K.CODEX_API_KEY}",),
                automatic=True,
                removes=(K.CODEX_API_KEY,),
            ),
        )
    ]


RULE = Rule(ID, check, "CODEX_API_KEY is not set")
