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
    """auth.json may hold the login: the file store, or auto (its fallback; `codex logout` clears both)."""
    return f.ev.config.store_mode not in (K.STORE_KEYRING, K.STORE_EPHEMERAL)


def _keyring_account(f: Facts) -> str | None:
    """The keyring account that holds the login, when Codex keeps it in the OS keyring."""
    ring, mode = f.ev.keyring, f.ev.config.store_mode
    if ring.account is None:
        return None
    if mode == K.STORE_KEYRING and (ring.entry is True or (ring.entry is None and ring.usable)):
        return ring.account
    return ring.account if mode == K.STORE_AUTO and ring.entry is True else None


def _keyring_delete_command(platform: str, account: str) -> tuple[str, ...]:
    """How to delete the entry by hand (Windows: Credential Manager, no command)."""
    service = shell_quote(K.KEYRING_SERVICE)
    if platform == "darwin":
        return (f"security delete-generic-password -s {service} -a {shell_quote(account)}",)
    if platform.startswith("win"):
        return ()
    return (f"secret-tool clear service {service} username {shell_quote(account)}",)


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
    keyring = _keyring_account(f)
    if keyring:
        by_hand = _keyring_delete_command(f.ev.platform, keyring)
        also = ""
        if moves:
            by_hand += (f"mv {shell_quote(auth.path)} {shell_quote(f'{auth.path}.dead')}",)
            also = f" and moves {auth.path} aside"
        summary = (
            f"Take the dead login out of the OS keyring (`authdoctor fix` keeps a private copy in its journal, deletes the "
            f"{K.KEYRING_SERVICE!r} entry for {keyring}{also}; `authdoctor undo` puts it back), then run `{login}`. "
            "authdoctor never refreshes or revokes tokens itself."
        )
        commands: tuple[str, ...] = (*by_hand, login)
    elif moves:
        aside = shell_quote(f"{auth.path}.dead")
        summary = (
            f"Move the dead login aside (`authdoctor fix` does it, undoably; by hand: `mv {shell_quote(auth.path)} {aside}`), "
            f"then run `{login}`. authdoctor never refreshes or revokes tokens itself."
        )
        commands = (f"mv {shell_quote(auth.path)} {aside}", login)
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
            fix=Fix(
                summary=summary,
                automatic=bool(moves or keyring),
                commands=commands,
                moves=moves,
                moves_keyring=keyring,
                moves_legacy=bool(moves or keyring),
            ),
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
