"""Remove entries from ``KEY=value`` files: environment.d, ``~/.pam_environment`` and ``$CODEX_HOME/.env``.

Three families share one editor because they share one shape -- one entry
per (logical) line, ``#`` starting a comment line:

- ``environment.d`` (``~/.config/environment.d/*.conf``): systemd's
  environment-file syntax; quoted values may span lines.
- ``pam`` (``~/.pam_environment``): ``KEY DEFAULT=… OVERRIDE=…`` or a bare
  ``KEY=value``; a backslash at the end of a line continues it.
  (``/etc/environment`` and ``/etc/security/pam_env.conf`` come with the
  blocker ``system-file`` and are refused.)
- ``dotenv`` (``$CODEX_HOME/.env``): dotenvy's syntax, ``export KEY=…`` and
  quoted values that may span lines.

An entry's lines become comments with the tag:
``# KEY=…  # disabled by authdoctor 2026-11-21 (KEY)``.  In all three
formats a line whose first non-blank character is ``#`` is a comment on its
own (pam_env skips it even inside a continuation, systemd reads it in its
"before a key" state, dotenvy starts a new logical line at it), so
commenting out every line of an entry removes exactly that entry.

An entry over several lines (the scanner's blocker ``multi-line``) is taken
when its extent is known exactly: for environment.d and pam the scanner's
span covers the whole entry; for dotenv the span holds only the first line,
so the extent is re-derived with the same line splitter the scanner uses
(dotenvy's ``QuotedLines``).  Every line is commented out and the tag goes on
the first one (after the tag the line no longer ends in a backslash, which
systemd would read as continuing the comment).  Blank lines inside a quoted
value are left blank: they mean nothing once the value is gone.

Before an edit is returned the file is parsed again with the family's own
parser: every other entry must still be there with the same key, value and
line, else the edit is refused (``would-break``) -- e.g. a ``.env`` whose
later line uses ``$KEY`` of the removed entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor.plan.editors.base import EditContext, EditorResult, Line, Refusal, comment_out, indent_end, line_at, line_number
from authdoctor.plan.model import Edit, apply_edits

if TYPE_CHECKING:
    from authdoctor.collect.origins.model import Setting

# Blockers this editor can still handle: an entry over several lines, when its extent is exact.
_OURS = (None, "multi-line")


class KeyValueEditor:
    def edit(self, data: bytes, settings: Sequence[Setting], ctx: EditContext) -> EditorResult:
        refused: list[Refusal] = []
        by_entry: dict[tuple[int, int], list[Setting]] = {}
        for s in settings:
            if s.blocker not in _OURS or (s.blocker is None and not s.editable):
                refused.append(Refusal(s, s.blocker or "not-editable"))
                continue
            if s.blocker == "multi-line" and _system_path(s.path):
                # The scanners check "multi-line" before "system-file", so the first can hide the second.
                refused.append(Refusal(s, "system-file"))
                continue
            extent = _extent(data, s)
            if extent is None:
                reason = s.blocker or "unknown-span"
                refused.append(Refusal(s, reason, "the entry could not be located exactly"))
                continue
            by_entry.setdefault(extent, []).append(s)

        edits: list[Edit] = []
        done: list[Setting] = []
        lines_done: set[int] = set()
        for (first, last), mine in sorted(by_entry.items()):
            if any(first <= n <= last for n in lines_done):
                refused.extend(Refusal(s, "overlap") for s in mine)
                continue
            lines = _lines(data, first, last)
            names = [s.var for s in mine]
            edits.append(comment_out(data, lines[0], ctx, names))
            for line in lines[1:]:
                at = indent_end(data, line)
                if at < line.end:
                    edits.append(Edit(at, at, b"# "))
            lines_done.update(range(first, last + 1))
            done.extend(mine)

        if not edits:
            return EditorResult((), tuple(refused))
        family = done[0].family
        path = done[0].path
        before = _entries(family, path, data) or []
        after = _entries(family, path, apply_edits(data, edits))
        if after is None or after != [e for e in before if e[0] not in lines_done]:
            detail = "removing it automatically would change other entries of the file"
            return EditorResult((), tuple(refused) + tuple(Refusal(s, "would-break", detail) for s in done))
        return EditorResult(tuple(edits), tuple(refused))


def _system_path(path: Path) -> bool:
    """/etc/environment, /etc/security/pam_env.conf, /etc|/run|/usr/lib environment.d (also under an image root)."""
    parts = path.parts
    pairs = set(pairwise(parts))
    return "etc" in parts or bool(pairs & {("run", "environment.d"), ("lib", "environment.d")})


def _lines(data: bytes, first: int, last: int) -> list[Line]:
    """Lines ``first``..``last`` (1-based) of ``data``."""
    out: list[Line] = []
    at = 0
    for _ in range(first - 1):
        at = line_at(data, at).next
    for _ in range(first, last + 1):
        line = line_at(data, at)
        out.append(line)
        at = line.next
    return out


def _extent(data: bytes, s: Setting) -> tuple[int, int] | None:
    """The entry's first and last line (1-based), when the span covers whole lines; None otherwise."""
    start, end = s.span
    if not (0 <= start < end <= len(data)):
        return None
    first_line = line_at(data, start)
    if data[first_line.start : start].strip(b" \t"):
        return None  # something before the key on its line
    if s.family == "dotenv" and s.blocker == "multi-line":
        return _dotenv_extent(data, line_number(data, start))
    last_line = line_at(data, max(start, end - 1))
    if end > last_line.end:
        # The span runs into the line ending (systemd's entry ends at the newline): fine when nothing follows.
        end = last_line.end
    rest = data[end : last_line.end].lstrip(b" \t\r")
    if rest and not rest.startswith(b"#"):
        return None
    first, last = line_number(data, start), line_number(data, last_line.start)
    if s.blocker is None and first != last:
        return None
    return first, last


def _dotenv_extent(data: bytes, first: int) -> tuple[int, int] | None:
    """The physical lines of the logical line starting at ``first``, as dotenvy splits them."""
    from authdoctor.collect.dotenv import _logical_lines

    logical = list(_logical_lines(data))
    starts = [lg.line for lg in logical]
    if starts != sorted(set(starts)):
        return None  # a line that is not UTF-8 broke the split; do not guess
    for i, lg in enumerate(logical):
        if lg.line == first and lg.text is not None:
            total = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            last = starts[i + 1] - 1 if i + 1 < len(starts) else total
            return (first, last) if last >= first else None
    return None


_Entry = tuple[int, str, str | None]  # (first line, key, value)


def _entries(family: str, path: Path, data: bytes) -> list[_Entry] | None:
    """Every entry of the file as the family's own reader sees it."""
    from authdoctor.collect.origins._textfile import decode

    if family == "dotenv":
        from authdoctor.collect.dotenv import parse_dotenv

        return [(e.line, e.key, e.value.reveal()) for e in parse_dotenv(path, data).entries]
    from authdoctor.collect.origins import system

    tf, _ok = decode(path, data)
    if family == "environment.d":
        return [(line, key, value) for line, _start, _end, key, value, _computed in system.parse_env_file(tf)]
    if family == "pam":
        if path.name == "environment":
            return [(line.first, name, value) for line, name, value in system.parse_etc_environment(tf)]
        return [(line.first, name, value) for line, name, value, _computed in system.parse_pam_env_conf(tf)]
    return None


EDITOR = KeyValueEditor()
