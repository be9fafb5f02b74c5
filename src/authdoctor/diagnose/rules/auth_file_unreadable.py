"""auth-file-unreadable: auth.json cannot be parsed, is incomplete, or cannot be read."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, shell_quote

ID = "auth-file-unreadable"


def _file_is_read(f: Facts) -> bool:
    """Whether Codex reads auth.json at all in the configured store mode."""
    mode = f.ev.config.store_mode
    if mode in (K.STORE_KEYRING, K.STORE_EPHEMERAL):
        return False
    # auto: the keyring first, the file only when the keyring has no login.
    return not (mode == K.STORE_AUTO and f.ev.keyring.entry is True)


def _gaps(f: Facts) -> list[str]:
    """What is missing from a parsed login.  A missing last_refresh is not a gap:
    Codex loads and refreshes such a login (refresh-token-stale weighs it)."""
    login = f.ev.auth_file.login
    if login is None:
        return []
    refused = [f'{login.refused}, so Codex refuses to load it ("Error checking login status")'] if login.refused else []
    return refused + list(login.incomplete)


def check(f: Facts) -> Iterable[Finding]:
    auth = f.ev.auth_file
    if not auth.exists or not _file_is_read(f):
        return []
    path = shell_quote(auth.path)
    aside = shell_quote(f"{auth.path}.broken")
    fix = f"Move it aside (keep it: `mv {path} {aside}`) and run `codex login`."
    commands: tuple[str, ...] = (f"mv {path} {aside}", "codex login")
    moves: str | None = str(auth.path)
    if auth.problem is not None:
        what = f"Codex cannot use {auth.path}: {auth.problem.message}."
        effect = ' Codex treats this as "not logged in" (or fails with "Error checking login status").'
        title = "auth.json cannot be read"
        theirs = f.ev.uid is not None and auth.uid is not None and auth.uid != f.ev.uid
        if auth.problem.kind == "unreadable" and auth.mode is not None and (theirs or not auth.mode & 0o400):
            # The content is probably fine: give it back to its owner instead of replacing it.
            fix = f"Make it yours and readable (`sudo chown $(id -u):$(id -g) {path}` then `chmod 600 {path}`); no new login is needed."
            commands = (f"sudo chown $(id -u):$(id -g) {path}", f"chmod 600 {path}")
            moves = None
    elif gaps := _gaps(f):
        what = f"{auth.path} is incomplete: {'; '.join(gaps)}."
        effect = " Codex cannot refresh or use such a login, so requests fail until you sign in again."
        title = "auth.json is incomplete"
    else:
        return []
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title=title,
            detail=what + effect,
            fix=Fix(summary=fix, commands=commands, automatic=moves is not None, moves=moves),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.ev.auth_file.exists and _file_is_read(f)


RULE = Rule(ID, check, "auth.json is complete and readable", _applies)
