"""stale-process-environment: a running Codex process holds what a fresh start would not.

A process keeps the environment it was started with, and Codex keeps its login
in memory (FM-16, FM-22).  Fixing a start-up file or signing in again does not
reach a Codex that is already running: the TUI left open for a week, the
app-server daemon it started, the IDE extension's or the desktop app's
app-server.  Four signs, read from the process table (``/proc`` on Linux):

1. it holds a credential override (``CODEX_ACCESS_TOKEN``, ``CODEX_API_KEY``,
   the workload-identity variables) while a stored login exists: that process
   ignores the login whatever the files say now;
2. it holds a value of a variable that changes what Codex does (``CODEX_HOME``,
   the proxies, the CA bundles, the overrides) that a new terminal would not
   give it any more -- removed from the start-up files, or changed.  Variables
   ``$CODEX_HOME/.env`` sets are skipped: Codex applies the file over whatever
   it inherited;
3. it logged "you have since logged out or signed in to another account" and is
   still running: its in-memory login is the replaced one, and it stays so
   until restarted;
4. it started before the person signed in (the id token's ``auth_time``, when
   the token carries it).  The write time of auth.json does not tell: every
   refresh rewrites the file, and a running process is the one that refreshes.

Only ``/proc/PID/environ`` shows a process's environment: it is the block the
process started with, which is what it inherited (Codex loads ``.env`` later,
in its own memory).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from authdoctor.codex import knowledge as K
from authdoctor.codex.tokens import relative
from authdoctor.collect.processes import APP_SERVER, EXEC, MANAGED_DAEMON, MCP_SERVER, TUI, CodexProcess
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules._processes import unseen
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "stale-process-environment"
ACCOUNT_CHANGED = "refresh-account-changed"

# The roles that use the login; the npm wrapper, the pid helper and `codex login` do not.
_USERS = (TUI, EXEC, MANAGED_DAEMON, APP_SERVER, MCP_SERVER)
_CREDENTIALS = (K.CODEX_ACCESS_TOKEN, K.CODEX_API_KEY, *K.WORKLOAD_IDENTITY_VARS)
# Variables whose stale value changes what a running Codex does.
_WATCHED = (
    *_CREDENTIALS,
    K.CODEX_HOME,
    *((K.OPENAI_BASE_URL,) if K.OPENAI_BASE_URL_HONOURED else ()),
    *K.PROXY_VARS,
    *K.CA_VARS,
)
# A process that started within this much of the sign-in may have been started by it.
_SLACK_SECONDS = 5.0

_ROLE_WORDS = {
    TUI: "interactive codex",
    EXEC: "codex exec",
    MANAGED_DAEMON: "the app-server daemon interactive codex starts",
    APP_SERVER: "codex app-server",
    MCP_SERVER: "codex mcp-server",
}


def _name(p: CodexProcess) -> str:
    role = _ROLE_WORDS.get(p.role, p.role)
    if p.role == APP_SERVER and p.via:
        role = f"{role} of the {p.via}"
    elif p.role == APP_SERVER:
        role = f"{role} (an IDE extension or the desktop app)"
    return f"pid {p.pid} ({role})"


def _restart(p: CodexProcess) -> tuple[str, tuple[str, ...]]:
    """How to restart it, and the commands that do."""
    if p.role == TUI:
        return f"quit {_name(p)} (`/quit`) and start codex again from a new terminal", ()
    if p.role == EXEC:
        return f"let {_name(p)} finish, or stop it (`kill {p.pid}`), and start the next run from a new terminal", ()
    if p.role == MANAGED_DAEMON:
        return f"stop {_name(p)} (`kill {p.pid}`): the next interactive codex starts a fresh one with its own environment", (
            f"kill {p.pid}",
        )
    if p.role == APP_SERVER and p.via == "desktop app":
        return f"quit the Codex desktop app completely and open it again ({_name(p)})", ()
    if p.role == APP_SERVER:
        editor = p.via.removesuffix(" extension").removesuffix(" (remote)") if p.via else "the editor"
        return (
            f"reload {editor} (Command Palette: `Developer: Reload Window`) to restart {_name(p)}; if the variable comes from "
            f"{editor} itself (started from a terminal that had it), quit {editor} completely and start it again",
            (),
        )
    return f"stop the MCP client that runs {_name(p)} and start it again", ()


def _expected(f: Facts, name: str) -> tuple[bool, object | None]:
    """``(known, value)``: what a Codex started now would inherit; unknown when ``.env`` decides anyway."""
    value = f.ev.env.get(name)
    if value is None:
        return True, None
    if value.source == "dotenv":
        return False, None
    return True, value.value


def _reasons(f: Facts, p: CodexProcess, login_at: datetime | None, replaced: frozenset[str]) -> list[str]:
    found: list[str] = []
    stale: list[str] = []
    # A process on another home has its own login: only a CODEX_HOME a new terminal would not set makes it ours to report.
    ours = p.codex_home == f.ev.codex_home.path
    for name in _WATCHED if ours else (K.CODEX_HOME,):
        held = p.value(name)
        if held is None:
            continue
        known, expected = _expected(f, name)
        if name in _CREDENTIALS and f.res.stored is not None:
            found.append(f"holds {name}, which overrides your stored login for as long as it runs")
        elif known and expected != held:
            stale.append(name)
    if stale:
        names = ", ".join(stale)
        found.append(f"holds {names} with {'a value' if len(stale) == 1 else 'values'} a new terminal no longer gives")
    if not ours:
        return found
    if str(p.pid) in replaced:
        found.append("logged that its login was replaced (you logged out or signed in to another account after it started)")
    if login_at is not None and p.started is not None and (login_at - p.started).total_seconds() > _SLACK_SECONDS:
        found.append(f"started {relative(p.started, f.now)}, before you signed in ({relative(login_at, f.now)})")
    return found


def check(f: Facts) -> Iterable[Finding]:
    procs = [p for p in f.ev.processes or () if p.role in _USERS and p.environ_readable]
    if not procs:
        return []
    login = f.ev.auth_file.login
    login_at = login.id_claims.auth_time if login is not None and login.id_claims is not None else None
    logs = f.ev.logs
    replaced = frozenset(pid for s in (logs.of(ACCOUNT_CHANGED) if logs is not None else ()) for pid in s.processes)
    stale = [(p, r) for p in procs if (r := _reasons(f, p, login_at, replaced))]
    if not stale:
        return []
    lines = [
        f"{_name(p)}, running since {relative(p.started, f.now) if p.started else 'an unknown time'}: {'; '.join(r)}" for p, r in stale
    ]
    steps: list[str] = []
    commands: list[str] = []
    for p, _ in stale:
        step, cmds = _restart(p)
        steps.append(step)
        commands.extend(cmds)
    one = len(stale) == 1
    detail = (
        f"{'A running Codex process keeps' if one else f'{len(stale)} running Codex processes keep'} what {'it' if one else 'they'} "
        "started with: the environment of the terminal or app that launched "
        f"{'it' if one else 'them'}, and the login in memory. Fixing a start-up file or signing in again does not reach "
        f"{'it' if one else 'them'}. " + " ".join(f"{line}." for line in lines)
    )
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title=_title(stale),
            detail=detail + _blind(f),
            fix=Fix(
                summary="Restart " + ("it" if one else "them") + " after fixing the cause: " + "; ".join(steps) + ".",
                commands=tuple(commands),
            ),
            origins=tuple(Origin(context="process", text=_name(p), path=f"/proc/{p.pid}") for p, _ in stale),
        )
    ]


def _since(p: CodexProcess, now: datetime) -> str:
    return relative(p.started, now) if p.started is not None else "an unknown time"


def _title(stale: Sequence[tuple[CodexProcess, list[str]]]) -> str:
    n = len(stale)
    held = sorted({name for p, _ in stale for name in _WATCHED if p.value(name) is not None and name in _CREDENTIALS})
    if held:
        return f"{'A running Codex process still holds' if n == 1 else f'{n} running Codex processes still hold'} {', '.join(held)}"
    return f"{'A running Codex process has' if n == 1 else f'{n} running Codex processes have'} a stale environment or login"


def _blind(f: Facts) -> str:
    return "".join(f" {s}" for s in unseen(f.ev.processes, "whether they hold a stale environment"))


def _applies(f: Facts) -> bool:
    return f.ev.processes is not None


RULE = Rule(
    ID,
    check,
    "no running Codex process holds a credential override, a stale proxy, CA or CODEX_HOME, or a replaced login",
    _applies,
)
