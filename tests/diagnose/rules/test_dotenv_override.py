"""dotenv-override: $CODEX_HOME/.env silently overrides the shell for Codex."""

from __future__ import annotations

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import api_key, chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import assert_no_secret, dotenv_origin, one, quiet

ID = "dotenv-override"


def test_replaces_a_shell_value(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    shell, dotenv = api_key(), api_key()
    machine.env["OPENAI_API_KEY"] = shell
    machine.write_dotenv(f"# codex only\nOPENAI_API_KEY={dotenv}\n")
    f = one(machine, ID, Severity.WARNING)
    path = machine.codex_home / ".env"
    assert f.title == f"{path} overrides your shell for Codex"
    assert "replaces the value your shell gives OPENAI_API_KEY" in f.detail
    assert str(path) in f.fix.summary
    dotenv_origin(f, "OPENAI_API_KEY", machine, line=2)
    assert_no_secret([f], shell, dotenv)


def test_sets_keys_the_shell_does_not_have(machine: Machine) -> None:
    machine.write_dotenv("OPENAI_BASE_URL=https://relay.example.net/v1\nexport HTTPS_PROXY=http://127.0.0.1:9\n")
    f = one(machine, ID, Severity.WARNING)
    assert "sets HTTPS_PROXY, OPENAI_BASE_URL to values your shell does not have" in f.detail
    dotenv_origin(f, "OPENAI_BASE_URL", machine, line=1)
    dotenv_origin(f, "HTTPS_PROXY", machine, line=2)


def test_mentions_the_codex_keys_it_ignores(machine: Machine) -> None:
    machine.write_dotenv(f"CODEX_API_KEY={api_key()}\nOPENAI_API_KEY={api_key()}\n")
    f = one(machine, ID, Severity.WARNING)
    assert "CODEX_API_KEY" in f.detail and "ignored" in f.detail
    assert [o.line for o in f.origins] == [2]


def test_the_last_line_for_a_key_wins(machine: Machine) -> None:
    shell = api_key()
    machine.env["OPENAI_API_KEY"] = shell
    machine.write_dotenv(f"OPENAI_API_KEY={shell}\nOPENAI_API_KEY={api_key()}\n")
    f = one(machine, ID, Severity.WARNING)
    dotenv_origin(f, "OPENAI_API_KEY", machine, line=2)


def test_empty_value_blanks_the_shell(machine: Machine) -> None:
    machine.env["OPENAI_API_KEY"] = api_key()
    machine.write_dotenv("OPENAI_API_KEY=\n")
    f = one(machine, ID, Severity.WARNING)
    dotenv_origin(f, "OPENAI_API_KEY", machine, line=1)


# --- no false alarms ----------------------------------------------------------


def test_quiet_when_values_match_the_shell(machine: Machine) -> None:
    key = api_key()
    machine.env["OPENAI_API_KEY"] = key
    machine.env["OPENAI_BASE_URL"] = "https://relay.example.net/v1"
    machine.write_dotenv(f'OPENAI_API_KEY={key}\nexport OPENAI_BASE_URL="https://relay.example.net/v1"\n')
    quiet(machine, ID)


def test_quiet_when_an_earlier_line_is_undone_by_the_last(machine: Machine) -> None:
    shell = api_key()
    machine.env["OPENAI_API_KEY"] = shell
    machine.write_dotenv(f"OPENAI_API_KEY={api_key()}\nOPENAI_API_KEY={shell}\n")
    quiet(machine, ID)


def test_quiet_with_only_codex_keys(machine: Machine) -> None:
    machine.write_dotenv(f"CODEX_API_KEY={api_key()}\ncodex_home=/elsewhere\n")
    quiet(machine, ID)


def test_quiet_with_only_comments(machine: Machine) -> None:
    machine.write_dotenv("# nothing here\n\n")
    quiet(machine, ID)


def test_quiet_without_a_dotenv(machine: Machine) -> None:
    machine.env["OPENAI_API_KEY"] = api_key()
    quiet(machine, ID)
