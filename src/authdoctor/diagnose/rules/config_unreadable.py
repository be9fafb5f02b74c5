"""config-unreadable: config.toml is broken, so every Codex command stops before it starts.

Not in the original catalogue: Codex 0.169.0 exits with "Error loading
configuration: …" on a syntax error, a wrong type or an unknown enum value
(oracle rows 6-bad-toml, 6-bad-type, 6-bogus-*), before it looks at any login.
"""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, shell_quote

ID = "config-unreadable"


def check(f: Facts) -> Iterable[Finding]:
    config = f.ev.config
    if config.problem is None:
        return []
    path = shell_quote(config.path)
    if config.problem.kind == "unreadable":
        fix = f"Make it readable by you (`sudo chown $(id -u):$(id -g) {path}` then `chmod 644 {path}`)."
    else:
        fix = (
            f"Correct the setting in {config.path} (run `codex login status` to see Codex's own message with the line "
            "and column), or move the file aside to start from defaults."
        )
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title="config.toml is broken, so Codex cannot start",
            detail=(
                f"{config.path}: {config.problem.message}. Codex reads this file before anything else and stops with "
                '"Error loading configuration: …", so no login works until it is fixed -- which looks like a login problem but is not.'
            ),
            origins=(Origin(context="config", text=config.problem.message, path=str(config.path)),),
            fix=Fix(summary=fix),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.ev.config.exists


RULE = Rule(ID, check, "config.toml is readable and valid", _applies)
