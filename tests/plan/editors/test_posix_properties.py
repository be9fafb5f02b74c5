"""Properties of the POSIX editor over generated start-up files, checked by re-scanning and by the real shells.

A generated file is a list of blocks in many syntaxes: settings of X (and Y)
alone, among other assignments, inside ``if``/functions/and-lists; unrelated
settings of A and B; and text that only *looks* like a setting (comments,
here-document bodies, ``echo`` strings).  Line endings are LF or CRLF; values
come from a shell-safe alphabet.  After removing X (and sometimes Y) the way
``authdoctor fix`` does:

(a) a new scan of the edited file finds no setting of a removed variable
    (only unsets would be allowed);
(b) every setting of the kept variables is still found, on the same line,
    with the same action and value;
(c) only lines holding a removed setting change, the line count and every
    line ending stay, and each changed line carries a tag naming variables only;
(d) ``bash -n`` and ``zsh -n`` accept the result;
(e) sourcing the result in bash leaves the removed variables unset and
    everything else exactly as sourcing the original did;
(f) comments, here-document bodies and ``echo`` strings are never touched.

Shells run on the LF form of both files: a real shell reads a CRLF file's
``\\r`` as part of words (``then\\r``), so it cannot parse one at all.

The smallest failing inputs these properties found are pinned at the end.
"""

from __future__ import annotations

import re
import string
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authdoctor.collect.origins.model import UNSET, Setting
from authdoctor.plan.editors.base import line_number
from authdoctor.plan.editors.posix import EDITOR
from authdoctor.plan.model import apply_edits
from tests.plan.editors.test_posix import _NO_RC, CTX, STAMP, file_settings, need, shell_env

WATCH = ("X", "Y", "A", "B")
VALUES = st.text(alphabet=string.ascii_letters + string.digits + "-_./:", max_size=10)
TAG_RE = re.compile(rb"  # disabled by authdoctor " + re.escape(STAMP.encode()) + rb" \(([XY](?:, [XY])*)\)\r?$")
UNSET_MARK = "<unset>"
END = "@@authdoctor-sourced@@"


class Shape(NamedTuple):
    lines: tuple[str, ...]  # "{}" marks a value
    inert: frozenset[int] = frozenset()  # lines that only look like a setting: must come out byte-identical


def _s(*lines: str, inert: bool | tuple[int, ...] = False) -> Shape:
    """A shape; ``inert``: True for all its lines, or the indices of those lines."""
    return Shape(lines, frozenset(range(len(lines)) if inert is True else inert or ()))


X_SHAPES = (
    _s("export X={}"),
    _s("X={}"),
    _s("export X"),
    _s("X={}; export X"),
    _s("X={}", "export X"),
    _s("export A={} X={} B={}"),
    _s("export X={} A={}"),
    _s("declare -x X={}"),
    _s("typeset -x X={}"),
    _s('export X="{}"'),
    _s("export X='{}'"),
    _s("  export X={}  "),
    _s("export X={};"),
    _s("export X={}; export A={}"),
    _s("if true; then export X={}; fi"),
    _s("if true; then", "  export X={}", "fi"),
    _s("if false; then", "  export A={}", "else", "  export X={}", "fi"),
    _s("while false; do", "  export X={}", "done"),
    _s("case x in", "  x)", "    export X={}", "    ;;", "esac"),
    _s("true &&", "  export X={}"),
    _s("f() {", "  export X={}", "}"),  # never called: not a setting
    _s("g() {", "  export X={}", "  export B={}", "}", "g"),
    _s("export X={} Y={}"),
    _s("export X={} Y={} A={}"),
    _s("export X={}  # note"),
    _s("export X={} A={}  # note"),
    _s("\texport X={}"),
    _s("X+={}"),
    _s("declare -gx X={}"),
    _s("typeset -x X={} A={}"),
    _s("export X={} && export A={}"),
    _s("if true; then", "  if true; then", "    export X={}", "  fi", "fi"),
    _s("if false; then", "  :", "elif true; then", "  export X={}", "fi"),
    _s("case x in x) export X={} ;; esac"),
    # Regressions: each of these once made the editor refuse ("overlap") or break the file.
    _s("export A={} X={}"),  # CRLF: the last word's span holds the \r
    _s("export A={}; export X={}"),
    _s('[ -n "$HOME" ] && export X={}'),
    _s("typeset -x A={} X={}"),
    _s("export A={} || export X={}"),
    _s("export Y={}; export X={}"),
    _s("export X={} A={} X={}"),
    _s("h() {", "  export X={}", "}", "h"),  # a body left with only a comment: bash syntax error
    _s("{", "  export X={}", "}"),
    _s("export -- X={}"),  # `export --` left behind lists the whole environment
    _s("export -- A={} X={}"),
    # A line of bare assignments, then a newline: tree-sitter-bash (#228) reads it as the prefix
    # of whatever command follows (the next block, or the next line here).
    _s("X={} A={}"),
    _s("A={} X={}"),
    _s("X={} Y={} A={}"),  # regression: the first two parts go -> the deletions overlapped
    _s("Y={} X={} A={}"),
    _s("A={} B={}", "export X={}"),
    _s("X={} A={}", "export X"),
    _s("A={} B={}", "declare -x X={}"),
    _s("A={} X={}", "{ export X={}; }"),
    _s("A={} B={} # note", "export X={}"),
    _s("true && A={} B={}", "export X={}"),
    # Commands after a here-document's start on its line: tree-sitter-bash cannot end that heredoc.
    _s("cat >/dev/null <<EOF; export X={}", "export X={}", "EOF", inert=(1, 2)),
    _s("cat >/dev/null <<'EOF'; export A={} X={}", "X={}; export Y={}", "EOF", inert=(1, 2)),
    _s("cat <<EOF >/dev/null; export X={}", "EOF", inert=(1,)),
    _s("cat >/dev/null <<EOF && export X={}", "export Y={}", "EOF", inert=(1, 2)),
)
Y_SHAPES = (
    _s("export Y={}"),
    _s("Y={}; export Y"),
    _s("if true; then", "  export Y={}", "fi"),
    _s("export A={} Y={} B={}"),
    _s("export A={} Y={}"),
)
OTHER_SHAPES = (
    _s("export A={}"),
    _s("B={}"),
    _s("export B"),
    _s("export A=\"{}\" B='{}'"),
    _s(""),
    _s("# export X={}", inert=True),
    _s("  # X={}; export X Y={}", inert=True),
    _s("cat >/dev/null <<'EOF'", "export X={}", "X={}; export Y={}", "EOF", inert=True),
    _s("cat >/dev/null <<EOF", "  export X={}", "EOF", inert=True),
    _s(": <<'END'", "export Y={}", "END", inert=True),
    _s('echo "export X={}" >/dev/null', inert=True),
    _s("echo 'X={}; export X' >/dev/null", inert=True),
    _s("printf '%s\\n' \"export Y={}\" >/dev/null", inert=True),
    _s("A={} B={}"),
    _s("A={} B={}", "unset B"),
    _s("A={} B={}", "echo hi >/dev/null"),
    _s("cat >/dev/null <<-EOF; export A={}", "\texport X={}", "\tEOF", inert=(1, 2)),
    _s("cat >/dev/null <<E1; cat >/dev/null <<E2; export B={}", "export X={}", "E1", "export Y={}", "E2", inert=(1, 2, 3, 4)),
)


class Case(NamedTuple):
    data: bytes
    names: tuple[str, ...]  # variables to remove
    inert: frozenset[int]  # 0-based lines that must not change


def _fill(line: str, values: Sequence[str]) -> str:
    pieces = line.split("{}")
    return pieces[0] + "".join(v + rest for v, rest in zip(values, pieces[1:], strict=True))


@st.composite
def cases(draw: st.DrawFn, *, max_blocks: int = 8) -> Case:
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    names = draw(st.sampled_from([("X",), ("X", "Y")]))
    blocks = draw(st.lists(st.sampled_from(X_SHAPES + Y_SHAPES + OTHER_SHAPES), min_size=1, max_size=max_blocks))
    lines: list[str] = []
    inert: set[int] = set()
    for shape in blocks:
        for i, line in enumerate(shape.lines):
            values = draw(st.lists(VALUES, min_size=line.count("{}"), max_size=line.count("{}")))
            if i in shape.inert:
                inert.add(len(lines))
            lines.append(_fill(line, values))
    final = eol if draw(st.booleans()) or not lines[-1] else ""
    return Case((eol.join(lines) + final).encode(), names, frozenset(inert))


def render(shapes: Sequence[Shape], eol: str = "\n", value: str = "v") -> bytes:
    """A case from shapes with every value the same (for the pinned examples)."""
    return ("".join(eol.join(_fill(line, [value] * line.count("{}")) for line in shape.lines) + eol for shape in shapes)).encode()


# --- the properties ----------------------------------------------------------------


def _kept(found: Sequence[Setting], names: Sequence[str]) -> list[tuple[object, ...]]:
    # On a CRLF line the last word's value ends in "\r" (as in a real shell); the tag goes before the
    # "\r", so a kept assignment that ended the line loses it.  By design: compare without it.
    out = [
        (s.var, s.action, s.exported, s.line, None if s.value is None else s.value.reveal().rstrip("\r"))
        for s in found
        if s.var not in names
    ]
    return sorted(out, key=repr)


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


class Edited(NamedTuple):
    home: Path
    before: bytes
    after: bytes


def check_static(case: Case, home: Path) -> Edited:
    """Properties (a), (b), (c) and (f); leaves the edited file in ``home``."""
    path = home / ".bashrc"
    path.write_bytes(case.data)
    found = file_settings(home, path, WATCH)
    given = [s for s in found if s.var in case.names and s.action != UNSET]
    result = EDITOR.edit(case.data, given, CTX)
    assert result.refused == (), [(r.setting.line, r.reason) for r in result.refused]
    after = apply_edits(case.data, result.edits)
    path.write_bytes(after)
    refound = file_settings(home, path, WATCH)

    # (a) the removed variables are gone
    left = [(s.var, s.line, s.action) for s in refound if s.var in case.names and s.action != UNSET]
    assert left == [], f"still set: {left}"
    # (b) everything else is still set, on the same line, to the same value
    assert _kept(refound, case.names) == _kept(found, case.names)

    # (c) only the lines of removed settings change; the line count and every line ending stay
    before_lines, after_lines = _lines(case.data), _lines(after)
    assert len(after_lines) == len(before_lines)
    holding = {n - 1 for s in given for n in range(line_number(case.data, s.span[0]), line_number(case.data, s.span[1]) + 1)}
    for e in result.edits:
        assert {line_number(case.data, e.start) - 1, line_number(case.data, e.end) - 1} <= holding, f"edit {e.start}..{e.end}"
    for i, (old, new) in enumerate(zip(before_lines, after_lines, strict=True)):
        if old == new:
            continue
        assert i in holding, f"line {i + 1} changed but holds no removed setting"
        assert new.endswith(b"\r") == old.endswith(b"\r"), f"line {i + 1} lost or gained a \\r"
        indent = old[: len(old) - len(old.lstrip(b" \t"))]
        assert new.startswith(indent), f"line {i + 1} lost its indentation"
        body = old[len(indent) :].removesuffix(b"\r")
        if new[len(indent) :].startswith((b"# ", b": # ")):
            # commented out, never deleted: the statement is still there to read (and to put back)
            assert new[len(indent) :].split(b"# ", 1)[1].startswith(body), f"line {i + 1} lost its text"
        tagged = TAG_RE.search(new)
        if b"#" in body:
            assert tagged is not None or new.count(b"#") == old.count(b"#"), f"line {i + 1}: {new!r}"
        elif new.endswith(b"\r") and new.split() and b"=" in new.split()[-1]:
            # A CRLF line that still ends in a kept assignment is left untagged: a comment
            # would swallow the \r that, to the shell, belongs to that value.
            pass
        else:
            assert tagged is not None, f"line {i + 1} changed without a tag: {new!r}"
        if tagged is not None:
            assert set(tagged.group(1).decode().split(", ")) <= set(case.names)
    # (f) comments, here-document bodies and strings are never touched
    for i in case.inert:
        assert after_lines[i] == before_lines[i], f"inert line {i + 1} changed"
    return Edited(home, case.data, after)


class Sourced(NamedTuple):
    printed: bytes  # what sourcing the file wrote to stdout
    values: dict[str, tuple[str, str]]  # name -> (printenv or <unset>, the shell variable or <unset>)


def _sourced(shell: str, home: Path, path: Path, names: Sequence[str]) -> Sourced:
    lines = [f'printf "%s|%s|%s\\n" {n} "$(printenv {n} || echo "{UNSET_MARK}")" "${{{n}-{UNSET_MARK}}}"' for n in names]
    script = f'. "$1" 2>/dev/null\nprintf "%s\\n" "{END}"\n' + "\n".join(lines) + "\n"
    proc = subprocess.run(
        [need(shell), *_NO_RC[shell], "-c", script, "_", str(path)],
        env=shell_env(home),
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=20,
        check=False,
    )
    printed, _, rest = proc.stdout.partition(END.encode() + b"\n")
    values = {}
    for line in rest.decode("utf-8", "surrogateescape").splitlines():
        name, env_value, sh_value = line.split("|")
        values[name] = (env_value, sh_value)
    assert sorted(values) == sorted(names), f"{shell}: {proc.stdout!r} {proc.stderr[-300:]!r}"
    return Sourced(printed, values)


def check_shells(case: Case, edited: Edited, syntax: Sequence[str] = ("bash", "zsh")) -> None:
    """Properties (d) (every shell in ``syntax``) and (e) (bash: the file is a ~/.bashrc), on the LF form of both files.

    In a CRLF file a call ``g\\r`` is not a call of ``g`` (for the scanner, as for a shell reading the file
    as it is), while the LF form calls it: there the removed variables are not checked, only the kept ones.
    """
    home = edited.home
    crlf = b"\r\n" in edited.before
    original, result = home / "original.sh", home / "edited.sh"
    original.write_bytes(edited.before.replace(b"\r\n", b"\n"))
    result.write_bytes(edited.after.replace(b"\r\n", b"\n"))
    # (d) the shells still read the file
    for shell in syntax:
        for path in (original, result):
            proc = subprocess.run([need(shell), "-n", str(path)], capture_output=True, stdin=subprocess.DEVNULL, timeout=20, check=False)
            assert proc.returncode == 0, f"{shell} -n rejects the {path.stem} file: {proc.stderr.decode(errors='replace')}"
    # (e) and bash sourcing it: removed variables unset, the others as before, and nothing new printed
    was, now = _sourced("bash", home, original, WATCH), _sourced("bash", home, result, WATCH)
    assert now.printed == was.printed, f"sourcing the edited file prints {now.printed[:200]!r}"
    for name in WATCH:
        if name not in case.names:
            assert now.values[name] == was.values[name], f"{name} changed"
        elif not crlf:
            assert now.values[name] == (UNSET_MARK, UNSET_MARK), f"{name} survived"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_removal_is_exact(case: Case) -> None:
    with tempfile.TemporaryDirectory() as d:
        home = Path(d) / "home"
        home.mkdir()
        check_static(case, home)


@pytest.mark.shell
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(max_blocks=6))
def test_real_shells_agree(case: Case) -> None:
    with tempfile.TemporaryDirectory() as d:
        home = Path(d) / "home"
        home.mkdir()
        check_shells(case, check_static(case, home))


def test_render() -> None:
    # The pinned examples below are built by render(): make sure it yields what the shapes say.
    assert render([X_SHAPES[3]]) == b"X=v; export X\n"
    assert render([OTHER_SHAPES[7]], "\r\n") == b"cat >/dev/null <<'EOF'\r\nexport X=v\r\nX=v; export Y=v\r\nEOF\r\n"


# --- the smallest inputs that once failed, pinned --------------------------------------


def _pinned(data: bytes, names: tuple[str, ...]) -> None:
    case = Case(data, names, frozenset())
    with tempfile.TemporaryDirectory() as d:
        home = Path(d) / "home"
        home.mkdir()
        check_shells(case, check_static(case, home), ("bash",))


@pytest.mark.shell
@pytest.mark.parametrize(
    ("data", "names"),
    [
        (b"export B=1\r\nexport A=1 X=v\r\n", ("X",)),
        (b"export A=1; export X=v\r\n", ("X",)),
        (b'[ -n "$HOME" ] && export X=v\r\n', ("X",)),
        (b"export X=\r\nexport X= A= X=\r\n", ("X",)),
        (b"h() {\n  export X=v\n}\nh\nexport A=1\n", ("X",)),
        (b"{\n  export X=v\n}\nexport A=1\n", ("X",)),
        (b"X=v Y=w A=1\n", ("X", "Y")),
        (b"Y=w X=v A=1\n", ("X", "Y")),
        (b"export -- X=v\n", ("X",)),
        (b"X=1 A=2\nexport X=v\n", ("X",)),
        (b"A=1 B=2\nexport X=v\n", ("X",)),
        (b"cat >/dev/null <<EOF; export X=v\nexport X=w\nEOF\nexport A=1\n", ("X",)),
    ],
    ids=[
        "crlf-last-part",
        "crlf-last-statement",
        "crlf-and-list",
        "crlf-two-parts",
        "function-body",
        "brace-group",
        "first-parts",
        "first-parts-swapped",
        "double-dash",
        "multi-assign-own-line",
        "multi-assign-next-line",
        "heredoc-then-semicolon",
    ],
)
def test_once_failing_inputs(data: bytes, names: tuple[str, ...]) -> None:
    _pinned(data, names)
