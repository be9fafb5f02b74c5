"""VS Code / Cursor terminal.integrated.env settings, and the tolerant JSONC parser."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authdoctor.collect.origins import editors as E
from authdoctor.collect.origins.model import EXPORT, UNSET, OriginScan, Setting, winner
from authdoctor.host import Host
from authdoctor.sandbox import api_key, personal_access_token, write_private

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER})


def host(tmp_path: Path, platform: str = "linux", **env: str) -> Host:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return Host(env={"HOME": str(home), **env}, home=home, platform=platform)


def scan(h: Host, cwd: Path) -> OriginScan:
    return E.EditorSource(cwd=cwd).scan(h, NAMES)


def trail(result: OriginScan, context: str) -> tuple[Setting, ...]:
    return next(t.settings for t in result.trails if t.context == context)


USER = """\
// VS Code settings, with comments
{
    "editor.fontSize": 14, /* inline */
    "url": "http://example.com//not-a-comment",
    "terminal.integrated.env.osx": {"CODEX_ACCESS_TOKEN": "mac-only"},
    "terminal.integrated.env.linux": {
        "PATH": "${env:PATH}:/opt/bin",
        "CODEX_ACCESS_TOKEN": "%s",
        "OPENAI_API_KEY": "${env:MY_KEY}",
    },
}
"""


def test_user_settings_current_platform_only(tmp_path: Path) -> None:
    h = host(tmp_path)
    token = personal_access_token()
    path = write_private(h.home / ".config/Code/User/settings.json", USER % token, 0o644)
    result = scan(h, tmp_path)
    settings = trail(result, "VS Code terminals")
    tok = winner(settings, NAME)
    assert tok is not None and tok.value is not None and tok.value.reveal() == token
    assert (tok.path, tok.line, tok.family, tok.editable, tok.conditional) == (path, 8, "vscode", False, False)
    assert tok.text == '"terminal.integrated.env.linux": {"CODEX_ACCESS_TOKEN": <redacted>}'
    assert path.read_bytes()[tok.span[0] : tok.span[1]] == f'"CODEX_ACCESS_TOKEN": "{token}"'.encode()
    key = winner(settings, OTHER)
    assert key is not None and key.value is None  # ${env:…} is substituted by the editor
    assert [t.context for t in result.trails] == ["VS Code terminals"]


def test_macos_and_windows_locations(tmp_path: Path) -> None:
    mac = host(tmp_path, "darwin")
    write_private(mac.home / "Library/Application Support/Cursor/User/settings.json", USER % "x", 0o644)
    [t] = scan(mac, tmp_path).trails
    assert t.context == "Cursor terminals" and [s.value.reveal() for s in t.settings if s.value] == ["mac-only"]
    appdata = tmp_path / "AppData"
    winh = host(tmp_path, "win32", APPDATA=str(appdata))
    write_private(
        appdata / "Code/User/settings.json", '{"terminal.integrated.env.windows": {"openai_api_key": "no", "OPENAI_API_KEY": "yes"}}', 0o644
    )
    [t] = scan(winh, tmp_path).trails
    assert [s.value.reveal() for s in t.settings if s.value] == ["yes"]


def test_workspace_overrides_user_and_null_unsets(tmp_path: Path) -> None:
    h = host(tmp_path)
    write_private(h.home / ".config/Code/User/settings.json", USER % "user-token", 0o644)
    project = tmp_path / "src" / "project"
    sub = project / "pkg"
    sub.mkdir(parents=True)
    outer = write_private(tmp_path / "src/.vscode/settings.json", '{"terminal.integrated.env.linux": {"OPENAI_API_KEY": "outer"}}', 0o644)
    inner = write_private(project / ".vscode/settings.json", '{"terminal.integrated.env.linux": {"CODEX_ACCESS_TOKEN": null}}', 0o644)
    result = scan(h, sub)
    settings = trail(result, "VS Code terminals")
    assert winner(settings, NAME) is None
    [unset] = [s for s in settings if s.action == UNSET]
    assert unset.path == inner and unset.conditional and unset.text.endswith('{"CODEX_ACCESS_TOKEN": null}')
    other = winner(settings, OTHER)
    assert other is not None and other.path == outer
    # Cursor reads the same workspace settings even without its own user settings.
    assert [s.path for s in trail(result, "Cursor terminals")] == [outer, inner]
    assert trail(result, "Cursor terminals")[0].conditional


def test_duplicate_keys_later_wins(tmp_path: Path) -> None:
    h = host(tmp_path)
    write_private(
        h.home / ".config/Code/User/settings.json",
        '{"terminal.integrated.env.linux": {"OPENAI_API_KEY": "a"}, "terminal.integrated.env.linux": {"OPENAI_API_KEY": "b"}}',
        0o644,
    )
    [s] = trail(scan(h, tmp_path), "VS Code terminals")
    assert s.value is not None and s.value.reveal() == "b"


@pytest.mark.parametrize(
    "text",
    ["{", '{"a": }', '{"a" 1}', "[1, 2", '{"a": "x\n"}', "/* never closed", '{"a": tru}', '{"a": 1} trailing', "", '{"a": "\\q"}'],
)
def test_malformed_settings_are_notes(tmp_path: Path, text: str) -> None:
    h = host(tmp_path)
    write_private(h.home / ".config/Code/User/settings.json", text, 0o644)
    result = scan(h, tmp_path)
    assert result.trails == ()
    [note] = result.notes
    assert note.kind == "parse-error"


def test_settings_that_are_not_an_object(tmp_path: Path) -> None:
    h = host(tmp_path)
    write_private(h.home / ".config/Code/User/settings.json", "[1, 2]", 0o644)
    assert [n.kind for n in scan(h, tmp_path).notes] == ["parse-error"]


def test_redaction(tmp_path: Path) -> None:
    h = host(tmp_path)
    token, key = personal_access_token(), api_key()
    write_private(
        h.home / ".config/Cursor/User/settings.json",
        json.dumps({"terminal.integrated.env.linux": {NAME: token, OTHER: key}}, indent=2),
        0o644,
    )
    result = scan(h, tmp_path)
    assert len(trail(result, "Cursor terminals")) == 2
    for s in trail(result, "Cursor terminals"):
        assert token not in s.text and key not in s.text
        assert s.action == EXPORT


def test_jsonc_examples() -> None:
    got = E.parse_jsonc('// c\n{"a": [1, 2.5, -3e2, true, false, null,], "b": {"c": "\\u00e9\\n//"}, /* x */}\n')
    assert isinstance(got, E.JsonObject)
    a, b = got.members
    assert a.value == [1, 2.5, -300.0, True, False, None]
    assert isinstance(b.value, E.JsonObject) and b.value.members[0].value == "é\n//"


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    )
)
def test_jsonc_reads_what_json_writes(value: object) -> None:
    def plain(v: object) -> object:
        if isinstance(v, E.JsonObject):
            return {m.key: plain(m.value) for m in v.members}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    assert plain(E.parse_jsonc(json.dumps(value, indent=1))) == value


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_jsonc_never_crashes(text: str) -> None:
    with contextlib.suppress(E.JsoncError):
        E.parse_jsonc(text)


def test_profiles_are_trails_of_their_own(tmp_path: Path) -> None:
    h = host(tmp_path)
    user = h.home / ".config/Code/User"
    token = personal_access_token()
    write_private(user / "settings.json", '{"editor.fontSize": 12}', 0o644)
    text = '{\n  "terminal.integrated.env.linux": {"CODEX_ACCESS_TOKEN": "' + token + '"}\n}\n'
    work = write_private(user / "profiles/-2b7d4b1c/settings.json", text, 0o644)
    write_private(user / "profiles/5f1e/settings.json", '{"terminal.integrated.env.linux": {"CODEX_ACCESS_TOKEN": null}}', 0o644)
    (user / "profiles/empty").mkdir(parents=True)
    storage = {"userDataProfiles": [{"location": "-2b7d4b1c", "name": "Work\n  stuff", "icon": "briefcase"}]}
    write_private(user / "globalStorage/storage.json", json.dumps(storage), 0o644)
    result = scan(h, tmp_path)
    assert [t.context for t in result.trails] == [
        "VS Code terminals",
        "VS Code terminals (profile Work stuff)",
        "VS Code terminals (profile 5f1e)",
    ]
    assert winner(trail(result, "VS Code terminals"), NAME) is None
    won = winner(trail(result, "VS Code terminals (profile Work stuff)"), NAME)
    assert won is not None and (won.path, won.line, won.conditional) == (work, 2, False)
    assert won.value is not None and won.value.reveal() == token
    assert [s.action for s in trail(result, "VS Code terminals (profile 5f1e)")] == [UNSET]
    assert result.notes == ()


def test_a_broken_profile_is_a_note_and_storage_is_optional(tmp_path: Path) -> None:
    h = host(tmp_path)
    user = h.home / ".config/Cursor/User"
    write_private(user / "settings.json", "{}", 0o644)
    write_private(user / "profiles/abc/settings.json", "{not json", 0o644)
    write_private(user / "globalStorage/storage.json", "[1, 2", 0o644)
    result = scan(h, tmp_path)
    assert [t.context for t in result.trails] == ["Cursor terminals"]
    assert [n.kind for n in result.notes] == ["parse-error"]
