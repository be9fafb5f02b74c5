"""Remove variables from ``terminal.integrated.env.<os>`` in VS Code / Cursor ``settings.json``.

The files are JSON with comments and trailing commas (JSONC)::

    {
        // my settings
        "editor.fontSize": 13,
        "terminal.integrated.env.linux": {
            "A": "1",
            "CODEX_ACCESS_TOKEN": "…",   // removed: the member and its comma
            "B": "2"
        }
    }

A JSON member cannot be commented out line by line, so the member
``"X": "v"`` is removed together with exactly one comma: its own (the one
after it) when it has one, else -- the last member, written without a
trailing comma -- the comma of the member before it, so ``"A": "1", "X": "v"``
becomes ``"A": "1"`` and never ``"A": "1",``-with-nothing-after in a file
that did not use trailing commas.  An object left with no member keeps its
braces (``{}``).  Every other byte stays as it was: comments (also one
between the member and its comma), indentation, other members, CRLF line
ends.  A line left holding only blanks is removed whole, so no empty line
remains where the member was.

No tag comment is added.  VS Code accepts comments in settings.json, but
other tools read these files as strict JSON (scripts with ``jq``, dotfile
managers, settings sync of other editors); a file without comments stays a
file without comments.  The plan's summary and its undo record say what was
removed and when.

The scanner marks these settings ``editable=False`` with the blocker
``json-setting`` (or ``multi-line`` when key and value sit on different
lines).  Both are what this editor is for and are accepted; a member with a
comment between its key and its value is refused (``comment-inside``), since
removing it would remove the comment too.

Before an edit is returned the file is parsed again (the scanner's JSONC
parser): the result must be the same settings less the removed members,
else the edit is refused (``would-break``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from authdoctor.collect.origins._textfile import TextFile, decode
from authdoctor.collect.origins.editors import JsoncError, JsonObject, Member, _Parser, parse_jsonc
from authdoctor.plan.editors.base import EditContext, EditorResult, Refusal
from authdoctor.plan.model import Edit, apply_edits

if TYPE_CHECKING:
    from authdoctor.collect.origins.model import Setting

_OURS = (None, "json-setting", "multi-line")
_ENV_PREFIX = "terminal.integrated.env."
_BLANK = " \t\r"
_STRUCTURE = "{}[],:"


class VSCodeEditor:
    def edit(self, data: bytes, settings: Sequence[Setting], ctx: EditContext) -> EditorResult:
        refused: list[Refusal] = []
        tf, _ok = decode(Path(), data)
        try:
            root = parse_jsonc(tf.text)
        except (JsoncError, RecursionError):
            return EditorResult((), tuple(Refusal(s, "parse-error") for s in settings))
        if not isinstance(root, JsonObject):
            return EditorResult((), tuple(Refusal(s, "parse-error") for s in settings))

        # Every member of every terminal.integrated.env.* object, by its character span.
        where: dict[tuple[int, int], tuple[JsonObject, int]] = {}
        for top in root.members:
            if top.key.startswith(_ENV_PREFIX) and isinstance(top.value, JsonObject):
                for i, m in enumerate(top.value.members):
                    where[(m.key_start, m.end)] = (top.value, i)

        chosen: dict[int, tuple[JsonObject, set[int]]] = {}  # per object (by id): members to remove
        done: list[Setting] = []
        for s in settings:
            if s.blocker not in _OURS:
                refused.append(Refusal(s, s.blocker or "not-editable"))
                continue
            span = _char_span(data, tf, s.span)
            found = where.get(span) if span is not None else None
            if found is None or found[0].members[found[1]].key != s.var:
                refused.append(Refusal(s, "unknown-span", "the setting could not be located exactly"))
                continue
            obj, index = found
            if _comment_inside(tf.text, obj.members[index]):
                refused.append(Refusal(s, "comment-inside", "a comment sits inside the member; remove it by hand"))
                continue
            chosen.setdefault(id(obj), (obj, set()))[1].add(index)
            done.append(s)
        if not chosen:
            return EditorResult((), tuple(refused))

        dead = [False] * len(tf.text)
        for obj, remove in chosen.values():
            _mark_members(tf.text, obj, remove, dead)
        _mark_blank_lines(tf.text, dead)
        _keep_separators(tf.text, dead)
        edits = tuple(Edit(tf.byte_offset(a), tf.byte_offset(b), b"") for a, b in _runs(dead))

        removed_keys = {obj.members[i].key_start for obj, remove in chosen.values() for i in remove}
        if not _same_except(root, removed_keys, apply_edits(data, edits)):
            detail = "removing it automatically would change other settings in the file"
            return EditorResult((), tuple(refused) + tuple(Refusal(s, "would-break", detail) for s in done))
        return EditorResult(edits, tuple(refused))


def _char_span(data: bytes, tf: TextFile, span: tuple[int, int]) -> tuple[int, int] | None:
    start, end = span
    if not (tf.bom <= start < end <= len(data)):
        return None
    c0 = len(data[tf.bom : start].decode("utf-8", "surrogateescape"))
    return c0, c0 + len(data[start:end].decode("utf-8", "surrogateescape"))


def _skip_blank_and_comments(text: str, i: int) -> int:
    p = _Parser(text)
    p.i = i
    try:
        p.ws()
    except JsoncError:
        return len(text)
    return p.i


def _comment_inside(text: str, m: Member) -> bool:
    """Whether a comment sits between the member's key and its value."""
    p = _Parser(text)
    p.i = m.key_start
    try:
        p.string()
    except JsoncError:
        return True
    colon = _skip_blank_and_comments(text, p.i)
    value_at = _skip_blank_and_comments(text, colon + 1)
    return "/" in text[p.i : value_at]


def _comma_after(text: str, m: Member) -> int | None:
    at = _skip_blank_and_comments(text, m.end)
    return at if at < len(text) and text[at] == "," else None


def _blanks_end(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _mark(dead: list[bool], a: int, b: int) -> None:
    for i in range(a, b):
        dead[i] = True


def _mark_members(text: str, obj: JsonObject, remove: set[int], dead: list[bool]) -> None:
    """Mark each removed member and exactly one comma for it."""
    commas = [_comma_after(text, m) for m in obj.members]
    for i in sorted(remove):
        m = obj.members[i]
        _mark(dead, m.key_start, m.end)
        line_start = text.rfind("\n", 0, m.key_start) + 1
        if not text[line_start : m.key_start].strip(_BLANK):
            # The member starts its line: a comment after it moves to the member's indentation.
            _mark(dead, m.end, _blanks_end(text, m.end))
        comma = commas[i]
        if comma is not None:
            # Its own comma, with the blanks around it.
            before = comma
            while before > m.end and text[before - 1] in " \t":
                before -= 1
            _mark(dead, before, _blanks_end(text, comma + 1))
            continue
        kept = [j for j in range(i) if j not in remove]
        if not kept:
            continue  # the object is left empty: its braces stay
        prev = commas[kept[-1]]
        if prev is None:
            continue  # cannot happen in a parsed object: only the last member may lack a comma
        # The comma before (the last kept member's) goes; so do the blanks up to this member if nothing else is
        # there -- unless a comment follows the member on its line: joining it to the line above would glue comments.
        nl = text.find("\n", m.end)
        trailing = text[m.end : len(text) if nl < 0 else nl].strip(_BLANK)
        if not trailing.startswith(("//", "/*")) and all(dead[k] or text[k].isspace() for k in range(prev + 1, m.key_start)):
            _mark(dead, prev, m.key_start)
        else:
            _mark(dead, prev, prev + 1)


def _mark_blank_lines(text: str, dead: list[bool]) -> None:
    """Extend each removal to its whole line(s) when nothing but blanks would be left there."""
    for a, b in list(_runs(dead)):
        ls = text.rfind("\n", 0, a) + 1
        nl = text.find("\n", b)
        le = len(text) if nl < 0 else nl
        if all(dead[k] or text[k] in _BLANK for k in range(ls, a)) and all(dead[k] or text[k] in _BLANK for k in range(b, le)):
            _mark(dead, ls, le + 1 if nl >= 0 else le)


def _keep_separators(text: str, dead: list[bool]) -> None:
    """Keep one blank of a removal that would glue two tokens together (``/* a */`` + ``/* b */``)."""
    for a, b in _runs(dead):
        if a == 0 or b >= len(text):
            continue
        left, right = text[a - 1], text[b]
        if left.isspace() or right.isspace() or left in _STRUCTURE or right in _STRUCTURE:
            continue
        blank = next((k for k in range(a, b) if text[k] in " \t"), None)
        if blank is not None:
            dead[blank] = False


def _runs(dead: list[bool]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    start = -1
    for i, d in enumerate(dead):
        if d and start < 0:
            start = i
        elif not d and start >= 0:
            out.append((start, i))
            start = -1
    if start >= 0:
        out.append((start, len(dead)))
    return out


def _plain(value: Any, drop: set[int] | None = None) -> Any:
    """A JSONC value without positions; members whose key starts at an index in ``drop`` are left out."""
    if isinstance(value, JsonObject):
        return [(m.key, _plain(m.value, drop)) for m in value.members if drop is None or m.key_start not in drop]
    if isinstance(value, list):
        return [_plain(v, drop) for v in value]
    return value


def _same_except(root: JsonObject, removed: set[int], after: bytes) -> bool:
    tf, _ok = decode(Path(), after)
    try:
        again = parse_jsonc(tf.text)
    except (JsoncError, RecursionError):
        return False
    return bool(_plain(again) == _plain(root, removed))


EDITOR = VSCodeEditor()
