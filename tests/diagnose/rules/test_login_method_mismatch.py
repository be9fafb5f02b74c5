"""login-method-mismatch: forced_login_method contradicts the credential Codex would load."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth, personal_access_token
from tests.conftest import Machine
from tests.diagnose.rules.conftest import assert_no_secret, config_origin, env_origin, one, quiet

ID = "login-method-mismatch"
CHATGPT_REFUSES_KEY = "ChatGPT login is required, but an API key is currently being used. Logging out."
API_REFUSES_CHATGPT = "API key login is required, but ChatGPT is currently being used. Logging out."


def test_chatgpt_required_but_an_api_key_is_stored(machine: Machine) -> None:
    key = api_key()
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": key})
    machine.write_config('forced_login_method = "chatgpt"\n')
    f = one(machine, ID, Severity.ERROR)
    assert f.title == 'forced_login_method = "chatgpt" rejects your API key credential'
    assert CHATGPT_REFUSES_KEY in f.detail
    assert str(machine.codex_home / "auth.json") in f.detail
    assert "`codex login`" in f.fix.summary and "administrator" in f.fix.summary
    o = config_origin(f, machine)
    assert o.text == 'forced_login_method = "chatgpt"'
    assert len(f.origins) == 1
    assert_no_secret([f], key)


def test_chatgpt_required_but_codex_api_key_is_set(machine: Machine) -> None:
    # Codex enforces with CODEX_API_KEY enabled: the variable logs out the ChatGPT login.
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('forced_login_method = "chatgpt"\n')
    key = api_key()
    machine.env["CODEX_API_KEY"] = key
    f = one(machine, ID, Severity.ERROR)
    assert "CODEX_API_KEY environment variable" in f.detail
    assert "signing in again loops" in f.detail
    assert "unset CODEX_API_KEY" in f.fix.summary
    config_origin(f, machine)
    env_origin(f, "CODEX_API_KEY")
    assert_no_secret([f], key)


def test_api_required_but_a_chatgpt_login_is_stored(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('forced_login_method = "api"\n')
    f = one(machine, ID, Severity.ERROR)
    assert f.title == 'forced_login_method = "api" rejects your ChatGPT credential'
    assert API_REFUSES_CHATGPT in f.detail
    assert "codex login --with-api-key" in f.fix.summary


@pytest.mark.parametrize("kind", ["agent-identity", "pat"])
def test_api_required_but_an_access_token_is_set(machine: Machine, kind: str) -> None:
    machine.write_config('forced_login_method = "api"\n')
    token = agent_identity_jwt(machine.now, expires_in=timedelta(days=1)) if kind == "agent-identity" else personal_access_token()
    machine.env["CODEX_ACCESS_TOKEN"] = token
    f = one(machine, ID, Severity.ERROR)
    # The 0.169.0 binary skips the token entirely under "api" (oracle row
    # forced-api-skips-access-token): nothing is logged out, nothing is used.
    assert "skips CODEX_ACCESS_TOKEN entirely" in f.detail
    assert "unset CODEX_ACCESS_TOKEN" in f.fix.summary
    env_origin(f, "CODEX_ACCESS_TOKEN")
    assert_no_secret([f], token)


@pytest.mark.parametrize(
    "payload",
    [
        {"personal_access_token": "PAT", "OPENAI_API_KEY": None},
        {"auth_mode": "agentIdentity", "OPENAI_API_KEY": None, "agent_identity": "JWT"},
    ],
)
def test_api_required_but_a_token_is_stored(machine: Machine, payload: dict[str, Any]) -> None:
    values = {"PAT": personal_access_token(), "JWT": agent_identity_jwt(machine.now, expires_in=timedelta(days=1))}
    machine.write_auth({k: values.get(v, v) if isinstance(v, str) else v for k, v in payload.items()})
    machine.write_config('forced_login_method = "api"\n')
    f = one(machine, ID, Severity.ERROR)
    assert API_REFUSES_CHATGPT in f.detail
    assert "unset" not in f.fix.summary


def test_api_required_but_app_managed_tokens_are_stored(machine: Machine) -> None:
    payload = chatgpt_auth(machine.now)
    payload["auth_mode"] = "chatgptAuthTokens"
    payload["tokens"]["refresh_token"] = ""
    machine.write_auth(payload)
    machine.write_config('forced_login_method = "api"\n')
    one(machine, ID, Severity.ERROR)


# --- no false alarms ----------------------------------------------------------


def test_quiet_when_chatgpt_is_required_and_used(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('forced_login_method = "chatgpt"\n')
    quiet(machine, ID)


def test_quiet_when_an_api_key_is_required_and_used(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    machine.write_config('forced_login_method = "api"\n')
    quiet(machine, ID)


def test_codex_api_key_does_not_rescue_interactive_codex(machine: Machine) -> None:
    # `codex exec` runs on CODEX_API_KEY, but interactive codex and `codex
    # login status` ignore it and find only the ChatGPT login that "api" hides.
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('forced_login_method = "api"\n')
    machine.env["CODEX_API_KEY"] = api_key()
    f = one(machine, ID, Severity.ERROR)
    assert "Not logged in" in f.detail


def test_quiet_when_the_hidden_access_token_is_not_needed(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    machine.write_config('forced_login_method = "api"\n')
    machine.env["CODEX_ACCESS_TOKEN"] = personal_access_token()
    quiet(machine, ID)


def test_quiet_without_forced_login_method(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    quiet(machine, ID)


def test_quiet_when_not_logged_in(machine: Machine) -> None:
    machine.write_config('forced_login_method = "chatgpt"\n')
    quiet(machine, ID)


def test_quiet_for_an_invalid_value(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    machine.write_config('forced_login_method = "sso"\n')
    quiet(machine, ID)


def test_quiet_for_a_blank_api_key_variable(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('forced_login_method = "chatgpt"\n')
    machine.env["CODEX_API_KEY"] = "   "
    quiet(machine, ID)
