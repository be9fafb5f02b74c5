"""auth-file-unreadable: auth.json cannot be parsed, is incomplete, or cannot be read."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "auth-file-unreadable"


def check(f: Facts) -> Iterable[Finding]:
    auth = f.ev.auth_file
    if not auth.exists or f.ev.config.store_mode in (K.STORE_KEYRING, K.STORE_EPHEMERAL):
        return []
    if auth.problem is not None:
        what = f"Codex cannot use {auth.path}: {auth.problem.message}."
        effect = ' Codex treats this as "not logged in" (or fails with "Error checking login status").'
        title = "auth.json cannot be read"
    elif auth.login is not None and auth.login.incomplete:
        what = f"{auth.path} is incomplete: {'; '.join(auth.login.incomplete)}."
        effect = " Codex cannot refresh or use such a login, so requests fail until you sign in again."
        title = "auth.json is incomplete"
    else:
        return []
    aside = f"{auth.path}.broken"
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title=title,
            detail=what + effect,
            fix=Fix(
                summary=f"Move it aside (keep it: `mv {auth.path} {aside}`) and run `codex login`.",
                commands=(f"mv {auth.path} {aside}", "codex login"),
            ),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.ev.auth_file.exists


RULE = Rule(ID, check, "auth.json is complete and readable", _applies)
