"""access-token-invalid: CODEX_ACCESS_TOKEN is malformed or expired."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import agent_identity_jwt, chatgpt_auth, make_jwt, personal_access_token
from tests.conftest import Machine
from tests.diagnose.rules.conftest import assert_no_secret, env_origin, one, quiet

ID = "access-token-invalid"


def _agent_claims(machine: Machine, **override: object) -> dict[str, object]:
    now = int(machine.now.timestamp())
    claims: dict[str, object] = {
        "iss": K.AGENT_IDENTITY_ISSUER,
        "aud": K.AGENT_IDENTITY_AUDIENCE,
        "iat": now - 3600,
        "exp": now + 86400,
        "agent_runtime_id": "ar_" + secrets.token_hex(8),
        "agent_private_key": secrets.token_urlsafe(48),
        "account_id": "acct-sandbox-1",
    }
    claims.update(override)
    return claims


def test_expired_agent_identity(machine: Machine) -> None:
    token = agent_identity_jwt(machine.now, expires_in=-timedelta(days=300))
    machine.env["CODEX_ACCESS_TOKEN"] = token
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "CODEX_ACCESS_TOKEN has expired"
    assert "an agent identity token" in f.detail
    assert "expired 300 days ago" in f.detail
    assert "sha256:" in f.detail  # the fingerprint names it, never the value
    assert "does not fall back" in f.detail
    assert "unset CODEX_ACCESS_TOKEN" in f.fix.summary and "codex login" in f.fix.summary
    assert f.fix.commands == ("unset CODEX_ACCESS_TOKEN",)
    env_origin(f, "CODEX_ACCESS_TOKEN")
    assert_no_secret([f], token)


def test_expired_token_fires_alongside_a_stored_login(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=-timedelta(minutes=1))
    one(machine, ID, Severity.ERROR)
    assert "access-token-overrides-login" in machine.ids()


def test_neither_pat_nor_jwt(machine: Machine) -> None:
    value = secrets.token_urlsafe(40).replace(".", "x")
    machine.env["CODEX_ACCESS_TOKEN"] = value
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "CODEX_ACCESS_TOKEN is not a valid access token"
    assert "neither a personal access token" in f.detail
    assert_no_secret([f], value)


def test_chatgpt_access_token_pasted_into_the_variable(machine: Machine) -> None:
    access = chatgpt_auth(machine.now)["tokens"]["access_token"]
    machine.env["CODEX_ACCESS_TOKEN"] = access
    f = one(machine, ID, Severity.ERROR)
    assert "not an agent identity token" in f.detail
    assert "ChatGPT access token" in f.detail
    assert_no_secret([f], access)


def test_jwt_from_another_issuer(machine: Machine) -> None:
    token = make_jwt(_agent_claims(machine, iss="https://issuer.example.com"))
    machine.env["CODEX_ACCESS_TOKEN"] = token
    f = one(machine, ID, Severity.ERROR)
    assert "issuer.example.com" in f.detail


def test_jwt_with_two_parts(machine: Machine) -> None:
    token = make_jwt(_agent_claims(machine)).rsplit(".", 1)[0]
    machine.env["CODEX_ACCESS_TOKEN"] = token
    f = one(machine, ID, Severity.ERROR)
    assert "2" in f.detail


@pytest.mark.parametrize("value", ["at-", "at-abc def"])
def test_incomplete_personal_access_token(machine: Machine, value: str) -> None:
    machine.env["CODEX_ACCESS_TOKEN"] = value
    f = one(machine, ID, Severity.ERROR)
    assert "personal access token" in f.detail


# --- no false alarms ----------------------------------------------------------


def test_quiet_for_a_valid_agent_identity(machine: Machine) -> None:
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=timedelta(days=1))
    quiet(machine, ID)


def test_quiet_for_a_personal_access_token(machine: Machine) -> None:
    # A PAT has no readable expiry; whether it was revoked needs the network.
    machine.env["CODEX_ACCESS_TOKEN"] = personal_access_token()
    quiet(machine, ID)


def test_quiet_for_a_valid_token_with_a_trailing_newline(machine: Machine) -> None:
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=timedelta(days=1)) + "\n"
    quiet(machine, ID)


def test_quiet_when_unset(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    quiet(machine, ID)


@pytest.mark.parametrize("blank", ["", " ", "\t\n"])
def test_whitespace_only_is_treated_as_unset(machine: Machine, blank: str) -> None:
    machine.env["CODEX_ACCESS_TOKEN"] = blank
    quiet(machine, ID)
    assert "not-logged-in" in machine.ids()


def test_quiet_when_only_set_in_dotenv(machine: Machine) -> None:
    # Codex ignores CODEX_* keys in $CODEX_HOME/.env.
    machine.write_dotenv(f"CODEX_ACCESS_TOKEN={agent_identity_jwt(machine.now, expires_in=-timedelta(days=3))}\n")
    quiet(machine, ID)
