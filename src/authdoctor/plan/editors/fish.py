"""Remove assignments from fish start-up files: ``config.fish`` and ``conf.d/*.fish``.

The scanner (``collect/origins/_fishlang.py``) reports ``set -gx X v``,
``set -x X v``, ``set -U X v`` (a line in config.fish like any other),
``export X=v`` and ``setenv X v`` with the byte span of the whole statement,
and blocks what a line edit cannot undo: a statement over several lines
(``multi-line``), a line holding another statement too (``shared-line``),
``export A=1 X=2`` (``multi-assign``), a file outside the home (``system-file``).

What this editor does with the rest: the whole line becomes a comment with
the tag, ``# set -gx X …  # disabled by authdoctor 2026-11-21 (X)``, as the
POSIX editor does.  fish accepts a block whose body is only comments
(``if …`` / ``# …`` / ``end`` passes ``fish --no-execute``), so no placeholder
is needed inside ``if``, ``switch`` or ``function``.  Two cases need care:

- the next line is chained to this one (``and …`` / ``or …`` on the next
  line): without the statement it would chain to the one before, so the line
  becomes ``true # set -gx X …`` -- ``true`` succeeds as ``set`` did;
- the statement opens a block (``if set -q X …``, ``while …``): commenting
  it out would orphan its ``end``, so it is refused (``block-header``).

Commenting out ``set -U X v`` stops config.fish from writing the universal
variable again, but the value already stored in ``fish_variables`` stays: the
scanner reports it separately (family ``fish-universal``), for
:mod:`authdoctor.plan.editors.fish_universal`.

Before an edit is returned the file is tokenized again: every statement
other than the removed ones must still be there, unchanged, else the edit is
refused (``would-break``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor.collect.origins import _fishlang
from authdoctor.collect.origins._textfile import decode
from authdoctor.plan.editors.base import EditContext, EditorResult, Refusal, by_statement, comment_out, line_at, only_blank
from authdoctor.plan.model import Edit, apply_edits

if TYPE_CHECKING:
    from authdoctor.collect.origins.model import Setting

# Commands the scanner reports; anything else at the head of the statement is a block or a wrapper.
_COMMANDS = frozenset({"set", "export", "setenv"})
# Words before the command that chain it to the previous one or change its status.
_CHAIN = frozenset({"and", "or"})
_PREFIXES = _CHAIN | {"not", "!", "builtin", "time"}


class FishEditor:
    def edit(self, data: bytes, settings: Sequence[Setting], ctx: EditContext) -> EditorResult:
        tf, _ok = decode(Path(), data)
        try:
            statements = _fishlang.tokenize(tf.text)
        except _fishlang._ParseError:
            # fish itself refuses to run such a file; the scanner reported nothing from it either.
            return EditorResult((), tuple(Refusal(s, "parse-error") for s in settings))
        # Character index -> statement, to find each setting's statement from its byte span.
        by_start = {st.start: i for i, st in enumerate(statements)}

        by_stmt, refused = by_statement(settings, lambda s: _statement_index(data, tf.bom, s.span, statements, by_start))

        edits: list[Edit] = []
        done: list[Setting] = []
        removed: set[int] = set()
        for index, mine in sorted(by_stmt.items()):
            st = statements[index]
            span = mine[0].span
            first = _command(st)
            if first not in _COMMANDS:
                detail = "the statement opens a block (if/while/…); removing it would orphan the block's `end`"
                refused.extend(Refusal(s, "block-header", detail) for s in mine)
                continue
            line = line_at(data, span[0])
            if data[line.start : span[0]].strip(b" \t") or not only_blank(data, span[1], line.end):
                refused.extend(Refusal(s, "shared-line") for s in mine)
                continue
            prefix = b""
            if _next_is_chained(statements, index):
                if st.words[0].text != first:
                    # `and set -gx X 1` followed by `or …`: no single command keeps both the guard and the status.
                    refused.extend(Refusal(s, "chained", "the next line continues it with `and`/`or`") for s in mine)
                    continue
                prefix = b"true "
            edits.append(comment_out(data, line, ctx, [s.var for s in mine], prefix=prefix))
            done.extend(mine)
            removed.add(index)

        if not edits:
            return EditorResult((), tuple(refused))
        after = apply_edits(data, edits)
        if not _same_except(statements, removed, after):
            detail = "removing it automatically would change how fish reads the rest of the file"
            return EditorResult((), tuple(refused) + tuple(Refusal(s, "would-break", detail) for s in done))
        return EditorResult(tuple(edits), tuple(refused))


def _statement_index(
    data: bytes, bom: int, span: tuple[int, int], statements: list[_fishlang._Statement], by_start: dict[int, int]
) -> int | None:
    """The statement whose byte span is ``span`` exactly, or None."""
    start, end = span
    if not (bom <= start < end <= len(data)):
        return None
    # The text was decoded with surrogateescape, so a byte prefix decodes to the same characters.
    c0 = len(data[bom:start].decode("utf-8", "surrogateescape"))
    c1 = c0 + len(data[start:end].decode("utf-8", "surrogateescape"))
    index = by_start.get(c0)
    if index is None or statements[index].end != c1:
        return None
    return index


def _command(st: _fishlang._Statement) -> str:
    """The statement's command word, past ``and``/``or``/``not``/``builtin``/``time``."""
    for w in st.words:
        if w.quoted or w.text not in _PREFIXES:
            return w.text
    return ""


def _next_is_chained(statements: list[_fishlang._Statement], index: int) -> bool:
    if index + 1 >= len(statements):
        return False
    nxt = statements[index + 1]
    head = nxt.words[0]
    return nxt.after in ("&&", "||") or (not head.quoted and head.text in _CHAIN)


def _same_except(before: list[_fishlang._Statement], removed: set[int], after_data: bytes) -> bool:
    """Whether ``after_data`` holds the statements of ``before`` but the removed ones (and the ``true`` placeholders)."""
    tf, _ok = decode(Path(), after_data)
    try:
        after = _fishlang.tokenize(tf.text)
    except _fishlang._ParseError:
        return False
    placeholder = ("true",)
    kept = [words for i, st in enumerate(before) if i not in removed and (words := tuple(w.raw for w in st.words)) != placeholder]
    now = [words for st in after if (words := tuple(w.raw for w in st.words)) != placeholder]
    return kept == now


EDITOR = FishEditor()
