"""Remove assignments from PowerShell profiles.

The scanner (``collect/origins/powershell.py``) reports ``$env:X = '…'``,
``Set-Item env:X …`` / ``New-Item``, and
``[Environment]::SetEnvironmentVariable('X', …[, target])`` with the byte
span of the statement, and blocks what a line edit cannot undo: a statement
continued over several lines (``multi-line``), a line holding another
statement too (``shared-line``, which includes ``if (…) { $env:X = … }`` on
one line), a profile outside the home (``system-file``).

The line becomes a comment with the tag, ``# $env:X = …  # disabled by
authdoctor 2026-11-21 (X)``.  A script block left with only comments
(``if ($x) {`` / ``# …`` / ``}``) is valid PowerShell, so no placeholder is
needed.  Refused as well: a line whose statement is preceded by anything but
indentation, or followed by anything but ``;`` and a ``#`` line comment -- in
particular the start of a ``<# … #>`` block comment, which a ``#`` in front
would turn into code on the next lines.

``SetEnvironmentVariable(…, 'User')`` (or ``'Machine'``) writes the Windows
registry each time the profile runs.  Commenting the line out stops that,
but the value already in ``HKCU\\Environment`` (or HKLM) stays: the registry
scanner reports it on its own, and the plan removes it there
(``RegistryDelete``) or as a manual step.  Outside Windows .NET ignores these
targets and the scanner does not report them.

Profiles may be UTF-8 (with or without a byte-order mark) or UTF-16 LE/BE
with a byte-order mark, as Windows PowerShell 5.1 writes them.  The editor
works on the decoded text and returns byte edits whose new bytes are encoded
in the file's own encoding (surrogateescape keeps stray non-UTF-8 bytes of a
UTF-8 profile); the byte-order mark and CRLF line ends are left untouched.

Before an edit is returned the profile is split into statements again: every
statement other than the removed ones must still be there, unchanged, else
the edit is refused (``would-break``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor.collect.origins import powershell as scanner
from authdoctor.collect.origins._textfile import TextFile, decode
from authdoctor.plan.editors.base import EditContext, EditorResult, Refusal, by_statement, tag
from authdoctor.plan.model import Edit, apply_edits

if TYPE_CHECKING:
    from authdoctor.collect.origins.model import Setting


class PowerShellEditor:
    def edit(self, data: bytes, settings: Sequence[Setting], ctx: EditContext) -> EditorResult:
        tf, ok = decode(Path(), data, utf16=True)
        if not ok and tf.encoding != "utf-8":
            # An odd number of bytes after a UTF-16 mark: offsets cannot be trusted.
            return EditorResult((), tuple(Refusal(s, "parse-error", "the profile is not valid UTF-16") for s in settings))
        statements = scanner.statements(tf.text)
        by_start = {st.start: i for i, st in enumerate(statements)}

        by_stmt, refused = by_statement(settings, lambda s: _statement_index(data, tf, s.span, statements, by_start))

        edits: list[Edit] = []
        done: list[Setting] = []
        removed: set[int] = set()
        for index, mine in sorted(by_stmt.items()):
            st = statements[index]
            text = tf.text
            line_start = text.rfind("\n", 0, st.start) + 1
            nl = text.find("\n", st.end)
            line_end = len(text) if nl < 0 else nl
            if line_end > line_start and text[line_end - 1] == "\r":
                line_end -= 1
            rest = text[st.end : line_end].lstrip(" \t;")
            if text[line_start : st.start].strip(" \t") or (rest and not rest.startswith("#")):
                refused.extend(Refusal(s, "shared-line") for s in mine)
                continue
            # The indentation stays; the statement and whatever comment follows it become one comment.
            new = "# " + text[st.start : line_end] + "  " + tag(ctx, [s.var for s in mine]).decode("ascii")
            edits.append(Edit(tf.byte_offset(st.start), tf.byte_offset(line_end), _encode(new, tf.encoding)))
            done.extend(mine)
            removed.add(index)

        if not edits:
            return EditorResult((), tuple(refused))
        if not _same_except(tf.text, statements, removed, apply_edits(data, edits)):
            detail = "removing it automatically would change how PowerShell reads the rest of the profile"
            return EditorResult((), tuple(refused) + tuple(Refusal(s, "would-break", detail) for s in done))
        return EditorResult(tuple(edits), tuple(refused))


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-8":
        return text.encode("utf-8", "surrogateescape")
    return text.encode(encoding, "surrogatepass")


def _char_index(data: bytes, tf: TextFile, pos: int) -> int | None:
    """The character index of byte ``pos`` (None when it falls inside a character or the mark)."""
    if pos < tf.bom or pos > len(data):
        return None
    chunk = data[tf.bom : pos]
    if tf.encoding == "utf-8":
        return len(chunk.decode("utf-8", "surrogateescape"))
    if len(chunk) % 2:
        return None
    return len(chunk.decode(tf.encoding, "surrogatepass"))


def _statement_index(
    data: bytes, tf: TextFile, span: tuple[int, int], statements: list[scanner._Statement], by_start: dict[int, int]
) -> int | None:
    if span[0] >= span[1]:
        return None
    c0, c1 = _char_index(data, tf, span[0]), _char_index(data, tf, span[1])
    index = by_start.get(c0) if c0 is not None else None
    if index is None or statements[index].end != c1:
        return None
    return index


def _same_except(text: str, before: list[scanner._Statement], removed: set[int], after_data: bytes) -> bool:
    after_tf, _ok = decode(Path(), after_data, utf16=True)
    kept = [text[st.start : st.end] for i, st in enumerate(before) if i not in removed]
    now = [after_tf.text[st.start : st.end] for st in scanner.statements(after_tf.text)]
    return kept == now


EDITOR = PowerShellEditor()
