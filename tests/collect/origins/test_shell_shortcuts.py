"""Shortcuts in the shell reader give the same answers as the slower code they replaced, on any bytes:
which statements the walker looks at, and where a run of plain characters in a word ends."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from authdoctor.collect.origins import shell as sh
from authdoctor.collect.origins.shell import (
    _ALWAYS_WANTED,
    _PLAIN,
    _PLAIN_IN_ASSIGNMENT,
    _double_end,
    _glob_quote,
    _plain_end,
    _Wanted,
    lex_word,
    wanted_words,
)

NAMES = frozenset({"CODEX_ACCESS_TOKEN", "OPENAI_API_KEY", "HTTPS_PROXY", "https_proxy"})

# Pieces that make boundaries interesting: watched and tracked names, parts of them,
# word characters and dashes around them, and everything _ALWAYS_WANTED looks for.
PIECES = [
    *(n.encode() for n in NAMES | sh.INTERNAL_NAMES),
    b"CODEX_",
    b"_TOKEN",
    b"BASH_",
    b"x",
    b"_",
    b"-",
    b"9",
    b" ",
    b"\t",
    b"\n",
    b";",
    b"(",
    b")",
    b"{",
    b"}",
    b"$",
    b"${",
    b"\\",
    b".",
    b"'",
    b'"',
    b"[",
    b"=",
    b"source",
    b"set",
    b"setopt",
    b"eval",
    b"exit",
    b"return",
    b"emulate",
    b"ALL_export",
    b"allexport",
    b"test",
    b"for",
    b"function",
    b"f()",
    b"my-fn",
    b"\xc3\xa9",
]


def oracle(data: bytes) -> re.Pattern[bytes]:
    """The pattern the walker compiled per file before."""
    words = wanted_words(data, NAMES)
    alternatives = b"|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rb"(?<![\w-])(?:" + alternatives + rb")(?![\w-])|" + _ALWAYS_WANTED)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40), st.data())
def test_same_answer_as_the_pattern(pieces: list[bytes], draw: st.DataObject) -> None:
    data = b"".join(pieces)
    start = draw.draw(st.integers(0, len(data)))
    end = draw.draw(st.integers(start, len(data)))
    expected = oracle(data).search(data, start, end) is not None
    assert _Wanted(data, NAMES).within(start, end) == expected


def test_bounds() -> None:
    data = b"xHOME HOME_ HOMEx HOME"
    wanted = _Wanted(data, NAMES)
    assert not wanted.within(0, 5)  # xHOME: a word character before it
    assert not wanted.within(1, 5)  # ... which counts even when it lies before the range
    assert not wanted.within(6, 11)  # HOME_ runs on inside the range
    assert wanted.within(6, 10)  # ... but may run on past the range's end, as with endpos
    assert not wanted.within(12, 17) and wanted.within(12, 16)
    assert wanted.within(18, 22)


def test_commands_that_change_later_ones_are_wanted_without_a_name() -> None:
    assert _Wanted(b"set -a\n", NAMES).within(0, 6)
    assert _Wanted(b"setopt ALL_EXPORT\n", NAMES).within(0, 17)
    assert not _Wanted(b"alias ll='ls -l'\n", NAMES).within(0, 16)


def plain_end_loop(buf: bytes, start: int, assignment: bool) -> int:
    """The byte-by-byte loop lex_word ran before."""
    j = start
    while j < len(buf) and buf[j] not in b" \t\n;&|<>()" and buf[j] not in b"\\'\"$`" and not (assignment and buf[j] == 0x3A):
        j += 1
    return j


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60), st.booleans(), st.data())
def test_plain_runs_end_where_the_loop_ended(buf: bytes, assignment: bool, draw: st.DataObject) -> None:
    start = draw.draw(st.integers(0, len(buf)))
    table = _PLAIN_IN_ASSIGNMENT if assignment else _PLAIN
    assert _plain_end(buf, start, table) == plain_end_loop(buf, start, assignment)


def test_a_long_token_is_read_whole() -> None:
    token = b"eyJ" + b"a-b_c.D9" * 100 + b"\x00*"
    lexed = lex_word(b"X=" + token + b" # comment\n", 2, lambda name: None, assignment=True)
    assert lexed.text == token.decode() and lexed.end == 2 + len(token) and lexed.pattern is not None


def double_end_loop(buf: bytes, start: int) -> int:
    j = start
    while j < len(buf) and buf[j] not in b'"\\$`':
        j += 1
    return j


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b'"', b"\\", b"$", b"`", b"a", b" ", b"\n", b"\x00"]), max_size=30), st.data())
def test_runs_in_double_quotes_end_where_the_loop_ended(pieces: list[bytes], draw: st.DataObject) -> None:
    buf = b"".join(pieces)
    start = draw.draw(st.integers(0, len(buf)))
    assert _double_end(buf, start) == double_end_loop(buf, start)


@given(st.text(st.sampled_from("*?[]a\\é"), max_size=20))
def test_glob_quoting_matches_the_per_character_loop(s: str) -> None:
    assert _glob_quote(s) == "".join(f"[{c}]" if c in "*?[" else c for c in s)
