"""codex-home-override: CODEX_HOME points somewhere broken, or away from the login."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, env_origins, shell_quote

ID = "codex-home-override"

_WHY = {
    "missing": "does not exist",
    "not-a-directory": "is not a directory",
    "unreadable": "cannot be resolved (failed to canonicalize CODEX_HOME)",
}


def _broken(f: Facts) -> Finding:
    home = f.ev.codex_home
    problem = home.problem or "missing"
    why = _WHY.get(problem, "cannot be used")
    if problem == "missing":
        codex_says = f'CODEX_HOME points to "…", but that path {why}'
        fix = f"Create that directory (`mkdir -p {shell_quote(home.path)}`) or unset CODEX_HOME to use ~/.codex."
        commands: tuple[str, ...] = (f"mkdir -p {shell_quote(home.path)}",)
    elif problem == "not-a-directory":
        codex_says = f'CODEX_HOME points to "…", but that path {why}'
        fix = "Point CODEX_HOME at a directory, or unset it (and remove it from your shell start-up files) to use ~/.codex."
        commands = ("unset CODEX_HOME",)
    else:
        codex_says = "failed to canonicalize CODEX_HOME …"
        fix = f"Check the permissions of every folder on the way to {home.path}, or unset CODEX_HOME to use ~/.codex."
        commands = ("unset CODEX_HOME",)
    return Finding(
        id=ID,
        severity=Severity.ERROR,
        title=f"CODEX_HOME points to a path that {why.split(' (')[0]}",
        detail=(
            f'CODEX_HOME is set to "{home.env_value}", which {why}. Codex refuses to start (`{codex_says}`), '
            "so every command fails before it even looks for a login."
        ),
        origins=env_origins(f, K.CODEX_HOME),
        fix=Fix(summary=fix, commands=commands),
    )


def check(f: Facts) -> Iterable[Finding]:
    home = f.ev.codex_home
    if not home.from_env:
        return []
    if home.problem is not None:
        return [_broken(f)]
    ring = f.ev.keyring
    # A keyring entry we could not see without prompting may well be a login.
    keyring_login = ring.entry is True or (ring.probed and ring.usable and ring.entry is None)
    logged_in_here = f.ev.auth_file.exists or keyring_login
    default = f.ev.default_home_auth
    if not logged_in_here and default is not None and default.exists and default.login is not None:
        return [
            Finding(
                id=ID,
                severity=Severity.WARNING,
                title="CODEX_HOME hides the login stored in ~/.codex",
                detail=(
                    f"CODEX_HOME sends Codex to {home.path}, which holds no login, while {default.path} does. "
                    'Codex only looks in CODEX_HOME, so it reports "Not logged in" even though you signed in.'
                ),
                origins=env_origins(f, K.CODEX_HOME),
                fix=Fix(
                    summary="Unset CODEX_HOME (and remove it from your shell start-up files), "
                    "or sign in again with CODEX_HOME set so the login is stored there.",
                    commands=("unset CODEX_HOME",),
                ),
            )
        ]
    return []


RULE = Rule(ID, check, "CODEX_HOME is unset or points to a directory that holds the login")
