"""openai-api-key-ignored: OPENAI_API_KEY is set but Codex never uses it."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login, env_origins
from authdoctor.secret import fingerprint

ID = "openai-api-key-ignored"


def check(f: Facts) -> Iterable[Finding]:
    value = f.ev.var(K.OPENAI_API_KEY)
    if value is None:
        return []
    # A provider that names it in env_key sends it on every request: in use.
    if any(p.env_key == K.OPENAI_API_KEY for p in f.ev.config.providers.values()):
        return []
    # `printenv OPENAI_API_KEY | codex login --with-api-key` (the documented way)
    # stores the very same key: the variable is redundant, not misleading.
    same = fingerprint(value.value.reveal().strip())
    if any(c.kind == "api-key" and c.fingerprint == same for c in (f.res.interactive, f.res.exec)):
        return []
    winner = f.res.interactive
    using = f"Codex uses {describe_login(winner, f.now)}" if winner.present else "Codex is not logged in"
    detail = (
        f"OPENAI_API_KEY is set, but Codex {K.CHECKED_AGAINST} does not read it as a credential: {using}. "
        "It only pre-fills the API-key box on the sign-in screen, so it is easy to believe Codex is billing or "
        "authenticating with it when it is not (and older wrappers that do send it can disagree with Codex)."
    )
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title="OPENAI_API_KEY is set but Codex ignores it",
            detail=detail,
            origins=env_origins(f, K.OPENAI_API_KEY),
            fix=Fix(
                summary="To sign in with this key, run `printenv OPENAI_API_KEY | codex login --with-api-key`. "
                "Otherwise remove it from the environment Codex runs in, or name it in a provider's `env_key`.",
            ),
        )
    ]


RULE = Rule(ID, check, "OPENAI_API_KEY is unset, used by a provider's env_key, or the key Codex signs in with")
