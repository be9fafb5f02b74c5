"""refresh-failed: the logs show the auth server rejected the refresh token after the current login was stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from authdoctor.codex import knowledge as K
from authdoctor.codex import signatures as S
from authdoctor.collect.logs.model import LogSummary
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules import _logs as L
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login, shell_quote

ID = "refresh-failed"
CATEGORIES = (S.REFRESH,)
# A server-side invalidation ends the session the same way a rejected refresh does.
ALSO = ("session-invalidated",)


def _found(f: Facts) -> list[LogSummary]:
    found = L.summaries(f.ev.logs, CATEGORIES)
    if f.ev.logs is not None:
        found += f.ev.logs.of(*ALSO)
    return found


def headless(env: Mapping[str, str] | None, platform: str) -> bool:
    """No browser can reach the login callback: SSH, or a Linux session without a display."""
    env = env or {}
    if env.get("SSH_CONNECTION") or env.get("SSH_TTY") or env.get("CODESPACES"):
        return True
    return platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def login_command(f: Facts) -> str:
    return "codex login --device-auth" if headless(f.ev.env_shell, f.ev.platform) else "codex login"


def _file_store(f: Facts) -> bool:
    mode = f.ev.config.store_mode
    if mode in (K.STORE_KEYRING, K.STORE_EPHEMERAL):
        return False
    return not (mode == K.STORE_AUTO and f.ev.keyring.entry is True)


def check(f: Facts) -> Iterable[Finding]:
    stored = f.res.stored
    logs = f.ev.logs
    if stored is None or logs is None:
        return []
    found = _found(f)
    if not found:
        return []
    sig = L.most_specific(found)
    login = login_command(f)
    auth = f.ev.auth_file
    moves = str(auth.path) if auth.exists and _file_store(f) else None
    if moves:
        aside = shell_quote(f"{auth.path}.dead")
        summary = (
            f"Move the dead login aside (`authdoctor fix` does it, undoably; by hand: `mv {shell_quote(auth.path)} {aside}`), "
            f"then run `{login}`. authdoctor never refreshes or revokes tokens itself."
        )
        commands: tuple[str, ...] = (f"mv {shell_quote(auth.path)} {aside}", login)
    else:
        summary = f"Run `codex logout && {login}`. authdoctor never refreshes or revokes tokens itself."
        commands = ("codex logout", login)
    processes = sorted({p for s in found for p in s.processes})
    several = f" {len(processes)} different Codex processes logged it (pids {', '.join(processes)})." if len(processes) > 1 else ""
    detail = (
        f"Codex logged {L.count(found)} refresh failure(s) {L.since_words(logs, f.now)}, {L.when(found, f.now)} "
        f"in {L.where(found[0])}: {sig.cause}{several} Until you sign in again, {describe_login(stored, f.now)} cannot "
        "get new access tokens, so Codex keeps printing `Failed to refresh token` and retrying. Logging out and in "
        "again is the cure; reinstalling or clearing browser cookies does not help."
    )
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title=_title(sig),
            detail=detail,
            fix=Fix(summary=summary, automatic=moves is not None, commands=commands, moves=moves),
            origins=L.origins(found),
        )
    ]


def _title(sig: S.Signature) -> str:
    return {
        "refresh-token-reused": "Codex cannot refresh the login: its refresh token was already used elsewhere",
        "refresh-token-invalidated": "Codex cannot refresh the login: its refresh token was revoked",
        "refresh-token-expired": "Codex cannot refresh the login: its refresh token has expired",
        "refresh-account-changed": "A running Codex holds a login that was replaced",
        "session-invalidated": "The server invalidated this login",
    }.get(sig.id, "Codex cannot refresh the login: the auth server rejects its refresh token")


def _applies(f: Facts) -> bool:
    return f.res.stored is not None and f.ev.logs is not None and any(s.kind == "sqlite" or s.scanned_bytes for s in f.ev.logs.sources)


RULE = Rule(ID, check, "the Codex logs show no refresh failure since the current login", _applies)
