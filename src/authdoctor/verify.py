"""Verify a fix the way userpath does: start fresh shells on the real start-up files, before and after.

A fresh login shell of each affected kind runs the person's own start-up
files (with a clean environment that holds none of the watched variables) and
prints its environment.  Values are hashed as they are read and never kept:
comparing the before and after snapshots proves the removed variables are
gone and every other variable kept its value.

It also says what a program cannot change: the shell that started
authdoctor, running Codex processes and a tmux server still hold the old value.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from authdoctor._hash import sha256_hex
from authdoctor.host import Host

_MARK = b"__AUTHDOCTOR_VERIFY__"
# Set by the shell itself on every start; never a sign that a fix changed something.
_VOLATILE = frozenset({"_", "SHLVL", "OLDPWD", "PWD", "COLUMNS", "LINES", "fish_pid"})

# How each kind of shell is started so that it reads the most start-up files.
_MODES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "bash": (("login shell", ("-l", "-i", "-c")), ("interactive shell", ("-i", "-c"))),
    "zsh": (("login shell", ("-l", "-i", "-c")),),
    "fish": (("login shell", ("-l", "-i", "-c")),),
    "sh": (("login shell", ("-l", "-c")),),
    "dash": (("login shell", ("-l", "-c")),),
    "ksh": (("login shell", ("-l", "-c")),),
}
_FAMILY_SHELL = {"bash": "bash", "zsh": "zsh", "posix": "sh", "fish": "fish", "fish-universal": "fish"}


class Snapshot(NamedTuple):
    context: str  # "zsh login shell"
    values: Mapping[str, str]  # name -> sha256 of the value; never the value
    problem: str | None = None  # why there is no snapshot (not installed, timed out …)


class ShellVerdict(NamedTuple):
    context: str
    gone: tuple[str, ...]  # removed variables a fresh shell no longer has
    still_set: tuple[str, ...]  # removed variables a fresh shell still has (set somewhere authdoctor did not edit)
    changed: tuple[str, ...]  # other variables whose value changed (should be empty)
    kept: int  # other variables with the same value
    problem: str | None = None


def shells_to_check(families: Iterable[str], user_shell: str) -> list[str]:
    kinds = [user_shell] if user_shell in _MODES else []
    for family in sorted(families):
        kind = _FAMILY_SHELL.get(family)
        if kind and kind not in kinds:
            kinds.append(kind)
    return kinds


def snapshots(host: Host, kinds: Iterable[str], *, timeout: float = 10.0) -> list[Snapshot]:
    from authdoctor.collect.origins.trace import trace_env

    out: list[Snapshot] = []
    for kind in kinds:
        for mode, flags in _MODES.get(kind, ()):
            context = f"{kind} {mode}"
            env = trace_env(host, kind, kind)
            path = shutil.which(kind, path=env.get("PATH"))
            if path is None:
                out.append(Snapshot(context, {}, f"{kind} is not installed here"))
                continue
            script = f"printf %s {_MARK.decode()}; env -0"  # the same in every shell, fish included
            res = host.run([path, *flags, script], timeout=timeout, env=env, cwd=host.home)
            if res.timed_out:
                out.append(Snapshot(context, {}, f"it did not finish within {timeout:g} s"))
                continue
            printed = env_after(res.stdout, _MARK)
            if printed is None:
                out.append(Snapshot(context, {}, f"it exited with status {res.returncode} before printing its environment"))
                continue
            out.append(Snapshot(context, {k.decode("utf-8", "replace"): sha256_hex(v) for k, v in printed.items()}))
    return out


def env_after(stdout: bytes, mark: bytes) -> dict[bytes, bytes] | None:
    """The ``env -0`` a shell printed after ``mark`` (start-up files may print before it); None without the mark."""
    if mark not in stdout:
        return None
    out: dict[bytes, bytes] = {}
    for item in stdout.split(mark, 1)[1].split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep and key:
            out[key] = value
    return out


def compare(before: list[Snapshot], after: list[Snapshot], removed: Iterable[str]) -> list[ShellVerdict]:
    gone_names = tuple(removed)
    verdicts: list[ShellVerdict] = []
    for b, a in zip(before, after, strict=True):
        problem = a.problem or b.problem
        if problem:
            verdicts.append(ShellVerdict(a.context, (), (), (), 0, problem))
            continue
        still = tuple(n for n in gone_names if n in a.values)
        gone = tuple(n for n in gone_names if n not in a.values)
        others = (set(b.values) | set(a.values)) - set(gone_names) - _VOLATILE
        changed = tuple(sorted(n for n in others if b.values.get(n) != a.values.get(n)))
        verdicts.append(ShellVerdict(a.context, gone, still, changed, len(others) - len(changed)))
    return verdicts


def unset_command(names: Iterable[str], shell: str) -> str:
    """What the person types in the terminal that ran authdoctor (a program cannot change its parent)."""
    names = list(names)
    if shell == "fish":
        return "; ".join(f"set -e {n}" for n in names)
    if shell in ("powershell", "pwsh"):
        return "; ".join(f"Remove-Item Env:{n}" for n in names)
    if shell == "cmd":
        return " & ".join(f"set {n}=" for n in names)
    return f"unset {' '.join(names)}"


class Holder(NamedTuple):
    what: str  # "codex (pid 4242)", "the tmux server"
    how: str  # how to make it let go


def holders(host: Host, names: Iterable[str]) -> list[Holder]:
    """Running things that keep the old value until restarted: Codex processes, the tmux server."""
    from authdoctor.collect.processes import APP_SERVER, MANAGED_DAEMON, PID_UPDATE_LOOP, codex_processes

    names = list(names)
    found: list[Holder] = []
    for p in codex_processes(host, names) or ():
        # An environment we cannot read: say so rather than guess it is clean.
        if p.environ_readable and not p.holds:
            continue
        name = "codex app-server" if p.role in (APP_SERVER, MANAGED_DAEMON, PID_UPDATE_LOOP) else "codex"
        found.append(Holder(f"{name} (pid {p.pid})", "quit it and start it again from a new terminal"))
    found.extend(_tmux_holders(host, names))
    if host.platform == "darwin":
        found.append(Holder("the Codex desktop app, if it is open", "quit it (Cmd-Q) and open it again"))
    return found


def _tmux_holders(host: Host, names: list[str]) -> list[Holder]:
    """tmux servers that would still hand one of ``names`` to new panes (the fix removes them; one may have refused)."""
    from authdoctor.collect.tmux import collect_tmux
    from authdoctor.plan.model import TmuxTarget

    tmux = collect_tmux(host)
    if tmux is None:
        return []
    found: list[Holder] = []
    for server in tmux.running():
        held = [v for v in server.variables if v.name in names and v.value is not None]
        if held:
            targets = (TmuxTarget(tmux.program, server.socket, v.session.id if v.session else None, v.name) for v in held)
            commands = "; ".join(f"`{t.unset_command()}`" for t in targets)
            found.append(
                Holder(f"the tmux server at {server.socket}", f"new panes inherit its environment: run {commands}, or restart tmux")
            )
    return found
