"""dotenv-override: $CODEX_HOME/.env silently overrides the shell for Codex."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule
from authdoctor.secret import REDACTED

ID = "dotenv-override"


def check(f: Facts) -> Iterable[Finding]:
    dotenv = f.ev.dotenv
    # Codex sets the keys line by line, so the last line for a key wins.
    last = {e.key: e for e in dotenv.entries if e.applies}
    changing = sorted((e for e in last.values() if e.differs_from_shell), key=lambda e: e.line)
    if not changing:
        return []
    ignored = sorted({e.key for e in dotenv.entries if not e.applies})
    # For the variables authdoctor watches it knows whether the shell had a value.
    keys = sorted(e.key for e in changing)
    replaced = [k for k in keys if (v := f.ev.env.get(k)) is not None and v.source == "dotenv" and v.shell_value_overridden]
    others = [k for k in keys if k not in replaced]
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
