"""The dynamic trace: run the user's real shell on its real start-up files and watch what it sets.

Static reading cannot see ``eval "$(…)"``, exports a program generates, or which
branch of a conditional runs.  The tracer starts a fresh shell the way a terminal
would (login and interactive by default, no terminal, stdin closed, under a
timeout) with ``xtrace`` on and a ``PS4`` that prefixes every traced command with
its file and line, and reads that trace as a stream:

- every assignment, export or unset of a watched variable becomes a
  :class:`Setting` (family ``"trace"``), placed on the line a person can act on --
  for code that an ``eval`` or a ``source <(…)`` produced, that eval/source line;
- the last line run is remembered, so a start-up file that hangs, exits, crashes
  or ``exec``s another program is reported with its file and line;
- everything else is dropped as soon as it is read.  The trace prints every
  value, secrets included, so it is never stored: values of watched variables go
  straight into :class:`Secret` and ``Setting.text`` is redacted.

The command the traced shell finally runs reports each watched variable's final
exported value (with shell builtins only, so it costs no extra process).  That
checks our reading of the trace: where the two disagree, the final value wins
and a ``trace-mismatch`` note says so.

**The root pitfall.**  bash >= 4.4 does not take ``PS4`` from the environment when
it runs as root (bash CHANGES, 4.4-rc1: PS4 expansion could run command
substitutions with root's privileges), so as root a real ``bash -lic`` cannot be
made to print file:line.  We then *emulate* the start-up: ``bash --noprofile
--norc [-i] -c SCRIPT`` where SCRIPT sets ``PS4``, turns on xtrace and sources
the same files, in the same order, with the same first-readable-of rule that a
real bash uses.  What differs from a real login shell: ``shopt login_shell`` is
off, ``$0`` is ``-bash`` but the shell was not started by ``login``, and
``/etc/bash.bashrc`` is read for interactive shells when it exists (Debian and
Arch compile that in; elsewhere no such file exists).  zsh takes ``PS4`` from the
environment as root (verified with zsh 5.9), so zsh always runs for real.

**ksh93 is always emulated.**  ksh93 takes ``PS4`` from the environment, even
as root, but a real login start-up numbers lines wrongly after a ``.``: the
sourced file's lines are offset by the line of the ``.`` and the caller's later
lines by the sourced file's length (ksh93u+m 1.0.4 reads profiles with one line
counter).  So ``ksh [-i] -c SCRIPT`` sources ``/etc/profile``,
``$HOME/.profile``, ``/etc/ksh.kshrc`` and the file ``$ENV`` names (after
parameter expansion; ``$HOME/.kshrc`` by default), in that order, with
``${.sh.subshell}``, ``${.sh.level}`` (dot scripts and function calls),
``${LINENO}`` and ``${.sh.file}`` in PS4.  ksh93 does not count ``eval`` in any
of these and numbers an eval's commands from its own text, so the reader keeps
the eval'd text and decides, record by record, whether a command came from it
(see :class:`_KshReader`).  What differs from a real login, measured with the
real shell: a real start-up reads its top-level files command by command while
``.`` parses a whole file first, so an alias defined in ``~/.profile`` is not
yet in effect further down that same file, and a syntax error skips the whole
file instead of its rest; in an interactive shell a failing special built-in
ends the whole start-up file instead of only its command (except ``.`` of a
file that cannot be read, see :func:`_ksh_plan`); ``-o login_shell`` is off.
``functrace`` is turned on so the bodies of ``function name { …; }``
functions are traced too (ksh93u+m).
The emulating shell gets ``ENV=/./dev/null`` (reads nothing) and
``HISTFILE=/dev/null`` (the script never lands in the person's history), and
puts back the person's ``ENV`` (or ksh's default) before anything runs.  dash
cannot be traced with file names (no file in its xtrace, no ``LINENO`` in PS4).

What the trace cannot see: a value set by a builtin that is not an assignment
(``read``, ``printf -v``), a ``declare -x`` local to a bash function (bash's
depth does not count calls, and ``${FUNCNAME}`` in PS4 costs too much), and
anything after a start-up file turns zsh's PROMPT_SUBST off (our subshell
marker then stays unexpanded), or anything zsh or ksh run with their stderr
redirected (``{ …; } 2>/dev/null``: the trace goes there too).  The final
values catch all of these.

Cost: xtrace itself is most of it -- every traced command expands PS4 and
writes a line (on Debian, zsh's own ``-x`` already adds about 30 % to a login
start-up, bash's about 10-20 %).  The reader keeps its share small by reading
in Python only the few records that matter and finding them with C searches
(for ksh, every record while an eval may still be running).  ksh's emulated,
traced start-up takes about twice as long as a bare ``ksh -lic exit``
(400 lines of start-up files, this machine; the emulation alone about 1.2x).

This module starts processes itself instead of through ``Host.run``: the trace
must be read as it is written (it can be tens of MiB for oh-my-zsh, and must be
bounded), and bash writes it to an extra file descriptor that ``Host.run`` cannot
pass.  It still uses only the Host's environment, home and file reads.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.collect.origins.model import EXPORT, SET, UNSET, OriginScan, ScanNote, Setting, Trail, winner
from authdoctor.secret import Secret

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterable

    from authdoctor.host import Host

SOURCE_NAME = "shell trace"
FAMILY = "trace"
SHELLS = ("bash", "zsh", "ksh")
# A shell program's name -> the kind of shell we trace it as.  The other Korn
# shells have no ${.sh.file}: the ksh script notices and says so in a note.
_KINDS = {"bash": "bash", "zsh": "zsh", "ksh": "ksh", "ksh93": "ksh", "mksh": "ksh", "lksh": "ksh", "pdksh": "ksh", "oksh": "ksh"}
LOGIN_INTERACTIVE = "login+interactive"
INTERACTIVE = "interactive"
LOGIN = "login"
MODES = (LOGIN_INTERACTIVE, INTERACTIVE, LOGIN)
DEFAULT_TIMEOUT = 10.0

# oh-my-zsh with plugins traces a few MiB; far beyond that something loops.
MAX_TRACE_BYTES = 64 * 1024 * 1024
# One traced command longer than this (a huge function call, a giant PATH) is
# not a credential assignment: its text is dropped, its file:line kept.
MAX_RECORD_BYTES = 256 * 1024
# After the shell exits, how long a background child may keep our pipe open.
_DRAIN_SECONDS = 1.0
# How often the pipe is emptied while the shell runs.
_BATCH_SECONDS = 0.01
# The fd bash writes its trace to (BASH_XTRACEFD): above the 3-9 that start-up
# files use for their own redirections, and above the shells' own >= 10 range.
_TRACE_FD_MIN = 60
_CHUNK = 64 * 1024

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\+?)=(.*)\Z", re.DOTALL)
# A program name we may repeat in a note (never a word that could be a value).
_PROGRAM_RE = re.compile(r"[A-Za-z0-9_./+-]{1,64}\Z")
_GENERATED_RE = re.compile(r"/dev/fd/\d+|/proc/(self|\d+)/fd/\d+|/dev/stdin")
# Host variables a fresh login would also have.  Never the watched ones: the
# trace must show what start-up files set, not what this terminal inherited.
_KEEP_VARS = ("HOME", "PATH", "USER", "LOGNAME", "SHELL", "LANG", "ZDOTDIR", "TMPDIR")
_KEEP_PREFIXES = ("XDG_", "LC_")
_DECLARE = frozenset({"export", "declare", "typeset", "readonly", "local"})
# What of an unread tail is kept when no record starts in it: room for a marker and bash's '+'s.
_SEAM = 256
# Records worth reading beyond their header (besides those naming a watched
# variable): they open an eval/source level, change allexport, may end the
# shell, list a file zsh reads, or carry our final report.
_COMMANDS_RE = re.compile(rb"\x1f (?:eval(?![^ \n])|source |\. |set |setopt |unsetopt |exit|logout|exec|<sourcetrace>)")


# --- public API ----------------------------------------------------------------------


def shell_kind(shell: str) -> str | None:
    """The kind of shell (one of :data:`SHELLS`) a shell name or path is traced as, or None."""
    return _KINDS.get(Path(shell).name)


# `exec` (ksh93: also `redirect`) with a redirection of fd 2: `2>`, `2>>`, `&>`, or `>&file` (not `>&1`).
_STDERR_EXEC = {
    kind: re.compile(rb"(?m)^[^#\n]*\b(?:" + builtins + rb")\b(?:[^\n;|&]|&(?!&))*?(?:\b2>|&>|>&(?![0-9-]))")
    for kind, builtins in (("zsh", rb"exec"), ("ksh", rb"exec|redirect"))
}
# A name no start-up file mentions: the static scan then lists the files read without parsing any.
_NO_NAME = frozenset({"AUTHDOCTOR_STDERR_GUARD_"})


def stderr_redirect(host: Host, kind: str, files: Iterable[Path] | None = None) -> Path | None:
    """A start-up file that redirects the shell's own stderr (``exec 2>…``), for shells that trace to stderr.

    Checks the main start-up files of ``kind`` (zsh or ksh; None for any other
    kind) and every file in ``files``.  When ``files`` is None it asks the static
    scan (:class:`PosixShellSource`) which files that shell reads -- including
    the ones they source -- which costs a few milliseconds and no process.
    """
    pattern = _STDERR_EXEC.get(kind)  # the shells whose trace goes to stderr (bash has its own descriptor)
    if pattern is None:
        return None
    home = Path(host.home)
    if kind == "zsh":
        zdotdir = Path(host.env.get("ZDOTDIR") or home)
        candidates = [Path("/etc/zsh") / n for n in ("zshenv", "zprofile", "zshrc", "zlogin")]
        candidates += [zdotdir / n for n in (".zshenv", ".zprofile", ".zshrc", ".zlogin")]
    else:
        candidates = [Path("/etc/profile"), home / ".profile", Path("/etc/ksh.kshrc"), home / ".kshrc"]
    extra = list(files) if files is not None else []
    if files is None:
        from authdoctor.collect.origins.posix import PosixShellSource

        scan = PosixShellSource(shells=(kind,)).scan(host, _NO_NAME)
        extra = [f for trail in scan.trails for f in trail.files]
    seen: set[Path] = set()
    for path in [*candidates, *extra]:
        if path in seen:
            continue
        seen.add(path)
        try:
            data = host.read_bytes(host.path(path))
        except (OSError, ValueError):
            continue
        if pattern.search(data):
            return path
    return None


def trace_shell(
    host: Host,
    shell: str,
    mode: str,
    names: frozenset[str],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    emulate: bool | None = None,
) -> OriginScan:
    """Start ``shell`` (bash, zsh or ksh93, a name or a path) in ``mode`` on the host's start-up files and trace it.

    ``emulate`` forces (True) or forbids (False) the bash root emulation; by
    default it is used exactly when bash would ignore PS4 (running as root).
    ksh is always emulated (see the module docstring), so ``emulate=False`` is
    an error for it.
    """
    if mode not in MODES:
        raise ValueError(f"unknown trace mode {mode!r}; expected one of {', '.join(MODES)}")
    kind = shell_kind(shell)
    if kind is None:
        raise ValueError(f"cannot trace {Path(shell).name!r}; expected one of {', '.join(SHELLS)}")
    if kind == "ksh" and emulate is False:
        raise ValueError("ksh's start-up is always emulated: a real ksh93 login numbers lines wrongly after `.`")
    watched = frozenset(n for n in names if _NAME_RE.match(n))
    context = f"{kind} {mode} shell (traced)"
    if not watched:
        return OriginScan(SOURCE_NAME, (Trail(context, ()),))
    env = trace_env(host, kind, shell)
    path = shell if os.sep in shell else shutil.which(shell, path=env.get("PATH") or os.defpath)
    if not path or host.stat(Path(path)) is None:
        note = ScanNote(Path(shell), "missing", f"{kind} is not installed here (not found on PATH), so its start-up was not traced")
        return OriginScan(SOURCE_NAME, (Trail(context, ()),), (note,))
    if emulate is None:
        emulate = kind == "ksh" or (kind == "bash" and _running_as_root(host))
    nonce = os.urandom(4).hex()
    plan = _plan(kind, path, mode, watched, env, nonce, emulate)
    return _execute(host, plan, watched, timeout, context)


def trace_env(host: Host, kind: str, shell: str) -> dict[str, str]:
    """The environment a fresh login would start from: a few host variables, nothing watched."""
    env = {k: v for k, v in host.env.items() if k in _KEEP_VARS or k.startswith(_KEEP_PREFIXES)}
    env["HOME"] = str(host.home)
    env["TERM"] = "dumb"
    # A login sets SHELL to the shell it starts; keep the host's spelling when it names this shell.
    if shell_kind(env.get("SHELL", "")) != kind:
        env["SHELL"] = shell
    if kind in ("ksh", "sh", "dash") and "ENV" in host.env:
        # ksh and sh read the file $ENV names, as inherited (like zsh's ZDOTDIR); bash and zsh ignore it.
        env["ENV"] = host.env["ENV"]
    env.setdefault("PATH", os.defpath)
    return env


# --- what to run ---------------------------------------------------------------------


class _Plan(NamedTuple):
    kind: str  # "bash" | "zsh" | "ksh"
    argv: tuple[str, ...]
    env: dict[str, str]
    start: bytes  # record start marker (PS4 begins with it)
    emulated: bool
    trace_fd: int | None  # bash: the fd the trace goes to (set in env/script); zsh, ksh: None = stderr
    # Files a real bash reads by itself (no `.` line names them): listed even when nothing in them matters.
    startup_files: tuple[str, ...] = ()


def _running_as_root(host: Host) -> bool:
    geteuid = getattr(os, "geteuid", None)
    return host.uid == 0 or (geteuid is not None and geteuid() == 0)


def _plan(kind: str, path: str, mode: str, names: frozenset[str], env: dict[str, str], nonce: str, emulate: bool) -> _Plan:
    # A record starts with RS (0x1e) and a fresh random nonce; US (0x1f) ends
    # a header field.  Both shells print PS4 as is but quote control
    # characters in the traced words ($'\036', $'\C-^'), so no value can fake
    # a header; the nonce guards against start-up files printing to zsh's
    # stderr.  Nothing in PS4 runs anything (no $(…), `…`): it is expanded
    # for every traced command (the reason bash ignores it as root at all).
    if not re.fullmatch(r"[0-9a-f]{8}", nonce):
        raise ValueError("the nonce is 8 lowercase hex digits")
    start, field_end = f"\x1e{nonce}", "\x1f"
    login = mode in (LOGIN_INTERACTIVE, LOGIN)
    interactive = mode in (LOGIN_INTERACTIVE, INTERACTIVE)
    env = dict(env)
    names_list = " ".join(sorted(names))
    if kind == "zsh":
        # %e: eval/function/source depth; %I and %x: line and file of the code
        # itself (right inside functions and eval too).  No prompt escape tells
        # a subshell apart, so PROMPT_SUBST is turned on for ${ZSH_SUBSHELL} (a
        # plain parameter: nothing runs).  SOURCE_TRACE adds one line per file
        # read, so files that only define functions are listed too.  Every
        # escape costs time on every traced line: this is the minimum.
        env["PS4"] = f"{start}${{ZSH_SUBSHELL:-0}},%e,%I{field_end}%x{field_end} "
        final = _zsh_final(start, names_list)
        flags = "-" + ("l" if login else "") + ("i" if interactive else "") + "xc"
        argv = (path, "-o", "promptsubst", "-o", "sourcetrace", flags, final)
        return _Plan(kind, argv, env, start.encode(), False, None)
    if kind == "ksh":
        return _ksh_plan(path, login, interactive, names_list, env, start)
    # bash: '+' is repeated once per eval/source/command-substitution level.
    # The ${…-} defaults keep `set -u` in a start-up file from breaking PS4.
    # $$ tells our shell's lines from those of a child bash script that runs
    # `set -x` with the exported PS4.  Every expansion costs time on every
    # traced line (${FUNCNAME[0]} alone about 5 % of a start-up): this is the minimum.
    ps4 = f"+{start}${{LINENO}},${{BASH_SUBSHELL}},$${field_end}${{BASH_SOURCE[0]-}}{field_end} "
    fd = -1  # replaced by the real descriptor number when the pipe exists
    final = _bash_final(start, names_list)
    argv0 = "-bash" if login else "bash"
    if not emulate:
        env["PS4"] = ps4
        env["BASH_XTRACEFD"] = "{fd}"
        flags = "-" + ("l" if login else "") + ("i" if interactive else "") + "xc"
        return _Plan(kind, (path, flags, final), env, start.encode(), False, fd, _bash_startup_files(env["HOME"], login, interactive))
    lines = ["BASH_XTRACEFD={fd}", f"PS4='{ps4}'", "\\builtin set -x"]
    if login:
        lines.append("if [ -r /etc/profile ]; then . /etc/profile; fi")
        lines.append(
            'if [ -r "$HOME/.bash_profile" ]; then . "$HOME/.bash_profile";'
            ' elif [ -r "$HOME/.bash_login" ]; then . "$HOME/.bash_login";'
            ' elif [ -r "$HOME/.profile" ]; then . "$HOME/.profile"; fi'
        )
    else:
        # Debian and Arch build bash to read /etc/bash.bashrc; where it is not
        # compiled in, the file does not exist either.
        lines.append("if [ -r /etc/bash.bashrc ]; then . /etc/bash.bashrc; fi")
        lines.append('if [ -r "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi')
    lines.append(final)
    argv = (path, "--noprofile", "--norc", *(("-i",) if interactive else ()), "-c", "\n".join(lines), argv0)
    return _Plan(kind, argv, env, start.encode(), True, fd)


def _ksh_plan(path: str, login: bool, interactive: bool, names_list: str, env: dict[str, str], start: str) -> _Plan:
    """ksh93, emulated: the start-up files a real ``ksh -l -i`` reads, sourced in order under xtrace.

    Everything after the prologue is one compound command, parsed before any
    start-up file runs: aliases and functions those files define cannot change
    it, and an interactive ksh writes it to its history only once, while
    HISTFILE is still /dev/null (a start-up file that sets HISTFILE reopens
    the history for every later top-level command).
    """
    # Subshell, level (dot scripts and function calls), line, file: the same
    # fields in the same order as zsh's header.  Plain parameters, nothing runs.
    ps4 = f"{start}${{.sh.subshell}},${{.sh.level}},${{LINENO}}\x1f${{.sh.file}}\x1f "
    user_env = env.get("ENV")
    env["ENV"] = "/./dev/null"  # read nothing at start-up, not even /etc/ksh.kshrc (a /./ prefix skips it)
    env["HISTFILE"] = "/dev/null"
    prologue = [
        # mksh and pdksh have no ${.sh.…}: say so rather than trace nonsense.
        f"case ${{KSH_VERSION-}} in *93*) ;; *) printf '%s' '{start}N' >&2; exit 97;; esac",
        "unset HISTFILE",
        # What a real ksh has: the inherited $ENV, or its default (set at start-up, not exported;
        # `unset` drops the export: `typeset +x ENV` instead crashes ksh93u+m 1.0.4 here).
        f"ENV={_sh_quote(user_env)}" if user_env is not None else 'unset ENV; ENV="$HOME/.kshrc"',
        # ksh93u+m: `function name { …; }` bodies inherit xtrace (older ksh93 has no such option).
        "command set -o functrace 2>/dev/null || :",
        f"PS4='{ps4}'",
    ]
    # A real ksh reads its top-level start-up files command by command: an
    # error in a special built-in ends only that command (and, when it was a
    # `.`, the files it was reading) in an interactive shell, and the whole file
    # in a non-interactive one.  `command .` gives the latter; for interactive
    # shells `.` is aliased to `command .` while a top-level file is parsed
    # (ksh parses a dot script whole before running it), and the first `.` that
    # runs removes the alias, so files sourced from there on are read as ksh
    # reads them.  An error in a special built-in other than `.` still ends the
    # whole top-level file here.
    dot = "alias .='command ${ unalias .; }.'; " if interactive else ""
    body = ["set -x"]
    # `|| :`: errexit does not apply inside (a real ksh ignores -e while reading profiles),
    # and `command` keeps an error in a start-up file from ending the shell.
    if login:
        body.append(f"if [ -r /etc/profile ]; then {dot}command . /etc/profile || :; fi")
        body.append(f'if [ -r "$HOME/.profile" ]; then {dot}command . "$HOME/.profile" || :; fi')
    if interactive:
        # ksh93(1) Invocation: $ENV after parameter expansion, command
        # substitution and arithmetic expansion (and, measured, a leading
        # tilde); /etc/ksh.kshrc first unless
        # that name starts with /./ or ././ (1.0.4 reads it for an empty ENV
        # too); a name without a slash is opened relative to the working
        # directory, never searched for in PATH as `.` would.
        body.append(r'__ad_rc=; if [ -n "${ENV+x}" ]; then eval "__ad_rc=\"${ENV//\"/\\\"}\""; fi')
        body.append("case $__ad_rc in '~'|'~/'*) __ad_rc=$HOME${__ad_rc#'~'};; esac")  # a tilde expands too
        body.append(f"case $__ad_rc in /./*|././*) ;; *) if [ -r /etc/ksh.kshrc ]; then {dot}command . /etc/ksh.kshrc || :; fi;; esac")
        body.append("case $__ad_rc in ''|*/*) ;; *) __ad_rc=./$__ad_rc;; esac")
        body.append(f'if [ -r "$__ad_rc" ] && [ ! -d "$__ad_rc" ]; then {dot}command . "$__ad_rc" || :; fi')
    body.append(_ksh_final(start, names_list))
    script = "\n".join([*prologue, "{", *body, "}"])
    argv = (path, *(("-i",) if interactive else ()), "-c", script, "-ksh" if login else "ksh")
    return _Plan("ksh", argv, env, start.encode(), True, None)


def _ksh_final(start: str, names_list: str) -> str:
    # `typeset -p` quotes values the way xtrace does ($'…' for newlines and
    # control characters, \xHH for bytes that are not text): exact, and builtins only.
    return (
        "set +eux; unset __ad_rc; unalias .\n"
        f"{{ command print -rn -- '{start}R'; for __ad_n in {names_list}; do command typeset -p \"$__ad_n\"; done;"
        f" command print -rn -- '{start}E'; }} >&2"
    )


def _sh_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _bash_startup_files(home: str, login: bool, interactive: bool) -> tuple[str, ...]:
    """What bash may read at start-up by itself (bash(1) INVOCATION); of the profiles, the reader lists the first that exists."""
    if login:
        return ("/etc/profile", *(f"{home}/{name}" for name in (".bash_profile", ".bash_login", ".profile")))
    if interactive:
        return ("/etc/bash.bashrc", f"{home}/.bashrc")
    return ()


def _bash_final(start: str, names_list: str) -> str:
    # ${!n@a} (attributes) needs bash 4.4; older bash (macOS /bin/bash 3.2)
    # falls back to one `env`.  The new syntax sits inside eval so an old bash
    # never has to parse it.
    probe = (
        f"for __ad_n in {names_list}; do"
        ' [[ ${!__ad_n@a} == *x* && -n ${!__ad_n+1} ]] && \\builtin printf "%s\\0%s\\0" "$__ad_n" "${!__ad_n}"; done'
    )
    return (
        "\\builtin set +eux\n"
        "if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 404)); then"
        f" \\builtin printf '%s' '{start}R'; \\builtin eval '{probe}';"
        f" else \\builtin printf '%s' '{start}V'; \\command env; fi >&{{fd}}\n"
        f"\\builtin printf '%s' '{start}E' >&{{fd}}"
    )


def _zsh_final(start: str, names_list: str) -> str:
    return (
        "\\builtin set +xu\n"
        f"{{ \\builtin print -rn -- '{start}R'; for __ad_n in {names_list}; do"
        " [[ ${(tP)__ad_n} == *export* ]] && (( ${(P)+__ad_n} )) &&"
        " \\builtin print -rn -- \"$__ad_n\"$'\\0'\"${(P)__ad_n}\"$'\\0'; done;"
        f" \\builtin print -rn -- '{start}E'; }} >&2"
    )


# --- running it ----------------------------------------------------------------------


class _Outcome(NamedTuple):
    returncode: int | None
    timed_out: bool = False
    too_large: bool = False
    error: str | None = None


def _execute(host: Host, plan: _Plan, names: frozenset[str], timeout: float, context: str) -> OriginScan:
    reader = _KshReader(host, plan, names) if plan.kind == "ksh" else _TraceReader(host, plan, names)
    outcome = _run(plan, host, timeout, reader)
    reader.close()
    notes = reader.notes(outcome, timeout)
    return OriginScan(SOURCE_NAME, (Trail(context, tuple(reader.settings), tuple(reader.files)),), tuple(notes))


def _run(plan: _Plan, host: Host, timeout: float, reader: _TraceReader) -> _Outcome:
    """Start the shell and feed its trace to ``reader`` as it arrives, within ``timeout`` and the size cap."""
    import fcntl
    import subprocess

    read_fd, write_fd = os.pipe()
    extra_fd: int | None = None
    try:
        if plan.trace_fd is not None:
            extra_fd = fcntl.fcntl(write_fd, fcntl.F_DUPFD, _TRACE_FD_MIN)
            fd_text = str(extra_fd)
            argv = [a.replace("{fd}", fd_text) for a in plan.argv]
            env = {k: v.replace("{fd}", fd_text) if k == "BASH_XTRACEFD" else v for k, v in plan.env.items()}
        else:
            argv, env = list(plan.argv), dict(plan.env)
        home = host.home
        proc = host.spawn(
            argv,
            env=env,
            cwd=home if home.is_dir() else None,
            stderr=write_fd if extra_fd is None else None,
            pass_fds=(extra_fd,) if extra_fd is not None else (),
        )
    except (OSError, ValueError) as exc:
        os.close(read_fd)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "an argument or variable is not valid"
        return _Outcome(None, error=f"could not start {plan.kind}: {reason}")
    finally:
        os.close(write_fd)
        if extra_fd is not None:
            os.close(extra_fd)
    reader.pid = proc.pid
    deadline = time.monotonic() + timeout
    try:
        timed_out, too_large, lingering = _pump(proc, read_fd, deadline, reader)
        if not (timed_out or too_large or lingering):
            # The trace ended (or the shell closed it): the shell still gets the rest of its time.
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
    except BaseException:
        _kill_session(proc)  # never leave the user's start-up code running behind us
        raise
    finally:
        os.close(read_fd)
    if timed_out or too_large or lingering:
        _kill_session(proc)
    returncode = proc.wait()
    # A shell that exited on its own, even while a child still held the pipe, has a real status.
    return _Outcome(None if timed_out or too_large else returncode, timed_out, too_large)


def _pump(proc: subprocess.Popen[bytes], read_fd: int, deadline: float, reader: _TraceReader) -> tuple[bool, bool, bool]:
    """Move the trace from the pipe to the reader: (timed out, too large, a child kept the pipe open)."""
    import selectors

    total = 0
    drain_until: float | None = None
    # Waking up for every trace line (one write each) costs more than the
    # parsing: a big pipe buffer lets the shell run on, and we wake up when it
    # exits (a pidfd, Linux) or every few milliseconds to empty the pipe.
    _grow_pipe(read_fd)
    os.set_blocking(read_fd, False)
    pidfd = _pidfd(proc.pid)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(pidfd if pidfd is not None else read_fd, selectors.EVENT_READ)
            while True:
                now = time.monotonic()
                if drain_until is None and proc.poll() is not None:
                    drain_until = now + _DRAIN_SECONDS
                    if pidfd is not None:  # from now on, wait for the end of the trace itself
                        sel.unregister(pidfd)
                        sel.register(read_fd, selectors.EVENT_READ)
                        _close(pidfd)
                        pidfd = None
                limit = deadline if drain_until is None else min(deadline, drain_until)
                if now >= limit:
                    timed_out = drain_until is None or now >= deadline
                    return timed_out, False, not timed_out
                sel.select(min(limit - now, _BATCH_SECONDS if pidfd is not None else 0.2))
                while True:
                    try:
                        data = os.read(read_fd, _CHUNK)
                    except BlockingIOError:
                        break
                    if not data:
                        return False, False, False
                    total += len(data)
                    if total > MAX_TRACE_BYTES:
                        return False, True, False
                    reader.feed(data)
                if pidfd is None and drain_until is None:
                    time.sleep(_BATCH_SECONDS / 10)  # let the shell write a batch before the next wake-up
    finally:
        _close(pidfd)


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    """Kill the shell and whatever its start-up files started (its own session and process group)."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


# --- reading the trace ---------------------------------------------------------------


class _Frame(NamedTuple):
    """What we keep of a traced command: where it ran and what kind it was -- never its text."""

    file: str
    line: int
    kind: str  # "eval" | "source" | ""


class _Op(NamedTuple):
    """One change to a watched variable, parsed from a traced command."""

    op: str  # "assign" | "export" | "unexport" | "unset"
    name: str
    value: Secret | None = None
    append: bool = False
    exports: bool = False  # the statement itself exports (export, declare -x)
    text: str = ""


class _State(NamedTuple):
    exported: bool  # has the export attribute
    value: Secret | None  # None: unset


class _Where(NamedTuple):
    path: Path
    line: int
    blocker: str | None
    chain: tuple[Path, ...]
    system: bool  # outside the home (and ZDOTDIR): not the person's own file


class _Held(NamedTuple):
    key: tuple[int, str, int]
    ops: list[_Op]
    where: _Where


class _Last(NamedTuple):
    """The last command the person's start-up ran (kept only until the next one, to name where it stopped)."""

    depth: int
    raw: bytes


class _TraceReader:
    """Turns the trace stream into settings, holding only a bounded window of unread bytes.

    Most traced commands matter only for the nesting they close.  Each batch of
    complete records is searched in C (``bytes.find``, ``re``) for the few that
    matter -- a watched name, eval/source, set/setopt, exit/exec, our report --
    and only those are read in Python; whether a level opened by an eval or a
    source has closed since is one regex search per open level and batch.
    """

    # The tags of our final report (and of the ksh93 check) after the nonce.
    _tags: tuple[bytes, ...] = (b"R", b"V", b"E")

    def __init__(self, host: Host, plan: _Plan, names: frozenset[str]) -> None:
        self.host = host
        self.kind = plan.kind
        self.emulated = plan.emulated
        self.start = plan.start
        self.names = names
        self._bash = plan.kind == "bash"
        self._header = _HEADERS[plan.kind]
        self._commands = _COMMANDS_RE
        self._names = sorted({n.encode() for n in names})
        self._watch = re.compile(b"|".join(re.escape(n) for n in sorted(self._names, key=len, reverse=True)))
        self._pid = b""
        self.settings: list[Setting] = []
        self.files: list[Path] = []
        self.final: dict[str, Secret] = {}
        self.complete = False  # the final report arrived: the start-up ran to its end
        self._buf = bytearray()
        self._synced = False  # the buffer starts at a record (bash: at its '+'s)
        # Levels opened by eval/source, by depth, and from where in the buffer
        # on nothing has been checked for closing them yet.
        self._stack: list[_Frame | None] = []
        self._unchecked: dict[int, int] = {}
        self._closers: dict[int, re.Pattern[bytes]] = {}
        self._paths: dict[str, tuple[Path, bool]] = {}
        self._seen_files: set[bytes] = set()
        self._state: dict[str, _State] = {}
        self._allexport = False
        # bash 5 traces `export X=v` and then the assignment `X=v` again: skip that echo.
        self._echo: list[str] = []
        self._echo_key: tuple[int, str, int] | None = None
        self._held: _Held | None = None
        self._last: _Last | None = None
        self._lines_cache: dict[Path, list[bytes] | None] = {}
        self._startup_files = plan.startup_files

    @property
    def pid(self) -> int:
        return _int(self._pid)

    @pid.setter
    def pid(self, value: int) -> None:
        self._pid = str(value).encode()
        self._closers.clear()

    # -- the byte stream --------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Read the records that are complete (the next one has begun); keep the rest for later."""
        buf = self._buf
        buf += data
        mark = self.start
        if not self._synced:
            i = buf.find(mark)
            if i < 0:
                del buf[: max(0, len(buf) - _SEAM)]  # text before the first record
                return
            del buf[: i - self._pluses(buf, i)]
            buf[0:0] = b"\n"
            self._synced = True
        last = buf.rfind(mark)
        cut = last - self._pluses(buf, last)
        if cut > 1:
            self._batch(buf, cut, final=False)
            del buf[: cut - 1]  # keep the newline before the next record: closers match on it
        if len(buf) > MAX_RECORD_BYTES:
            # One command's trace too long to be a credential assignment: keep
            # its place (file:line) and drop its text up to the next record.
            self._batch(buf, len(buf), final=False, whole=False)
            del buf[: len(buf) - _SEAM]
            self._synced = False

    def close(self) -> None:
        buf = self._buf
        if self._synced and buf:
            self._batch(buf, min(len(buf), MAX_RECORD_BYTES), final=True)
        self._flush_held()
        self._buf = bytearray()
        profile_seen = False
        for file in self._startup_files:  # read, but nothing in them mattered
            is_profile = file.rsplit("/", 1)[-1] in (".bash_profile", ".bash_login", ".profile")
            if (is_profile and profile_seen) or self.host.stat(Path(file)) is None:
                continue
            profile_seen = profile_seen or is_profile
            self._add_file(file.encode("utf-8", "surrogateescape"))

    def _pluses(self, buf: bytearray, at: int) -> int:
        return _plus_run(buf, at) if self._bash else 0

    def _batch(self, buf: bytearray, cut: int, *, final: bool, whole: bool = True) -> None:
        """Read the records in ``buf[:cut]`` that matter, in order; the rest only close levels."""
        if self.complete:
            return  # after our report come logout files, not the start-up
        mark = self.start
        starts: list[int] = []
        first = buf.find(mark)
        if self._held is not None and first >= 0:
            starts.append(first)  # it decides whether a held assignment was a `X=1 cmd` prefix
        for name in self._names:
            i = buf.find(name, 0, cut)
            while i >= 0:
                starts.append(buf.rfind(mark, 0, i + 1))
                i = buf.find(name, i + len(name), cut)
        for m in self._commands.finditer(buf, 0, cut):
            starts.append(buf.rfind(mark, 0, m.start()))
        for tag in self._tags:
            i = buf.find(mark + tag, 0, cut)
            if i >= 0:
                starts.append(i)
        done = -1
        for rs in sorted(set(starts)):
            if rs <= done or rs < 0:
                continue
            done = rs
            self._close_levels(buf, rs)
            rs = self._read(buf, rs, cut, final=final, whole=whole)
            # A held `X=1` waits for the next record: read it even when it does not matter otherwise.
            while rs >= 0 and self._held is not None and rs < cut:
                done = rs
                self._close_levels(buf, rs)
                rs = self._read(buf, rs, cut, final=final, whole=whole)
        self._close_levels(buf, cut)
        self._remember_last(buf, cut)
        # The buffer is cut at ``cut`` next: what is left was checked up to there.
        for depth in self._unchecked:
            self._unchecked[depth] = 0

    def _read(self, buf: bytearray, rs: int, cut: int, *, final: bool, whole: bool) -> int:
        """Read the record at ``rs``; the start of the next one (or -1)."""
        mark, n = self.start, len(self.start)
        nxt = buf.find(mark, rs + n)
        if nxt < 0 or nxt > cut + _SEAM:
            end, nxt = cut, -1
        else:
            end = nxt - self._pluses(buf, nxt)
        m = self._header.match(buf, rs)
        if m is not None:
            too_long = end - m.end() > MAX_RECORD_BYTES
            self._take(m, buf, end, whole=whole and not too_long, final=final and nxt < 0)
        return nxt

    def _close_levels(self, buf: bytearray, upto: int) -> None:
        """Close the eval/source levels that a record between their opening and ``upto`` ended."""
        stack = self._stack
        while stack:
            depth = len(stack) - 1
            frame = stack[depth]
            if frame is None:
                stack.pop()
                continue
            begin = self._unchecked.get(depth, 0)
            if begin < upto and self._closer(depth).search(buf, max(0, begin - 1), upto):
                del stack[depth:]
                for d in [d for d in self._unchecked if d >= depth]:
                    del self._unchecked[d]
                continue
            break
        for depth in self._unchecked:
            self._unchecked[depth] = max(self._unchecked[depth], upto)

    def _closer(self, depth: int) -> re.Pattern[bytes]:
        """A record of our shell (not a subshell) at ``depth`` or shallower."""
        pattern = self._closers.get(depth)
        if pattern is None:
            if self._bash:
                # Records start after the newline that ends the one before (the buffer keeps one when cut).
                body = rb"\n\+{1,%d}\x1e[0-9a-f]{8}\d+,0," % depth + re.escape(self._pid) + rb"\x1f"
            else:
                depths = b"|".join(str(d).encode() for d in range(1, depth + 1))
                # SOURCE_TRACE lines carry the depth of the `source` line itself: they close nothing.
                body = rb"\x1e[0-9a-f]{8}(?:0|\$\{ZSH_SUBSHELL:-0\}),(?:" + depths + rb"),\d+\x1f[^\x1e\x1f\n]*\x1f (?!<sourcetrace>)"
            pattern = self._closers[depth] = re.compile(body)
        return pattern

    def _remember_last(self, buf: bytearray, cut: int) -> None:
        """The last command of the person's start-up so far: where a hang or an exit happened."""
        mark = self.start
        j = buf.rfind(mark, 0, cut)
        for _ in range(64):
            if j < 0:
                return
            m = self._header.match(buf, j)
            if m is not None and not m[6]:
                depth = self._depth(m, buf)
                if depth > 0 and self._ours(m) and not buf.startswith(b"<sourcetrace>", m.end()):
                    nxt = buf.find(mark, j + len(mark), cut)
                    end = cut if nxt < 0 else nxt - self._pluses(buf, nxt)
                    self._last = _Last(depth, bytes(buf[j : min(end, m.end() + 4096)]))
                    return
            j = buf.rfind(mark, 0, j)

    def _depth(self, m: re.Match[bytes], buf: bytearray) -> int:
        return _plus_run(buf, m.start()) if self._bash else _int(m[3])

    def _ours(self, m: re.Match[bytes]) -> bool:
        """A line of the person's start-up in our shell: not our wrapper, not a child bash's trace."""
        if self._bash:
            return m[4] == self._pid and bool(m[5])
        return True

    # -- one record ---------------------------------------------------------------

    def _take(self, m: re.Match[bytes], buf: bytearray, end: int, *, whole: bool = True, final: bool = False) -> None:
        """One traced command that matters, ``buf[m.start():end]``."""
        if self.complete:
            return
        at = m.end()  # the command text starts here
        if m[6]:
            if m[1] == self.start[1:]:  # our final report, not text a start-up file printed
                self._result(m[6], bytes(buf[at:end]))
            return
        if self._bash:
            if m[4] != self._pid:
                return  # another bash's trace: a child script's `set -x`
            depth = _plus_run(buf, m.start())
            sub = m[3] != b"0"
            file_raw = m[5]
            if not file_raw:
                # Our own wrapper (the root emulation): only its `. file` lines matter, for the file order.
                if whole and buf.startswith(b". ", at):
                    self._source_target(bytes(buf[at:end]))
                return
            interrupted = False
        else:
            file_raw = m[5]
            if buf.startswith(b"<sourcetrace>", at):
                self._add_file(file_raw)
                return
            depth = _int(m[3])
            if depth <= 0:
                return  # the -c command: ours
            # A start-up file that turns PROMPT_SUBST off leaves ${ZSH_SUBSHELL} unexpanded: count it as 0.
            sub = m[2] != b"0" and m[2].isdigit()
            # zsh prints a prefix assignment (`X=1 cmd`) and the `X=` of
            # `X=$(…)` before the command's own trace, on the same line: such a
            # record is cut short by the next one.
            interrupted = whole and not final and end > at and buf[end - 1] != 0x0A
        if file_raw not in self._seen_files:
            self._add_file(file_raw)
        self._slow(m, bytes(buf[at:end]) if whole else b"", depth, sub, whole, interrupted, end)

    def _frame(self, m: re.Match[bytes]) -> _Frame:
        """The place a record's header names."""
        if self.kind == "bash":
            return _Frame(_decode(m[5]), int(m[2]), "")
        return _Frame(_decode(m[5]), int(m[4]), "")

    def _slow(self, m: re.Match[bytes], body: bytes, depth: int, sub: bool, whole: bool, interrupted: bool, end: int) -> None:
        if not interrupted:
            body = body.rstrip(b"\n")
        frame = self._frame(m)
        if not sub and len(self._stack) > depth:
            # A command at this depth ends the levels at this depth and below.
            del self._stack[depth:]
            for d in [d for d in self._unchecked if d >= depth]:
                del self._unchecked[d]
        kind = ""
        if body.startswith(b"eval") and body[4:5] in (b" ", b""):
            kind = "eval"
        elif body.startswith((b"source ", b". ")):
            kind = "source"
            if self.kind == "bash" and whole and not sub:
                self._source_target(body)
        if kind and not sub:
            frame = frame._replace(kind=kind)
            stack = self._stack
            stack.extend([None] * (depth - len(stack)))
            stack.append(frame)
            self._unchecked[depth] = end
        word = body.split(None, 1)[0].decode("utf-8", "surrogateescape") if body.strip() else ""
        key = (depth, frame.file, frame.line)
        if self._held is not None and not (key == self._held.key and _ASSIGN_RE.match(word)):
            self._resolve_held(key, word)
        if sub or not whole or interrupted:
            return
        if self._echo:
            if key == self._echo_key:
                words = _words(body.decode("utf-8", "surrogateescape"))
                if words and len(words) == 1 and words[0] in self._echo:
                    self._echo.remove(words[0])
                    return
            self._echo = []
        if word in ("set", "setopt", "unsetopt"):
            self._options(body)
        if self._watch.search(body):
            self._statement(body, depth, frame, key)

    def _in_function(self, depth: int, frame: _Frame) -> bool:
        if self.kind == "bash":
            # bash does not count function calls in its depth, and ${FUNCNAME} in
            # PS4 costs too much: a `declare` in a function counts as global (the
            # final values catch the rare case where that is wrong).
            return False
        # zsh counts function calls in %e like eval and source: a level not opened by either is a call.
        parent = self._stack[depth - 1] if 0 < depth <= len(self._stack) else None
        return depth > 1 and parent is None

    def _add_file(self, file_raw: bytes) -> None:
        if file_raw not in self._seen_files:
            self._seen_files.add(file_raw)
            file = _decode(file_raw)
            if not _GENERATED_RE.match(file):
                self.files.append(self._path(file)[0])

    def _source_target(self, body: bytes) -> None:
        """bash has no SOURCE_TRACE: list a sourced file when its `.`/`source` line runs."""
        line = body.split(b"\n", 1)[0]
        parts = line.split()
        if len(parts) == 2 and not any(q in parts[1] for q in b"'\"\\$"):
            target = parts[1]  # the usual `. /path/file`: no quoting to undo
        else:
            words = _words(_decode(line))
            if not words or len(words) < 2:
                return
            target = words[1].encode("utf-8", "surrogateescape")
        if target not in self._seen_files and self.host.stat(self._path(_decode(target))[0]) is not None:
            self._add_file(target)

    def _where(self, depth: int, frame: _Frame) -> _Where:
        """The actionable place for a traced command: eval'd or generated code belongs to its eval/source line."""
        stack, blocker = self._stack, None
        file, line, d = frame.file, frame.line, depth
        while d > 0:
            parent = stack[d - 1] if d - 1 < len(stack) else None
            if parent is None or not parent.file:
                break
            if _GENERATED_RE.match(file):
                blocker = blocker or "generated"
            elif parent.kind == "eval" and parent.file == file:
                blocker = "eval"
            else:
                break
            file, line, d = parent.file, parent.line, d - 1
        path, system = self._path(file)
        chain: list[Path] = []
        for f in stack[:d]:
            if f is not None and f.kind == "source" and f.file and not _GENERATED_RE.match(f.file):
                p = self._path(f.file)[0]
                if p != path and (not chain or chain[-1] != p):
                    chain.append(p)
        return _Where(path, line, blocker, tuple(chain), system)

    def _path(self, file: str) -> tuple[Path, bool]:
        """A traced file name as an absolute path, and whether it lies outside the person's home."""
        hit = self._paths.get(file)
        if hit is None:
            home = str(self.host.home)
            raw = home + file[1:] if file.startswith("~/") else file
            if not raw.startswith("/"):
                raw = f"{home}/{raw}"  # the shell's working directory is HOME
            mine = [home.rstrip("/") + "/"]
            zdotdir = self.host.env.get("ZDOTDIR")
            if zdotdir:
                mine.append(zdotdir.rstrip("/") + "/")
            hit = (Path(raw), not (raw + "/").startswith(tuple(mine)))
            self._paths[file] = hit
        return hit

    # -- option tracking ------------------------------------------------------------

    def _options(self, body: bytes) -> None:
        words = _words(body.decode("utf-8", "surrogateescape")) or []
        if words[:1] == ["set"]:
            i = 1
            while i < len(words):
                w = words[i]
                if w in ("-o", "+o") and i + 1 < len(words):
                    if _opt_name(words[i + 1]) == "allexport":
                        self._allexport = w == "-o"
                    i += 2
                    continue
                if w in ("-", "--") or w[:1] not in ("-", "+") or len(w) < 2:
                    break
                if "a" in w[1:]:
                    self._allexport = w[0] == "-"
                i += 1
        elif words:
            on = words[0] == "setopt"
            for w in words[1:]:
                name = _opt_name(w)
                if name == "allexport":
                    self._allexport = on
                elif name == "noallexport":
                    self._allexport = not on

    # -- statements that touch watched variables -------------------------------------

    def _statement(self, body: bytes, depth: int, frame: _Frame, key: tuple[int, str, int]) -> None:
        text = body.decode("utf-8", "surrogateescape")
        words = _words(text.split("\n", 1)[0])
        if words is None:
            words = _words(text)  # a quoted value with newlines: bash prints them literally
        if not words:
            return
        ops = self._parse(words, self._in_function(depth, frame))
        if self.kind == "bash" and words[0] in _DECLARE:
            self._echo = [w for w in words[1:] if _ASSIGN_RE.match(w)]
            self._echo_key = key
        if not ops:
            return
        where = self._where(depth, frame)
        if self.kind == "bash" and all(o.op == "assign" for o in ops) and words[0] not in _DECLARE:
            # bash traces `X=1 cmd` exactly like `X=1; cmd`: decide when the next record shows.
            if self._held is not None and self._held.key == key:
                self._held.ops.extend(ops)
            else:
                self._flush_held()
                self._held = _Held(key, list(ops), where)
            return
        self._flush_held()
        self._apply(ops, where)

    def _parse(self, words: list[str], in_function: bool) -> list[_Op]:
        names = self.names
        cmd = words[0]
        if all(_ASSIGN_RE.match(w) for w in words):
            out = []
            for w in words:
                m = _ASSIGN_RE.match(w)
                if m and m.group(1) in names:
                    name, plus = m.group(1), m.group(2)
                    out.append(_Op("assign", name, Secret(m.group(3)), bool(plus), False, f"{name}{plus}=<redacted>"))
            return out
        if cmd not in _DECLARE and cmd != "unset":
            return []
        args, minus, plus = _options(words[1:])
        if cmd == "unset":
            return [] if "f" in minus else [_Op("unset", a, text=f"unset {a}") for a in args if a in names]
        if cmd == "local" or minus & set("fFpaAnhHTE") or "f" in plus:
            return []  # functions, arrays, namerefs, printing: not an environment variable
        exports = cmd == "export" or "x" in minus
        if cmd in ("declare", "typeset") and in_function and "g" not in minus and not (self.kind == "zsh" and exports):
            return []  # local to the function (zsh's typeset -x is global: GLOBAL_EXPORT)
        if cmd == "export" and "n" in minus:
            if self.kind != "bash":
                return []  # zsh: `export -n` is an error, nothing changes
            unexported = [a.split("=", 1)[0] for a in args]
            return [_Op("unexport", a, text=f"export -n {a}") for a in unexported if a in names]
        flags = "".join(sorted(c for c in minus if c in "gxr"))
        keyword = cmd if cmd == "export" or not flags else f"{cmd} -{flags}"
        out = []
        for a in args:
            m = _ASSIGN_RE.match(a)
            name = m.group(1) if m else a
            if name not in names:
                continue
            if m:
                out.append(_Op("assign", name, Secret(m.group(3)), bool(m.group(2)), exports, f"{keyword} {name}{m.group(2)}=<redacted>"))
            elif "x" in plus:
                out.append(_Op("unexport", name, text=f"{cmd} +x {name}"))
            elif exports:
                out.append(_Op("export", name, text=f"{keyword} {name}"))
        return out

    def _resolve_held(self, key: tuple[int, str, int], word: str) -> None:
        held = self._held
        assert held is not None
        self._held = None
        # The next command ran on the same line: `X=1 cmd` (temporary) or `X=1; cmd`.
        same_line = key == held.key and word and word not in _DECLARE and held.where.blocker is None
        if same_line and self._prefix_assignment(held.where.path, held.key[2], held.ops[0].name):
            return
        self._apply(held.ops, held.where)

    def _flush_held(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._apply(held.ops, held.where)

    def _source_line(self, path: Path, line: int) -> str | None:
        if path not in self._lines_cache:
            try:
                self._lines_cache[path] = self.host.read_bytes(path, 4 * 1024 * 1024).split(b"\n")
            except (OSError, ValueError):
                self._lines_cache[path] = None
        lines = self._lines_cache[path]
        if not lines or not 0 < line <= len(lines):
            return None
        return lines[line - 1].decode("utf-8", "surrogateescape")

    def _prefix_assignment(self, path: Path, line: int, name: str) -> bool:
        """Whether ``name=…`` on that source line prefixes a command (so it does not persist)."""
        text = self._source_line(path, line)
        return text is not None and _is_prefix(text, name)

    def _start_line(self, path: Path, line: int, name: str) -> int:
        """bash gives a command spanning lines (a quoted value with newlines) the line it ends on: find where it starts."""
        text = self._source_line(path, line)
        if text is None or name in text:
            return line
        for back in range(line - 1, max(0, line - 100), -1):
            earlier = self._source_line(path, back)
            if earlier is not None and name in earlier:
                return back
        return line

    def _apply(self, ops: Iterable[_Op], where: _Where) -> None:
        for op in ops:
            st = self._state.get(op.name, _State(False, None))
            if op.op == "assign":
                value = op.value
                if op.append and st.value is not None and value is not None:
                    value = Secret(st.value.reveal() + value.reveal())
                exports = op.exports or self._allexport
                st = _State(st.exported or exports, value)
                action = EXPORT if exports else SET
            elif op.op == "export":
                st = _State(True, st.value)
                action = EXPORT
            elif op.op == "unexport":
                st = _State(False, st.value)
                action = SET
            else:
                st = _State(False, None)
                action = UNSET
            self._state[op.name] = st
            blocker = where.blocker or ("system-file" if where.system else None)
            line = where.line if where.blocker or self.kind != "bash" else self._start_line(where.path, where.line, op.name)
            self.settings.append(
                Setting(
                    var=op.name,
                    action=action,
                    exported=st.exported and st.value is not None,
                    value=st.value,
                    path=where.path,
                    line=line,
                    text=f"(eval) {op.text}" if where.blocker == "eval" else op.text,
                    family=FAMILY,
                    chain=where.chain,
                    conditional=False,  # it ran
                    editable=blocker is None,
                    blocker=blocker,
                )
            )

    # -- the final report -----------------------------------------------------------

    def _result(self, tag: bytes, data: bytes) -> None:
        if tag == b"E":
            self._flush_held()
            self.complete = True
            return
        pairs: list[tuple[bytes, bytes]] = []
        if tag == b"R":
            parts = data.split(b"\0")
            pairs = list(zip(parts[0::2], parts[1::2], strict=False))
        else:  # `env` output from an old bash: NAME=value lines
            for line in data.split(b"\n"):
                name, sep, value = line.partition(b"=")
                if sep:
                    pairs.append((name, value))
        for raw_name, raw_value in pairs:
            var = raw_name.decode("utf-8", "replace")
            if var in self.names:
                self.final[var] = Secret(raw_value.decode("utf-8", "surrogateescape"))

    # -- notes ------------------------------------------------------------------------

    def notes(self, outcome: _Outcome, timeout: float) -> list[ScanNote]:
        if outcome.error:
            return [ScanNote(Path(self.kind), "crash", f"{outcome.error}; its start-up files were not traced")]
        last = self._last
        m = self._header.match(last.raw) if last is not None else None
        where = self._where(last.depth, self._frame(m)) if last is not None and m is not None else None
        at = f"{where.path}:{where.line}" if where else "the start"
        shell = self._label()
        notes: list[ScanNote] = []
        limit = limit_note(outcome, self.complete, where.path if where else None, at, shell, timeout, self.host.home)
        if limit is not None:
            notes.append(limit)
        elif not self.complete and not outcome.timed_out:
            notes.append(self._stopped(outcome.returncode, shell, where))
        if self.complete:
            notes.extend(self._reconcile())
        return notes

    def _label(self) -> str:
        """How notes name the shell that ran."""
        return f"{self.kind} (start-up emulated, as root)" if self.emulated else self.kind

    def _stopped(self, returncode: int | None, shell: str, where: _Where | None) -> ScanNote:
        """The shell ended before our final command ran: a start-up file exited, exec'd or crashed."""
        m = self._header.match(self._last.raw) if self._last is not None else None
        if where is None or m is None:
            return ScanNote(self.host.home, "exit", f"{shell} ended (status {returncode}) before running any start-up line")
        words = m.string[m.end() :].split(None, 2)
        stop = words[0].decode("ascii", "replace") if words and words[0] in (b"exit", b"logout", b"exec") else None
        target = None
        if stop == "exec":
            # `exec 2>/dev/null` (only redirections) does not replace the shell.
            stop = "exec" if len(words) > 1 else None
            target = _program(words[1].decode("utf-8", "surrogateescape"), self.host) if len(words) > 1 else None
        at = f"{where.path}:{where.line}"
        if stop != "exec" and self.kind == "zsh":
            # zsh's trace leaves the `exec` off (`exec tmux` shows as `tmux`): read the line itself.
            text = self._source_line(where.path, where.line)
            found = re.match(r"\s*exec\s+([^\s<>&;|]+)", text or "")
            if found and not found.group(1)[:1].isdigit():
                stop, target = "exec", _program(found.group(1), self.host)
        if stop == "exec":
            prog = f"`{target}`" if target else "another program"
            msg = (
                f"start-up file {where.path} replaces the shell with {prog} at line {where.line} (`exec`): "
                f"the rest of the {self.kind} start-up never runs (last line run: {at})"
            )
            return ScanNote(where.path, "exec", msg)
        if returncode is not None and returncode < 0:
            msg = f"{shell} was killed by signal {-returncode} while running start-up file {where.path} (last line run: {at})"
            return ScanNote(where.path, "crash", msg)
        if stop in ("exit", "logout"):
            msg = (
                f"start-up file {where.path} ends the shell at line {where.line} (`{stop}`, status {returncode}): "
                f"nothing after it in the {self.kind} start-up runs"
            )
            return ScanNote(where.path, "exit", msg)
        msg = f"{shell} stopped with status {returncode} while running start-up file {where.path} (last line run: {at})"
        return ScanNote(where.path, "exit", msg)

    def _reconcile(self) -> list[ScanNote]:
        """Check the traced settings against the final values the shell reported."""
        notes: list[ScanNote] = []
        for name in sorted(self.names):
            won = winner(self.settings, name)
            final = self.final.get(name)
            if won is None and final is None:
                continue
            if won is not None and final is not None:
                if won.value == final:
                    continue
                # Our reading of the value was off: the shell's own word wins.
                i = max(i for i, s in enumerate(self.settings) if s.var == name)
                self.settings[i] = won._replace(value=final)
                msg = f"the trace shows {name} set at {won.where}, but a new {self.kind} shell ends up with a different value"
                notes.append(ScanNote(won.path, "trace-mismatch", msg))
                continue
            if final is not None:
                st = self._state.get(name)
                if final.reveal() == "" and st is not None and st.exported and st.value is None:
                    continue  # zsh: `export X` of an unset X reads back as "" but is not in the environment
                last = next((s for s in reversed(self.settings) if s.var == name), None)
                msg = (
                    f"a new {self.kind} shell ends up with {name} exported, but the trace does not show which line sets it "
                    "(a program or a builtin the trace cannot follow); the static scan may know"
                )
                notes.append(ScanNote(last.path if last else self.host.home, "trace-mismatch", msg))
            elif won is not None:
                msg = (
                    f"the trace shows {name} exported at {won.where}, but a new {self.kind} shell ends up without it "
                    "(set in a subshell, or removed in a way the trace does not show)"
                )
                notes.append(ScanNote(won.path, "trace-mismatch", msg))
        return notes


# --- ksh93 ---------------------------------------------------------------------------

# As _COMMANDS_RE, for ksh: `command .` is our alias for `.` in interactive shells.
_KSH_COMMANDS_RE = re.compile(rb"\x1f (?:eval(?![^ \n])|source |\. |command (?:\.|source) |set |exit|exec)")
# The head of a function definition: `function name` (typeset is local in its body) or `name()` (it is not).
_FUNCTION_HEAD = re.compile(r"(?:^|[\s;&|{(])(?:(function)\s+[A-Za-z_.][\w.]*|[A-Za-z_.][\w.]*\s*\(\s*\))")
# How far up from a line in a function body its head is looked for.
_FUNCTION_REACH = 500


class _Eval(NamedTuple):
    """An ``eval`` that may still be running: ksh numbers its commands' lines from its own text."""

    level: int
    file: str
    line: int  # the eval's own line (in an enclosing eval's text when that runs at the same level)
    lines: tuple[str, ...] | None  # the eval'd text by line; None: too long to have been read


class _KshReader(_TraceReader):
    """Reads ksh93's trace: ``${.sh.subshell},${.sh.level},${LINENO}`` and ``${.sh.file}`` per record.

    ``${.sh.level}`` counts dot scripts and function calls but not ``eval``,
    whose commands carry the eval's file and level with line numbers of the
    eval'd text.  So the reader keeps the text of every eval that may still be
    running and, while one is, steps through every record of our shell: a
    record at the eval's level and file belongs to it when its line exists in
    that text and its words match that line at least as well as the same line
    of the file (or of the enclosing eval's text).  A tie counts as the
    eval's: its settings then sit on the eval line, not editable, the safe side.

    ksh prints ``export X=v`` as ``X=v`` then ``export X``, and a prefix
    assignment after its command (``X=1 cmd`` as ``cmd`` then ``X=1``): an
    assignment is held until the next record shows which it was.
    """

    def __init__(self, host: Host, plan: _Plan, names: frozenset[str]) -> None:
        super().__init__(host, plan, names)
        self._commands = _KSH_COMMANDS_RE
        self._tags = (b"R", b"E", b"N")
        self._shell = Path(plan.argv[0]) if plan.argv else Path("ksh")
        self._record = re.compile(re.escape(self.start) + rb"(\d+),(\d+),(\d+)\x1f([^\x1e\x1f\n]*)\x1f ")
        self._evals: list[_Eval] = []
        # _inside's answers for the evals open now (a loop in eval'd code repeats its records).
        self._inside_cache: dict[tuple[int, int, tuple[str, ...]], bool] = {}
        self._pos = 0  # every record of the buffer before this offset has been stepped through
        self._prev: tuple[bytes, bytes, bytes, bytes] | None = None  # last record of the previous batch
        # `X=v` then `export X`: the declaration adds nothing more for the names merged into the assignment.
        self._merged: tuple[tuple[int, str, int], frozenset[str]] | None = None
        self.not_ksh93 = False
        self._listed: set[Path] = set()

    def notes(self, outcome: _Outcome, timeout: float) -> list[ScanNote]:
        if self.not_ksh93:
            msg = f"{self._shell} is not ksh93 (its trace cannot name files), so its start-up was not traced"
            return [ScanNote(self._shell, "not-traced", msg)]
        return super().notes(outcome, timeout)

    def _label(self) -> str:
        return f"{self.kind} (start-up emulated)"

    def _ours(self, m: re.Match[bytes]) -> bool:
        return bool(m[5])  # records without a file are our own script's

    def _add_file(self, file_raw: bytes) -> None:
        # A file is named as `.` was given it (`./rc`) and as ksh resolved it (${.sh.file}): list it once.
        if file_raw not in self._seen_files:
            self._seen_files.add(file_raw)
            file = _decode(file_raw)
            path = self._path(file)[0]
            if not _GENERATED_RE.match(file) and path not in self._listed:
                self._listed.add(path)
                self.files.append(path)

    def _closer(self, depth: int) -> re.Pattern[bytes]:
        pattern = self._closers.get(depth)
        if pattern is None:
            levels = b"|".join(str(d).encode() for d in range(depth + 1))
            pattern = self._closers[depth] = re.compile(re.escape(self.start) + rb"0,(?:" + levels + rb"),\d+\x1f")
        return pattern

    # -- the byte stream --------------------------------------------------------

    def _batch(self, buf: bytearray, cut: int, *, final: bool, whole: bool = True) -> None:
        super()._batch(buf, cut, final=final, whole=whole)
        j = buf.rfind(self.start, 0, cut)
        prev = self._record.match(buf, j) if j >= 0 else None
        if prev is not None:
            self._prev = (prev[1], prev[2], prev[4], prev[3])
        self._pos = 0  # the buffer is cut at `cut` next

    def _close_levels(self, buf: bytearray, upto: int) -> None:
        if self._evals:
            # Any record may end an eval: step through each of ours until none is left open.
            done = upto
            for m in self._record.finditer(buf, self._pos, upto):
                if m[1] == b"0":
                    self._step(int(m[2]), _decode(m[4]), int(m[3]), _first_line(buf, m.end(), upto))
                    if not self._evals:
                        done = m.end()
                        break
            self._pos = max(self._pos, done)
            for depth in self._unchecked:
                self._unchecked[depth] = max(self._unchecked[depth], done)
            if self._evals:
                return
        super()._close_levels(buf, upto)
        self._pos = max(self._pos, upto)

    def _step(self, depth: int, file: str, line: int, text: bytes) -> None:
        """A command of our shell (not a subshell) ran at ``depth``: the levels and evals it is outside of have ended."""
        if len(self._stack) > depth:
            del self._stack[depth:]
            for d in [d for d in self._unchecked if d >= depth]:
                del self._unchecked[d]
        evals = self._evals
        while evals:
            top = evals[-1]
            if depth > top.level:
                return  # a function or dot script the eval (or code after it) called
            if depth == top.level and file == top.file and self._inside(len(evals) - 1, line, text):
                return
            evals.pop()
            self._inside_cache.clear()

    def _inside(self, i: int, line: int, text: bytes) -> bool:
        """Whether a command at ``line`` (the level and file of eval ``i``) came from that eval's text."""
        tokens = _tokens(text)
        key = (i, line, tokens)
        known = self._inside_cache.get(key)
        if known is None:
            if len(self._inside_cache) > 4096:
                self._inside_cache.clear()
            known = self._inside_cache[key] = self._fits(i, line, tokens)
        return known

    def _fits(self, i: int, line: int, tokens: tuple[str, ...]) -> bool:
        ev = self._evals[i]
        if ev.lines is None:
            return True
        if not 0 < line <= len(ev.lines):
            return False
        below = self._evals[i - 1] if i > 0 else None
        if below is not None and below.level == ev.level and below.file == ev.file:
            outer = below.lines[line - 1] if below.lines is not None and line <= len(below.lines) else ""
        else:
            outer = self._source_line(self._path(ev.file)[0], line) or ""
        return _fit(tokens, ev.lines[line - 1]) >= _fit(tokens, outer)

    # -- one record ---------------------------------------------------------------

    def _take(self, m: re.Match[bytes], buf: bytearray, end: int, *, whole: bool = True, final: bool = False) -> None:
        if self.complete:
            return
        at = m.end()
        self._pos = max(self._pos, at)
        if m[6]:
            if m[1] == self.start[1:]:  # ours, not text a start-up file printed
                if m[6] == b"N":
                    self.not_ksh93 = True
                else:
                    self._result(m[6], bytes(buf[at:end]))
            return
        if m[2] != b"0":
            self._flush_held()
            return  # a subshell or a command substitution: what it sets dies with it
        depth, line, file_raw = _int(m[3]), _int(m[4]), m[5]
        body = _first_line(buf, at, end) if whole else b""
        file = _decode(file_raw)
        self._step(depth, file, line, body)
        if not file_raw:
            # Our own script: its `. file` lines list the start-up files, in order.
            self._flush_held()
            if body.startswith(b"command . "):
                self._source_target(body[len(b"command ") :])
            return
        if file_raw not in self._seen_files:
            self._add_file(file_raw)
        words = _words(_decode(body)) if whole else None
        while words and words[0] == "command" and len(words) > 1:
            words = words[1:]
        key = (depth, file, line)
        held = self._held
        if held is not None and not (key == held.key and words and all(_ASSIGN_RE.match(w) for w in words)):
            self._resolve(key, words or [])
        if not words:
            return
        frame = _Frame(file, line, "")
        cmd = words[0]
        if cmd == "set":
            self._options(body)
        if self._watch.search(body):
            self._ksh_statement(words, depth, frame, key, self._prev_same(buf, m))
        if cmd == "eval":
            # Its commands follow at this level, numbered from its own text (words joined by spaces, as eval does).
            lines = tuple(" ".join(words[1:]).split("\n")) if end - at <= MAX_RECORD_BYTES else None
            self._evals.append(_Eval(depth, file, line, lines))
            self._inside_cache.clear()
        elif cmd in (".", "source") and len(words) > 1:
            stack = self._stack
            del stack[depth:]
            stack.extend([None] * (depth - len(stack)))
            stack.append(frame._replace(kind="source"))
            self._unchecked[depth] = end
            self._source_target(body[len(b"command ") :] if body.startswith(b"command ") else body)

    def _prev_same(self, buf: bytearray, m: re.Match[bytes]) -> bool:
        """Whether the record before this one ran in the same place (the same statement line, same level)."""
        j = buf.rfind(self.start, 0, m.start())
        if j >= 0:
            prev = self._record.match(buf, j)
            key = (prev[1], prev[2], prev[4], prev[3]) if prev is not None else None
        else:
            key = self._prev
        return key == (m[2], m[3], m[5], m[4])

    def _ksh_statement(self, words: list[str], depth: int, frame: _Frame, key: tuple[int, str, int], prev_same: bool) -> None:
        ops = self._parse(words, self._local_scope(depth, frame))
        merged, self._merged = self._merged, None
        if merged is not None and merged[0] == key:
            ops = [o for o in ops if not (o.op == "export" and o.name in merged[1])]
        if not ops:
            return
        where = self._where(depth, frame)
        if all(o.op == "assign" for o in ops) and words[0] not in _DECLARE:
            # ksh prints a prefix assignment right after its command, on the same line: `X=1 cmd` is `cmd`, `X=1`.
            text = self._text_at(depth, frame.file, frame.line)
            if prev_same and text is not None and _is_prefix(text, ops[0].name):
                return
            if self._held is not None and self._held.key == key:
                self._held.ops.extend(ops)
            else:
                self._flush_held()
                self._held = _Held(key, list(ops), where)
            return
        self._flush_held()
        self._apply(ops, where)

    def _resolve(self, key: tuple[int, str, int], words: list[str]) -> None:
        """The record after held assignments: ``export X`` (etc.) of a held ``X`` makes one ``export X=v``."""
        held = self._held
        assert held is not None
        self._held = None
        cmd = words[0] if words else ""
        if key != held.key or cmd not in ("export", "typeset", "readonly"):
            self._apply(held.ops, held.where)
            return
        args, minus, plus = _options(words[1:])
        bare = {a for a in args if "=" not in a}
        names = frozenset(o.name for o in held.ops if o.name in bare)
        if not names or minus & set("fFpaAnhHTE") or "x" in plus:
            self._apply(held.ops, held.where)
            return
        local = cmd == "typeset" and self._local_scope(key[0], _Frame(key[1], key[2], ""))
        exports = cmd == "export" or "x" in minus
        flags = "".join(sorted(c for c in minus if c in "xr"))
        keyword = cmd if cmd == "export" or not flags else f"{cmd} -{flags}"
        ops: list[_Op] = []
        for op in held.ops:
            if op.name not in names:
                ops.append(op)
            elif not local:  # a typeset in a `function name` body: local, gone when it returns
                plus_sign = "+" if op.append else ""
                ops.append(op._replace(exports=exports, text=f"{keyword} {op.name}{plus_sign}=<redacted>"))
        self._merged = (key, names)
        self._apply(ops, held.where)

    def _local_scope(self, depth: int, frame: _Frame) -> bool:
        """Whether a ``typeset`` here is local: in the body of a ``function name`` function (not of a ``name()`` one)."""
        if depth < 2:
            return False
        parent = self._stack[depth - 1] if depth - 1 < len(self._stack) else None
        if parent is not None:
            return False  # the top level of a sourced file
        path = self._path(frame.file)[0]
        for n in range(frame.line, max(0, frame.line - _FUNCTION_REACH), -1):
            text = self._source_line(path, n)
            if text is None:
                return False
            found = _FUNCTION_HEAD.search(text)
            if found:
                return found.group(1) is not None
        return False

    def _text_at(self, depth: int, file: str, line: int) -> str | None:
        """The source text of ``line``: of the running eval's text when the command came from it."""
        ev = self._evals[-1] if self._evals else None
        if ev is not None and ev.level == depth and ev.file == file:
            return ev.lines[line - 1] if ev.lines is not None and 0 < line <= len(ev.lines) else None
        return self._source_line(self._path(file)[0], line)

    def _where(self, depth: int, frame: _Frame) -> _Where:
        file, line, blocker = frame.file, frame.line, None
        # Code an eval ran belongs to the outermost eval at its level, in its file: that line is the file's.
        for ev in reversed(self._evals):
            if ev.level != depth or ev.file != file:
                break
            line, blocker = ev.line, "eval"
        path, system = self._path(file)
        chain: list[Path] = []
        for f in self._stack[:depth]:
            if f is not None and f.kind == "source" and f.file:
                p = self._path(f.file)[0]
                if p != path and (not chain or chain[-1] != p):
                    chain.append(p)
        return _Where(path, line, blocker, tuple(chain), system)

    # -- the final report -----------------------------------------------------------

    def _result(self, tag: bytes, data: bytes) -> None:
        if tag != b"R":
            super()._result(tag, data)
            return
        # `typeset -p NAME` per watched name: `typeset -x [-r …] NAME=value` when exported and set.
        for name, value in typeset_p(data):
            if name in self.names:
                self.final[name] = Secret(value)


def limit_note(outcome: _Outcome, complete: bool, path: Path | None, at: str, shell: str, timeout: float, home: Path) -> ScanNote | None:
    """The note for a trace cut short by its size or its time limit (``at``: the last line run, or "the start")."""
    if outcome.too_large:
        mib = MAX_TRACE_BYTES // (1024 * 1024)
        msg = f"the {shell} start-up trace grew past {mib} MiB, so reading stopped (last line run: {at})"
        return ScanNote(path or home, "too-large", msg)
    if outcome.timed_out and not complete:
        if path is not None:
            msg = f"start-up file {path} did not finish within {timeout:g} s (last line run: {at})"
        else:
            msg = f"{shell} did not run a single start-up line within {timeout:g} s"
        return ScanNote(path or home, "timeout", msg)
    return None


def typeset_p(body: bytes) -> list[tuple[str, str]]:
    """ksh93 ``typeset -p NAME`` lines: ``typeset -x [-r …] NAME=value`` when exported and set, quoted as xtrace quotes."""
    out = []
    for raw in body.split(b"\n"):
        words = _words(_decode(raw))
        if not words or words[0] != "typeset":
            continue
        args, minus, _plus = _options(words[1:])
        found = _ASSIGN_RE.match(args[0]) if "x" in minus and len(args) == 1 else None
        if found and not found.group(2):
            out.append((found.group(1), found.group(3)))
    return out


def _first_line(buf: bytearray, at: int, end: int) -> bytes:
    """A ksh record's command: ksh quotes newlines in what it traces, so the rest is other output."""
    limit = min(end, at + MAX_RECORD_BYTES)
    j = buf.find(b"\n", at, limit)
    return bytes(buf[at : j if j >= 0 else limit])


_TOKEN_ASSIGN = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*\+?=")


def _tokens(text: bytes) -> tuple[str, ...]:
    """What of a traced command can be found in its source line: `NAME=` of an assignment, other short words.

    Rough on purpose (quotes dropped, not undone): it runs for every record
    while an eval is open, and only compares two lines.
    """
    out = []
    for w in text.split(None, 6)[:6]:
        m = _TOKEN_ASSIGN.match(w)
        word = m.group() if m else w.strip(b"'\"$")
        if 0 < len(word) <= 64:
            out.append(word.decode("utf-8", "surrogateescape"))
    return tuple(out)


def _fit(tokens: tuple[str, ...], line: str) -> int:
    """How many of ``tokens`` occur in ``line`` as whole words."""
    return sum(1 for t in tokens if _has_word(line, t))


def _has_word(line: str, token: str) -> bool:
    i = line.find(token)
    while i >= 0:
        j = i + len(token)
        starts = i == 0 or not _word_char(line[i - 1])
        ends = j >= len(line) or not _word_char(line[j]) or not _word_char(token[-1])
        if starts and ends:
            return True
        i = line.find(token, i + 1)
    return False


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


# --- small helpers -------------------------------------------------------------------


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits (Linux >= 5.3), or None."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return None
    try:
        fd: int = pidfd_open(pid)
    except OSError:
        return None
    return fd


def _close(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def _grow_pipe(fd: int) -> None:
    """Ask for a 1 MiB pipe buffer (Linux), so a start-up trace rarely has to wait for us."""
    import fcntl

    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is not None:
        # Over /proc/sys/fs/pipe-max-size it fails: the default buffer still works.
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, setpipe, 1024 * 1024)


def _program(word: str | None, host: Host) -> str | None:
    """The name of the program an `exec` runs, only when it is one (a note never repeats an arbitrary word)."""
    if not word or not _PROGRAM_RE.match(word):
        return None
    if "/" in word:
        return Path(word).name if host.stat(Path(word)) is not None else None
    return word if shutil.which(word, path=host.env.get("PATH") or os.defpath) else None


# One match per record: the nonce, then the header fields or a tag of our final
# report.  bash: line,subshell,pid US file US; zsh: subshell,depth,line US file
# US (${ZSH_SUBSHELL:-0} stays as it is when a start-up file turns PROMPT_SUBST
# off).  The nonce is a group, checked where it matters, so one pattern serves every run.
_HEADERS = {
    "bash": re.compile(rb"\x1e([0-9a-f]{8})(?:(\d+),(\d+),(\d+)\x1f([^\x1e\x1f\n]*)\x1f |([RVE]))"),
    "zsh": re.compile(rb"\x1e([0-9a-f]{8})(?:(\d+|\$\{ZSH_SUBSHELL:-0\}),(-?\d+),(\d+)\x1f([^\x1e\x1f\n]*)\x1f |([RVE]))"),
    # ksh: subshell,level,line US file US, as zsh; N: the shell is not ksh93.
    "ksh": re.compile(rb"\x1e([0-9a-f]{8})(?:(\d+),(\d+),(\d+)\x1f([^\x1e\x1f\n]*)\x1f |([REN]))"),
}


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _plus_run(buf: bytearray | bytes, j: int) -> int:
    """How many '+' end just before ``j`` (bash's nesting depth)."""
    k = j
    while k > 0 and buf[k - 1] == 0x2B:
        k -= 1
    return j - k


def _int(raw: bytes) -> int:
    return int(raw) if raw.isdigit() else -1


def _opt_name(word: str) -> str:
    return word.lower().replace("_", "").replace("-", "")


def _options(words: list[str]) -> tuple[list[str], set[str], set[str]]:
    """Split ``-x``/``+x`` option words from the arguments of a declaration builtin."""
    minus: set[str] = set()
    plus: set[str] = set()
    for i, w in enumerate(words):
        if w == "--":
            return words[i + 1 :], minus, plus
        if len(w) > 1 and w[0] in "-+" and not _ASSIGN_RE.match(w):
            (minus if w[0] == "-" else plus).update(w[1:])
            continue
        return words[i:], minus, plus
    return [], minus, plus


_ESCAPES = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11, "e": 27, "E": 27, "\\": 92, "'": 39, '"': 34, "?": 63}


def _words(text: str) -> list[str] | None:
    """Split one traced command into unquoted words; None when a quote is not closed.

    The shells quote xtrace output themselves: '…', $'…' (bash: \\NNN octal;
    zsh also \\C-x and \\M-x; ksh \\xHH and \\x[HH]), and backslashes.
    """
    words: list[str] = []
    cur = bytearray()
    in_word = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\n":
            if in_word:
                words.append(cur.decode("utf-8", "surrogateescape"))
                cur, in_word = bytearray(), False
            i += 1
            continue
        in_word = True
        if c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                return None
            cur += text[i + 1 : j].encode("utf-8", "surrogateescape")
            i = j + 1
        elif c == "$" and text.startswith("$'", i):
            end = _ansi_c(text, i + 2, cur)
            if end < 0:
                return None
            i = end
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\$`':
                    i += 1
                cur += text[i].encode("utf-8", "surrogateescape")
                i += 1
            if i >= n:
                return None
            i += 1
        elif c == "\\" and i + 1 < n:
            cur += text[i + 1].encode("utf-8", "surrogateescape")
            i += 2
        else:
            cur += c.encode("utf-8", "surrogateescape")
            i += 1
    if in_word:
        words.append(cur.decode("utf-8", "surrogateescape"))
    return words


def _ansi_c(text: str, i: int, out: bytearray) -> int:
    """Decode a $'…' body starting at ``i`` into ``out``; the index after the closing quote, or -1."""
    n = len(text)
    while i < n:
        c = text[i]
        if c == "'":
            return i + 1
        if c != "\\" or i + 1 >= n:
            out += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        e = text[i + 1]
        i += 2
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
        elif e in "xuU" and text.startswith("[", i) and text.find("]", i) > i + 1:
            # ksh93: \x[HH] (a byte) and \u[HHHH] (a character), bracketed when a hex digit follows.
            j = text.find("]", i)
            digits = text[i + 1 : j]
            if all(c in "0123456789abcdefABCDEF" for c in digits):
                code = int(digits, 16)
                if e == "x" and code <= 0xFF:
                    out.append(code)
                else:
                    out += chr(min(code, 0x10FFFF)).encode("utf-8", "surrogateescape")
                i = j + 1
            else:
                out += ("\\" + e).encode("utf-8", "surrogateescape")
        elif e in "01234567":
            j = i
            while j < n and j < i + 2 and text[j] in "01234567":
                j += 1
            out.append(int(text[i - 1 : j], 8) & 0xFF)
            i = j
        elif e == "x":
            j = i
            while j < n and j < i + 2 and text[j] in "0123456789abcdefABCDEF":
                j += 1
            if j > i:
                out.append(int(text[i:j], 16))
            i = j
        elif e in "uU":
            width = 4 if e == "u" else 8
            j = i
            while j < n and j < i + width and text[j] in "0123456789abcdefABCDEF":
                j += 1
            if j > i:
                out += chr(min(int(text[i:j], 16), 0x10FFFF)).encode("utf-8", "surrogateescape")
            i = j
        elif e in "CM" and text.startswith("-", i):
            # zsh: \C-x is a control character, \M-x sets the high bit, \M-\C-x both.
            meta = e == "M"
            i += 1
            control = not meta
            if meta and text.startswith("\\C-", i):
                control, i = True, i + 3
            ch = text[i] if i < n else "?"
            i += 1
            code = (0x7F if ch == "?" else ord(ch) & 0x1F) if control else ord(ch) & 0xFF
            out.append(code | 0x80 if meta else code)
        elif e == "c" and i < n:
            out.append(ord(text[i]) & 0x1F)  # bash \cx
            i += 1
        else:
            out += ("\\" + e).encode("utf-8", "surrogateescape")
    return -1


def _is_prefix(line: str, name: str) -> bool:
    """Whether the first ``name=…`` on a source line is followed by a command word (a temporary assignment)."""
    m = re.search(rf"(?:^|[\s;&|(]){re.escape(name)}\+?=", line)
    if not m:
        return False
    i = _skip_word(line, m.end())
    while True:
        while i < len(line) and line[i] in " \t":
            i += 1
        if i >= len(line) or line[i] in ";&|)#\r\n":
            return False
        a = re.match(r"[A-Za-z_][A-Za-z0-9_]*\+?=", line[i:])
        r = re.match(r"\d*(>>|>&|<&|<<<|>|<)", line[i:])
        if a:
            i = _skip_word(line, i + a.end())
        elif r:
            i = _skip_word(line, i + r.end())
        else:
            return True


def _skip_word(s: str, i: int) -> int:
    """The index just after the shell word starting at ``i`` (quotes, $(…), ${…} and `…` kept whole)."""
    n, depth = len(s), 0
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = s.find("'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if c in '"`':
            j = i + 1
            while j < n and s[j] != c:
                j += 2 if s[j] == "\\" else 1
            i = j + 1
            continue
        if c == "$" and s[i + 1 : i + 2] in ("(", "{"):
            depth += 1
            i += 2
            continue
        if depth and c in ")}":
            depth -= 1
        elif depth and c in "({":
            depth += 1
        elif not depth and c in " \t;&|<>()\r\n":
            break
        i += 1
    return i
