"""The NamedTuple start-up shortcut: same classes as typing makes, without evaluating annotations."""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import NamedTuple, get_type_hints

import pytest

import authdoctor  # noqa: F401 - installs the shortcut
from authdoctor._startup import fast_namedtuples


class Sample(NamedTuple):
    path: Path
    name: str | None = None
    items: tuple[int, ...] = ()


@pytest.mark.skipif(sys.version_info[:2] not in ((3, 11), (3, 12), (3, 13)), reason="installed only where it was checked")
def test_installed_once() -> None:
    first = typing._make_nmtuple  # type: ignore[attr-defined]
    assert getattr(first, "_authdoctor", False)
    fast_namedtuples()
    assert typing._make_nmtuple is first  # type: ignore[attr-defined]


def test_classes_behave_like_typing_namedtuples() -> None:
    s = Sample(Path("/x"))
    assert s._replace(name="n").name == "n"
    assert tuple(s) == (Path("/x"), None, ())
    assert Sample._fields == ("path", "name", "items")
    assert Sample._field_defaults == {"name": None, "items": ()}
    assert Sample.__annotations__["path"] == "Path"  # kept as written
    assert get_type_hints(Sample)["name"] == str | None  # and still resolvable
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]


def test_field_order_rules_still_hold() -> None:
    with pytest.raises(TypeError, match="Non-default namedtuple field"):

        class Bad(NamedTuple):
            a: int = 1
            b: int  # type: ignore[misc]


def test_fast_eval_builds_the_same_new_and_leaves_other_sources_alone() -> None:
    import collections

    from authdoctor._startup import _fast_eval

    one = collections.namedtuple("one", ["only"])
    assert one(1) == (1,) and one(only=2).only == 2
    many = collections.namedtuple("many", ["a", "b", "c"], defaults=(3,))
    assert many(1, 2) == (1, 2, 3) and many(c=9, b=8, a=7) == (7, 8, 9)
    with pytest.raises(TypeError):
        many(1, 2, 3, 4)  # type: ignore[call-arg]
    assert _fast_eval("1 + 2", {}) == 3
    other = _fast_eval("lambda _cls, a: _tuple_new(_cls, (a, a))", {"_tuple_new": tuple.__new__, "__builtins__": {}})
    assert other(tuple, 5) == (5, 5)  # not namedtuple's shape: the real eval made it
