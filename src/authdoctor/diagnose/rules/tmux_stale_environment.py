"""tmux-stale-environment: a tmux server hands new panes a value the person's setup no longer gives.

A tmux server keeps the environment it started with (plus ``set-environment``)
and gives it -- global environment overlaid with the session's -- to every new
pane, window and command it starts, never the environment of the shell that
asked for the pane (FM-22).  Fixing ``~/.zshrc`` does not reach it.  What a new
terminal gets instead comes from the start-up files (``new_terminal_winner``).

Flagged, per server, for each watched variable tmux would hand out:

- the start-up files do not set it (any more): every new pane still starts with it;
- they set a different value: a shell that reads them replaces tmux's, but
  commands tmux starts directly (``tmux new-window codex``, scripts, ``run-shell``)
  and files that set it only when it is missing keep tmux's value;
- origins were not scanned: only credential overrides while a login is stored,
  which do harm whatever the files say.

Quiet when tmux's value is the one the files set (the files are the problem;
the override rules point at them), when the files compute the value (``$(…)``:
nothing to compare), and when no server runs.  Values are compared as
:class:`~authdoctor.secret.Secret`, never shown.

The finding's ``fix.unsets_tmux`` names each entry as (socket, session id or
"" for the global environment, name): the planner turns them into changes
that remove exactly those entries.  :func:`stale` gives every entry with its
server (socket, pid), scope (global, or session id and name), name and value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.codex.tokens import relative
from authdoctor.collect.origins.contexts import new_terminal_winner, user_shell
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login, shell_quote
from authdoctor.secret import REDACTED

if TYPE_CHECKING:
    # Only for types: a check with no tmux server to read never imports the collector.
    from authdoctor.collect.tmux import TmuxServer, TmuxVariable

ID = "tmux-stale-environment"

# Why an entry is stale.
NOT_SET = "not-set"  # the start-up files do not set it
DIFFERENT = "different"  # they set another value
UNCHECKED = "unchecked"  # origins were not scanned (a credential override while a login is stored)

CREDENTIAL_OVERRIDES = (K.CODEX_ACCESS_TOKEN, K.CODEX_API_KEY, K.OPENAI_API_KEY, *K.WORKLOAD_IDENTITY_VARS)

# What a credential override held by tmux does to the stored login, in the pane that gets it.
_OVERRIDE_WORDS = {
    K.CODEX_ACCESS_TOKEN: "Codex uses CODEX_ACCESS_TOKEN instead of it",
    K.CODEX_API_KEY: "`codex exec` uses CODEX_API_KEY instead of it",
    K.OPENAI_API_KEY: "a model provider that reads OPENAI_API_KEY uses the key instead of it",
    K.WIF_RULE_ID: f"Codex signs in with workload identity ({K.WIF_RULE_ID}) ahead of it",
    K.WIF_TOKEN_FILE: f"Codex signs in with workload identity ({K.WIF_TOKEN_FILE}) ahead of it",
}

# Session names a tmux target can take as they are: anything else is targeted by its id.
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


class Stale(NamedTuple):
    """One entry of a server's environment that new panes get and the person's setup would not give."""

    server: TmuxServer
    variable: TmuxVariable
    reason: str  # NOT_SET | DIFFERENT | UNCHECKED
    overrides_login: bool  # a credential override while a login is stored
    files: str = ""  # where the start-up files set it (DIFFERENT), for the wording
    conditional: bool = False  # the files set it only under a condition


def stale(f: Facts) -> list[Stale]:
    """Every stale entry of every running server, servers in the order found, global entries first."""
    tmux = f.ev.tmux
    if tmux is None:
        return []
    stored = f.res.stored
    logged_in = stored is not None and stored.kind != "unreadable"
    env = f.ev.env_shell or {}
    found: list[Stale] = []
    for server in tmux.running():
        for v in server.variables:
            if v.value is None or not v.value:
                continue
            override = logged_in and v.name in CREDENTIAL_OVERRIDES
            if not f.ev.origin_scans:
                if override:
                    found.append(Stale(server, v, UNCHECKED, override))
                continue
            won = new_terminal_winner(f.ev.origin_scans, v.name, env, f.ev.platform)
            if won is None:
                found.append(Stale(server, v, NOT_SET, override))
            elif won.value is not None and won.value != v.value:
                found.append(Stale(server, v, DIFFERENT, override, won.where, won.conditional))
    return found


def check(f: Facts) -> Iterable[Finding]:
    by_server: dict[str, list[Stale]] = {}
    for s in stale(f):
        by_server.setdefault(str(s.server.socket), []).append(s)
    return [_finding(f, entries) for entries in by_server.values()]


def _finding(f: Facts, entries: Sequence[Stale]) -> Finding:
    server = entries[0].server
    socket = shell_quote(server.socket)
    names = _names(entries)
    overrides = _names([s for s in entries if s.overrides_login])
    if overrides:
        title = f"The tmux server '{server.socket.name}' re-injects {_join(overrides)} into new panes, overriding your login"
    else:
        title = f"The tmux server '{server.socket.name}' hands stale {_join(names)} to new panes"

    parts = [
        f"The tmux server on {server.socket} ({_server_words(server, f.now)}) gives every new pane, window and command it starts "
        "its own copy of the environment (its global environment overlaid with the session's), not the one your shell has now."
    ]
    groups: dict[tuple[str, str], list[Stale]] = {}
    for s in entries:
        groups.setdefault((_scope_words(s.variable), s.reason), []).append(s)
    last = ""
    for (scope, reason), group in groups.items():
        parts.append(_reason_sentence("It also" if scope == last else scope, reason, group))
        last = scope
    if overrides:
        stored = f.res.stored
        login = describe_login(stored, f.now) if stored is not None else "a stored login"
        effects = " and ".join(_OVERRIDE_WORDS.get(name, f"{name} is used instead of it") for name in overrides)
        them = "it" if len(overrides) == 1 else "them"
        parts.append(f"You have {login}; in every pane that gets {them}, {effects}, so signing in again changes nothing there.")
    parts.append("Panes opened before keep the value they started with until it is unset there or they are closed.")

    commands = [_unset_command(server, s.variable) for s in entries]
    removals = "; ".join(f"`{c}`" for c in commands)
    fish = user_shell(f.ev.env_shell or {}, f.ev.platform) == "fish"
    live = "; ".join(f"set -e {n}" for n in names) if fish else f"unset {' '.join(names)}"
    kill = f"tmux -S {socket} kill-server"
    summary = (
        f"Remove {'it' if len(commands) == 1 else 'them'} from the tmux server: `authdoctor fix {ID}` does it and keeps the old "
        f"value in its journal for `authdoctor undo` (or by hand: {removals}). Then, in panes already open, run "
        f"`{live}` (or close them and open new ones). Or start tmux afresh with `{kill}`, which closes every pane of that server "
        "and ends the programs running in them."
    )
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=title,
        detail=" ".join(parts),
        # The planner turns ``unsets_tmux`` into TmuxUnset changes (journaled, undoable).
        fix=Fix(summary=summary, automatic=True, commands=(*commands, live), unsets_tmux=tuple(_unset_key(s) for s in entries)),
        origins=tuple(_origin(s) for s in entries),
    )


def _names(entries: Iterable[Stale]) -> list[str]:
    return list(dict.fromkeys(s.variable.name for s in entries))


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def _server_words(server: TmuxServer, now: datetime) -> str:
    words = [f"pid {server.pid}" if server.pid is not None else "pid unknown"]
    if server.started is not None:
        when = f"{server.started:%Y-%m-%d %H:%M} UTC"
        # A start "in the future" is a clock that disagrees with tmux's: give the date alone.
        words.append(f"started {relative(server.started, now)}, {when}" if server.started <= now else f"started {when}")
    if server.current:
        words.append("this terminal runs inside it")
    return ", ".join(words)


def _scope_words(v: TmuxVariable) -> str:
    return "Its global environment" if v.session is None else f"Session '{v.session.name}'"


def _reason_sentence(scope: str, reason: str, group: Sequence[Stale]) -> str:
    names = _join(_names(group))
    one = len(group) == 1
    if reason == NOT_SET:
        return (
            f"{scope} holds {names}, which your start-up files do not set (any more): removing a line from a start-up file "
            f"does not reach a running tmux server, so every new pane still starts with {'that value' if one else 'those values'}."
        )
    if reason == DIFFERENT:
        where = ", ".join(dict.fromkeys(s.files for s in group if s.files))
        sentence = (
            f"{scope} holds {names} with a different value from the one your start-up files set ({where}): a shell that reads "
            f"them replaces {'it' if one else 'them'}, but commands tmux starts directly (`tmux new-window codex`, scripts, "
            "`run-shell`) keep tmux's value."
        )
        conditional = ", ".join(dict.fromkeys(s.files for s in group if s.conditional and s.files))
        if conditional:
            sentence += f" {conditional} sets it only under a condition, so even a new pane's shell may keep tmux's value."
        return sentence
    return f"{scope} holds {names}; whether your start-up files set the same value was not checked."


def _unset_command(server: TmuxServer, v: TmuxVariable) -> str:
    socket = shell_quote(server.socket)
    if v.session is None:
        return f"tmux -S {socket} set-environment -gu {v.name}"
    name = v.session.name
    target = name if name and all(c in _PLAIN for c in name) else v.session.id
    return f"tmux -S {socket} set-environment -t {_quoted(target)} -u {v.name}"


def _unset_key(s: Stale) -> tuple[str, str, str]:
    session = s.variable.session
    return (str(s.server.socket), session.id if session is not None else "", s.variable.name)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _origin(s: Stale) -> Origin:
    v = s.variable
    scope = "global environment" if v.session is None else f"environment of session '{v.session.name}'"
    why = {
        NOT_SET: "no start-up file sets it",
        DIFFERENT: f"start-up files set another value at {s.files}",
        UNCHECKED: "start-up files not checked",
    }[s.reason]
    return Origin(context="tmux", text=f"{v.name}={REDACTED} (tmux {scope}; {why})", path=str(s.server.socket))


def _applies(f: Facts) -> bool:
    """Only a check that read every server may say none is stale."""
    tmux = f.ev.tmux
    if tmux is None:
        return False
    from authdoctor.collect.tmux import UNREADABLE  # imported already: it made f.ev.tmux

    return tmux.problem is None and all(s.state != UNREADABLE for s in tmux.servers)


RULE = Rule(
    ID,
    check,
    "no running tmux server hands new panes a credential, endpoint, proxy or CA variable that your start-up files do not set the same way",
    _applies,
)
