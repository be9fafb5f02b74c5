"""What every editor shares: the :class:`Editor` interface and byte-level line helpers.

Editors work on bytes, never on decoded text, so a file's encoding, its line
endings (CRLF stays CRLF) and every byte they do not touch survive exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from authdoctor.plan.model import Edit

if TYPE_CHECKING:
    from typing import Protocol

    from authdoctor.collect.origins.model import Setting

TAG = b"disabled by authdoctor"

K = TypeVar("K", bound=Hashable)


class EditContext(NamedTuple):
    stamp: str  # "2026-11-21": goes into the tag, so a reader knows when and why


class Refusal(NamedTuple):
    """A setting the editor will not touch, and why (becomes a manual step)."""

    setting: Setting
    reason: str  # "eval" | "foreign-block:conda" | "multi-line" | "parse-error" | "unsupported" …
    detail: str = ""


class EditorResult(NamedTuple):
    edits: tuple[Edit, ...] = ()
    refused: tuple[Refusal, ...] = ()


if TYPE_CHECKING:

    class Editor(Protocol):
        """Removes settings of variables from one file's bytes.

        ``settings`` are all in the same file (the one ``data`` was read from)
        and all about variables to remove.  Returns non-overlapping edits, or
        refusals; it never raises for bad input.
        """

        def edit(self, data: bytes, settings: Sequence[Setting], ctx: EditContext) -> EditorResult: ...


def by_statement(settings: Sequence[Setting], locate: Callable[[Setting], K | None]) -> tuple[dict[K, list[Setting]], list[Refusal]]:
    """Settings grouped by the statement ``locate`` finds them in; blocked or unlocatable ones refused."""
    groups: dict[K, list[Setting]] = {}
    refused: list[Refusal] = []
    for s in settings:
        if s.blocker is not None or not s.editable:
            refused.append(Refusal(s, s.blocker or "not-editable"))
            continue
        key = locate(s)
        if key is None:
            refused.append(Refusal(s, "unknown-span", "the statement could not be located exactly"))
        else:
            groups.setdefault(key, []).append(s)
    return groups, refused


class Line(NamedTuple):
    start: int  # first byte of the line
    end: int  # first byte of the line ending (\r\n, \n or \r) or len(data)
    next: int  # first byte of the next line


def line_at(data: bytes, pos: int) -> Line:
    """The line holding byte ``pos``."""
    start = data.rfind(b"\n", 0, pos) + 1
    nl = data.find(b"\n", pos)
    if nl < 0:
        return Line(start, len(data), len(data))
    end = nl - 1 if nl > start and data[nl - 1 : nl] == b"\r" else nl
    return Line(start, end, nl + 1)


def line_number(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def indent_end(data: bytes, line: Line) -> int:
    at = line.start
    while at < line.end and data[at : at + 1] in (b" ", b"\t"):
        at += 1
    return at


def comment_out(data: bytes, line: Line, ctx: EditContext, names: Sequence[str], *, comment: bytes = b"#", prefix: bytes = b"") -> Edit:
    """The whole line as a comment, tagged: ``# export X=…  # disabled by authdoctor 2026-11-21 (X)``.

    ``prefix`` goes before the comment mark (``:`` keeps a block that would
    otherwise be empty valid in POSIX shells).  The tag names variables, never values.
    """
    at = indent_end(data, line)
    body = data[at : line.end]
    return Edit(at, line.end, prefix + comment + b" " + body + b"  " + tag(ctx, names, comment=comment))


def tag(ctx: EditContext, names: Sequence[str], *, comment: bytes = b"#") -> bytes:
    return comment + b" " + TAG + b" " + ctx.stamp.encode("ascii") + b" (" + ", ".join(sorted(set(names))).encode("ascii") + b")"


def only_blank(data: bytes, start: int, end: int, *, separators: bytes = b" \t;", comment: bytes = b"#") -> bool:
    """Whether ``data[start:end]`` holds nothing but separators and maybe a trailing comment."""
    rest = data[start:end].lstrip(separators)
    return not rest or rest.startswith(comment)
