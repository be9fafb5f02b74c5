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
    # The last line for a key wins, as in dotenvy.
    last = {e.key: e for e in changing}
    # For the variables authdoctor watches it knows whether the shell had a value.
    replaced = sorted(k for k in last if (v := f.ev.env.get(k)) is not None and v.source == "dotenv" and v.shell_value_overridden)
    others = sorted(k for k in last if k not in replaced)
    effects: list[str] = []
    if replaced:
        effects.append(f"It replaces the value your shell gives {', '.join(replaced)}")
    if others:
        effects.append(f"{'It also' if replaced else 'It'} sets {', '.join(others)} to values your shell does not have")
    note = f" Keys starting with CODEX_ ({', '.join(ignored)}) are ignored by Codex." if ignored else ""
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title=f"{dotenv.path} overrides your shell for Codex",
            detail=(
                f"Codex loads {dotenv.path} at start-up and lets it override the environment it inherited, unlike most "
                f".env loaders. {'. '.join(effects)}. So `echo $VAR` in a terminal shows something different from what "
                f"Codex uses.{note}"
            ),
            origins=tuple(Origin(context="dotenv", text=f"{e.key}={REDACTED}", path=str(dotenv.path), line=e.line) for e in changing),
            fix=Fix(summary=f"Delete the lines you did not mean Codex to use from {dotenv.path}."),
        )
    ]


def _has_dotenv(f: Facts) -> bool:
    return f.ev.dotenv.exists


RULE = Rule(ID, check, "$CODEX_HOME/.env changes nothing the shell sets", _has_dotenv)
