"""auth-file-permissions: auth.json is readable by others, owned by someone else, or read-only."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "auth-file-permissions"


def check(f: Facts) -> Iterable[Finding]:
    auth = f.ev.auth_file
    if not auth.exists or auth.mode is None or f.ev.platform.startswith("win"):
        return []
    problems: list[str] = []
    commands: list[str] = []
    if auth.mode & 0o077:
        problems.append(f"its mode is {auth.mode:04o}, so other users on this machine can read your tokens (Codex writes 0600)")
        commands.append(f"chmod 600 {auth.path}")
    if f.ev.uid is not None and auth.uid is not None and auth.uid != f.ev.uid:
        problems.append(
            f"it belongs to user id {auth.uid}, not to you ({f.ev.uid}) -- typically left by `sudo codex login`; "
            "Codex cannot save refreshed tokens into it"
        )
        commands.append(f"sudo chown $(id -u):$(id -g) {auth.path}")
    elif not auth.mode & 0o200:
        problems.append("it is not writable by its owner, so Codex cannot save refreshed tokens and the login decays")
        commands.append(f"chmod 600 {auth.path}")
    if not problems:
        return []
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title="auth.json has unsafe or unusable permissions",
            detail=f"{auth.path}: " + "; ".join(problems) + ".",
            fix=Fix(
                summary="Make it private and yours: " + "; ".join(f"`{c}`" for c in dict.fromkeys(commands)) + ".",
                commands=tuple(dict.fromkeys(commands)),
            ),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.ev.auth_file.exists and not f.ev.platform.startswith("win")


RULE = Rule(ID, check, "auth.json is private (0600) and yours", _applies)
