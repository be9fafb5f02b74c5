"""Remove universal variables from fish's ``fish_variables`` (``~/.config/fish/fish_variables``).

fish keeps every universal variable (``set -U``, ``set -Ux``) as one line of
this file, which it writes itself::

    # This file contains fish universal variable definitions.
    # VERSION: 3.0
    SETUVAR --export CODEX_ACCESS_TOKEN:…
    SETUVAR OTHER:…

(fish 2 wrote ``SET_EXPORT NAME:…`` / ``SET NAME:…``; the scanner reads both.)
``set -e -U NAME`` removes the variable's line and leaves the rest of the
file alone; this editor does exactly that to the bytes: the variable's line,
with its line ending, goes; the header comments, every other line and the
line endings stay byte for byte.  A fish that is already running drops the
variable too when it next syncs with the file (e.g. on its next ``set -U``),
and does not write it back: it only writes variables it changed itself
(checked with the real fish in the tests).

The scanner marks these settings ``editable=False`` with the blocker
``fish-universal`` (meaning: not a line of a start-up file); that blocker is
exactly what this editor is for, so it is accepted.  Each line is checked to
be a ``SETUVAR`` line of that variable before it is removed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from authdoctor.plan.editors.base import EditContext, EditorResult, Refusal, line_at
from authdoctor.plan.model import Edit

if TYPE_CHECKING:
    from authdoctor.collect.origins.model import Setting

# The line as fish writes it (and as ``_fishlang.parse_fish_variables`` reads it).
_SETUVAR = re.compile(rb"(?:SETUVAR|SET_EXPORT|SET)(?:\s+--(?:export|path|unpath))*\s+([^:\s]+):")
_OURS = (None, "fish-universal")


class FishUniversalEditor:
    def edit(self, data: bytes, settings: Sequence[Setting], ctx: EditContext) -> EditorResult:
        refused: list[Refusal] = []
        lines: dict[int, Edit] = {}
        for s in settings:
            if s.blocker not in _OURS:
                refused.append(Refusal(s, s.blocker or "not-editable"))
                continue
            start, end = s.span
            line = line_at(data, start) if 0 <= start < end <= len(data) else None
            m = _SETUVAR.match(data, start) if line is not None else None
            if (
                line is None
                or m is None
                or line.start != start
                or m.group(1) != s.var.encode("ascii", "replace")
                or end > line.end
                or data[end : line.end].strip(b"\r")
            ):
                refused.append(Refusal(s, "unknown-span", "the line in fish_variables could not be located exactly"))
                continue
            # The whole line and its ending: what `set -e -U NAME` leaves is the file without it.
            lines[line.start] = Edit(line.start, line.next, b"")
        return EditorResult(tuple(lines[k] for k in sorted(lines)), tuple(refused))


EDITOR = FishUniversalEditor()
