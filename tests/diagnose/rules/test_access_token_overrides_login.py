"""access-token-overrides-login: CODEX_ACCESS_TOKEN beats the stored login."""

from __future__ import annotations

from datetime import timedelta

import pytest

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.host.keyring import KeyringStatus
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth, personal_access_token
from tests.conftest import Machine
from tests.diagnose.rules.conftest import assert_no_secret, env_origin, machine_secrets, one, quiet

ID = "access-token-overrides-login"


def test_expired_agent_identity_over_chatgpt_login(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, email="me@example.com"))
    token = agent_identity_jwt(machine.now, expires_in=-timedelta(days=300))
    machine.env["CODEX_ACCESS_TOKEN"] = token
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "CODEX_ACCESS_TOKEN overrides your ChatGPT login"
    assert "me@example.com" in f.detail
    assert str(machine.codex_home / "auth.json") in f.detail
    assert "expired" in f.detail and "every request fails" in f.detail
    assert "unset CODEX_ACCESS_TOKEN" in f.fix.summary
    assert "codex login --with-access-token" in f.fix.summary
    assert f.fix.commands == ("unset CODEX_ACCESS_TOKEN",)
    env_origin(f, "CODEX_ACCESS_TOKEN")
    assert_no_secret([f], token)


def test_valid_agent_identity_still_shadows_the_login(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=timedelta(days=3))
    f = one(machine, ID, Severity.ERROR)
    assert "is never used" in f.detail
    assert "every request fails" not in f.detail


def test_personal_access_token_over_api_key_login(machine: Machine) -> None:
    key = api_key()
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": key})
    pat = personal_access_token()
    machine.env["CODEX_ACCESS_TOKEN"] = pat
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "CODEX_ACCESS_TOKEN overrides your API key login"
    assert_no_secret([f], key, pat)


def test_malformed_token_points_to_access_token_invalid(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["CODEX_ACCESS_TOKEN"] = "garbage-" + "x" * 30
    f = one(machine, ID, Severity.ERROR)
    assert "access-token-invalid" in f.detail


def test_keyring_login_is_shadowed_too(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, True)
    machine.env["CODEX_ACCESS_TOKEN"] = personal_access_token()
    f = one(machine, ID, Severity.ERROR)
    assert "the OS keyring" in f.detail


def test_auto_mode_keyring_login(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "auto"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, True)
    machine.env["CODEX_ACCESS_TOKEN"] = personal_access_token()
    one(machine, ID, Severity.ERROR)


def test_token_with_surrounding_whitespace_counts(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["CODEX_ACCESS_TOKEN"] = "  " + personal_access_token() + "\n"
    one(machine, ID, Severity.ERROR)


# --- no false alarms ----------------------------------------------------------


def test_quiet_without_the_variable(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    quiet(machine, ID)


def test_quiet_without_a_stored_login(machine: Machine) -> None:
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=timedelta(days=3))
    quiet(machine, ID)


@pytest.mark.parametrize("blank", ["", "   ", "\n\t "])
def test_quiet_when_blank(machine: Machine, blank: str) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["CODEX_ACCESS_TOKEN"] = blank
    quiet(machine, ID)


def test_quiet_when_the_same_token_is_stored(machine: Machine) -> None:
    token = agent_identity_jwt(machine.now, expires_in=timedelta(days=3))
    machine.write_auth({"auth_mode": "agentIdentity", "OPENAI_API_KEY": None, "agent_identity": token})
    machine.env["CODEX_ACCESS_TOKEN"] = token
    quiet(machine, ID)


def test_quiet_when_the_same_pat_is_stored(machine: Machine) -> None:
    pat = personal_access_token()
    machine.write_auth({"personal_access_token": pat, "OPENAI_API_KEY": None})
    machine.env["CODEX_ACCESS_TOKEN"] = pat
    quiet(machine, ID)


def test_quiet_when_the_stored_login_is_unreadable(machine: Machine) -> None:
    machine.write_auth("{ not json")
    machine.env["CODEX_ACCESS_TOKEN"] = personal_access_token()
    quiet(machine, ID)


def test_quiet_in_ephemeral_mode(machine: Machine) -> None:
    # Nothing persistent is read, so there is no stored login to shadow.
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('cli_auth_credentials_store = "ephemeral"\n')
    machine.env["CODEX_ACCESS_TOKEN"] = personal_access_token()
    quiet(machine, ID)


# --- the secret guard every test here runs under is not vacuous ---------------


def test_the_secret_guard_sees_every_credential_and_catches_a_leak(machine: Machine) -> None:
    login = chatgpt_auth(machine.now)
    machine.write_auth(login)
    token, key = personal_access_token(), api_key()
    machine.env["CODEX_ACCESS_TOKEN"] = token
    machine.write_dotenv(f"OPENAI_API_KEY={key}\n")
    found = machine_secrets(machine)
    assert {token, key, login["tokens"]["refresh_token"], login["tokens"]["access_token"]} <= set(found)
    payload = login["tokens"]["access_token"].split(".")[1]
    for leaked in (f"bad {key}", f"payload {payload} leaked"):
        bad = Finding("x", Severity.INFO, "t", leaked, Fix("f"), (Origin("environment", "X=<redacted>"),))
        with pytest.raises(AssertionError):
            assert_no_secret([bad], *found)
