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
    assert s == (Path("/x"), None, ())
    assert s._replace(name="n").name == "n"
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
