"""The settings.json editor: a member and exactly one comma go, every other byte stays.

Each case writes a VS Code user settings file, lets the editors scanner find the
settings, hands them to the editor and compares the edited text with the
expected one.  The result must still be JSON once comments and trailing commas
are stripped (a small stripper below, independent of the scanner's parser), and
a new scan must find the other variables and not the removed one.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from authdoctor.collect.origins.editors import EditorSource
from authdoctor.collect.origins.model import Setting, winner
from authdoctor.host import Host
from authdoctor.plan.editors.base import EditContext, EditorResult
from authdoctor.plan.editors.vscode import EDITOR
from authdoctor.plan.model import apply_edits
from authdoctor.sandbox import personal_access_token, write_private

NAME = "CODEX_ACCESS_TOKEN"
NAMES = frozenset({NAME, "A", "B", "C"})
CTX = EditContext("2026-11-21")
KEY = "terminal.integrated.env.linux"


def strip_jsonc(text: str) -> str:
    """JSON from JSONC: comments out (outside strings), then trailing commas out."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
        else:
            out.append(c)
            i += 1
    plain = "".join(out)
    # A comma followed only by blanks and a closing bracket (strings are whole tokens above, so none contain one here).
    return re.sub(r",(\s*[}\]])", r"\1", plain)


def parse(text: str) -> Any:
    return json.loads(strip_jsonc(text.removeprefix("\ufeff")))


def host(home: Path) -> Host:
    return Host(env={"HOME": str(home)}, home=home, platform="linux", proc=None)


def settings_file(home: Path) -> Path:
    return home / ".config" / "Code" / "User" / "settings.json"


def scan(home: Path, tmp_path: Path) -> list[Setting]:
    trails = EditorSource(cwd=tmp_path).scan(host(home), NAMES).trails
    trail = next(t for t in trails if t.context == "VS Code terminals")
    return list(trail.settings)


def remove(home: Path, tmp_path: Path, text: str | bytes, names: tuple[str, ...] = (NAME,)) -> tuple[bytes, EditorResult]:
    data = text.encode() if isinstance(text, str) else text
    path = write_private(settings_file(home), data, 0o644)
    given = [s for s in scan(home, tmp_path) if s.var in names]
    assert given, "the scanner found nothing to remove"
    result = EDITOR.edit(data, given, CTX)
    after = apply_edits(data, result.edits)
    path.write_bytes(after)
    return after, result


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def env_after(home: Path, tmp_path: Path) -> dict[str, str | None]:
    settings = scan(home, tmp_path)
    out: dict[str, str | None] = {}
    for n in sorted(NAMES):
        w = winner(settings, n)
        if w is not None:
            out[n] = w.value.reveal() if w.value is not None else None
    return out


T = "@TOKEN@"  # replaced by a fresh token in each case

LAYOUTS = {
    "only member": (
        '{\n    "terminal.integrated.env.linux": {\n        "@N@": "@TOKEN@"\n    }\n}\n',
        '{\n    "terminal.integrated.env.linux": {\n    }\n}\n',
    ),
    "first": (
        '{\n  "terminal.integrated.env.linux": {\n    "@N@": "@TOKEN@",\n    "A": "1",\n    "B": "2"\n  }\n}\n',
        '{\n  "terminal.integrated.env.linux": {\n    "A": "1",\n    "B": "2"\n  }\n}\n',
    ),
    "middle": (
        '{\n  "terminal.integrated.env.linux": {\n    "A": "1",\n    "@N@": "@TOKEN@",\n    "B": "2"\n  }\n}\n',
        '{\n  "terminal.integrated.env.linux": {\n    "A": "1",\n    "B": "2"\n  }\n}\n',
    ),
    "last without trailing comma": (
        '{\n  "terminal.integrated.env.linux": {\n    "A": "1",\n    "@N@": "@TOKEN@"\n  }\n}\n',
        '{\n  "terminal.integrated.env.linux": {\n    "A": "1"\n  }\n}\n',
    ),
    "last with trailing comma": (
        '{\n  "terminal.integrated.env.linux": {\n    "A": "1",\n    "@N@": "@TOKEN@",\n  },\n}\n',
        '{\n  "terminal.integrated.env.linux": {\n    "A": "1",\n  },\n}\n',
    ),
    "one line, middle": (
        '{"terminal.integrated.env.linux": {"A": "1", "@N@": "@TOKEN@", "B": "2"}}',
        '{"terminal.integrated.env.linux": {"A": "1", "B": "2"}}',
    ),
    "one line, last": (
        '{"terminal.integrated.env.linux": { "A": "1", "@N@": "@TOKEN@" }}',
        '{"terminal.integrated.env.linux": { "A": "1" }}',
    ),
    "one line, only": (
        '{"terminal.integrated.env.linux": {"@N@": "@TOKEN@"}, "editor.tabSize": 2}',
        '{"terminal.integrated.env.linux": {}, "editor.tabSize": 2}',
    ),
    "comments between members": (
        '{\n  // env for terminals\n  "terminal.integrated.env.linux": {\n    "A": "1", // first\n'
        '    /* the token */\n    "@N@": "@TOKEN@" // stale\n    // end\n  }\n}\n',
        '{\n  // env for terminals\n  "terminal.integrated.env.linux": {\n    "A": "1" // first\n'
        "    /* the token */\n    // stale\n    // end\n  }\n}\n",
    ),
    "comment between member and comma": (
        '{\n  "terminal.integrated.env.linux": {\n    "@N@": "@TOKEN@" /* old */ ,\n    "A": "1"\n  }\n}\n',
        '{\n  "terminal.integrated.env.linux": {\n    /* old */\n    "A": "1"\n  }\n}\n',
    ),
    "key and value on two lines": (
        '{\n  "terminal.integrated.env.linux": {\n    "A": "1",\n    "@N@":\n        "@TOKEN@",\n    "B": "2"\n  }\n}\n',
        '{\n  "terminal.integrated.env.linux": {\n    "A": "1",\n    "B": "2"\n  }\n}\n',
    ),
    "nested among other settings": (
        '{\n\t"editor.fontSize": 13,\n\t"terminal.integrated.env.osx": {"@N@": "keep: not this platform"},\n'
        '\t"terminal.integrated.env.linux": {\n\t\t"@N@": "@TOKEN@",\n\t\t"A": "${env:HOME}/x"\n\t},\n'
        '\t"files.exclude": {"**/.git": true},\n\t"workbench.colorTheme": "Default Dark+"\n}\n',
        '{\n\t"editor.fontSize": 13,\n\t"terminal.integrated.env.osx": {"@N@": "keep: not this platform"},\n'
        '\t"terminal.integrated.env.linux": {\n\t\t"A": "${env:HOME}/x"\n\t},\n'
        '\t"files.exclude": {"**/.git": true},\n\t"workbench.colorTheme": "Default Dark+"\n}\n',
    ),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layouts(home: Path, tmp_path: Path, layout: str) -> None:
    token = personal_access_token()
    before, expected = (t.replace("@N@", NAME).replace(T, token) for t in LAYOUTS[layout])
    after, result = remove(home, tmp_path, before)
    assert result.refused == ()
    assert after.decode() == expected
    old, new = parse(before), parse(after.decode())
    del old[KEY][NAME]
    assert new == old
    assert NAME not in env_after(home, tmp_path)


def test_crlf_bom_and_foreign_bytes(home: Path, tmp_path: Path) -> None:
    token = personal_access_token()
    data = (
        b"\xef\xbb\xbf{\r\n  // caf\xe9 \xff\r\n"
        + f'  "terminal.integrated.env.linux": {{\r\n    "A": "é1",\r\n    "{NAME}": "{token}"\r\n  }}\r\n}}\r\n'.encode()
    )
    after, _result = remove(home, tmp_path, data)
    assert after == b'\xef\xbb\xbf{\r\n  // caf\xe9 \xff\r\n  "terminal.integrated.env.linux": {\r\n    "A": "\xc3\xa91"\r\n  }\r\n}\r\n'
    assert env_after(home, tmp_path) == {"A": "é1"}


def test_several_at_once_keep_json_valid(home: Path, tmp_path: Path) -> None:
    token = personal_access_token()
    text = f'{{\n  "terminal.integrated.env.linux": {{\n    "A": "1",\n    "B": "2",\n    "{NAME}": "{token}",\n    "C": "3"\n  }}\n}}\n'
    after, _result = remove(home, tmp_path, text, names=("B", NAME, "C"))
    assert after.decode() == '{\n  "terminal.integrated.env.linux": {\n    "A": "1"\n  }\n}\n'
    assert parse(after.decode()) == {KEY: {"A": "1"}}
    after, _result = remove(home, tmp_path, text, names=("A", "B", NAME, "C"))
    assert parse(after.decode()) == {KEY: {}}


def test_null_and_numbers_are_members_too(home: Path, tmp_path: Path) -> None:
    text = f'{{"{KEY}": {{"A": 1, "{NAME}": null, "B": true}}}}'
    after, _result = remove(home, tmp_path, text, names=("A", "B"))
    assert after.decode() == f'{{"{KEY}": {{"{NAME}": null}}}}'


def test_refusals(home: Path, tmp_path: Path) -> None:
    token = personal_access_token()
    text = f'{{\n  "{KEY}": {{\n    "{NAME}": /* why */ "{token}",\n    "A": "1"\n  }}\n}}\n'
    data = text.encode()
    write_private(settings_file(home), data, 0o644)
    [s, a] = sorted(scan(home, tmp_path), key=lambda s: s.var, reverse=True)
    assert (s.editable, s.blocker) == (False, "json-setting")  # what the scanner says; this editor takes it
    result = EDITOR.edit(data, [s, a._replace(span=(0, 4)), a._replace(blocker="system-file")], CTX)
    assert [r.reason for r in result.refused] == ["comment-inside", "unknown-span", "system-file"]
    assert result.edits == ()
    broken = EDITOR.edit(data.replace(b"}\n}", b"}\n"), [s], CTX)
    assert [r.reason for r in broken.refused] == ["parse-error"]
    for r in (*result.refused, *broken.refused):
        assert token not in r.detail


def random_settings(rng: random.Random, names: list[str]) -> str:
    """A settings file with the env object laid out at random: line breaks, comments, trailing commas, CRLF."""
    nl = rng.choice(["\n", "\r\n"])
    multi = rng.random() < 0.7
    sep = nl + "    " if multi else rng.choice(["", " "])
    parts: list[str] = []
    for i, n in enumerate(names):
        value = rng.choice(['"v"', "1", "null", "true", '"${env:HOME}"'])
        gap = rng.choice([" ", "", nl + "        "]) if multi else rng.choice([" ", ""])
        member = f'"{n}":{gap}{value}'
        last = i == len(names) - 1
        comma = "" if last and rng.random() < 0.5 else ","
        comment = rng.choice(["", "", " // note", " /* c */"]) if multi else rng.choice(["", " /* c */"])
        if comment.startswith(" /*") and rng.random() < 0.5:
            parts.append(f"{sep}{member}{comment}{comma}")
        else:
            parts.append(f"{sep}{member}{comma}{comment}")
    closing = nl + "  }" if multi else rng.choice(["", " "]) + "}"
    return (
        "{" + nl + '  "editor.tabSize": 2,' + nl + f'  "{KEY}": {{' + "".join(parts) + closing + "," + nl + '  "z": [1, 2]' + nl + "}" + nl
    )


def test_random_layouts_stay_valid(home: Path, tmp_path: Path) -> None:
    rng = random.Random(20261121)
    for _ in range(300):
        names = rng.sample(["A", "B", "C", NAME], rng.randint(1, 4))
        text = random_settings(rng, names)
        gone = tuple(rng.sample(names, rng.randint(1, len(names))))
        data = text.encode()
        path = write_private(settings_file(home), data, 0o644)
        given = [s for s in scan(home, tmp_path) if s.var in gone and s.path == path]
        result = EDITOR.edit(data, given, CTX)
        assert result.refused == (), text
        after = apply_edits(data, result.edits).decode()
        expected = parse(text)
        for n in gone:
            del expected[KEY][n]
        assert parse(after) == expected, (text, after)
        assert after.count("//") == text.count("//") and after.count("/*") == text.count("/*")
        if "\r\n" in text:
            assert "\n" not in after.replace("\r\n", "")
