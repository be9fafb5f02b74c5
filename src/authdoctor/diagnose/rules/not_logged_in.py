"""not-logged-in: no usable credential anywhere."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "not-logged-in"


def check(f: Facts) -> Iterable[Finding]:
    if f.res.interactive.present or f.res.exec.present:
        return []
    ev = f.ev
    reasons: list[str] = []
    if ev.codex_home.problem:
        reasons.append("CODEX_HOME is broken (see codex-home-override)")
    if ev.config.store_mode == K.STORE_EPHEMERAL:
        reasons.append('cli_auth_credentials_store = "ephemeral" keeps logins in memory only, so none survives the process')
    elif ev.auth_file.exists and ev.auth_file.login is None:
        reasons.append(f"{ev.auth_file.path} exists but Codex cannot read it (see auth-file-unreadable)")
    elif ev.config.store_mode == K.STORE_KEYRING:
        reasons.append('cli_auth_credentials_store = "keyring" and no Codex entry was found in the keyring')
    else:
        reasons.append(f"there is no {ev.auth_file.path}")
    cmd = "codex login"
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title="Codex is not logged in",
            detail=f"No credential Codex would use was found: {'; '.join(reasons)}.",
            fix=Fix(
                summary=f"Run `{cmd}` (`codex login --device-auth` over SSH), "
                "or `printenv OPENAI_API_KEY | codex login --with-api-key` to use an API key.",
                commands=(cmd,),
            ),
        )
    ]


RULE = Rule(ID, check, "Codex has a credential to use")
