"""What a repair plan is made of.  Plain data: every field is redacted or a path, never a secret."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class Edit(NamedTuple):
    """Replace bytes ``[start, end)`` of a file with ``new``."""

    start: int
    end: int
    new: bytes

    def __repr__(self) -> str:
        # ``new`` can hold the very line being disabled, secret included.
        return f"Edit({self.start}, {self.end}, <{len(self.new)} bytes>)"


class FileChange(NamedTuple):
    """Byte edits to one file (a start-up file, fish_variables, a settings JSON, a plist …)."""

    path: Path  # the file as the person knows it (may be a symlink)
    target: Path  # the file really written: the symlink's target, so the link stays a link
    before: bytes  # the bytes the plan was made from; apply refuses when the file differs
    edits: tuple[Edit, ...]
    family: str  # which editor made it
    removes: tuple[str, ...]  # variable names
    lines: tuple[int, ...]  # 1-based lines touched, for the summary
    cures: tuple[str, ...]  # finding ids
    note: str = ""  # e.g. "edits the target of a symlink: your dotfiles repository may hold the source"

    @property
    def after(self) -> bytes:
        return apply_edits(self.before, self.edits)

    def __repr__(self) -> str:
        # The bytes are the person's file, secrets included: show where, never what.
        return f"FileChange({str(self.path)!r}, lines={self.lines}, removes={self.removes}, {len(self.edits)} edits)"


class MoveAside(NamedTuple):
    """Rename a file next to itself (``auth.json`` → ``auth.json.authdoctor-<stamp>``) so it can be put back."""

    path: Path
    dest: Path
    before: bytes
    cures: tuple[str, ...]
    then: str  # what the person does next, e.g. "run `codex login`"

    def __repr__(self) -> str:
        return f"MoveAside({str(self.path)!r} -> {self.dest.name!r})"


class KeyringAside(NamedTuple):
    """Move the OS keyring entry holding a login into the journal (a private copy), then delete it, so it can be put back.

    Only where it is: the secret is read when the plan is applied, never when it is made.
    """

    service: str  # "Codex Auth"
    account: str  # "cli|<sha256-16 of CODEX_HOME>"
    cures: tuple[str, ...]
    then: str

    def __repr__(self) -> str:
        return f"KeyringAside({self.service!r}, {self.account!r})"


class FolderAside(NamedTuple):
    """Rename a folder next to itself (``~/.config/codex`` → ``codex.authdoctor-<stamp>``) so it can be put back.

    ``ino``/``dev`` identify the folder: the rename keeps them, so apply and undo
    can tell the folder that was looked at from one made since.
    """

    path: Path
    dest: Path
    ino: int
    dev: int
    holds: tuple[str, ...]  # the credential files seen in it (relative names), for the summary
    cures: tuple[str, ...]
    then: str

    def __repr__(self) -> str:
        return f"FolderAside({str(self.path)!r} -> {self.dest.name!r})"


class RegistryDelete(NamedTuple):
    """Delete one value from a Windows environment key, then broadcast WM_SETTINGCHANGE."""

    hive: str  # "HKCU"
    key: str
    name: str
    removes: tuple[str, ...]
    cures: tuple[str, ...]


class TmuxTarget(NamedTuple):
    """One variable of one running tmux server: global (``session`` None) or one session's (its ``$N`` id)."""

    program: str
    socket: Path
    session: str | None
    name: str
    session_name: str = ""

    def scope(self) -> tuple[str, ...]:
        return ("-g",) if self.session is None else ("-t", self.session)

    def words(self) -> str:
        where = "global environment" if self.session is None else f"environment of session {self.session_name or self.session}"
        return f"{self.name} in the {where} of the tmux server at {self.socket}"

    def unset_command(self) -> str:
        scope = "-g" if self.session is None else f"-t '{self.session}'"
        return f"tmux -S {self.socket} set-environment {scope} -u {self.name}"


class TmuxUnset(NamedTuple):
    """Remove a variable from a running tmux server's environment (what new panes get); its value goes to the journal."""

    target: TmuxTarget
    sha256: str  # of the value the plan was made from: apply refuses when the server holds another one
    cures: tuple[str, ...]

    def __repr__(self) -> str:
        return f"TmuxUnset({self.target.words()!r})"


# An automatic change; apply and undo dispatch on its type.
Change = FileChange | MoveAside | RegistryDelete | KeyringAside | FolderAside | TmuxUnset


class ManualStep(NamedTuple):
    """Something authdoctor will not do itself, said precisely enough to do by hand."""

    summary: str  # one sentence, redacted
    reason: str  # "eval" | "foreign-block:conda" | "system-file" | "multi-line" | "parse-error" | "live-session" …
    cures: tuple[str, ...] = ()
    path: Path | None = None
    line: int | None = None
    text: str = ""  # the redacted statement
    commands: tuple[str, ...] = ()
    detail: str = ""  # what the editor saw, in words (never a value)


class Plan(NamedTuple):
    changes: tuple[Change, ...]
    manual: tuple[ManualStep, ...]
    cures: tuple[str, ...]  # every finding id the plan addresses (automatically or by hand)
    removes: tuple[str, ...]  # every variable it removes from start-up files

    @property
    def empty(self) -> bool:
        return not self.changes and not self.manual


def apply_edits(data: bytes, edits: tuple[Edit, ...] | list[Edit]) -> bytes:
    """``data`` with non-overlapping ``edits`` applied (in any order)."""
    out: list[bytes] = []
    at = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < at or e.end < e.start or e.end > len(data):
            raise ValueError(f"overlapping or out-of-range edit {e.start}..{e.end}")
        out.append(data[at : e.start])
        out.append(e.new)
        at = e.end
    out.append(data[at:])
    return b"".join(out)
