"""What an ``.envrc`` does, evaluated for :mod:`authdoctor.collect.origins.direnv` (see its docstring).

A module of its own so that a check with no ``.envrc`` in reach never loads it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.collect.origins._textfile import LazyRegex, is_regular, read_raw
from authdoctor.collect.origins.direnv import ENVRC, MAX_DEPTH, find_up
from authdoctor.collect.origins.model import EXPORT, SET, UNSET, ScanNote, Setting
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from authdoctor.collect.origins import shell as sh
    from authdoctor.host import Host

_DIRECTIVE = LazyRegex(
    rb"^[ \t]*(dotenv_if_exists|dotenv|source_env_if_exists|source_env|source_up_if_exists|source_up)(?=[ \t;]|$)([^\n;#]*)",
    re.MULTILINE,
)


class _Step(NamedTuple):
    """One thing an .envrc does, in file order: a shell event or a direnv directive."""

    line: int
    start: int
    kind: str  # "event" | directive name
    payload: sh.Event | bytes  # a shell event, or the directive's argument text


class Evaluator:
    def __init__(self, host: Host, names: frozenset[str], notes: list[ScanNote]) -> None:
        self.host = host
        self.names = names
        self.notes = notes
        self.settings: list[Setting] = []
        self.files: list[Path] = []
        self.exported: dict[str, bool] = {}
        self.assigned: dict[str, Secret | None] = {}  # value of each variable assigned so far
        self.allexport = False
        self.stack: list[Path] = []

    # -- .envrc (bash) --

    def envrc(self, path: Path, chain: tuple[Path, ...], conditional: bool) -> None:
        if path in self.stack or len(self.stack) >= MAX_DEPTH:
            self.notes.append(ScanNote(path, "cycle", f"{path} is loaded again while it is being read; not followed"))
            return
        data = read_raw(self.host, path, self.notes, missing=f"{chain[-1] if chain else path} loads {path}, which does not exist")
        if data is None:
            return
        self.files.append(path)
        self.stack.append(path)
        try:
            self._steps(path, data, chain, conditional)
        finally:
            self.stack.pop()

    def _steps(self, path: Path, data: bytes, chain: tuple[Path, ...], conditional: bool) -> None:
        steps = [
            _Step(data.count(b"\n", 0, m.start()) + 1, m.start(), m.group(1).decode(), m.group(2)) for m in _DIRECTIVE().finditer(data)
        ]
        events = _shell_events(data, self.names, path, self.notes)
        steps += [_Step(e.line, e.span[0], "event", e) for e in events]
        for step in sorted(steps, key=lambda s: (s.start, s.kind != "event")):
            if isinstance(step.payload, bytes):
                self._directive(path, step, chain, conditional)
            elif not self._event(path, step.payload, chain, conditional):
                return  # `return` / `exit` at the top level: the rest does not run

    def _event(self, path: Path, ev: sh.Event, chain: tuple[Path, ...], conditional: bool) -> bool:
        from authdoctor.collect.origins import shell as sh  # tree-sitter and all: only when an .envrc exists

        cond = conditional or ev.conditional
        if ev.kind == sh.ALLEXPORT:
            if not ev.conditional:
                self.allexport = ev.flag
            return True
        if ev.kind in (sh.RETURN, sh.EXIT):
            return bool(ev.conds)
        if ev.kind == sh.SOURCE:
            target = self._path_of(ev, path)
            if target is None:
                self.notes.append(
                    ScanNote(path, "not-followed", f"{path}:{ev.line} sources a file whose name is computed; it was not followed")
                )
            else:
                self.envrc(target, (*chain, path), cond)
            return True
        if ev.var not in self.names:
            return True
        if ev.kind == sh.ASSIGN:
            exported = self.exported.get(ev.var, False) or self.allexport
            action = EXPORT if exported else SET
            value = None if ev.append else ev.value
            self.assigned[ev.var] = value
        elif ev.kind == sh.EXPORT:
            if not ev.assigns and ev.var not in self.assigned:
                return True  # re-exporting what the shell already had: direnv sees no change
            exported, action = True, EXPORT
            if ev.assigns:
                value = None if ev.append else ev.value
                self.assigned[ev.var] = value
            else:
                value = self.assigned[ev.var]  # `X=v; export X` exports v
        elif ev.kind == sh.UNEXPORT:
            exported, action, value = False, SET, None
        elif ev.kind == sh.UNSET:
            exported, action, value = False, UNSET, None
            self.assigned.pop(ev.var, None)
        else:
            return True
        if not cond:
            self.exported[ev.var] = exported
        self.settings.append(
            Setting(
                var=ev.var,
                action=action,
                exported=exported,
                value=value,
                path=path,
                line=ev.line,
                text=ev.text,
                family="direnv",
                span=ev.span,
                chain=chain,
                conditional=cond,
                editable=(ev.blocker or self._foreign(path)) is None,
                blocker=ev.blocker or self._foreign(path),
            )
        )
        return True

    def _path_of(self, ev: sh.Event, here: Path) -> Path | None:
        if ev.word is None:
            return None
        lexed = ev.word.lex(lambda name: {"HOME": str(self.host.home), "PWD": str(here.parent)}.get(name))
        if lexed.text is None:
            return None
        return _join(here.parent, lexed.text)

    # -- direnv's standard library --

    def _directive(self, path: Path, step: _Step, chain: tuple[Path, ...], conditional: bool) -> None:
        assert isinstance(step.payload, bytes)
        args = _words(step.payload.decode("utf-8", "surrogateescape"))
        if args is None:
            self.notes.append(
                ScanNote(path, "not-followed", f"{path}:{step.line}: `{step.kind}` names a computed path; it was not followed")
            )
            return
        here = path.parent
        quiet = step.kind.endswith("_if_exists")
        where = f"{path}:{step.line}"
        if step.kind.startswith("dotenv"):
            target = _join(here, args[0] if args else ".env")
            if not is_regular(self.host, target):
                if not quiet:
                    self.notes.append(ScanNote(target, "missing", f"{where} loads {target} with `dotenv`, and it does not exist"))
                return
            self._dotenv(target, (*chain, path), conditional, f"loaded by `{step.kind}` at {where}")
        elif step.kind.startswith("source_env"):
            if not args:
                return
            target = _join(here, args[0])
            if self.host.stat(target) is not None and not is_regular(self.host, target):
                target = target / ENVRC
            if not is_regular(self.host, target):
                if not quiet:
                    self.notes.append(ScanNote(target, "missing", f"{where} loads {target} with `source_env`, and it does not exist"))
                return
            self.envrc(target, (*chain, path), conditional)
        else:  # source_up
            up = find_up(self.host, here.parent, args[0] if args else ENVRC) if here.parent != here else None
            if up is None:
                if not quiet:
                    self.notes.append(
                        ScanNote(path, "missing", f"{where}: `source_up` finds no {args[0] if args else ENVRC} in a parent folder")
                    )
                return
            self.envrc(up, (*chain, path), conditional)

    def _foreign(self, path: Path) -> str | None:
        """Project files live anywhere; one that belongs to someone else is not ours to edit."""
        st = self.host.stat(path)
        if st is not None and self.host.uid is not None and st.st_uid != self.host.uid:
            return "other-owner"
        return None

    def dotenv_file(self, path: Path, conditional: bool, how: str) -> None:
        """A ``.env`` direnv loads as the folder's own file (``load_dotenv``)."""
        self._dotenv(path, (), conditional, how)

    def _dotenv(self, path: Path, chain: tuple[Path, ...], conditional: bool, how: str) -> None:
        from authdoctor.collect.dotenv import parse_dotenv

        data = read_raw(self.host, path, self.notes)
        if data is None:
            return
        self.files.append(path)
        parsed = parse_dotenv(path, data)
        if parsed.problem is not None:
            self.notes.append(ScanNote(path, "parse-error", f"{path}: {parsed.problem.message}"))
        lines = data.split(b"\n")
        for entry in parsed.entries:
            if entry.key not in self.names:
                continue
            start = sum(len(x) + 1 for x in lines[: entry.line - 1])
            end = start + len(lines[entry.line - 1]) if entry.line - 1 < len(lines) else start
            self.assigned[entry.key] = entry.value
            if not conditional:
                self.exported[entry.key] = True
            foreign = self._foreign(path)
            self.settings.append(
                Setting(
                    var=entry.key,
                    action=EXPORT,
                    exported=True,
                    value=entry.value,
                    path=path,
                    line=entry.line,
                    text=f"{entry.key}=<redacted>  ({how})",
                    family="dotenv",
                    span=(start, end),
                    chain=chain,
                    conditional=conditional,
                    editable=foreign is None,
                    blocker=foreign,
                )
            )


def _join(directory: Path, name: str) -> Path:
    """``name`` relative to ``directory`` (where direnv runs the file), normalised as the shell would open it."""
    return Path(os.path.normpath(directory / name))


def _words(text: str) -> list[str] | None:
    """Arguments of a directive: plain or quoted words; None if one is computed."""
    out: list[str] = []
    for m in re.finditer(r"'([^']*)'|\"([^\"$`\\\\]*)\"|([^\s'\"]+)", text):
        word = m.group(1) if m.group(1) is not None else m.group(2) if m.group(2) is not None else m.group(3)
        if m.group(3) is not None and any(c in word for c in "$`*?"):
            return None
        out.append(word)
    return out


def _shell_events(data: bytes, names: frozenset[str], path: Path, notes: list[ScanNote]) -> list[sh.Event]:
    """The .envrc's shell events (from shell.py); only the statements that can matter."""
    from authdoctor.collect.origins import shell as sh

    try:
        parsed = sh.parse(data, names)
    except ImportError:
        # tree-sitter is missing (a broken install): say so rather than guess with a grep.
        notes.append(ScanNote(path, "parse-error", f"{path} was not read: the shell parser (tree-sitter) is not installed"))
        return []
    for line in parsed.unparsed:
        notes.append(ScanNote(path, "parse-error", f"{path}:{line} could not be read as shell; check it by hand"))
    keep = (sh.ASSIGN, sh.EXPORT, sh.UNEXPORT, sh.UNSET, sh.SOURCE, sh.ALLEXPORT, sh.RETURN, sh.EXIT)
    return [e for e in parsed.events if e.kind in keep and not e.in_function]
