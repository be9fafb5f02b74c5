"""Every tmux server of this user and the environment it hands to new panes.

What this relies on (checked with Debian's tmux 3.3a):

- A tmux server listens on a Unix socket.  Without ``-S``, tmux puts it in
  ``$TMUX_TMPDIR/tmux-<uid>/`` (``/tmp`` when TMUX_TMPDIR is unset or empty,
  the directory resolved with realpath), named ``default`` or after ``-L``.
  Inside tmux, ``$TMUX`` is ``<socket>,<server pid>,<session index>``: a
  server started with ``-S`` elsewhere is found only through it.
- A new pane gets *only* the server's global environment overlaid with its
  session's environment (an entry ``-NAME`` removes the variable), never the
  environment of the shell that runs ``tmux new-window``.  The global
  environment is copied from whatever started the server and changes only
  through ``set-environment``: removing a line from ``~/.zshrc`` does not reach
  it, so every new pane starts with the old value.  Panes already open keep the
  value they started with whatever tmux does.
- ``show-environment -s`` prints ``NAME="value"; export NAME;`` with ``$ ` " \\``
  escaped by a backslash (newlines are *not* escaped, so a value can span
  lines) and ``unset NAME;`` for a removal.  Because every ``"`` in a value is
  escaped, the first unescaped one ends the value: the output parses without
  ambiguity, which the plain ``NAME=value`` form does not (a value holding a
  newline and ``X=1`` reads like a second variable).
- One client invocation runs a whole command sequence (arguments ``;``
  separate commands) and prints each command's output in order; a failing
  command stops the rest.  ``display-message -p`` prints a literal line, which
  marks where one command's output ends.  ``#{pid}`` and ``#{start_time}``
  (seconds since the epoch) are the server's own pid and start time, known on
  every platform.  Session names are printed with control characters escaped,
  so one session is one line; session ids (``$3``) are exact targets.
- Querying never starts a server: only commands such as ``new-session`` do.  A
  socket whose server died answers ``no server running on …`` or ``error
  connecting to … (Connection refused)``: that server is simply not running.
- The server replaces control characters and non-ASCII bytes by ``_`` in what
  it prints for a client whose locale does not say UTF-8; ``tmux -u`` makes it
  print every byte as stored.
- The client hands its whole environment to the server when it connects, so
  it runs with a minimal one: the credentials in ours stay out of tmux.

Only the watched variables (credential overrides, base URL, CODEX_HOME,
proxies, CA bundles, workload identity) are kept, their values as
:class:`~authdoctor.secret.Secret`.  A check runs this (in a thread of its own)
only when collect/tmux_sockets.py finds a socket that does not refuse a
connection, or ``$TMUX`` names one; otherwise this module is not even imported.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.collect.tmux_sockets import answers, client_env, current_socket, is_socket, socket_folder
from authdoctor.host import Host
from authdoctor.secret import Secret, scrub

if TYPE_CHECKING:
    from authdoctor.host import RunResult

TIMEOUT = 1.0
WATCHED: frozenset[str] = frozenset((*K.WHERE_VARS, *K.WORKLOAD_IDENTITY_VARS))

# States of a server socket.
RUNNING = "running"
STALE = "stale"  # the socket file outlived its server
UNREADABLE = "unreadable"  # something answers (or may), but not with its environment: ``problem`` says why

GLOBAL = "global"
SESSION = "session"

# A server with more sessions than this is read only in part (the command line would grow without bound).
_MAX_SESSIONS = 256
# Markers printed by `display-message -p` between the commands of one sequence.
_SERVER = "authdoctor:server "
_SESSION = "authdoctor:session "
_ENVIRONMENT = "authdoctor:environment "


class TmuxSession(NamedTuple):
    id: str  # "$3": exact for the server's whole life, what a command should target
    name: str


class TmuxVariable(NamedTuple):
    """One entry of a server's global or session environment."""

    name: str
    value: Secret | None  # None: removed from new panes (``-NAME``: `set-environment -r`, or update-environment)
    session: TmuxSession | None = None  # None: the global environment

    @property
    def scope(self) -> str:
        return GLOBAL if self.session is None else SESSION


class TmuxServer(NamedTuple):
    socket: Path
    state: str  # RUNNING | STALE | UNREADABLE
    current: bool = False  # this terminal runs inside it ($TMUX names its socket)
    pid: int | None = None
    started: datetime | None = None
    sessions: tuple[TmuxSession, ...] = ()
    variables: tuple[TmuxVariable, ...] = ()  # watched variables only, global ones first
    problem: str | None = None  # why it (or part of it, e.g. the session environments) could not be read; plain words

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def global_variables(self) -> tuple[TmuxVariable, ...]:
        return tuple(v for v in self.variables if v.session is None)


class TmuxEvidence(NamedTuple):
    program: str  # the tmux binary that was asked
    servers: tuple[TmuxServer, ...]  # every socket found, dead ones too (state STALE)
    problem: str | None = None  # the socket directory itself could not be listed

    def running(self) -> tuple[TmuxServer, ...]:
        return tuple(s for s in self.servers if s.running)


def collect_tmux(host: Host) -> TmuxEvidence | None:
    """Every tmux server of this user; None when tmux is not installed or no server runs."""
    if host.uid is None or host.is_windows:
        return None
    current = current_socket(host)
    folder = socket_folder(host)
    problem: str | None = None
    try:
        entries = host.list_dir(folder)
    except FileNotFoundError:
        entries = []
    except OSError as exc:
        entries = []
        problem = f"the tmux socket folder {folder} cannot be listed ({exc.strerror or exc})"
    # tmux resolves the folder (macOS: /tmp is /private/tmp) and $TMUX names the resolved path.
    real = host.realpath(folder) if entries else folder
    sockets = [real / p.name for p in entries if is_socket(host, p)]
    if current is not None and current not in sockets and is_socket(host, current):
        sockets.append(current)
    if not sockets and problem is None:
        return None
    program = find_program(host)
    if program is None:
        return None
    servers = tuple(
        TmuxServer(s, STALE, s == current, problem=_left_over(s))
        if answers(s) is False
        else read_server(host, program, s, WATCHED, current=s == current)
        for s in sockets
    )
    if problem is None and not any(s.state != STALE for s in servers):
        return None
    return TmuxEvidence(program, servers, problem)


def find_program(host: Host) -> str | None:
    """``tmux`` on the PATH the person's shell would search."""
    for folder in host.env.get("PATH", "").split(os.pathsep):
        if not folder:
            continue
        candidate = Path(folder) / "tmux"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _left_over(socket: Path) -> str:
    return f"no tmux server runs on {socket} any more (the socket file is left over)"


def read_server(
    host: Host, program: str, socket: Path, names: frozenset[str], *, current: bool = False, sessions: bool = True
) -> TmuxServer:
    """Ask one server for its pid, start time, sessions and global environment (one invocation),
    then, with ``sessions``, for every session's environment (a second one)."""
    first = [
        *("display-message", "-p", f"{_SERVER}#{{pid}} #{{start_time}}", ";"),
        *("list-sessions", "-F", f"{_SESSION}#{{session_id}} #{{session_name}}", ";"),
        *("display-message", "-p", f"{_ENVIRONMENT}{GLOBAL}", ";"),
        *("show-environment", "-g", "-s"),
    ]
    res = _ask(host, program, socket, first)
    if res.returncode != 0:
        state, why = _failure(res, socket)
        return TmuxServer(socket, state, current, problem=why)
    out = _parse(res.stdout, names)
    server = TmuxServer(socket, RUNNING, current, out.pid, out.started, out.sessions, out.variables)
    if not sessions or not out.sessions:
        return server
    asked = out.sessions[:_MAX_SESSIONS]
    argv: list[str] = []
    for s in asked:
        argv += ["display-message", "-p", f"{_ENVIRONMENT}{s.id}", ";", "show-environment", "-s", "-t", s.id, ";"]
    res = _ask(host, program, socket, argv[:-1])
    more = _parse(res.stdout, names, sessions={s.id: s for s in asked})
    problem = None
    if res.returncode != 0:
        # A session can close between the two calls; what was read still stands.
        problem = "the environment of some sessions could not be read: " + _failure(res, socket)[1]
    elif len(out.sessions) > len(asked):
        problem = f"only the first {len(asked)} of {len(out.sessions)} sessions were read"
    return server._replace(variables=server.variables + more.variables, problem=problem)


def _ask(host: Host, program: str, socket: Path, commands: list[str]) -> RunResult:
    env = client_env(host)
    # -u: the server sends a client it believes not UTF-8 capable every control
    # character and non-ASCII byte as "_"; with it, values arrive byte for byte.
    return host.run([program, "-u", "-S", str(socket), *commands], timeout=TIMEOUT, env=env)


def _failure(res: RunResult, socket: Path) -> tuple[str, str]:
    """(state, plain words) for a client that did not answer."""
    if res.timed_out:
        return UNREADABLE, f"the tmux server on {socket} did not answer within {TIMEOUT:g} s (it may be stopped or busy)"
    if res.returncode is None:
        return UNREADABLE, res.error or "tmux could not be started"
    err = res.stderr.decode("utf-8", "replace").strip()
    if "no server running" in err or ("error connecting" in err and ("No such file" in err or "Connection refused" in err)):
        return STALE, _left_over(socket)
    first = err.splitlines()[0] if err else f"exit status {res.returncode}"
    return UNREADABLE, f"tmux said: {scrub(first)[:200]}"


class _Output(NamedTuple):
    pid: int | None
    started: datetime | None
    sessions: tuple[TmuxSession, ...]
    variables: tuple[TmuxVariable, ...]


def _parse(data: bytes, names: frozenset[str], sessions: dict[str, TmuxSession] | None = None) -> _Output:
    """Markers, session lines and ``show-environment`` entries, in the order tmux printed them.

    The ``-s`` form is read first at every position, so a value spanning lines
    is taken whole; the plain form (``NAME=value``, ``-NAME``) is accepted too.
    """
    import re

    entry = re.compile(r'([^=\n]+)="((?:[^"\\]|\\.)*)"; export \1;(?:\n|\Z)', re.DOTALL)
    removal = re.compile(r"unset ([^;\n]+);(?:\n|\Z)")
    # surrogateescape: the same bytes as os.environ holds, so values compare equal.
    text = data.decode("utf-8", "surrogateescape")
    pid: int | None = None
    started: datetime | None = None
    listed: list[TmuxSession] = []
    found: list[TmuxVariable] = []
    # Whose environment the entries belong to: None is the global one.  Reading sessions,
    # entries before the first marker or under one naming a session we did not ask
    # about are dropped, never misfiled as global.
    scope: TmuxSession | None = None
    keep = sessions is None
    pos = 0
    while pos < len(text):
        m = entry.match(text, pos) or removal.match(text, pos)
        if m is not None:
            pos = m.end()
            name = m.group(1)
            if keep and name in names:
                value = Secret(re.sub(r"\\(.)", r"\1", m.group(2), flags=re.DOTALL)) if m.re is entry else None
                found.append(TmuxVariable(name, value, scope))
            continue
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line, pos = text[pos:end], end + 1
        if line.startswith(_SERVER):
            fields = line[len(_SERVER) :].split()
            pid = int(fields[0]) if fields and fields[0].isdigit() else None
            started = _epoch(fields[1]) if len(fields) > 1 else None
        elif line.startswith(_SESSION):
            sid, _, label = line[len(_SESSION) :].partition(" ")
            if sid.startswith("$") and sid[1:].isdigit():
                listed.append(TmuxSession(sid, label))
        elif line.startswith(_ENVIRONMENT):
            key = line[len(_ENVIRONMENT) :]
            scope = None if sessions is None else sessions.get(key)
            keep = key == GLOBAL if sessions is None else scope is not None
        elif not keep:
            continue
        elif line.startswith("-"):
            if line[1:] in names:
                found.append(TmuxVariable(line[1:], None, scope))
        else:
            name, sep, raw = line.partition("=")
            if sep and name in names:
                found.append(TmuxVariable(name, Secret(raw), scope))
    return _Output(pid, started, tuple(listed), tuple(found))


def _epoch(raw: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError):
        return None
