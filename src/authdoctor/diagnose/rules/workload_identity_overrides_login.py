"""workload-identity-overrides-login: workload identity variables beat every other credential.

Not in the original catalogue: the 0.169.0 binary showed that setting
OPENAI_FEDERATION_RULE_ID or OPENAI_IDENTITY_TOKEN_FILE -- even to "" -- makes
Codex use workload identity ahead of CODEX_ACCESS_TOKEN and any stored login.
"""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login, env_origins

ID = "workload-identity-overrides-login"


def check(f: Facts) -> Iterable[Finding]:
    cred = f.res.interactive
    if cred.kind != "workload-identity":
        return []
    names = [v for v in K.WORKLOAD_IDENTITY_VARS if f.ev.present(v) is not None]
    stored = f.res.stored
    shadowing = f" It also hides {describe_login(stored, f.now)}." if stored is not None and stored.present and stored.usable else ""
    if cred.problem:
        severity = Severity.ERROR
        title = "A half-configured workload identity blocks every login"
        detail = (
            f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} set, so Codex uses workload identity federation "
            f"ahead of every other credential -- but {cred.problem}. Every Codex command fails with "
            f'"Error checking login status: {cred.problem}".{shadowing}'
        )
    elif stored is not None and stored.present:
        severity = Severity.WARNING
        title = "Workload identity overrides your stored login"
        detail = (
            f"{' and '.join(names)} make Codex authenticate with workload identity federation (a token exchange at "
            f"auth.openai.com on every start) instead of the login it stores.{shadowing} That is right on a CI runner "
            "set up for it, and surprising anywhere else."
        )
    else:
        return []
    unset = f"unset {' '.join(names)}"
    return [
        Finding(
            id=ID,
            severity=severity,
            title=title,
            detail=detail,
            origins=tuple(o for n in names for o in env_origins(f, n)),
            fix=Fix(
                summary=f"Unless this machine uses workload identity federation on purpose, run `{unset}` and remove "
                "the lines that set them from your shell start-up files, then open a new terminal.",
                commands=(unset,),
                automatic=True,
                removes=tuple(names),
            ),
        )
    ]


RULE = Rule(ID, check, "no workload identity variables override the login")
