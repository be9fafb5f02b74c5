"""Start-up time: build ``typing.NamedTuple`` classes without type-checking their annotations.

A check defines about 80 NamedTuple classes (the frozen evidence, findings and
report records).  For each field, ``typing`` turns the annotation -- a string,
under ``from __future__ import annotations`` -- into a ``ForwardRef``, which
compiles it: about 0.16 ms a class, some 13 ms of a 120 ms check, to verify
annotations mypy has already verified.  Without that step a NamedTuple class
is exactly what ``collections.namedtuple`` makes, with the annotations kept as
written (``typing.get_type_hints`` still resolves them).

``collections.namedtuple`` then compiles each class's ``__new__`` with
``eval`` (about 0.065 ms a class).  The source is always the same lambda with
other parameter names, so :func:`_fast_eval` compiles it once per number of
fields and renames the parameters of a copy (``CodeType.replace``), which
takes 2 microseconds; any other source goes to the real ``eval``.

Both shortcuts replace private details of the standard library, so they are
installed only on the Python versions they were checked against, and only
when the details still look as expected; anywhere else the standard path
runs, just slower.
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
    # namedtuple looks ``eval`` up in its module's globals before the builtins.
    if "eval" not in vars(collections):
        collections.eval = _fast_eval  # type: ignore[attr-defined]


_HEAD = "lambda _cls, "
_BODY = ": _tuple_new(_cls, ("
_templates: dict[int, Any] = {}


def _fast_eval(source: Any, namespace: Any = None, *rest: Any) -> Any:
    """``eval`` for ``collections.namedtuple``'s ``__new__`` source; the real ``eval`` for anything else."""
    if (
        rest
        or not isinstance(source, str)
        or not isinstance(namespace, dict)
        or not source.startswith(_HEAD)
        or "_tuple_new" not in namespace
    ):
        return eval(source, namespace, *rest)  # noqa: S307 - the call namedtuple itself makes
    params, sep, rest_of = source[len(_HEAD) :].partition(_BODY)
    names = tuple(p.strip() for p in params.split(",") if p.strip())
    if not sep or rest_of != f"{params}))" or not all(n.isidentifier() for n in names):
        return eval(source, namespace)  # noqa: S307
    template = _templates.get(len(names))
    if template is None:
        args = ", ".join(f"_{i}" for i in range(len(names))) + ("," if len(names) == 1 else "")
        template = eval(f"{_HEAD}{args}{_BODY}{args}))", {"_tuple_new": tuple.__new__, "__builtins__": {}})  # noqa: S307
        _templates[len(names)] = template
    import types

    return types.FunctionType(template.__code__.replace(co_varnames=("_cls", *names)), namespace, "<lambda>")
