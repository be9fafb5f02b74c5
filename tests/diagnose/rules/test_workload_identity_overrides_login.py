"""workload-identity-overrides-login: OPENAI_FEDERATION_RULE_ID / OPENAI_IDENTITY_TOKEN_FILE win over everything."""

from __future__ import annotations

from datetime import timedelta

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import agent_identity_jwt, chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import env_origin, one, quiet

ID = "workload-identity-overrides-login"


def test_complete_setup_over_a_stored_login_is_a_warning(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["OPENAI_FEDERATION_RULE_ID"] = "rule-1"
    machine.env["OPENAI_IDENTITY_TOKEN_FILE"] = str(machine.root / "token")
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=timedelta(days=1))
    f = one(machine, ID, Severity.WARNING)
    assert "ChatGPT login" in f.detail
    assert [o.text for o in f.origins] == ["OPENAI_FEDERATION_RULE_ID=<redacted>", "OPENAI_IDENTITY_TOKEN_FILE=<redacted>"]
    assert f.fix.commands == ("unset OPENAI_FEDERATION_RULE_ID OPENAI_IDENTITY_TOKEN_FILE",)
    # The access token loses to workload identity, so it overrides nothing.
    assert "access-token-overrides-login" not in machine.ids()


def test_half_configured_is_an_error(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["OPENAI_FEDERATION_RULE_ID"] = "rule-1"
    f = one(machine, ID, Severity.ERROR)
    assert "requires OPENAI_IDENTITY_TOKEN_FILE" in f.detail
    env_origin(f, "OPENAI_FEDERATION_RULE_ID")


def test_empty_values_still_count(machine: Machine) -> None:
    machine.env["OPENAI_FEDERATION_RULE_ID"] = ""
    machine.env["OPENAI_IDENTITY_TOKEN_FILE"] = ""
    f = one(machine, ID, Severity.ERROR)
    assert "is empty" in f.detail


def test_relative_token_file_is_an_error(machine: Machine) -> None:
    machine.env["OPENAI_FEDERATION_RULE_ID"] = "rule-1"
    machine.env["OPENAI_IDENTITY_TOKEN_FILE"] = "token.jwt"
    f = one(machine, ID, Severity.ERROR)
    assert "absolute path" in f.detail


def test_quiet_for_a_complete_setup_without_a_stored_login(machine: Machine) -> None:
    machine.env["OPENAI_FEDERATION_RULE_ID"] = "rule-1"
    machine.env["OPENAI_IDENTITY_TOKEN_FILE"] = str(machine.root / "token")
    quiet(machine, ID)


def test_quiet_without_the_variables(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["OPENAI_WORKLOAD_IDENTITY_CONTEXT"] = "x"  # alone it has no effect
    quiet(machine, ID)
