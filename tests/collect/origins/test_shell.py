"""Reading one shell file as shell: the traps a grep falls into, and the statements it misses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authdoctor.collect.origins import shell as S
from authdoctor.sandbox import personal_access_token
from tests.conftest import REPO, clean_env

X = "CODEX_ACCESS_TOKEN"
NAMES = frozenset({X, "OPENAI_API_KEY"})


def events(src: str | bytes, names: frozenset[str] = NAMES) -> list[S.Event]:
    data = src.encode() if isinstance(src, str) else src
    return [e for e in S.parse(data, names).events if e.var in names]


def only(src: str | bytes) -> S.Event:
    found = events(src)
    assert len(found) == 1, found
    return found[0]


def value(e: S.Event) -> str | None:
    return e.value.reveal() if e.value is not None else None


# --- not origins ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "src",
    [
        f"# export {X}=tok\n",
        f"   #export {X}=tok\n",
        f"cat <<EOF\nexport {X}=tok\nEOF\n",
        f"cat <<'EOF' >/dev/null\nexport {X}=tok\nEOF\n",
        f"cat <<-EOF\n\texport {X}=tok\n\tEOF\n",
        f'echo "export {X}=tok"\n',
        f"printf '%s\\n' 'export {X}=tok' >> ~/.zshrc\n",
        f"alias {X}=tok\n",
        f"{X}=tok some-command --flag\n",
        f"( export {X}=tok )\n",
        f"x=$(export {X}=tok; echo)\n",
        f"true | export {X}=tok\n",
        f"export {X}=tok &\n",
        f"local {X}=tok\n",
        f"f() {{ declare -x {X}=tok; typeset {X}=tok; }}\nf\n",
        f"unset -f {X}\n",
        f"export -p {X}\n",
        f"echo {X}=tok\n",
    ],
    ids=lambda s: s.splitlines()[0][:30],
)
def test_not_an_origin(src: str) -> None:
    assert events(src) == []


def test_eval_without_a_watched_name_is_left_to_the_trace() -> None:
    assert events('eval "$(pyenv init -)"\n') == []


# --- assignments and exports ----------------------------------------------------------------


def test_export_with_value() -> None:
    tok = personal_access_token()
    e = only(f"export {X}={tok}\n")
    assert (e.kind, e.assigns, value(e), e.line, e.conditional, e.blocker) == (S.EXPORT, True, tok, 1, False, None)
    assert e.text == f"export {X}=<redacted>"
    assert tok not in repr(e)


def test_multi_assign_gives_one_event_with_its_own_part_and_the_statement_span() -> None:
    tok = personal_access_token()
    src = f"# x\nexport A=1 {X}='{tok}' B=2\n"
    e = only(src)
    data = src.encode()
    assert data[e.span[0] : e.span[1]] == f"export A=1 {X}='{tok}' B=2".encode()
    assert data[e.part[0] : e.part[1]] == f"{X}='{tok}'".encode()
    assert e.text == f"export A=<redacted> {X}=<redacted> B=<redacted>"
    assert (value(e), e.line) == (tok, 2)


def test_plain_multi_assignment() -> None:
    e = only(f"A=1 {X}=two B=3\n")
    assert (e.kind, value(e), e.text) == (S.ASSIGN, "two", f"A=<redacted> {X}=<redacted> B=<redacted>")


def test_assign_then_export() -> None:
    first, second = events(f"{X}=tok; export {X}\n")
    assert (first.kind, first.assigns, value(first)) == (S.ASSIGN, True, "tok")
    assert (second.kind, second.assigns, second.value) == (S.EXPORT, False, None)
    assert second.text == f"export {X}"
    assert first.line == second.line == 1
    assert first.span != second.span


@pytest.mark.parametrize(
    ("src", "kind"),
    [
        (f"declare -x {X}=v\n", S.EXPORT),
        (f"typeset -x {X}=v\n", S.EXPORT),
        (f"typeset -gx {X}=v\n", S.EXPORT),
        (f"declare -rx {X}=v\n", S.EXPORT),
        (f"readonly -x {X}=v\n", S.EXPORT),
        (f"declare {X}=v\n", S.ASSIGN),
        (f"readonly {X}=v\n", S.ASSIGN),
        (f"export -n {X}=v\n", S.UNEXPORT),
        (f"{X}+=v\n", S.ASSIGN),
    ],
)
def test_declaration_builtins(src: str, kind: str) -> None:
    e = only(src)
    assert (e.kind, value(e)) == (kind, "v")


def test_declaration_without_value() -> None:
    assert only(f"declare -x {X}\n").kind == S.EXPORT
    assert only(f"typeset +x {X}\n").kind == S.UNEXPORT
    assert only(f"export -n {X}\n").kind == S.UNEXPORT
    assert events(f"declare {X}\nreadonly {X}\n") == []


def test_function_globals_count_and_locals_do_not() -> None:
    e = only(f"f() {{\n  local {X}=a\n  typeset -gx {X}=b\n}}\n")
    assert (value(e), e.in_function, e.function, e.conditional) == ("b", True, "f", True)


def test_unset() -> None:
    got = events(f"export {X}=v\nunset {X}\nunset -v OTHER {X}\n")
    assert [e.kind for e in got] == [S.EXPORT, S.UNSET, S.UNSET]
    assert got[2].text == f"unset -v OTHER {X}"


def test_later_assignment_comes_later() -> None:
    got = events(f"export {X}=one\nexport {X}=two\n")
    assert [(value(e), e.line) for e in got] == [("one", 1), ("two", 2)]


def test_computed_value_is_still_a_setting() -> None:
    e = only(f"export {X}=$(cat ~/.token)\n")
    assert (e.kind, e.assigns, e.value) == (S.EXPORT, True, None)
    assert e.word is not None and e.word.lex(lambda n: "/h").text is None


def test_append() -> None:
    e = only(f"{X}+=more\n")
    assert e.append and value(e) == "more"
    assert e.text == f"{X}+=<redacted>"


# --- allexport, source, eval, return --------------------------------------------------------


def test_allexport_toggles() -> None:
    src = "set -a\nset +a\nset -o allexport\nset +o allexport\nset -ea\nsetopt ALL_EXPORT\nunsetopt allexport\nsetopt no_all_export\n"
    got = [e for e in S.parse(src.encode(), NAMES).events if e.kind == S.ALLEXPORT]
    assert [e.flag for e in got] == [True, False, True, False, True, True, False, False]


def test_set_with_positional_parameters_is_not_allexport() -> None:
    assert [e for e in S.parse(b"set -- a b\nset x -a\n", NAMES).events if e.kind == S.ALLEXPORT] == []


@pytest.mark.parametrize(
    ("src", "word"),
    [
        (". ~/.x\n", "/h/.x"),
        ("source ~/.x\n", "/h/.x"),
        ('\\. "$HOME/.x"  # This loads nvm\n', "/h/.x"),
        ("builtin source ${HOME}/.x\n", "/h/.x"),
        ("command . ${ZDOTDIR:-$HOME}/.x\n", "/h/.x"),
        ("[ -f ~/.x ] && . ~/.x\n", "/h/.x"),
    ],
)
def test_source_events(src: str, word: str) -> None:
    got = [e for e in S.parse(src.encode(), NAMES).events if e.kind == S.SOURCE]
    assert len(got) == 1
    assert got[0].word is not None
    assert got[0].word.lex({"HOME": "/h"}.get).text == word


def test_literal_eval_is_read_as_code_but_not_editable() -> None:
    e = only(f"eval 'export {X}=lit'\n")
    assert (e.kind, value(e), e.blocker, e.text) == (S.EXPORT, "lit", "eval", "eval <redacted>")


def test_generated_eval_mentioning_a_name_is_flagged() -> None:
    e = only(f'eval "$(vault read -field=x secret)"; eval "export {X}=$(pass show codex)"\n')
    assert (e.kind, e.value, e.blocker, e.assigns) == (S.EXPORT, None, "eval", True)
    assert only(f'eval "unset {X}"\n').kind == S.UNSET


def test_emulate_c_is_followed() -> None:
    got = [e for e in S.parse(b"emulate sh -c '. ~/.profile'\n", NAMES).events if e.kind == S.SOURCE]
    assert len(got) == 1 and got[0].word is not None and got[0].word.lex({"HOME": "/h"}.get).text == "/h/.profile"


def test_return_and_exit_at_top_level_only() -> None:
    got = S.parse(b'[ -z "$PS1" ] && return\nf() { return 1; }\nexit 0\n', NAMES).events
    kinds = [(e.kind, e.conds) for e in got if e.kind in (S.RETURN, S.EXIT)]
    assert kinds == [(S.RETURN, (S.Cond("interactive", negated=True),)), (S.EXIT, ())]


# --- conditions --------------------------------------------------------------------------


def test_and_list_is_conditional_on_a_file_test() -> None:
    e = only(f"[ -f ~/.x ] && export {X}=1\n")
    assert e.conditional
    (cond,) = e.conds
    assert (cond.kind, cond.arg, cond.negated) == ("file", "-f", False)
    assert cond.word is not None and cond.word.lex({"HOME": "/h"}.get).text == "/h/.x"


def test_or_list_negates() -> None:
    e = only(f"[[ -o interactive ]] || export {X}=1\n")
    assert e.conds == (S.Cond("interactive", negated=True),)


def test_if_elif_else() -> None:
    src = f'if [ -n "$BASH_VERSION" ]; then export {X}=a\nelif [ -n "$ZSH_VERSION" ]; then export {X}=b\nelse export {X}=c\nfi\n'
    a, b, c = events(src)
    assert a.conds == (S.Cond("shell", "bash"),)
    assert b.conds == (S.Cond("shell", "bash", negated=True), S.Cond("shell", "zsh"))
    assert c.conds == (S.Cond("shell", "bash", negated=True), S.Cond("shell", "zsh", negated=True))


def test_case_on_dollar_dash() -> None:
    a, b = events(f"case $- in\n  *i*) export {X}=i;;\n  *) export {X}=n;;\nesac\n")
    assert a.conds == (S.Cond("interactive"),)
    assert b.conds == (S.Cond("interactive", negated=True),)


def test_unknown_conditions_and_loops() -> None:
    got = events(f"if grep -q x /etc/y; then export {X}=1; fi\nwhile false; do export {X}=2; done\nfor i in 1; do export {X}=3; done\n")
    assert all(e.conditional for e in got)
    assert [c.kind for e in got for c in e.conds] == ["unknown"] * 3


def test_for_loop_words_are_kept_for_sourcing() -> None:
    (e,) = [e for e in S.parse(b'for f in ~/.p/*.sh; do . "$f"; done\n', NAMES).events if e.kind == S.SOURCE]
    (loop,) = e.loops
    assert loop.var == "f" and loop.words is not None
    lexed = loop.words[0].lex({"HOME": "/h"}.get)
    assert (lexed.text, lexed.pattern) == ("/h/.p/*.sh", "/h/.p/*.sh")


def test_function_calls_are_kept_only_for_defined_functions() -> None:
    got = S.parse(f"load() {{ export {X}=1; }}\nload\nls -l\n".encode(), NAMES).events
    assert [(e.kind, e.var) for e in got if e.kind in (S.FUNCDEF, S.CALL)] == [(S.FUNCDEF, "load"), (S.CALL, "load")]


# --- editability -------------------------------------------------------------------------------


def test_conda_block_is_foreign() -> None:
    src = (
        "export A=1\n"
        "# >>> conda initialize >>>\n"
        "# !! Contents within this block are managed by 'conda init' !!\n"
        f"export {X}=in\n"
        "# <<< conda initialize <<<\n"
        f"export {X}=out\n"
    )
    inside, outside = events(src)
    assert (inside.blocker, outside.blocker) == ("foreign-block:conda", None)


def test_other_owned_lines() -> None:
    src = f"# >>> juliaup initialize >>>\nexport {X}=j\n# <<< juliaup initialize <<<\n"
    assert only(src).blocker == "foreign-block:juliaup"
    owned = S.foreign_lines(b'export A=1\n[ -s "$NVM_DIR/nvm.sh" ] && \\. "$NVM_DIR/nvm.sh"  # This loads nvm\n. "$HOME/.cargo/env"\n')
    assert owned == {2: "nvm", 3: "rustup"}


def test_multi_line_continuation_joins_like_the_shell() -> None:
    e = only(f"export {X}=ab\\\ncd\n")
    assert (value(e), e.blocker) == ("abcd", "multi-line")
    e = only(f"export {X}=\\\n  tok\n")
    assert value(e) == ""  # the shell sees ``export X=  tok``: an empty value and a second name
    e = only(f"export A=1 \\\n  {X}='q' \\\n  B=2\n")
    assert (value(e), e.blocker, e.line) == ("q", "multi-line", 1)


def test_quoted_value_spanning_lines_is_multi_line() -> None:
    e = only(f'export {X}="a\nb"\n')
    assert (value(e), e.blocker) == ("a\nb", "multi-line")


# --- bytes -------------------------------------------------------------------------------------


def test_crlf_lines_are_right_and_values_keep_the_carriage_return() -> None:
    got = events(f'# one\r\nexport A=1\r\nexport {X}=tok\r\n{X}="q"\r\n'.encode())
    assert [(e.line, value(e)) for e in got] == [(3, "tok\r"), (4, "q\r")]


def test_bom_breaks_the_first_statement_like_in_the_shells() -> None:
    parsed = S.parse(b"\xef\xbb\xbf" + f"export {X}=a\nexport OPENAI_API_KEY=k\n".encode(), NAMES)
    assert [(e.var, e.line) for e in parsed.events if e.var in NAMES] == [("OPENAI_API_KEY", 2)]
    assert parsed.bom_line == 1
    assert S.parse(b"\xef\xbb\xbf# comment\n" + f"export {X}=a\n".encode(), NAMES).bom_line == 0


def test_non_utf8_bytes_elsewhere_and_in_the_value() -> None:
    got = events(b"# caf\xe9\n" + f"export {X}=".encode() + b"t\xffk\necho '\xfe'\n")
    assert len(got) == 1
    assert got[0].value is not None
    assert got[0].value.reveal().encode("utf-8", "surrogateescape") == b"t\xffk"
    assert got[0].line == 2


def test_zsh_syntax_does_not_hide_later_exports() -> None:
    src = f"parts=(${{(s.:.)PATH}})\nx=${{(%):-%x}}\nexport {X}=after\nfor f (~/.x/*(N)) source $f\nexport OPENAI_API_KEY=k\n"
    parsed = S.parse(src.encode(), NAMES)
    got = [(e.var, e.kind, value(e), e.line) for e in parsed.events if e.var in NAMES]
    assert got == [(X, S.EXPORT, "after", 3), ("OPENAI_API_KEY", S.EXPORT, "k", 5)]
    assert parsed.unparsed == ()


def test_an_unparsable_line_with_a_watched_name_is_reported() -> None:
    parsed = S.parse(f"export {X}=${{(s.:.)y}}\nexport OPENAI_API_KEY=k\n".encode(), NAMES)
    assert parsed.unparsed == (1,)
    assert [e.var for e in parsed.events if e.var in NAMES] == ["OPENAI_API_KEY"]


def test_garbage_never_crashes() -> None:
    for data in (b"", b"\x00\x01\x02", b"((((((", b"if then fi done esac", b'"unterminated', b"$(", b"\\", bytes(range(256))):
        S.parse(data + f"\nexport {X}=1".encode(), NAMES)


# --- words ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "text"),
    [
        ("plain", "plain"),
        ("'single $HOME'", "single $HOME"),
        ('"double $HOME"', "double /h"),
        ('a"b"c\\ d', "abc d"),
        ("$'a\\tb\\x41\\101'", "a\tbAA"),
        ("~/x", "/h/x"),
        ("${HOME}/x", "/h/x"),
        ("${NOPE:-$HOME/d}", "/h/d"),
        ("${HOME:-/other}", "/h"),
        ("$NOPE", None),
        ("$(date)", None),
        ("`date`", None),
        ("$((1+2))", None),
        ("a#b", "a#b"),
    ],
)
def test_lex_word(word: str, text: str | None) -> None:
    assert S.lex_word((word + " rest").encode(), 0, {"HOME": "/h"}.get).text == text


def test_lex_word_without_lookup_knows_only_literals() -> None:
    assert S.lex_word(b"~/x", 0).text is None
    assert S.lex_word(b"'lit'", 0).text == "lit"


def test_lex_word_assignment_tilde_after_colon() -> None:
    assert S.lex_word(b"/a:~/b", 0, {"HOME": "/h"}.get, assignment=True).text == "/a:/h/b"


def test_glob_pattern_keeps_quoted_characters_literal() -> None:
    lexed = S.lex_word(b'"/a*b"/*.sh', 0)
    assert (lexed.text, lexed.pattern) == ("/a*b/*.sh", "/a[*]b/*.sh")


# --- start-up cost ---------------------------------------------------------------------------------


def test_tree_sitter_is_imported_only_when_a_file_needs_parsing(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from authdoctor.host import Host\n"
        "from authdoctor.collect.origins.posix import scan_posix\n"
        "home = Path(sys.argv[1])\n"
        "(home / '.zshrc').write_text('export PATH=$HOME/bin:$PATH\\n. ~/.aliases\\n')\n"
        "(home / '.aliases').write_text('alias ll=\"ls -l\"\\n')\n"
        "host = Host(env={'HOME': str(home)}, home=home)\n"
        "scan_posix(host, frozenset({'CODEX_ACCESS_TOKEN'}))\n"
        "print('tree_sitter' in sys.modules, 'tree_sitter_bash' in sys.modules)\n"
        "(home / '.aliases').write_text('export CODEX_ACCESS_TOKEN=x\\n')\n"
        "scan_posix(host, frozenset({'CODEX_ACCESS_TOKEN'}))\n"
        "print('tree_sitter' in sys.modules, 'tree_sitter_bash' in sys.modules)\n"
    )
    home = tmp_path
    proc = subprocess.run(
        [sys.executable, "-c", code, str(home)], env=clean_env(home), capture_output=True, text=True, check=True, cwd=REPO
    )
    # The grammar's extension module is loaded directly, without tree_sitter_bash's __init__.
    assert proc.stdout.split() == ["False", "False", "True", "False"]


# --- never crash, never leak --------------------------------------------------------------------

_PIECES = [
    f"export {X}=",
    f"{X}=",
    "'",
    '"',
    "$(",
    ")",
    "${",
    "}",
    "\\\n",
    "\n",
    "\r\n",
    "; ",
    " && ",
    " || ",
    "if [ -f ~/.x ]; then ",
    "fi",
    "case $- in *i*) ",
    ";; esac",
    "f() { ",
    "<<EOF\n",
    "<<EOF; ",
    "<<'EOF' ",
    "<<-EOF)",
    "EOF\n",
    "A=1 B=2",
    "{ ",
    ". ~/.y",
    "set -a",
    "eval ",
    "# ",
    "\xe9",
    "(s.:.)",
    "for f in *; do ",
    "done",
    "SECRETVALUE",
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=25), st.binary(max_size=8))
def test_parse_never_crashes_and_never_shows_a_value(pieces: list[str], noise: bytes) -> None:
    data = "".join(pieces).encode("utf-8", "surrogateescape") + noise
    parsed = S.parse(data, NAMES)
    for e in parsed.events:
        if e.var in NAMES:  # a SOURCE event's text is a path, not a value
            assert "SECRETVALUE" not in e.text
            assert "SECRETVALUE" not in repr(e)
        assert 0 <= e.span[0] <= e.span[1] <= len(data)
        assert e.line >= 1 or e.kind in (S.CALL,)


def test_an_unclosed_heredoc_is_said_not_silently_skipped() -> None:
    # The shell reads the rest of the file as the heredoc's body: what follows sets nothing, and the
    # line is reported as unreadable instead of the variable silently looking unset.
    parsed = S.parse(b"cat >/dev/null <<EOF\nexport X=v\n", frozenset({"X"}))
    assert (parsed.events, parsed.unparsed) == ((), (1,))
    assert S.parse(b"cat <<EOF\nexport X=v\nEOF\n", frozenset({"X"})).unparsed == ()


# --- what tree-sitter-bash misreads ----------------------------------------------------------------


def _seen(src: bytes, names: frozenset[str] = frozenset({"X", "Y", "A", "B", "C", "D"})) -> list[tuple[str, str, int, bytes, bytes]]:
    """(kind, var, line, the statement's bytes, the part's bytes) of each event about ``names``."""
    return [
        (e.kind, e.var, e.line, src[e.span[0] : e.span[1]], src[e.part[0] : e.part[1]])
        for e in S.parse(src, names).events
        if e.var in names
    ]


@pytest.mark.parametrize(
    ("follow", "kind"),
    [
        (b"export X=v", S.EXPORT),
        (b"declare -x X=v", S.EXPORT),
        (b"typeset -x X=v", S.EXPORT),
        (b"readonly X=v", S.ASSIGN),
        (b"export X", S.EXPORT),
    ],
)
def test_a_line_of_assignments_then_a_declaration_on_the_next_line(follow: bytes, kind: str) -> None:
    # tree-sitter-bash #228: `A=1 B=2` newline `export X=v` is one command (`export`, prefix A=1 B=2) to
    # tree-sitter; the shell ends the command at the newline.
    src = b"# head\nA=1 B=2\n" + follow + b"\n"
    part = follow.split()[-1]
    assert _seen(src) == [
        (S.ASSIGN, "A", 2, b"A=1 B=2", b"A=1"),
        (S.ASSIGN, "B", 2, b"A=1 B=2", b"B=2"),
        (kind, "X", 3, follow, part),
    ]
    assert all(not e.conditional and e.blocker is None for e in S.parse(src, frozenset({"A", "X"})).events)


def test_a_single_assignment_then_a_declaration() -> None:
    assert _seen(b"X=1\nexport X=v\n") == [(S.ASSIGN, "X", 1, b"X=1", b"X=1"), (S.EXPORT, "X", 2, b"export X=v", b"X=v")]


def test_a_line_of_assignments_then_unset() -> None:
    src = b"export X=v\nA=1 X=2\nunset X\n"
    assert [(k, v, line) for k, v, line, _s, _p in _seen(src)] == [
        (S.EXPORT, "X", 1),
        (S.ASSIGN, "A", 2),
        (S.ASSIGN, "X", 2),
        (S.UNSET, "X", 3),
    ]


def test_a_line_of_assignments_then_another_command_sets_plain_variables() -> None:
    # `A=1 B=2` newline `echo hi`: A and B are shell variables, not the prefix environment of echo.
    assert _seen(b"A=1 B=2\necho hi\n") == [(S.ASSIGN, "A", 1, b"A=1 B=2", b"A=1"), (S.ASSIGN, "B", 1, b"A=1 B=2", b"B=2")]
    assert _seen(b"A=1 B=2 echo hi\n") == []  # on one line they are the prefix of echo
    assert _seen(b"A=1 B=2 \\\necho hi\n") == []  # a continued line too


def test_several_lines_of_assignments_and_a_comment() -> None:
    src = b"A=1 B=2 # two\nC=3 D=4\n\nexport X=v\n"
    assert [(v, line, stmt) for _k, v, line, stmt, _p in _seen(src)] == [
        ("A", 1, b"A=1 B=2"),
        ("B", 1, b"A=1 B=2"),
        ("C", 2, b"C=3 D=4"),
        ("D", 2, b"C=3 D=4"),
        ("X", 4, b"export X=v"),
    ]


def test_a_line_of_assignments_then_a_prefixed_command() -> None:
    # The next line has a prefix of its own: that assignment is for the command only.
    assert [v for _k, v, _l, _s, _p in _seen(b"A=1 B=2\nC=3 export X=v\n")] == ["A", "B"]


def test_a_line_of_assignments_in_crlf_keeps_the_carriage_returns() -> None:
    src = b"A=1 X=2\r\nexport X=v\r\n"
    got = [e for e in S.parse(src, frozenset({"A", "X"})).events]
    assert [(e.var, e.line, value(e)) for e in got] == [("A", 1, "1"), ("X", 1, "2\r"), ("X", 2, "v\r")]
    assert [src[e.part[0] : e.part[1]] for e in got] == [b"A=1", b"X=2\r", b"X=v\r"]


def test_the_next_line_keeps_only_the_conditions_of_its_block() -> None:
    parsed = S.parse(b"[ -f ~/.x ] && A=1 B=2\nexport X=v\nif true; then\n  A=1 B=2\n  export Y=w\nfi\n", frozenset({"A", "X", "Y"}))
    got = [(e.var, e.line, e.conditional) for e in parsed.events]
    assert got == [("A", 1, True), ("X", 2, False), ("A", 4, True), ("Y", 5, True)]


@pytest.mark.parametrize(
    "follow",
    [b"{ export X=v; }", b"function f { export X=v; }\nf", b"[[ -n $HOME ]] && export X=v"],
    ids=["brace-group", "function-keyword", "test-and-list"],
)
def test_a_line_of_assignments_then_a_compound_command(follow: bytes) -> None:
    # tree-sitter takes `{`, `function` and `[[` for a command name here: the next line is parsed
    # again, with as many of the following statements as it needs.
    src = b"A=1 B=2\n" + follow + b"\nexport Y=1\n"
    got = [(v, line, stmt) for _k, v, line, stmt, _p in _seen(src)]
    assert got[:2] == [("A", 1, b"A=1 B=2"), ("B", 1, b"A=1 B=2")]
    assert [(v, line, stmt) for v, line, stmt in got[2:]] == [("X", 2, b"export X=v"), ("Y", follow.count(b"\n") + 3, b"export Y=1")]


def test_a_line_of_assignments_before_a_pipeline_or_a_background_job() -> None:
    # The line of assignments runs in the shell itself; the pipeline and the job in subshells.
    assert [(v, line) for _k, v, line, _s, _p in _seen(b"X=1 A=2\nexport Y=v | cat\n")] == [("X", 1), ("A", 1)]
    assert [(v, line) for _k, v, line, _s, _p in _seen(b"X=1 A=2\nexport Y=v &\n")] == [("X", 1), ("A", 1)]


@pytest.mark.parametrize(
    "src",
    [
        b"cat >/dev/null <<EOF; export X=v\nexport X=body\nEOF\nexport A=1\n",
        b"cat >/dev/null <<'EOF'; export X=v\nexport X=body\nEOF\nexport A=1\n",
        b'cat >/dev/null <<"EOF";export X=v\nexport X=body\nEOF\nexport A=1\n',
        b"cat >/dev/null <<EOF ; export X=v\nexport X=body\nEOF\nexport A=1\n",
        b"cat <<EOF >/dev/null; export X=v\nexport X=body\nEOF\nexport A=1\n",
        b"cat >/dev/null <<-EOF; export X=v\n\texport X=body\n\tEOF\nexport A=1\n",
        b"cat <<E1 >/dev/null; cat <<E2 >/dev/null; export X=v\nexport X=body\nE1\nexport X=body\nE2\nexport A=1\n",
        b"f() { cat >/dev/null <<EOF; }; export X=v\nexport X=body\nEOF\nexport A=1\n",
    ],
    ids=["semicolon", "single-quoted", "double-quoted", "blank-semicolon", "redirect-semicolon", "tabs", "two-heredocs", "in-function"],
)
def test_statements_after_a_heredoc_start_on_its_line(src: bytes) -> None:
    # tree-sitter-bash reads `<<EOF;` as a heredoc ending at a line `EOF;` (so the rest of the file is
    # its body), or gives up on the line and reads the body as code.  Shells run the rest of the
    # line, skip the body and go on after the line that closes it.
    line = src.count(b"\n")
    parsed = S.parse(src, frozenset({"X", "A"}))
    assert [(e.var, e.line, src[e.span[0] : e.span[1]]) for e in parsed.events if e.var in ("X", "A")] == [
        ("X", 1, b"export X=v"),
        ("A", line, b"export A=1"),
    ]
    assert parsed.unparsed == ()


def test_a_heredoc_start_followed_by_an_and_list() -> None:
    src = b"cat <<EOF && export X=v\nbody\nEOF\ncat <<EOF || export A=1\nEOF\ncat <<EOF | export B=2\nEOF\n"
    got = S.parse(src, frozenset("XAB")).events
    assert [(e.var, e.line, e.conditional) for e in got] == [("X", 1, True), ("A", 4, True)]  # a pipeline is a subshell


def test_a_heredoc_never_closed_after_a_semicolon() -> None:
    # The shell runs the rest of the line, then reads the whole file as the body.
    parsed = S.parse(b"cat <<EOF; export X=v\nbody\nexport A=1\n", frozenset({"X", "A"}))
    assert [(e.var, e.line) for e in parsed.events] == [("X", 1)]
    assert parsed.unparsed == (1,)  # the body hides a watched name
    # In a CRLF file the closing line is `EOF\r`, which is not the delimiter `EOF`.
    parsed = S.parse(b"cat <<EOF; export X=v\r\nbody\r\nEOF\r\nexport A=1\r\n", frozenset({"X", "A"}))
    assert [(e.var, value(e)) for e in parsed.events] == [("X", "v\r")]


def test_a_heredoc_delimiter_with_a_dollar_is_still_reported() -> None:
    parsed = S.parse(b"cat <<$E; export X=v\nbody\n$E\nexport A=1\n", frozenset({"X", "A"}))
    assert parsed.unparsed == (1,)


def test_heredocs_tree_sitter_reads_right_are_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # The repairs cost a parse of the whole file each: a file without a misread heredoc pays none.
    calls = []
    real = S._unhide_heredoc

    def spy(buf: bytes, root: object, tried: set[int]) -> object:
        out = real(buf, root, tried)  # type: ignore[arg-type]
        calls.append(out is not None)
        return out

    monkeypatch.setattr(S, "_unhide_heredoc", spy)
    S.parse(b"cat <<EOF >/dev/null\nexport X=body\nEOF\nx=$((1<<2)); cat <<<'a;b'\nexport X=v\n", frozenset({"X"}))
    assert calls == [False]


def test_syntax_tree_sees_past_a_misread_heredoc() -> None:
    data = b"cat <<EOF; echo\nbody\nEOF\n{\n  export X=v\n}\n"
    assert S._parser().parse(data).root_node.has_error  # tree-sitter alone: the rest is the body
    tree = S.syntax_tree(data)
    assert not tree.root_node.has_error
    node = tree.root_node.descendant_for_byte_range(data.index(b"export"), data.index(b"export") + 6)
    assert node is not None and node.parent is not None and node.parent.type == "declaration_command"
