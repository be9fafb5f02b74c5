"""Remove assignments from POSIX-family start-up files: bash, zsh, sh/dash/ksh files and direnv ``.envrc``.

The scanner gives each setting its statement's byte span and its own part
(``X=v`` in ``export A=1 X=v B=2``).  Per statement:

- every named part goes -> the statement goes.  When the line holds nothing
  else, the whole line is commented out and tagged (``# export X=…  # disabled
  by authdoctor 2026-11-21 (X)``), following conda's comment-don't-delete
  convention.  Inside an ``if``, loop or function body the line becomes
  ``: # export X=…`` instead, because a body left with only comments is a
  syntax error in bash.  When the line holds other commands too
  (``[ -f f ] && export X=1``), just the statement becomes ``:``.
- other variables stay -> only this part goes (``export A=1 B=2``).

The edited file is parsed again; an edit that would leave a syntax error the
file did not have is refused and becomes a manual step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from authdoctor.collect.origins.shell import _error_rows, syntax_tree
from authdoctor.plan.editors.base import EditContext, EditorResult, Line, Refusal, by_statement, comment_out, line_at, only_blank, tag
from authdoctor.plan.model import Edit, apply_edits

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

    from authdoctor.collect.origins.model import Setting

# What may remain of a statement once its parts are gone for the whole statement to go.
# ``export --`` must go too: left alone it prints every exported variable at each start.
_KEYWORDS = re.compile(rb"\s*(?:(?:export|declare|typeset|readonly|local|builtin)(?:\s+(?:[-+][A-Za-z]+|--))*)?\s*")
# Bodies a statement can sit in; a body left with only a comment is a syntax error in bash.
_BODIES = frozenset(
    {"compound_statement", "do_group", "if_statement", "elif_clause", "else_clause", "case_item", "subshell", "function_definition"}
)


class PosixEditor:
    def edit(self, data: bytes, settings: Sequence[Setting], ctx: EditContext) -> EditorResult:
        trimmed = [s._replace(span=_trim_cr(data, s.span), part=_trim_cr(data, s.part)) for s in settings]
        by_stmt, refused = by_statement(trimmed, lambda s: s.span if _located(data, s) else None)
        # Once: for the nesting of each statement and the error count.  Parsed as the scanner
        # reads the file: after a heredoc tree-sitter cannot end (``cat <<EOF; …``) the rest
        # of the file is code, not the heredoc's body.
        tree = syntax_tree(data)

        whole: list[tuple[tuple[int, int], list[Setting]]] = []
        edits: list[Edit] = []
        for span, mine in sorted(by_stmt.items()):
            parts = sorted({s.part for s in mine})
            rest = _without(data, span, parts)
            if _KEYWORDS.fullmatch(rest):
                whole.append((span, mine))
            else:
                edits.extend(_drop_parts(data, span, parts))
                line = line_at(data, span[0])
                edits.append(_tag_at_end(data, line, ctx, [s.var for s in mine]))

        # Whole statements: comment out a line that holds nothing else, else replace each with ``:``.
        by_line: dict[int, list[tuple[tuple[int, int], list[Setting]]]] = {}
        for span, mine in whole:
            by_line.setdefault(line_at(data, span[0]).start, []).append((span, mine))
        for start, stmts in sorted(by_line.items()):
            line = line_at(data, start)
            names = [s.var for _span, mine in stmts for s in mine]
            if _line_is_only(data, line, [span for span, _ in stmts]):
                conditional = any(s.conditional for _span, mine in stmts for s in mine) or any(_nested(tree, span) for span, _ in stmts)
                edits.append(comment_out(data, line, ctx, names, prefix=b": " if conditional else b""))
            else:
                edits.extend(Edit(span[0], span[1], b":") for span, _ in stmts)
                edits.append(_tag_at_end(data, line, ctx, names))

        edits = _untag_crlf_values(data, _merge_tags(edits))
        if not edits:
            return EditorResult((), tuple(refused))
        try:
            after = apply_edits(data, edits)
        except ValueError:
            return EditorResult((), tuple(refused) + tuple(Refusal(s, "overlap") for _span, mine in by_stmt.items() for s in mine))
        if _errors(syntax_tree(after)) > _errors(tree):
            # Never leave a file the shell can no longer read.
            detail = "removing it automatically would leave a syntax error"
            return EditorResult((), tuple(refused) + tuple(Refusal(s, "would-break", detail) for mine in by_stmt.values() for s in mine))
        return EditorResult(tuple(edits), tuple(refused))


def _without(data: bytes, span: tuple[int, int], parts: list[tuple[int, int]]) -> bytes:
    out, at = [], span[0]
    for a, b in parts:
        out.append(data[at:a])
        at = b
    out.append(data[at : span[1]])
    return b" ".join(out)


def _drop_parts(data: bytes, span: tuple[int, int], parts: list[tuple[int, int]]) -> list[Edit]:
    """Delete each run of adjacent parts with the blanks before it (``export A=1 X=2`` -> ``export A=1``).

    A run that starts the statement takes the blanks after it instead.  Runs
    are separated by kept words, so their deletions never overlap.
    """
    runs: list[list[int]] = []
    for a, b in sorted(parts):
        if runs and data[runs[-1][1] : a].strip(b" \t") == b"":
            runs[-1][1] = max(runs[-1][1], b)
        else:
            runs.append([a, b])
    edits = []
    for a, b in runs:
        start = a
        while start > span[0] and data[start - 1 : start] in (b" ", b"\t"):
            start -= 1
        if start == span[0]:
            start = a
            while b < span[1] and data[b : b + 1] in (b" ", b"\t"):
                b += 1
        edits.append(Edit(start, b, b""))
    return edits


def _trim_cr(data: bytes, span: tuple[int, int]) -> tuple[int, int]:
    """A CRLF file's last word on a line can carry the \\r in its span; the \\r is the line ending's."""
    a, b = span
    while b > a and data[b - 1 : b] == b"\r":
        b -= 1
    return a, b


def _located(data: bytes, s: Setting) -> bool:
    return s.span != (0, 0) and s.span[1] <= len(data) and s.span[0] <= s.part[0] <= s.part[1] <= s.span[1]


def _nested(tree: Tree, span: tuple[int, int]) -> bool:
    """Whether the statement sits in a body (function, brace group, if, loop, case) rather than at the top level."""
    node: Node | None = tree.root_node.descendant_for_byte_range(span[0], span[1])
    while node is not None:
        if node.type in _BODIES:
            return True
        node = node.parent
    return False


def _line_is_only(data: bytes, line: Line, spans: list[tuple[int, int]]) -> bool:
    at = line.start
    for a, b in sorted(spans):
        if not only_blank(data, at, a) or b"#" in data[at:a]:
            return False
        at = b
    return only_blank(data, at, line.end)


def _tag_at_end(data: bytes, line: Line, ctx: EditContext, names: list[str]) -> Edit:
    text = data[line.start : line.end]
    if text.rstrip().endswith(b"\\") or b"#" in text:
        # A continuation line, or a comment already (or a `#` we cannot place): no tag.
        return Edit(line.end, line.end, b"")
    return Edit(line.end, line.end, b"  " + tag(ctx, names))


def _merge_tags(edits: list[Edit]) -> list[Edit]:
    """Drop empty edits and join tags that landed on the same spot."""
    merged: dict[tuple[int, int], Edit] = {}
    out: list[Edit] = []
    for e in edits:
        if e.start == e.end and not e.new:
            continue
        if e.start == e.end:
            prev = merged.get((e.start, e.end))
            if prev is not None:
                continue  # one tag per line is enough
            merged[(e.start, e.end)] = e
        out.append(e)
    return out


def _untag_crlf_values(data: bytes, edits: list[Edit]) -> list[Edit]:
    """No tag on a CRLF line that still ends in an assignment: in the shell's eyes the \\r belongs
    to that value (``B=2\\r``), and a trailing comment would swallow it and change B."""
    out = []
    for e in edits:
        if e.start == e.end and e.new.startswith(b"  #") and data[e.start : e.start + 1] == b"\r":
            line = line_at(data, e.start)
            rest = [x for x in edits if line.start <= x.start and x.end <= line.end and x is not e]
            kept = apply_edits(data[line.start : line.end], [Edit(x.start - line.start, x.end - line.start, x.new) for x in rest])
            words = kept.split()
            if words and b"=" in words[-1]:
                continue
        out.append(e)
    return out


def _errors(tree: Tree) -> int:
    if not tree.root_node.has_error:
        return 0
    return len(_error_rows(tree.root_node, [])) + _missing(tree.root_node)


def _missing(node: Node) -> int:
    count = 1 if node.is_missing else 0
    if node.has_error:
        for c in node.children:
            count += _missing(c)
    return count


EDITOR = PosixEditor()
