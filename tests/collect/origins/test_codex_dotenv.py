"""$CODEX_HOME/.env as an origin: non-CODEX_ keys apply (and override the shell), CODEX_ keys are ignored."""

from __future__ import annotations

from pathlib import Path

from authdoctor.collect.origins import codex_dotenv as C
from authdoctor.collect.origins.model import EXPORT, OriginScan, winner
from authdoctor.sandbox import api_key, personal_access_token
from tests.conftest import Machine

NAMES = frozenset({"OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_ACCESS_TOKEN", "CODEX_HOME"})


def scan(machine: Machine) -> OriginScan:
    return C.CodexDotenvSource().scan(machine.host(), NAMES)


def test_applied_and_ignored_keys(machine: Machine) -> None:
    key, token = api_key(), personal_access_token()
    path = machine.write_dotenv(
        f"# codex env\nOPENAI_API_KEY={key}\nCODEX_ACCESS_TOKEN={token}\nEDITOR=vim\nexport OPENAI_BASE_URL='https://proxy.example'\n"
    )
    result = scan(machine)
    [trail] = result.trails
    assert trail.context == C.CONTEXT and trail.files == (path,)
    api = winner(trail.settings, "OPENAI_API_KEY")
    assert api is not None and (api.action, api.path, api.line, api.family, api.editable) == (EXPORT, path, 2, "dotenv", True)
    assert api.value is not None and api.value.reveal() == key
    assert api.text == "OPENAI_API_KEY=<redacted>"
    assert path.read_bytes()[api.span[0] : api.span[1]] == f"OPENAI_API_KEY={key}".encode()
    url = winner(trail.settings, "OPENAI_BASE_URL")
    assert url is not None and url.line == 5 and url.value is not None and url.value.reveal() == "https://proxy.example"
    assert winner(trail.settings, "CODEX_ACCESS_TOKEN") is None
    [note] = result.notes
    assert note.kind == "ignored" and ":3 sets CODEX_ACCESS_TOKEN" in note.message and "CODEX_" in note.message
    for text in [s.text for s in trail.settings] + [n.message for n in result.notes]:
        assert key not in text and token not in text


def test_codex_home_from_environment(machine: Machine, tmp_path: Path) -> None:
    custom = tmp_path / "custom-codex"
    custom.mkdir()
    machine.env["CODEX_HOME"] = str(custom)
    (custom / ".env").write_text("OPENAI_API_KEY=x\r\n")
    [trail] = scan(machine).trails
    [s] = trail.settings
    assert s.path == custom / ".env" and s.span == (0, len("OPENAI_API_KEY=x"))
    assert not s.editable  # outside the home: the fixer leaves it to the person


def test_no_file_and_unparsable_lines(machine: Machine) -> None:
    assert scan(machine) == OriginScan("codex .env")
    machine.write_dotenv("OPENAI_API_KEY=ok\nthis is not an assignment\n")
    result = scan(machine)
    assert [s.var for s in result.trails[0].settings] == ["OPENAI_API_KEY"]
    assert [n.kind for n in result.notes] == ["parse-error"]


def test_multi_line_value_is_not_editable(machine: Machine) -> None:
    machine.write_dotenv('OPENAI_API_KEY="line1\nline2"\n')
    [s] = scan(machine).trails[0].settings
    assert s.blocker == "multi-line" and not s.editable


def test_unreadable_dotenv(machine: Machine) -> None:
    (machine.codex_home / ".env").mkdir(parents=True)
    result = scan(machine)
    assert [n.kind for n in result.notes] == ["unreadable"]
