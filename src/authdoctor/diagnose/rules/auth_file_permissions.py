"""auth-file-permissions: auth.json is readable by others, owned by someone else, or read-only."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, shell_quote

ID = "auth-file-permissions"


def check(f: Facts) -> Iterable[Finding]:
    auth = f.ev.auth_file
    if not _applies(f) or auth.mode is None:
        return []
    path = shell_quote(auth.path)
    problems: list[str] = []
    commands: list[str] = []
    # Only read and write bits matter: an execute bit alone opens nothing.
    if auth.mode & 0o066:
        access = " and ".join(verb for verb, bits in (("read your tokens", 0o044), ("replace them", 0o022)) if auth.mode & bits)
        problems.append(f"its mode is {auth.mode:04o}, so other users on this machine can {access} (Codex writes 0600)")
        commands.append(f"chmod 600 {path}")
    theirs = f.ev.uid is not None and auth.uid is not None and auth.uid != f.ev.uid
    if theirs:
        problems.append(
            f"it belongs to user id {auth.uid}, not to you ({f.ev.uid}) -- typically left by `sudo codex login`; "
            "Codex cannot save refreshed tokens into it"
        )
        commands.append(f"sudo chown $(id -u):$(id -g) {path}")
    if not auth.mode & 0o200:
        if not theirs:
            problems.append("it is not writable by its owner, so Codex cannot save refreshed tokens and the login decays")
        commands.append(f"chmod 600 {path}")
    if not problems:
        return []
    # chown first: only the owner may chmod.
    commands = sorted(dict.fromkeys(commands), key=lambda c: not c.startswith("sudo chown"))
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title="auth.json has unsafe or unusable permissions",
            detail=f"{auth.path}: " + "; ".join(problems) + ".",
            fix=Fix(
                summary="Make it private and yours: " + ", then ".join(f"`{c}`" for c in commands) + ".",
                commands=tuple(commands),
            ),
        )
    ]


def _applies(f: Facts) -> bool:
    auth = f.ev.auth_file
    # A directory or special file in its place is auth-file-unreadable's business.
    not_a_file = auth.problem is not None and auth.problem.kind == "not-a-file"
    return auth.exists and not not_a_file and not f.ev.platform.startswith("win")


RULE = Rule(ID, check, "auth.json is private (0600) and yours", _applies)
