"""Colour and glyph choices for the human report.

Colour follows ``--no-color``, ``NO_COLOR``, ``FORCE_COLOR``, ``TERM=dumb`` and
whether the stream is a terminal.  Glyphs fall back to ASCII when the stream's
encoding cannot carry ✓/⚠/✗ (a cp1252 console, ``LANG=C``), as pipx does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import TextIO

_CODES = {"red": "31", "yellow": "33", "green": "32", "bold": "1", "dim": "2", "cyan": "36"}


class Style(NamedTuple):
    color: bool
    ok: str
    warn: str
    error: str
    info: str
    bullet: str
    dash: str

    def paint(self, text: str, *names: str) -> str:
        if not self.color or not names:
            return text
        codes = ";".join(_CODES[n] for n in names)
        return f"\033[{codes}m{text}\033[0m"


UNICODE = {"ok": "✓", "warn": "⚠", "error": "✗", "info": "ℹ", "bullet": "•", "dash": "—"}
ASCII = {"ok": "[ok]", "warn": "[!]", "error": "[x]", "info": "[i]", "bullet": "-", "dash": "-"}


def use_color(stream: TextIO, env: Mapping[str, str], *, no_color: bool) -> bool:
    if no_color or "NO_COLOR" in env:
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def can_encode(stream: TextIO, text: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def make_style(stream: TextIO, env: Mapping[str, str], *, no_color: bool, ascii_only: bool = False) -> Style:
    glyphs = ASCII if ascii_only or not can_encode(stream, "".join(UNICODE.values())) else UNICODE
    return Style(color=use_color(stream, env, no_color=no_color), **glyphs)
