"""refresh-conflict-risk: more than one holder shares the login's refresh-token chain.

ChatGPT refresh tokens rotate and are single-use (FM-01): when two holders of
the same refresh token both refresh, the first gets a new token and the second
is rejected with ``refresh_token_reused`` -- that login is dead until the
person signs in again.  Three signs that this can happen, or did:

1. the same refresh token stored in another place: another ``CODEX_HOME``, a
   backup of auth.json, an account switcher's snapshot, opencode's store;
2. several Codex processes refreshing on this ``CODEX_HOME`` on their own
   (TUIs served by the managed app-server daemon do not count);
3. the logs show ``refresh token was already used`` from two processes.

``codex login`` and ``codex logout`` revoke the refresh token they find before
anything else, so the fix deletes a copy *before* signing in next to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from authdoctor.collect.auth_copies import BACKUP, HOME, OPENCODE, SNAPSHOT, AuthCopy
from authdoctor.collect.logs.model import LogSummary
from authdoctor.collect.processes import APP_SERVER, EXEC, MANAGED_DAEMON, MCP_SERVER, TUI, CodexProcess, refreshers
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules import _logs as L
from authdoctor.diagnose.rules._processes import unseen
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login, shell_quote

ID = "refresh-conflict-risk"
REUSED = "refresh-token-reused"

_ROLE_WORDS = {
    MANAGED_DAEMON: "the app-server daemon that interactive codex starts",
    EXEC: "codex exec",
    APP_SERVER: "codex app-server, run by an IDE extension or the desktop app",
    MCP_SERVER: "codex mcp-server, run by an MCP client",
    TUI: "interactive codex",
}
# How to make an extra refresher let go.
_ROLE_CLOSE = {
    MANAGED_DAEMON: "a leftover daemon, `kill {pid}` (interactive codex starts a new one when it needs it)",
    EXEC: "let it finish before starting another, or stop it with `kill {pid}`",
    APP_SERVER: "close the editor window or the desktop app that runs it (or `kill {pid}`)",
    MCP_SERVER: "stop the MCP client that runs it (or `kill {pid}`)",
    TUI: "quit it (`/quit`)",
}


class _Part(NamedTuple):
    """What one sign adds to the finding."""

    detail: str
    steps: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    origins: tuple[Origin, ...] = ()


class _Short:
    """``~/…`` for paths under the home (the prose; commands keep absolute paths)."""

    def __init__(self, home: Path) -> None:
        self._home = home

    def __call__(self, path: Path | None) -> str:
        return L.short(str(path), self._home) if path is not None else ""


def check(f: Facts) -> Iterable[Finding]:
    stored = f.res.stored
    if stored is None or stored.kind != "chatgpt":
        return []
    ev = f.ev
    home = ev.codex_home.path
    procs = ev.processes or ()
    copies = [c for c in ev.auth_copies if c.same_chain]
    here = refreshers(procs, home)
    reused = ev.logs.of(REUSED) if ev.logs is not None else ()
    logged = sorted({p for s in reused for p in s.processes}, key=lambda p: (len(p), p))
    if not copies and len(here) < 2 and len(logged) < 2:
        return []

    short = _Short(ev.home)
    parts: list[_Part] = []
    if copies:
        parts.append(_copies_part(copies, procs, short))
    if len(here) >= 2:
        parts.append(_processes_part(here, home, short))
    if len(logged) >= 2:
        since = L.since_words(ev.logs, f.now) if ev.logs is not None else "in the logs"
        parts.append(_logs_part(logged, reused, since, procs, crowded=len(here) >= 2))

    intro = (
        f"More than one holder shares the refresh token of {describe_login(stored, f.now)}. ChatGPT refresh tokens are "
        "single-use and rotate: whichever holder refreshes first gets a new token, and every other holder of the old one is "
        "rejected with `refresh_token_reused` on its next refresh, which ends that login."
    )
    detail = " ".join([intro, *(p.detail for p in parts), *_blind_spots(ev.processes, short(home))])
    steps = [s for p in parts for s in p.steps]
    steps.append(
        "Keep exactly one Codex (or tool) per login; where you need several, give each its own CODEX_HOME and run `codex login` "
        "in each, so each gets its own refresh token"
    )
    commands = tuple(dict.fromkeys(c for p in parts for c in p.commands))
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title=_title(copies, here, logged),
            detail=detail,
            fix=Fix(summary=". ".join(steps) + ".", automatic=False, commands=commands),
            origins=tuple(o for p in parts for o in p.origins),
        )
    ]


def _title(copies: Sequence[AuthCopy], here: Sequence[CodexProcess], logged: Sequence[str]) -> str:
    if len(here) >= 2:
        return f"{len(here)} Codex processes refresh the same login on their own"
    if copies:
        where = "another place" if len(copies) == 1 else f"{len(copies)} other places"
        return f"This login's refresh token is also stored in {where}"
    return f"{len(logged)} Codex processes used up the same refresh token"


# --- 1. copies ---------------------------------------------------------------------


def _kind_words(c: AuthCopy, short: _Short) -> str:
    if c.kind == HOME:
        return f"the auth.json of the Codex home {short(c.folder)}"
    if c.kind == BACKUP:
        return f"a copy of auth.json in {short(c.folder)}"
    if c.kind == SNAPSHOT:
        return "a login saved by an account switcher"
    if c.kind == OPENCODE:
        return "opencode's login store"
    return "a copy"


def _copies_part(copies: Sequence[AuthCopy], procs: Sequence[CodexProcess], short: _Short) -> _Part:
    items = []
    for c in copies:
        users = refreshers(procs, c.folder) if c.kind == HOME else ()
        using = f", in use right now by pid {', '.join(str(p.pid) for p in users)}" if users else ""
        items.append(f"{short(c.path)} ({_kind_words(c, short)}{using})")
    one = len(copies) == 1
    detail = (
        f"The same refresh token is also in {'; '.join(items)}. If anything refreshes from "
        f"{'that copy' if one else 'one of those copies'}, this login dies on its next refresh; if this one refreshes first, "
        f"{'the copy is' if one else 'the copies are'} dead and whatever uses them fails."
    )
    steps: list[str] = []
    commands: list[str] = []
    files = [c for c in copies if c.kind != HOME]
    if files:
        names = ", ".join(short(c.path) for c in files)
        one_file = len(files) == 1
        steps.append(
            f"Delete {'this copy' if one_file else 'these copies'} ({names}): {'it' if one_file else 'they'} can only take the login down"
        )
        commands += [f"rm {shell_quote(c.path)}" for c in files]
    if any(c.kind == SNAPSHOT for c in files):
        steps.append("Save the account in the switcher again only after a fresh `codex login`, and switch only while Codex is closed")
    if any(c.kind == OPENCODE for c in files):
        steps.append("Sign opencode in on its own (`opencode auth login`) instead of giving it Codex's tokens")
    for c in (c for c in copies if c.kind == HOME):
        folder = shell_quote(c.folder)
        steps.append(
            f"In the other Codex home {short(c.folder)}, delete its auth.json (`rm {shell_quote(c.path)}`) and only then, if you use "
            f"that home, run `CODEX_HOME={folder} codex login`: `codex login` and `codex logout` first revoke the refresh token they "
            "find, and this one is shared"
        )
        commands += [f"rm {shell_quote(c.path)}", f"CODEX_HOME={folder} codex login"]
    origins = tuple(
        Origin(context="copy", text=f"holds this login's refresh token ({_kind_words(c, short)})", path=str(c.path)) for c in copies
    )
    return _Part(detail, tuple(steps), tuple(commands), origins)


# --- 2. processes --------------------------------------------------------------------


def _processes_part(here: Sequence[CodexProcess], home: Path, short: _Short) -> _Part:
    keep = _keeper(here)
    extras = [p for p in here if p.pid != keep.pid]
    listed = "; ".join(f"pid {p.pid}, {_role(p)}" for p in here)
    detail = (
        f"{len(here)} running Codex processes refresh it on their own, all on {short(home)}: {listed}. Each `codex exec`, each "
        "app-server run by an IDE or the desktop app, each extra daemon and each interactive codex without the shared daemon "
        "refreshes by itself."
    )
    closing = "; ".join(f"pid {p.pid} ({_role(p)}): {_ROLE_CLOSE.get(p.role, 'quit it').format(pid=p.pid)}" for p in extras)
    step = f"Keep one refresher on {short(home)} (pid {keep.pid}, {_role(keep)}) and close the others, {closing}"
    origins = tuple(Origin(context="process", text=f"{_role(p)} on {short(p.codex_home)}", path=f"/proc/{p.pid}") for p in here)
    return _Part(detail, (step,), tuple(f"kill {p.pid}" for p in extras), origins)


def _keeper(here: Sequence[CodexProcess]) -> CodexProcess:
    """The refresher to keep: the daemon daemon.pid names, else any daemon, else the oldest."""
    daemons = [p for p in here if p.role == MANAGED_DAEMON]
    registered = [p for p in daemons if p.registered]
    if registered or daemons:
        return (registered or daemons)[0]
    never = datetime.max.replace(tzinfo=UTC)
    return min(here, key=lambda p: (p.started or never, p.pid))


def _role(p: CodexProcess) -> str:
    return _ROLE_WORDS.get(p.role, p.role)


# --- 3. logs ---------------------------------------------------------------------------


def _logs_part(logged: Sequence[str], reused: Sequence[LogSummary], since: str, procs: Sequence[CodexProcess], *, crowded: bool) -> _Part:
    running = {str(p.pid): p for p in procs}
    who = ", ".join(f"{pid}, still running as {_role(running[pid])}" if pid in running else pid for pid in logged)
    detail = f"It has already happened: {len(logged)} Codex processes logged `refresh token was already used` {since} (pids {who})."
    steps = () if crowded else ("After signing in again, run one Codex per CODEX_HOME at a time: no `codex exec` next to an open session",)
    return _Part(detail, steps, (), L.origins(reused))


def _blind_spots(processes: Sequence[CodexProcess] | None, home: str) -> list[str]:
    return unseen(processes, f"whether they refresh the login of {home}")


def _applies(f: Facts) -> bool:
    return f.res.stored is not None and f.res.stored.kind == "chatgpt"


RULE = Rule(
    ID,
    check,
    "this login's refresh token has one holder: no copy in another Codex home or backup, no second Codex process refreshing it "
    "(running processes are checked on Linux only), no reuse logged by two processes",
    _applies,
)
