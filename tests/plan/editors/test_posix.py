"""The POSIX editor (bash, zsh, sh, ksh start-up files): exact output bytes, checked by the real shells.

Every case writes a start-up file into a temporary HOME, lets the static scanner
find the settings (as ``authdoctor fix`` does), hands the editor the settings of
the variables to remove and compares the edited bytes with the expected ones.
Where it matters, the edited file is also sourced by the real shells, which must
still parse it (``bash -n`` …), no longer export the removed variable and still
export everything else.

Cases marked ``xfail(strict=True)`` are known bugs of the scanner that keep
``fix`` from removing a setting: each says what goes wrong; they start passing
(and so fail) once fixed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest

from authdoctor.collect.origins import scan_origins
from authdoctor.collect.origins.model import UNSET, Setting
from authdoctor.host import Host
from authdoctor.plan.editors.base import EditContext, EditorResult
from authdoctor.plan.editors.posix import EDITOR
from authdoctor.plan.model import apply_edits
from tests.conftest import IN_CI

STAMP = "2026-11-21"
CTX = EditContext(STAMP)
TOKEN = "sk-proj-Zq8xT3stT0ken0nly4Tests"  # looks like a key: the tags must never repeat it
SHELLS = ("bash", "zsh", "dash", "ksh")
UNSET_MARK = "<unset>"


def tag(*names: str) -> bytes:
    """What the editor appends to a line it changed: two blanks, then the tag."""
    return b"  # disabled by authdoctor " + STAMP.encode() + b" (" + ", ".join(names).encode() + b")"


# --- driving the scanner and the editor -----------------------------------------


def file_settings(home: Path, path: Path, names: Iterable[str], shell: str = "bash") -> list[Setting]:
    """Every setting of ``names`` the static scan finds in ``path``, once each (the trails repeat them)."""
    host = Host(env={"HOME": str(home), "SHELL": f"/bin/{shell}"}, home=home, proc=None)
    seen: dict[tuple[object, ...], Setting] = {}
    for scan in scan_origins(host, frozenset(names), execute=False):
        for trail in scan.trails:
            for s in trail.settings:
                if s.path == path:
                    seen.setdefault((s.span, s.part, s.action, s.var), s)
    return sorted(seen.values(), key=lambda s: (s.span, s.part, s.var, s.action))


class Outcome(NamedTuple):
    before: bytes
    after: bytes
    result: EditorResult
    given: list[Setting]  # what the editor was asked to remove
    path: Path


def remove(home: Path, data: bytes, names: Sequence[str] = ("X",), *, rc: str = ".bashrc", shell: str = "bash") -> Outcome:
    """Write ``data`` to ``~/<rc>`` and remove ``names`` from it the way ``authdoctor fix`` does."""
    path = home / rc
    path.write_bytes(data)
    given = [s for s in file_settings(home, path, names, shell) if s.var in names and s.action != UNSET]
    result = EDITOR.edit(data, given, CTX)
    return Outcome(data, apply_edits(data, result.edits), result, given, path)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


# --- running the real shells ------------------------------------------------------

# How to source a file without the shell reading any start-up file of its own.
_NO_RC = {"bash": ("--noprofile", "--norc"), "zsh": ("-f",), "dash": (), "ksh": ()}


def need(shell: str) -> str:
    program = shutil.which(shell)
    if program is None:
        if IN_CI:
            pytest.fail(f"{shell} is required on CI")
        pytest.skip(f"{shell} is not installed")
    return program


def shell_env(home: Path) -> dict[str, str]:
    # Built from scratch (env -i style): nothing of the developer's environment leaks in.
    return {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "dumb"}


def syntax_ok(shell: str, path: Path) -> tuple[bool, str]:
    proc = subprocess.run([need(shell), "-n", str(path)], capture_output=True, stdin=subprocess.DEVNULL, timeout=20, check=False)
    return proc.returncode == 0, proc.stderr.decode("utf-8", "replace")


def sourced(shell: str, home: Path, path: Path, names: Sequence[str] = ("X", "A", "B")) -> dict[str, tuple[str, str]]:
    """Source ``path`` in a bare ``shell``; per name: (what ``printenv`` shows, the shell variable), ``<unset>`` when absent."""
    lines = [f'printf "%s|%s|%s\\n" {n} "$(printenv {n} || echo "{UNSET_MARK}")" "${{{n}-{UNSET_MARK}}}"' for n in names]
    script = '. "$1" >/dev/null 2>&1\n' + "\n".join(lines) + "\n"
    proc = subprocess.run(
        [need(shell), *_NO_RC[shell], "-c", script, "_", str(path)],
        env=shell_env(home),
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=20,
        check=False,
    )
    out: dict[str, tuple[str, str]] = {}
    for line in proc.stdout.decode("utf-8", "surrogateescape").splitlines():
        name, env_value, sh_value = line.split("|")
        out[name] = (env_value, sh_value)
    assert sorted(out) == sorted(names), f"{shell} printed {proc.stdout!r}, stderr {proc.stderr[-300:]!r}"
    return out


def exported(shell: str, home: Path, path: Path, names: Sequence[str] = ("X", "A", "B")) -> dict[str, str | None]:
    return {n: (None if env == UNSET_MARK else env) for n, (env, _sh) in sourced(shell, home, path, names).items()}


def check_in_shells(out: Outcome, home: Path, expected: dict[str, str | None], shells: Sequence[str] = SHELLS) -> None:
    """The edited file parses, and sourcing it exports exactly ``expected`` (None: not exported, not even set)."""
    out.path.write_bytes(out.after)
    for shell in shells:
        ok, err = syntax_ok(shell, out.path)
        assert ok, f"{shell} -n rejects the edited file: {err}"
        got = sourced(shell, home, out.path, tuple(expected))
        for name, want in expected.items():
            env_value, sh_value = got[name]
            if want is None:
                assert (env_value, sh_value) == (UNSET_MARK, UNSET_MARK), f"{shell}: {name} survived"
            else:
                assert env_value == want, f"{shell}: {name} is {env_value!r}, want {want!r}"


# --- simple statements ------------------------------------------------------------


@pytest.mark.shell
def test_export_is_commented_out_and_tagged(home: Path) -> None:
    out = remove(home, f"export X={TOKEN}\n".encode())
    assert out.after == f"# export X={TOKEN}".encode() + tag("X") + b"\n"
    assert out.result.refused == ()
    check_in_shells(out, home, {"X": None})


@pytest.mark.shell
def test_one_part_of_a_multi_assignment_export_goes(home: Path) -> None:
    out = remove(home, f"export A=1 X={TOKEN} B=2\n".encode())
    assert out.after == b"export A=1 B=2" + tag("X") + b"\n"
    assert TOKEN.encode() not in out.after
    check_in_shells(out, home, {"X": None, "A": "1", "B": "2"})


def test_first_and_last_parts_go_with_their_blanks(home: Path) -> None:
    assert remove(home, b"export X=v A=1\n").after == b"export A=1" + tag("X") + b"\n"
    assert remove(home, b"export A=1 X=v\n").after == b"export A=1" + tag("X") + b"\n"
    assert remove(home, b"X=v A=1\n").after == b"A=1" + tag("X") + b"\n"
    assert remove(home, b"declare -x A=1 X=v\n").after == b"declare -x A=1" + tag("X") + b"\n"


def test_two_removed_variables_in_one_statement(home: Path) -> None:
    out = remove(home, b"export X=v Y=w\n", ("X", "Y"))
    assert out.after == b"# export X=v Y=w" + tag("X", "Y") + b"\n"
    out = remove(home, b"export X=v Y=w A=1\n", ("X", "Y"))
    assert out.after == b"export A=1" + tag("X", "Y") + b"\n"


@pytest.mark.shell
def test_assign_then_export_on_one_line(home: Path) -> None:
    out = remove(home, b"X=v; export X\n")
    assert {s.action for s in out.given} == {"set", "export"}
    assert out.after == b"# X=v; export X" + tag("X") + b"\n"
    check_in_shells(out, home, {"X": None})


@pytest.mark.shell
def test_assign_then_export_on_two_lines(home: Path) -> None:
    out = remove(home, b"export A=1\nX=v\nexport X\nexport B=2\n")
    assert out.after == b"export A=1\n# X=v" + tag("X") + b"\n# export X" + tag("X") + b"\nexport B=2\n"
    check_in_shells(out, home, {"X": None, "A": "1", "B": "2"})


@pytest.mark.shell
def test_declare_x(home: Path) -> None:
    out = remove(home, b"declare -x X=v\nexport A=1\n")
    assert out.after == b"# declare -x X=v" + tag("X") + b"\nexport A=1\n"
    check_in_shells(out, home, {"X": None, "A": "1"}, ("bash", "zsh"))


@pytest.mark.shell
def test_typeset_x(home: Path) -> None:
    out = remove(home, b"typeset -x X=v\nexport A=1\n")
    assert out.after == b"# typeset -x X=v" + tag("X") + b"\nexport A=1\n"
    check_in_shells(out, home, {"X": None, "A": "1"}, ("bash", "zsh", "ksh"))


@pytest.mark.shell
def test_typeset_in_a_zshrc(home: Path) -> None:
    out = remove(home, b"typeset -gx X=v\nexport A=1\n", rc=".zshrc", shell="zsh")
    assert [s.family for s in out.given] == ["zsh"]
    assert out.after == b"# typeset -gx X=v" + tag("X") + b"\nexport A=1\n"
    check_in_shells(out, home, {"X": None, "A": "1"}, ("zsh",))


@pytest.mark.shell
def test_readonly(home: Path) -> None:
    # readonly sets without exporting; a later export of X would fail, so it goes too.
    out = remove(home, b"readonly X=v\nexport A=1\n")
    assert [s.action for s in out.given] == ["set"]
    assert out.after == b"# readonly X=v" + tag("X") + b"\nexport A=1\n"
    check_in_shells(out, home, {"X": None, "A": "1"})


def test_quoted_values(home: Path) -> None:
    out = remove(home, b"export X=\"a b\"\nexport X='c d'\n")
    assert out.after == b'# export X="a b"' + tag("X") + b"\n# export X='c d'" + tag("X") + b"\n"


def test_other_statements_on_the_line_stay(home: Path) -> None:
    assert remove(home, b"export X=v; export A=1\n").after == b":; export A=1" + tag("X") + b"\n"
    assert remove(home, b"export A=1; export X=v\n").after == b"export A=1; :" + tag("X") + b"\n"


def test_indentation_kept(home: Path) -> None:
    out = remove(home, b"\t  export X=v\n")
    assert out.after == b"\t  # export X=v" + tag("X") + b"\n"


@pytest.mark.shell
def test_last_line_without_newline(home: Path) -> None:
    out = remove(home, b"export A=1\nexport X=v")
    assert out.after == b"export A=1\n# export X=v" + tag("X")
    check_in_shells(out, home, {"X": None, "A": "1"})


# --- compound commands --------------------------------------------------------------


@pytest.mark.shell
def test_inside_if_the_line_becomes_a_colon_comment(home: Path) -> None:
    out = remove(home, b'export A=1\nif [ -n "$HOME" ]; then\n  export X=v\nfi\nexport B=2\n')
    assert [s.conditional for s in out.given] == [True]
    assert out.after == b'export A=1\nif [ -n "$HOME" ]; then\n  : # export X=v' + tag("X") + b"\nfi\nexport B=2\n"
    check_in_shells(out, home, {"X": None, "A": "1", "B": "2"})


@pytest.mark.shell
def test_inside_one_line_if(home: Path) -> None:
    out = remove(home, b"if true; then export X=v; fi\nexport A=1\n")
    assert out.after == b"if true; then :; fi" + tag("X") + b"\nexport A=1\n"
    check_in_shells(out, home, {"X": None, "A": "1"})


@pytest.mark.shell
def test_inside_a_loop(home: Path) -> None:
    out = remove(home, b"while false; do\n  export X=v\ndone\nfor i in 1; do\n  export X=w\ndone\n")
    assert out.after == (
        b"while false; do\n  : # export X=v" + tag("X") + b"\ndone\nfor i in 1; do\n  : # export X=w" + tag("X") + b"\ndone\n"
    )
    check_in_shells(out, home, {"X": None})


@pytest.mark.shell
def test_inside_a_case_branch(home: Path) -> None:
    out = remove(home, b"case a in a) export X=v ;; esac\nexport A=1\n")
    assert out.after == b"case a in a) : ;; esac" + tag("X") + b"\nexport A=1\n"
    check_in_shells(out, home, {"X": None, "A": "1"})


@pytest.mark.shell
def test_inside_a_function_body_with_other_statements(home: Path) -> None:
    out = remove(home, b"setup() {\n  export X=v\n  export A=1\n}\nsetup\nexport B=2\n")
    assert out.after == b"setup() {\n  : # export X=v" + tag("X") + b"\n  export A=1\n}\nsetup\nexport B=2\n"
    check_in_shells(out, home, {"X": None, "A": "1", "B": "2"})


def test_a_function_never_called_is_not_a_setting(home: Path) -> None:
    out = remove(home, b"setup() {\n  export X=v\n}\n")
    assert out.given == []
    assert out.after == out.before


@pytest.mark.shell
@pytest.mark.parametrize(
    ("data", "shells"),
    [
        (b"setup() {\n  export X=v\n}\nsetup\nexport A=1\n", SHELLS),
        (b"{\n  export X=v\n}\nexport A=1\n", SHELLS),
        (b"function setup {\n  export X=v\n}\nsetup\nexport A=1\n", ("bash", "zsh", "ksh")),
    ],
    ids=["posix-function", "brace-group", "function-keyword"],
)
def test_the_only_statement_of_a_body_becomes_a_colon_comment(home: Path, data: bytes, shells: tuple[str, ...]) -> None:
    # Regression: these settings are not `conditional`, and `# export X=v` alone in the body is a syntax
    # error in bash, dash and ksh (tree-sitter accepts it) -- everything after it in the file was lost.
    out = remove(home, data)
    assert out.result.refused == ()
    assert out.after == data.replace(b"  export X=v\n", b"  : # export X=v" + tag("X") + b"\n")
    check_in_shells(out, home, {"X": None, "A": "1"}, shells)


def test_and_list_statement_becomes_colon(home: Path) -> None:
    out = remove(home, b'[ -n "$HOME" ] && export X=v\nexport A=1\n')
    assert out.after == b'[ -n "$HOME" ] && :' + tag("X") + b"\nexport A=1\n"
    check_in_shells(out, home, {"X": None, "A": "1"})


@pytest.mark.shell
def test_and_list_over_two_lines(home: Path) -> None:
    out = remove(home, b"true &&\n  export X=v\nexport A=1\n")
    assert out.after == b"true &&\n  : # export X=v" + tag("X") + b"\nexport A=1\n"
    check_in_shells(out, home, {"X": None, "A": "1"})


# --- bytes: line endings, encodings, comments ---------------------------------------------


def test_crlf_file_keeps_every_crlf_and_tags_before_the_cr(home: Path) -> None:
    data = b"export A=1\r\nexport X=v\r\nif true; then\r\n  export X=w\r\nfi\r\nexport C=3 X=u B=2\r\n"
    out = remove(home, data)
    assert out.result.refused == ()
    assert out.after == (
        b"export A=1\r\n# export X=v"
        + tag("X")
        + b"\r\nif true; then\r\n  : # export X=w"
        + tag("X")
        + b"\r\nfi\r\nexport C=3 B=2\r\n"  # no tag: it would swallow the \r that B's value ends with
    )
    assert out.after.count(b"\r\n") == data.count(b"\r\n") == out.after.count(b"\n")


@pytest.mark.parametrize(
    ("data", "want"),
    [
        (b"export A=1 X=v\r\n", b"export A=1\r\n"),  # a tag would take the \r out of A's value
        (b"export A=1; export X=v\r\n", b"export A=1; :" + tag("X") + b"\r\n"),
        (b'[ -n "$HOME" ] && export X=v\r\n', b'[ -n "$HOME" ] && :' + tag("X") + b"\r\n"),
        (b"export X=v A=1 X=w\r\n", b"export A=1\r\n"),
    ],
    ids=["last-part", "last-statement", "and-list", "first-and-last-parts"],
)
def test_crlf_statement_last_on_a_shared_line(home: Path, data: bytes, want: bytes) -> None:
    # Regression: the span of the last word on a CRLF line holds the \r; the editor deleted it and put
    # the tag inside the deleted range, so every setting in the file was refused as "overlap".
    out = remove(home, data)
    assert out.result.refused == ()
    assert out.after == want


def test_non_utf8_bytes_elsewhere_untouched(home: Path) -> None:
    head = b"# caf\xe9 \xff\xfe latin-1 comment\necho '\xe9t\xe9' >/dev/null\n"
    tail = b"export A=\xc3\xa9\n# \x80\x81\n"
    out = remove(home, head + b"export X=v\n" + tail)
    assert out.after == head + b"# export X=v" + tag("X") + b"\n" + tail


def test_trailing_comment_is_kept_inside_the_commented_line(home: Path) -> None:
    out = remove(home, b"export X=v  # work token\n")
    assert out.after == b"# export X=v  # work token" + tag("X") + b"\n"


def test_part_drop_on_a_line_with_a_comment_adds_no_second_comment(home: Path) -> None:
    # The line already holds a `#`: the editor does not append a tag after it.
    out = remove(home, b"export A=1 X=v  # note\n")
    assert out.after == b"export A=1  # note\n"


def test_comments_heredocs_and_strings_are_not_settings(home: Path) -> None:
    data = b"# export X=v\ncat <<'EOF' >/dev/null\nexport X=v\nEOF\necho \"export X=v\" >/dev/null\nexport X=w\n"
    out = remove(home, data)
    assert len(out.given) == 1
    assert out.after == data[: data.rindex(b"export X=w")] + b"# export X=w" + tag("X") + b"\n"


# --- other files ------------------------------------------------------------------


@pytest.mark.shell
def test_a_sourced_file_is_edited_not_the_rc(home: Path) -> None:
    rc = b'. "$HOME/.codex-env"\nexport A=1\n'
    (home / ".bashrc").write_bytes(rc)
    out = remove(home, b"export X=v\nexport B=2\n", rc=".codex-env")
    assert [s.chain for s in out.given] == [(home / ".bashrc",)]
    assert out.after == b"# export X=v" + tag("X") + b"\nexport B=2\n"
    assert (home / ".bashrc").read_bytes() == rc
    out.path.write_bytes(out.after)
    for shell in ("bash", "zsh"):
        assert exported(shell, home, home / ".bashrc") == {"X": None, "A": "1", "B": "2"}


# --- refusals -----------------------------------------------------------------------


def test_eval_is_refused(home: Path) -> None:
    out = remove(home, b'eval "export X=v"\n')
    assert out.result.edits == ()
    assert [r.reason for r in out.result.refused] == ["eval"]
    assert out.after == out.before


def test_eval_refused_but_plain_setting_still_removed(home: Path) -> None:
    out = remove(home, b'export X=v\neval "export X=w"\n')
    assert [r.reason for r in out.result.refused] == ["eval"]
    assert out.after == b"# export X=v" + tag("X") + b'\neval "export X=w"\n'


def test_conda_block_is_refused(home: Path) -> None:
    data = (
        b"export A=1\n# >>> conda initialize >>>\n# !! Contents within this block are managed by 'conda init' !!\n"
        b"export X=v\n# <<< conda initialize <<<\n"
    )
    out = remove(home, data)
    assert out.result.edits == ()
    assert [r.reason for r in out.result.refused] == ["foreign-block:conda"]


def test_multi_line_value_is_refused(home: Path) -> None:
    out = remove(home, b'export X="a\\\n b"\nexport A=1\n')
    assert out.result.edits == ()
    assert [r.reason for r in out.result.refused] == ["multi-line"]


def test_statement_continued_over_lines_is_refused(home: Path) -> None:
    out = remove(home, b"export X=a \\\n  A=1\n")
    assert out.result.edits == ()
    assert [r.reason for r in out.result.refused] == ["multi-line"]


# --- secrets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        f"export X={TOKEN}\n",
        f"export A=1 X={TOKEN} B=2\n",
        f"X='{TOKEN}'; export X\n",
        f'if true; then\n  export X="{TOKEN}"\nfi\n',
        f'[ -n "$HOME" ] && export X={TOKEN}\n',
        f"export X={TOKEN}; export A=1\n",
    ],
    ids=["export", "part", "assign-export", "if-body", "and-list", "shared-line"],
)
def test_tags_never_hold_the_value(home: Path, data: str) -> None:
    out = remove(home, data.encode())
    assert out.result.edits
    for e in out.result.edits:
        marker = e.new.find(b"# disabled by authdoctor")
        if marker >= 0:
            assert TOKEN.encode() not in e.new[marker:]
    for line in out.after.splitlines():
        if TOKEN.encode() in line:
            assert line.lstrip(b" \t:").startswith(b"# "), "the value survives only inside a comment"


# --- lines tree-sitter-bash misreads ----------------------------------------------------


@pytest.mark.shell
@pytest.mark.parametrize(
    ("follow", "want", "shells"),
    [
        (b"export X=v", b"# export X=v" + tag("X"), SHELLS),
        (b"declare -x X=v", b"# declare -x X=v" + tag("X"), ("bash", "zsh")),
        (b"typeset -x X=v", b"# typeset -x X=v" + tag("X"), ("bash", "zsh", "ksh")),
        (b"readonly X=v", b"# readonly X=v" + tag("X"), SHELLS),
        (b"{ export X=v; }", b"{ :; }" + tag("X"), SHELLS),
    ],
    ids=["export", "declare-x", "typeset-x", "readonly", "brace-group"],
)
@pytest.mark.parametrize("assignments", [b"A=1 B=2\n", b"A=1\n", b"A=1 B=2 # two\nC=3 D=4\n"], ids=["two", "one", "two-lines"])
def test_a_line_of_assignments_does_not_hide_the_next_line(
    home: Path, assignments: bytes, follow: bytes, want: bytes, shells: tuple[str, ...]
) -> None:
    # Regression (tree-sitter-bash #228): `A=1 B=2` then a newline was read as the prefix of the next
    # line's command (when that one ends the file, as here), and a command with a prefix is skipped:
    # the setting on the next line was never found.  A is exported first: a later A=1 keeps that.
    out = remove(home, b"export A\n" + assignments + follow + b"\n")
    assert len(out.given) == 1
    assert out.result.refused == ()
    assert out.after == b"export A\n" + assignments + want + b"\n"
    check_in_shells(out, home, {"X": None, "A": "1"}, shells)


@pytest.mark.shell
def test_a_removed_variable_in_the_line_of_assignments_and_on_the_next_line(home: Path) -> None:
    out = remove(home, b"export A\nX=1 A=2\nexport X=v\n")
    assert [(s.action, s.line) for s in out.given] == [("set", 2), ("export", 3)]
    assert out.after == b"export A\nA=2" + tag("X") + b"\n# export X=v" + tag("X") + b"\n"
    check_in_shells(out, home, {"X": None, "A": "2"})


@pytest.mark.shell
@pytest.mark.parametrize(
    ("data", "want"),
    [
        (
            b"cat >/dev/null <<EOF; export X=v\nbody\nEOF\nexport A=1\n",
            b"cat >/dev/null <<EOF; :" + tag("X") + b"\nbody\nEOF\nexport A=1\n",
        ),
        (
            b"cat >/dev/null <<'EOF'; export X=v\nexport X=w\nEOF\nexport A=1\n",
            b"cat >/dev/null <<'EOF'; :" + tag("X") + b"\nexport X=w\nEOF\nexport A=1\n",
        ),
        (
            b"cat <<EOF >/dev/null; export X=v\nbody\nEOF\nexport A=1\n",
            b"cat <<EOF >/dev/null; :" + tag("X") + b"\nbody\nEOF\nexport A=1\n",
        ),
        (
            b"cat >/dev/null <<EOF && export X=v\nbody\nEOF\nexport A=1\n",
            b"cat >/dev/null <<EOF && :" + tag("X") + b"\nbody\nEOF\nexport A=1\n",
        ),
        (
            b"cat >/dev/null <<EOF; echo >/dev/null\nexport X=body\nEOF\nexport X=v\nexport A=1\n",
            b"cat >/dev/null <<EOF; echo >/dev/null\nexport X=body\nEOF\n# export X=v" + tag("X") + b"\nexport A=1\n",
        ),
    ],
    ids=["semicolon", "quoted-delimiter-body-untouched", "redirect-then-semicolon", "and-list", "after-the-body"],
)
def test_statements_after_a_heredoc_start_on_its_line(home: Path, data: bytes, want: bytes) -> None:
    # Regression: tree-sitter-bash reads `<<EOF;` as a heredoc ending at a line `EOF;` and the rest of the
    # file as its body; the line was reported as a parse error and X was neither found nor removed.
    out = remove(home, data)
    assert len(out.given) == 1
    assert out.result.refused == ()
    assert out.after == want
    check_in_shells(out, home, {"X": None, "A": "1"})


@pytest.mark.shell
def test_a_brace_group_after_such_a_heredoc_keeps_a_statement(home: Path) -> None:
    # The editor must see the file the way the scanner does: on tree-sitter's own parse the group is
    # part of the heredoc's body, so `# export X=v` alone in it (a syntax error) went unnoticed.
    data = b"cat >/dev/null <<EOF; echo >/dev/null\nbody\nEOF\n{\n  export X=v\n}\nexport A=1\n"
    out = remove(home, data)
    assert out.after == data.replace(b"  export X=v\n", b"  : # export X=v" + tag("X") + b"\n")
    check_in_shells(out, home, {"X": None, "A": "1"})


@pytest.mark.shell
def test_export_double_dash_goes_whole(home: Path) -> None:
    # Regression: `export --` was left behind, and it prints every exported variable (API keys
    # included) at each shell start -- and breaks scp/rsync, which need a silent start-up.
    out = remove(home, b"export -- X=v\nexport -- A=1 X=w\n")
    assert out.after == b"# export -- X=v" + tag("X") + b"\nexport -- A=1" + tag("X") + b"\n"
    out.path.write_bytes(out.after)
    proc = subprocess.run(
        [need("bash"), "--noprofile", "--norc", "-c", '. "$1"', "_", str(out.path)],
        env={**shell_env(home), "OPENAI_API_KEY": TOKEN},
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=20,
        check=False,
    )
    assert proc.stdout == b""
    check_in_shells(out, home, {"X": None, "A": "1"}, ("bash", "zsh", "ksh"))


@pytest.mark.parametrize(
    ("data", "want"),
    [
        (b"X=v Y=w A=1\n", b"A=1"),
        (b"A=1 X=v Y=w\n", b"A=1"),
        (b"X=v A=1 Y=w B=2\n", b"A=1 B=2"),
        (b"export X=v Y=w A=1\n", b"export A=1"),
    ],
)
def test_several_parts_of_one_statement(home: Path, data: bytes, want: bytes) -> None:
    # Regression: the first part took the blank after it and the next the blank before it: "overlap".
    out = remove(home, data, ("X", "Y"))
    assert out.result.refused == ()
    assert out.after == want + tag("X", "Y") + b"\n"
