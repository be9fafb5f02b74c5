"""The posix pre-pass decides which start-up files are parsed: its literal shortcuts must not change an answer."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from authdoctor.collect.origins.posix import _changes_state

# The patterns as they were searched before the shortcuts (each on the text, or the lower-cased text).
PATTERNS = (
    (rb"(?<![\w])(?:ZDOTDIR|ENV|BASH_ENV)=", False),
    (rb"all_?export", True),
    (rb"\bset[ \t]+[-+][A-Za-z]*a", False),
    (rb"\b(?:no_?)?(?:global_?)?rcs\b", True),
)


def oracle(data: bytes) -> bool:
    low = data.lower()
    for pattern, blind in PATTERNS:
        text = low if blind else data
        for m in re.finditer(pattern, text):
            line = text[text.rfind(b"\n", 0, m.start()) + 1 : m.start()]
            if not line.lstrip().startswith(b"#"):
                return True
    return False


PIECES = st.sampled_from(
    [
        *(b"ZDOTDIR", b"ENV", b"BASH_", b"=", b"set", b"SET", b" ", b"\t", b"-", b"+", b"a", b"x", b"all", b"_", b"export"),
        *(b"EXPORT", b"no", b"NO_", b"global", b"rcs", b"RCS", b"#", b"\n", b"  # ", b"9", b"setopt", b".", b"'"),
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=30))
def test_same_answer_as_searching_every_pattern(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert _changes_state(data) == oracle(data)


def test_debian_zshenv_changes_nothing() -> None:
    # Its comments mention NO_RCS and "set within": neither counts (and neither pattern is compiled).
    data = b"# If the -f flag is present or if the NO_RCS option is\n# set within this file, all other initialization files\n"
    assert not _changes_state(data)
    assert _changes_state(data + b"setopt NO_RCS\n")
    assert _changes_state(b"export ZDOTDIR=$HOME/.zsh\n") and _changes_state(b"set -a\n")
