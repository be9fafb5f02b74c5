"""Where a variable is set: the data every origin source produces.

An *origin source* reads one family of places that can put a variable into a
process's environment (POSIX shell start-up files, fish, PowerShell profiles,
PAM and systemd files, launchd, the Windows registry, editor settings, direnv,
``$CODEX_HOME/.env``) and returns :class:`Setting` records in the order that
family evaluates them, grouped into :class:`Trail` s -- one per kind of process
("bash login shell", "GUI apps (launchd)", …).  ``where`` and ``check`` merge
trails into contexts and pick a winner per variable: the last setting that is
in effect.

Values stay :class:`~authdoctor.secret.Secret`; ``text`` is always redacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Protocol

    from authdoctor.host import Host
    from authdoctor.secret import Secret

# Actions a setting can take on a variable.
SET = "set"  # assigned, not (yet) exported
EXPORT = "export"  # assigned and exported, or an existing value exported
UNSET = "unset"  # removed (unset, set -e, Remove-Item Env:, registry value deleted …)


class Setting(NamedTuple):
    """One statement (or entry) that sets, exports or unsets a watched variable."""

    var: str
    action: str  # SET | EXPORT | UNSET
    exported: bool  # after this statement, child processes see the variable
    value: Secret | None  # None for UNSET or when the value is computed (``$(…)``)
    path: Path  # absolute path on this machine (the registry uses a pseudo-path, e.g. HKCU/Environment)
    line: int  # 1-based; 0 when the place has no lines (registry value, launchctl getenv)
    text: str  # the statement, one line, with every value replaced by <redacted>
    # "bash" | "zsh" | "posix" | "fish" | "fish-universal" | "powershell" | "pam" | "environment.d" |
    # "launchd" | "registry" | "vscode" | "direnv" | "dotenv" | "trace"
    family: str
    span: tuple[int, int] = (0, 0)  # byte range of the whole statement in the file, for the fixer
    part: tuple[int, int] = (0, 0)  # byte range of just this variable's piece (`X=v` in `export A=1 X=v`)
    chain: tuple[Path, ...] = ()  # files that sourced this one, outermost first
    conditional: bool = False  # inside if/case/loop/function/&&: may not run
    editable: bool = True  # a fixer may comment it out / remove it safely
    blocker: str | None = None  # why not: "eval", "generated", "foreign-block:conda", "system-file", "multi-line" …

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


class ScanNote(NamedTuple):
    """Something met while scanning that the person should know: unreadable, cycle, hang, parse error."""

    path: Path
    kind: str  # "unreadable" | "missing" | "cycle" | "parse-error" | "not-utf8" | "timeout" | "crash" | "exit" | "too-large"
    message: str  # plain words, never a secret


class Trail(NamedTuple):
    """What one kind of process goes through, in order: e.g. every file a zsh login shell reads."""

    context: str  # "bash login shell", "zsh interactive shell", "GUI apps (launchd)", "Windows processes" …
    settings: tuple[Setting, ...]
    files: tuple[Path, ...] = ()  # files read, in order (for `where --verbose` and tests)


class OriginScan(NamedTuple):
    """What one origin source found."""

    source: str
    trails: tuple[Trail, ...] = ()
    notes: tuple[ScanNote, ...] = ()


if TYPE_CHECKING:

    class OriginSource(Protocol):
        """One family of places.  Reads only through the Host; never runs user code unless it is the tracer."""

        name: str

        def scan(self, host: Host, names: frozenset[str]) -> OriginScan: ...


def winner(settings: tuple[Setting, ...] | list[Setting], var: str) -> Setting | None:
    """The setting in effect at the end, or None when the variable ends up unset or unexported.

    Sources record ``exported`` as the state *after* each statement (``X=1`` then
    ``export X`` gives a second setting with exported=True), so the last one
    decides.  A conditional setting counts: static reading cannot tell whether
    it runs, and the trace confirms.
    """
    last: Setting | None = None
    for s in settings:
        if s.var == var:
            last = None if s.action == UNSET else s
    return last if last is not None and last.exported else None
