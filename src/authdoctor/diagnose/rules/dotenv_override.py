"""dotenv-override: $CODEX_HOME/.env silently overrides the shell for Codex."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule
from authdoctor.secret import REDACTED

ID = "dotenv-override"


def check(f: Facts) -> Iterable[Finding]:
    dotenv = f.ev.dotenv
    changing = [e for e in dotenv.entries if e.applies and e.differs_from_shell]
    if not changing:
        return []
    ignored = sorted({e.key for e in dotenv.entries if not e.applies})
    names = ", ".join(sorted({e.key for e in changing}))
    note = f" Keys starting with CODEX_ ({', '.join(ignored)}) are ignored by Codex." if ignored else ""
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title=f"{dotenv.path} overrides your shell for Codex",
            detail=(
                f"Codex loads {dotenv.path} at start-up and lets it override the environment it inherited, unlike most "
                f".env loaders. It sets {names} to values your shell does not have, so `echo $VAR` in a terminal shows "
                f"something different from what Codex uses.{note}"
            ),
            origins=tuple(Origin(context="dotenv", text=f"{e.key}={REDACTED}", path=str(dotenv.path), line=e.line) for e in changing),
            fix=Fix(summary=f"Delete the lines you did not mean Codex to use from {dotenv.path}."),
        )
    ]


def _has_dotenv(f: Facts) -> bool:
    return f.ev.dotenv.exists


RULE = Rule(ID, check, "$CODEX_HOME/.env changes nothing the shell sets", _has_dotenv)
