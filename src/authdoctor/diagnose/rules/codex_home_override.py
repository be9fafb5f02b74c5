"""codex-home-override: CODEX_HOME points somewhere broken, or away from the login."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, env_origin

ID = "codex-home-override"


def check(f: Facts) -> Iterable[Finding]:
    home = f.ev.codex_home
    if not home.from_env:
        return []
    origin = (env_origin(f.ev, K.CODEX_HOME),)
    if home.problem in ("missing", "not-a-directory"):
        why = "does not exist" if home.problem == "missing" else "is not a directory"
        return [
            Finding(
                id=ID,
                severity=Severity.ERROR,
                title=f"CODEX_HOME points to a path that {why}",
                detail=(
                    f'CODEX_HOME is set to "{home.env_value}", which {why}. Codex refuses to start '
                    f'("CODEX_HOME points to \\"…\\", but that path {why}"), so every command fails before it even looks for a login.'
                ),
                origins=origin,
                fix=Fix(
                    summary=f"Create that directory (`mkdir -p {home.path}`) or unset CODEX_HOME to use ~/.codex.",
                    commands=("unset CODEX_HOME",),
                ),
            )
        ]
    logged_in_here = f.ev.auth_file.exists or bool(f.ev.keyring.entry)
    default = f.ev.default_home_auth
    if not logged_in_here and default is not None and default.exists:
        return [
            Finding(
                id=ID,
                severity=Severity.WARNING,
                title="CODEX_HOME hides the login stored in ~/.codex",
                detail=(
                    f"CODEX_HOME sends Codex to {home.path}, which holds no login, while {default.path} does. "
                    'Codex only looks in CODEX_HOME, so it reports "Not logged in" even though you signed in.'
                ),
                origins=origin,
                fix=Fix(
                    summary="Unset CODEX_HOME, or sign in again with CODEX_HOME set so the login is stored there.",
                    commands=("unset CODEX_HOME",),
                ),
            )
        ]
    return []


RULE = Rule(ID, check, "CODEX_HOME is unset or points to a directory that holds the login")
