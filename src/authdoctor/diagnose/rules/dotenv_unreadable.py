"""dotenv-unreadable: Codex silently skips (parts of) $CODEX_HOME/.env.

Not in the original catalogue: Codex 0.169.0 ignores a malformed, non-UTF-8 or
unreadable ``.env`` without a word (oracle §6 step 0), so what you put there
does not apply.
"""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "dotenv-unreadable"


def check(f: Facts) -> Iterable[Finding]:
    dotenv = f.ev.dotenv
    if dotenv.problem is None:
        return []
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title=".env is partly or wholly ignored by Codex",
            detail=(
                f"{dotenv.path}: {dotenv.problem.message}. Codex skips what it cannot read without any message, so a "
                "setting you put there silently does not apply."
            ),
            origins=(Origin(context="dotenv", text=dotenv.problem.message, path=str(dotenv.path)),),
            fix=Fix(summary=f"Rewrite the affected lines of {dotenv.path} as plain KEY=VALUE (quote values with spaces)."),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.ev.dotenv.exists


RULE = Rule(ID, check, "$CODEX_HOME/.env is read completely", _applies)
