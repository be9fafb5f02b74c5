"""workspace-mismatch: forced_chatgpt_workspace_id differs from the token's account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth, make_jwt, personal_access_token
from tests.conftest import Machine
from tests.diagnose.rules.conftest import config_origin, env_origin, one, quiet

ID = "workspace-mismatch"


def _login_without_id_token_account(machine: Machine, *, tokens_account: str | None) -> dict[str, Any]:
    """A ChatGPT login whose id_token carries no chatgpt_account_id."""
    payload = chatgpt_auth(machine.now)
    now = int(machine.now.timestamp())
    payload["tokens"]["id_token"] = make_jwt(
        {"email": "me@example.com", K.AUTH_CLAIMS: {"chatgpt_plan_type": "team"}, "iat": now - 60, "exp": now + 3600}
    )
    if tokens_account is None:
        del payload["tokens"]["account_id"]
    else:
        payload["tokens"]["account_id"] = tokens_account
    return payload


def test_single_workspace_differs(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, account_id="ws-personal", email="me@example.com"))
    machine.write_config('forced_chatgpt_workspace_id = "ws-company"\n')
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "Your login belongs to a workspace this configuration does not allow"
    assert "restricts Codex to workspace ws-company" in f.detail
    assert "me@example.com" in f.detail and "belongs to workspace ws-personal" in f.detail
    assert "Login is restricted to workspace(s) ws-company, but current credentials belong to ws-personal. Logging out." in f.detail
    assert "codex login" in f.fix.summary
    o = config_origin(f, machine)
    assert o.text == 'forced_chatgpt_workspace_id = "ws-company"'


def test_list_without_the_account(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, account_id="ws-personal"))
    machine.write_config('forced_chatgpt_workspace_id = ["ws-a", "ws-b"]\n')
    f = one(machine, ID, Severity.ERROR)
    assert "workspaces ws-a, ws-b" in f.detail
    assert config_origin(f, machine).text == 'forced_chatgpt_workspace_id = ["ws-a", "ws-b"]'


def test_login_without_any_account_id(machine: Machine) -> None:
    machine.write_auth(_login_without_id_token_account(machine, tokens_account=None))
    machine.write_config('forced_chatgpt_workspace_id = "ws-company"\n')
    f = one(machine, ID, Severity.ERROR)
    assert "has no workspace identifier" in f.detail
    assert "lack a workspace identifier" in f.detail


def test_codex_compares_the_id_token_not_tokens_account_id(machine: Machine) -> None:
    # Codex reads chatgpt_account_id from the id_token; tokens.account_id does not count.
    machine.write_auth(_login_without_id_token_account(machine, tokens_account="ws-company"))
    machine.write_config('forced_chatgpt_workspace_id = "ws-company"\n')
    f = one(machine, ID, Severity.ERROR)
    assert "lack a workspace identifier" in f.detail


def test_agent_identity_from_another_workspace(machine: Machine) -> None:
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=timedelta(days=1), account_id="ws-other")
    machine.write_config('forced_chatgpt_workspace_id = "ws-company"\n')
    f = one(machine, ID, Severity.ERROR)
    assert "belongs to workspace ws-other" in f.detail
    assert "CODEX_ACCESS_TOKEN" in f.fix.summary
    config_origin(f, machine)
    env_origin(f, "CODEX_ACCESS_TOKEN")


def test_app_managed_tokens_from_another_workspace(machine: Machine) -> None:
    payload = chatgpt_auth(machine.now, account_id="ws-other")
    payload["auth_mode"] = "chatgptAuthTokens"
    payload["tokens"]["refresh_token"] = ""
    machine.write_auth(payload)
    machine.write_config('forced_chatgpt_workspace_id = "ws-company"\n')
    one(machine, ID, Severity.ERROR)


# --- no false alarms ----------------------------------------------------------


def test_quiet_when_the_workspace_matches(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, account_id="ws-company"))
    machine.write_config('forced_chatgpt_workspace_id = "ws-company"\n')
    quiet(machine, ID)


def test_quiet_when_the_list_contains_it(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, account_id="ws-b"))
    machine.write_config('forced_chatgpt_workspace_id = ["ws-a", "ws-b"]\n')
    quiet(machine, ID)


def test_quiet_for_a_pat_in_codex_access_token(machine: Machine) -> None:
    # A PAT's workspace is only known through a network call.
    machine.env["CODEX_ACCESS_TOKEN"] = personal_access_token()
    machine.write_auth(chatgpt_auth(machine.now, account_id="ws-personal"))
    machine.write_config('forced_chatgpt_workspace_id = "ws-company"\n')
    quiet(machine, ID)


def test_quiet_for_an_api_key_login(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    machine.write_config('forced_chatgpt_workspace_id = "ws-company"\n')
    quiet(machine, ID)


def test_codex_api_key_does_not_rescue_interactive_codex(machine: Machine) -> None:
    # Start-up enforcement exempts CODEX_API_KEY, but interactive codex and
    # `codex login status` ignore it and filter the stored login: "Not logged in".
    machine.write_auth(chatgpt_auth(machine.now, account_id="ws-personal"))
    machine.write_config('forced_chatgpt_workspace_id = "ws-company"\n')
    machine.env["CODEX_API_KEY"] = api_key()
    one(machine, ID, Severity.ERROR)


def test_quiet_without_a_restriction(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, account_id="ws-personal"))
    quiet(machine, ID)


def test_quiet_for_a_blank_restriction(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, account_id="ws-personal"))
    machine.write_config('forced_chatgpt_workspace_id = "  "\n')
    quiet(machine, ID)


def test_quiet_when_not_logged_in(machine: Machine) -> None:
    machine.write_config('forced_chatgpt_workspace_id = "ws-company"\n')
    quiet(machine, ID)
