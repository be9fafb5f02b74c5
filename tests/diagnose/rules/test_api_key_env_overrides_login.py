"""api-key-env-overrides-login: CODEX_API_KEY wins for non-interactive runs."""

from __future__ import annotations

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import api_key, chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import assert_no_secret, env_origin, one, quiet

ID = "api-key-env-overrides-login"


def test_over_a_chatgpt_login(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, email="me@example.com"))
    key = api_key()
    machine.env["CODEX_API_KEY"] = key
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "CODEX_API_KEY overrides your login for non-interactive runs"
    assert "`codex exec`" in f.detail
    assert "instead of the ChatGPT login for me@example.com" in f.detail
    assert "sha256:" in f.detail
    assert "unset CODEX_API_KEY" in f.fix.summary
    assert f.fix.commands == ("unset CODEX_API_KEY",)
    env_origin(f, "CODEX_API_KEY")
    assert_no_secret([f], key)


def test_without_any_other_login(machine: Machine) -> None:
    machine.env["CODEX_API_KEY"] = api_key()
    f = one(machine, ID, Severity.WARNING)
    assert "not logged in at all" in f.detail


def test_over_a_different_stored_api_key(machine: Machine) -> None:
    stored = api_key()
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": stored})
    key = api_key()
    machine.env["CODEX_API_KEY"] = key
    f = one(machine, ID, Severity.WARNING)
    assert "instead of the API key login" in f.detail
    assert_no_secret([f], stored, key)


# --- no false alarms ----------------------------------------------------------


def test_quiet_when_unset(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    quiet(machine, ID)


@pytest.mark.parametrize("blank", ["", "  ", "\n"])
def test_quiet_when_blank(machine: Machine, blank: str) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["CODEX_API_KEY"] = blank
    quiet(machine, ID)


def test_quiet_when_it_is_the_stored_key(machine: Machine) -> None:
    key = api_key()
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": key})
    machine.env["CODEX_API_KEY"] = key
    quiet(machine, ID)


def test_quiet_when_only_in_dotenv(machine: Machine) -> None:
    # Codex refuses CODEX_* keys from $CODEX_HOME/.env.
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_dotenv(f"CODEX_API_KEY={api_key()}\n")
    quiet(machine, ID)
