"""Start-up time: build ``typing.NamedTuple`` classes without type-checking their annotations.

A check defines about 80 NamedTuple classes (the frozen evidence, findings and
report records).  For each field, ``typing`` turns the annotation -- a string,
under ``from __future__ import annotations`` -- into a ``ForwardRef``, which
compiles it: about 0.16 ms a class, some 13 ms of a 120 ms check, to verify
annotations mypy has already verified.  Without that step a NamedTuple class
is exactly what ``collections.namedtuple`` makes, with the annotations kept as
written (``typing.get_type_hints`` still resolves them).

The shortcut replaces one private function of ``typing``, so it is installed
only on the Python versions whose function it was checked against, and only
when that function still has the expected parameters; anywhere else the
standard path runs, just slower.
"""

from __future__ import annotations

import sys
from typing import Any

_CHECKED = ((3, 11), (3, 12), (3, 13))
_PARAMS = ("name", "types", "module", "defaults")


def fast_namedtuples() -> None:
    if sys.version_info[:2] not in _CHECKED:
        return
    import collections
    import typing

    original = getattr(typing, "_make_nmtuple", None)
    code = getattr(original, "__code__", None)
    if code is None or code.co_varnames[: len(_PARAMS)] != _PARAMS or getattr(original, "_authdoctor", False):
        return

    def _make_nmtuple(name: str, types: Any, module: str, defaults: Any = ()) -> type:
        annotations = dict(types)
        factory: Any = collections.namedtuple
        nm_tpl: Any = factory(name, list(annotations), defaults=defaults, module=module)
        nm_tpl.__annotations__ = nm_tpl.__new__.__annotations__ = annotations
        return nm_tpl  # type: ignore[no-any-return,unused-ignore]

    _make_nmtuple._authdoctor = True  # type: ignore[attr-defined]
    setattr(typing, "_make_nmtuple", _make_nmtuple)  # noqa: B010 - a private name mypy does not know
