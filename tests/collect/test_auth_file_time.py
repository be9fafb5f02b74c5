"""The shape of ``last_refresh``: checked by hand, with exactly the answers of the pattern it replaced."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authdoctor.collect.auth_file import rfc3339_shape

PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:?\d{2})")

# Characters the pattern cares about, plus digits \d takes that are not ASCII.
ALPHABET = st.sampled_from([*"0123456789-:.Tt zZ+x", "٣", "٤", "²", "\n"])


@pytest.mark.parametrize(
    "raw",
    [
        "2025-01-02T03:04:05Z",
        "2025-01-02t03:04:05.123456789z",
        "2025-01-02 03:04:05+05:30",
        "2025-01-02T03:04:05-0800",
        "2025-01-02T03:04:05",
        "2025-01-02",
        "2025-01-02T03:04:05.Z",
        "2025-01-02T03:04:05+05:3",
        "2025-01-02T03:04:05+0530x",
        "٢٠٢٥-01-02T03:04:05Z",
        "2025-01-02T03:04:05Z\n",
        "",
    ],
)
def test_examples(raw: str) -> None:
    assert rfc3339_shape(raw) == (PATTERN.fullmatch(raw) is not None)


@settings(max_examples=300, deadline=None)
@given(st.text(ALPHABET, max_size=40))
def test_any_text(raw: str) -> None:
    assert rfc3339_shape(raw) == (PATTERN.fullmatch(raw) is not None)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["2025-01-02T03:04:05", "1999-12-31 23:59:60", "2025-01-02t00:00:00"]),
    st.text(ALPHABET, max_size=12),
)
def test_any_ending(head: str, tail: str) -> None:
    raw = head + tail
    assert rfc3339_shape(raw) == (PATTERN.fullmatch(raw) is not None)
