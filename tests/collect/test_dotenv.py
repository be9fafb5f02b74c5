"""$CODEX_HOME/.env, parsed the way dotenvy 0.15.7 does it for Codex.

``ORACLE`` holds cases run through the real Codex 0.169.0 (`codex doctor --json`
reports whether OPENAI_API_KEY came through from .env): our parser must agree
on every one of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from authdoctor.collect.dotenv import collect_dotenv, parse_dotenv
from authdoctor.collect.evidence import DotenvEntry, DotenvEvidence
from authdoctor.sandbox import api_key
from authdoctor.secret import Secret
from tests.conftest import Machine

PATH = Path("/h/.codex/.env")


def _parse(data: str | bytes, env: dict[str, str] | None = None) -> DotenvEvidence:
    return parse_dotenv(PATH, data.encode() if isinstance(data, str) else data, env)


def _values(ev: DotenvEvidence) -> list[tuple[str, str]]:
    return [(e.key, e.value.reveal()) for e in ev.entries]


def _bad_lines(ev: DotenvEvidence) -> str:
    assert ev.problem is not None
    assert ev.problem.kind == "unparsable"
    return ev.problem.message


# --- what Codex 0.169.0 really does (checked with the binary) -----------------------------------

K40 = "sk-proj-" + "A" * 40
ORACLE: dict[str, tuple[bytes, bool]] = {
    "plain": (f"OPENAI_API_KEY={K40}\n".encode(), True),
    "bom_line1": (f"\ufeffOPENAI_API_KEY={K40}\n".encode(), False),
    "bom_line1_then_line2": (f"\ufeff# c\nOPENAI_API_KEY={K40}\n".encode(), True),
    "nonutf8_other_line": (b"X=\xff\xfe\n" + f"OPENAI_API_KEY={K40}\n".encode(), True),
    "nonutf8_same_line": (f"OPENAI_API_KEY={K40}\xff\n".encode("latin-1"), False),
    "dq_dollar_end": (f'OPENAI_API_KEY="{K40}$HOME"\n'.encode(), False),
    "dq_braced": (f'OPENAI_API_KEY="{K40}${{HOME}}"\n'.encode(), True),
    "unquoted_space": (f"OPENAI_API_KEY={K40} extra\n".encode(), False),
    "unquoted_space_comment": (f"OPENAI_API_KEY={K40} # c\n".encode(), True),
    "multiline_dq": (f'OPENAI_API_KEY="{K40}\nmore"\n'.encode(), True),
    "unclosed_dq_swallows": (f'X="abc\nOPENAI_API_KEY={K40}\n'.encode(), False),
    "last_line_trailing_space_no_nl": (f"OPENAI_API_KEY={K40} ".encode(), False),
    "last_line_no_nl": (f"OPENAI_API_KEY={K40}".encode(), True),
    "crlf": (f"A=1\r\nOPENAI_API_KEY={K40}\r\n".encode(), True),
    "export": (f"export OPENAI_API_KEY={K40}\n".encode(), True),
    "escape_t_in_dq": (f'OPENAI_API_KEY="{K40}\\t"\n'.encode(), False),
    "formfeed_in_value": (f"OPENAI_API_KEY={K40}\x0cX\n".encode(), True),
    "space_before_eq": (f"OPENAI_API_KEY ={K40}\n".encode(), True),
    "dollar_underscore": (f"OPENAI_API_KEY={K40}$HOME_X\n".encode(), True),
}


@pytest.mark.parametrize(("data", "loaded"), list(ORACLE.values()), ids=list(ORACLE))
def test_agrees_with_codex(data: bytes, loaded: bool) -> None:
    ev = _parse(data, {"HOME": "/home/u", "PATH": "/usr/bin:/bin"})
    assert any(e.key == "OPENAI_API_KEY" and e.value for e in ev.entries) is loaded
    if not loaded:
        assert ev.problem is not None
        assert K40 not in ev.problem.message


# --- syntax ----------------------------------------------------------------------------------------


def test_key_value_forms() -> None:
    ev = _parse(
        "KEY=1\n"
        'KEY2="2"\n'
        "KEY3='3'\n"
        "KEY4='fo ur'\n"
        'KEY5="fi ve"\n'
        "KEY6=s\\ ix\n"
        "KEY7=\n"
        "KEY8=     \n"
        "KEY9=   # foo\n"
        'KEY10  ="whitespace before ="\n'
        'KEY11=    "whitespace after ="\n'
        'export="export as key"\n'
        "export   SHELL_LOVER=1\n"
        "   INDENTED=yes\n"
        "dotted.key=ok\n"
    )
    assert ev.problem is None
    assert _values(ev) == [
        ("KEY", "1"),
        ("KEY2", "2"),
        ("KEY3", "3"),
        ("KEY4", "fo ur"),
        ("KEY5", "fi ve"),
        ("KEY6", "s ix"),
        ("KEY7", ""),
        ("KEY8", ""),
        ("KEY9", ""),
        ("KEY10", "whitespace before ="),
        ("KEY11", "whitespace after ="),
        ("export", "export as key"),
        ("SHELL_LOVER", "1"),
        ("INDENTED", "yes"),
        ("dotted.key", "ok"),
    ]


def test_quotes_and_escapes() -> None:
    ev = _parse(
        "KEY=my\\ cool\\ value\n"
        "KEY2=\\$sweet\n"
        'KEY3="awesome stuff \\"mang\\""\n'
        "KEY4='sweet $\\fgs'\\''fds'\n"
        'KEY5="\'\\"yay\\\\"\\ "stuff"\n'
        'KEY6="lol" #well you see\n'
        'KEY7="line 1\\nline 2"\n'
        "KEY8='# not a comment'\n"
        'KEY9="a # b"\n'
    )
    assert ev.problem is None
    assert _values(ev) == [
        ("KEY", "my cool value"),
        ("KEY2", "$sweet"),
        ("KEY3", 'awesome stuff "mang"'),
        ("KEY4", "sweet $\\fgs'fds"),
        ("KEY5", "'\"yay\\ stuff"),
        ("KEY6", "lol"),
        ("KEY7", "line 1\nline 2"),
        ("KEY8", "# not a comment"),
        ("KEY9", "a # b"),
    ]


def test_inline_comments() -> None:
    ev = _parse("A=value # comment\nB=value#not-a-comment\nC=value\t# tab comment\n")
    assert _values(ev) == [("A", "value"), ("B", "value#not-a-comment"), ("C", "value")]


def test_blank_and_comment_lines_are_skipped_and_lines_are_numbered() -> None:
    ev = _parse("\n# a comment with an 'odd quote\n   \n  # indented comment\nA=1\n\n\nB=2\n")
    assert ev.problem is None
    assert [(e.key, e.line) for e in ev.entries] == [("A", 5), ("B", 8)]


def test_multiline_value_keeps_its_first_line_number() -> None:
    ev = _parse("A=1\nB='one\ntwo\nthree'\nC=3\n")
    assert [(e.key, e.value.reveal(), e.line) for e in ev.entries] == [("A", "1", 1), ("B", "one\ntwo\nthree", 2), ("C", "3", 5)]


def test_substitution_from_the_environment_and_earlier_keys() -> None:
    ev = _parse(
        "BASE=/opt\n"
        "A=$BASE/bin\n"
        'B="${BASE}-${HOME}"\n'
        "C='$BASE'\n"
        "D=\\$BASE\n"
        "E=$UNDEFINED.x\n"
        "F=$BASE_DIR\n",  # `$NAME` stops at the first non-alphanumeric: $BASE then "_DIR"
        {"HOME": "/home/u"},
    )
    assert ev.problem is None
    assert _values(ev) == [
        ("BASE", "/opt"),
        ("A", "/opt/bin"),
        ("B", "/opt-/home/u"),
        ("C", "$BASE"),
        ("D", "$BASE"),
        ("E", ".x"),
        ("F", "/opt_DIR"),
    ]


def test_inherited_environment_wins_in_substitution() -> None:
    # Codex has the inherited value in its environment; dotenvy looks there first.
    ev = _parse("HOME=/elsewhere\nA=${HOME}\n", {"HOME": "/home/u"})
    assert _values(ev) == [("HOME", "/elsewhere"), ("A", "/elsewhere")]
    ev = _parse("CODEX_X=ignored\nA=${CODEX_X}\n", {})
    # A CODEX_ key is never exported, so only the file's own memory of it is left.
    assert _values(ev) == [("CODEX_X", "ignored"), ("A", "ignored")]


def test_crlf_line_endings() -> None:
    ev = _parse(b"A=1\r\nB='two'\r\n# c\r\nC=\"3\" # x\r\n")
    assert ev.problem is None
    assert _values(ev) == [("A", "1"), ("B", "two"), ("C", "3")]


def test_duplicate_keys_are_all_kept_in_order() -> None:
    ev = _parse("A=1\nB=x\nA=2\n")
    assert [(e.key, e.value.reveal(), e.line) for e in ev.entries] == [("A", "1", 1), ("B", "x", 2), ("A", "2", 3)]


def test_codex_keys_do_not_apply() -> None:
    ev = _parse("CODEX_ACCESS_TOKEN=at-x\ncodex_home=/x\nCodex_Api_Key=k\nOPENAI_API_KEY=k\nCODEXX=1\n")
    assert [(e.key, e.applies) for e in ev.entries] == [
        ("CODEX_ACCESS_TOKEN", False),
        ("codex_home", False),
        ("Codex_Api_Key", False),
        ("OPENAI_API_KEY", True),
        ("CODEXX", True),
    ]


# --- bad lines -----------------------------------------------------------------------------------


def test_bad_lines_are_named_and_the_rest_still_loads() -> None:
    secret = api_key()
    ev = _parse(f"A=1\njust words\nB=2\n=value\n1KEY=x\nC=a {secret}\nD='unterminated\n")
    assert _values(ev) == [("A", "1"), ("B", "2")]
    message = _bad_lines(ev)
    assert message.startswith("Codex skips these lines (")
    assert "line 2: it is not KEY=VALUE" in message
    assert "line 4:" in message
    assert "line 5:" in message
    assert "line 6: its value cannot be parsed" in message
    assert "line 7: a quoted value is never closed" in message
    assert secret not in message
    assert "words" not in message


def test_one_bad_line_is_singular() -> None:
    assert _bad_lines(_parse("A=1\noops\n")) == "Codex skips this line (line 2: it is not KEY=VALUE)"


def test_many_bad_lines_are_summarised() -> None:
    message = _bad_lines(_parse("x\n" * 25))
    assert "line 10:" in message
    assert "line 11:" not in message
    assert message.endswith("; and 15 more)")


def test_unknown_escape_spoils_the_line() -> None:
    ev = _parse('A="tab\\there"\nB=\\x\nC=ok\n')
    assert _values(ev) == [("C", "ok")]
    assert "line 1" in _bad_lines(ev)
    assert "line 2" in _bad_lines(ev)


def test_unterminated_braced_substitution() -> None:
    ev = _parse("A=${HOME\nB=1\n", {"HOME": "/h"})
    assert _values(ev) == [("B", "1")]


def test_bom_spoils_the_first_line_only() -> None:
    ev = _parse(b"\xef\xbb\xbfA=1\r\nB=2\r\n")
    assert _values(ev) == [("B", "2")]
    assert _bad_lines(ev) == "Codex skips this line (line 1: it starts with a UTF-8 byte-order mark (BOM))"


def test_bom_before_a_comment_is_harmless() -> None:
    ev = _parse(b"\xef\xbb\xbf# comment\nA=1\n")
    assert ev.problem is None
    assert _values(ev) == [("A", "1")]


def test_non_utf8_line_is_skipped_alone() -> None:
    ev = _parse(b"A=1\nB=caf\xe9\nC=3\n")
    assert _values(ev) == [("A", "1"), ("C", "3")]
    assert _bad_lines(ev) == "Codex skips this line (line 2: it is not UTF-8 text)"


def test_non_utf8_inside_a_quoted_value_drops_the_whole_value() -> None:
    ev = _parse(b"A='one\ntw\xff\nB=2\n")
    # dotenvy loses what it had gathered and starts again after the bad line.
    assert _values(ev) == [("B", "2")]
    message = _bad_lines(ev)
    assert "line 1: a quoted value runs into a line that is not UTF-8" in message
    assert "line 2: it is not UTF-8 text" in message


def test_binary_file() -> None:
    ev = _parse(bytes(range(256)) * 4)
    assert ev.entries == ()
    assert ev.problem is not None


def test_empty_file() -> None:
    assert _parse(b"") == DotenvEvidence(PATH, True, None, ())


# --- the file on disk ---------------------------------------------------------------------------------


def test_missing_file(machine: Machine) -> None:
    assert collect_dotenv(machine.host(), machine.codex_home) == DotenvEvidence(machine.codex_home / ".env", exists=False)


def test_differs_from_shell(machine: Machine) -> None:
    same, other = api_key(), api_key()
    machine.env.update({"OPENAI_API_KEY": same, "OPENAI_BASE_URL": "https://shell.example"})
    path = machine.write_dotenv(f"OPENAI_API_KEY={same}\nOPENAI_BASE_URL=https://dotenv.example\nNEW_VAR={other}\nCODEX_API_KEY={other}\n")
    ev = collect_dotenv(machine.host(), machine.codex_home)
    assert ev.path == path
    assert ev.problem is None
    assert [(e.key, e.differs_from_shell) for e in ev.entries] == [
        ("OPENAI_API_KEY", False),
        ("OPENAI_BASE_URL", True),
        ("NEW_VAR", True),
        ("CODEX_API_KEY", False),  # never applied, so it changes nothing
    ]


def test_substitution_uses_the_host_environment(machine: Machine) -> None:
    key = api_key()
    machine.env["MY_OPENAI_KEY"] = key
    machine.env["OPENAI_API_KEY"] = key
    machine.write_dotenv("OPENAI_API_KEY=${MY}${OPENAI_API_KEY}\n")
    (entry,) = collect_dotenv(machine.host(), machine.codex_home).entries
    assert entry.value.reveal() == key
    assert not entry.differs_from_shell


def test_dotenv_directory(machine: Machine) -> None:
    (machine.codex_home / ".env").mkdir(parents=True)
    ev = collect_dotenv(machine.host(), machine.codex_home)
    assert ev.exists
    assert ev.entries == ()
    assert ev.problem is not None
    assert ev.problem.kind == "not-a-file"


def test_crlf_file_on_disk(machine: Machine) -> None:
    machine.write_dotenv(b"OPENAI_BASE_URL=https://x.example\r\n")
    (entry,) = machine.evidence().dotenv.entries
    assert entry.value.reveal() == "https://x.example"


def test_values_are_secrets(machine: Machine) -> None:
    key = api_key()
    machine.write_dotenv(f"OPENAI_API_KEY={key}\nbroken line {key}\n")
    ev = machine.evidence().dotenv
    assert isinstance(ev.entries[0], DotenvEntry)
    assert isinstance(ev.entries[0].value, Secret)
    assert key not in repr(ev)
