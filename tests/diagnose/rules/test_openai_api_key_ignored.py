"""openai-api-key-ignored: OPENAI_API_KEY is set but Codex never uses it."""

from __future__ import annotations

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import api_key, chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import assert_no_secret, dotenv_origin, env_origin, one, quiet

ID = "openai-api-key-ignored"


def test_with_a_chatgpt_login(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, email="me@example.com"))
    key = api_key()
    machine.env["OPENAI_API_KEY"] = key
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "OPENAI_API_KEY is set but Codex ignores it"
    assert "does not read it as a credential" in f.detail
    assert "ChatGPT login for me@example.com" in f.detail
    assert "codex login --with-api-key" in f.fix.summary
    env_origin(f, "OPENAI_API_KEY")
    assert_no_secret([f], key)


def test_from_codex_home_dotenv(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    key = api_key()
    machine.write_dotenv(f"# keys for codex\nOPENAI_API_KEY={key}\n")
    f = one(machine, ID, Severity.WARNING)
    dotenv_origin(f, "OPENAI_API_KEY", machine, line=2)
    assert_no_secret([f], key)


def test_when_not_logged_in(machine: Machine) -> None:
    machine.env["OPENAI_API_KEY"] = api_key()
    f = one(machine, ID, Severity.WARNING)
    assert "Codex is not logged in" in f.detail


def test_a_provider_naming_another_variable_does_not_count(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('[model_providers.azure]\nbase_url = "https://azure.example.com/openai"\nenv_key = "AZURE_OPENAI_API_KEY"\n')
    machine.env["OPENAI_API_KEY"] = api_key()
    one(machine, ID, Severity.WARNING)


def test_a_different_stored_api_key_does_not_count(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    machine.env["OPENAI_API_KEY"] = api_key()
    f = one(machine, ID, Severity.WARNING)
    assert "API key login" in f.detail


# --- no false alarms ----------------------------------------------------------


def test_quiet_when_a_provider_env_key_names_it(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config(
        'model_provider = "proxy"\n\n[model_providers.proxy]\nbase_url = "https://llm.example.com/v1"\nenv_key = "OPENAI_API_KEY"\n'
    )
    machine.env["OPENAI_API_KEY"] = api_key()
    quiet(machine, ID)


def test_quiet_when_unset(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    quiet(machine, ID)


@pytest.mark.parametrize("blank", ["", "   "])
def test_quiet_when_blank(machine: Machine, blank: str) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["OPENAI_API_KEY"] = blank
    quiet(machine, ID)


def test_quiet_when_dotenv_blanks_the_shell_value(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["OPENAI_API_KEY"] = api_key()
    machine.write_dotenv("OPENAI_API_KEY=\n")
    quiet(machine, ID)


def test_quiet_when_it_is_the_stored_api_key(machine: Machine) -> None:
    # The documented `printenv OPENAI_API_KEY | codex login --with-api-key` leaves both in place.
    key = api_key()
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": key})
    machine.env["OPENAI_API_KEY"] = key
    quiet(machine, ID)


def test_quiet_when_codex_api_key_carries_the_same_key(machine: Machine) -> None:
    key = api_key()
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["OPENAI_API_KEY"] = key
    machine.env["CODEX_API_KEY"] = key
    quiet(machine, ID)
