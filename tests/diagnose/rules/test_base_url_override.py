"""base-url-override: OPENAI_BASE_URL or openai_base_url redirects Codex's requests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import config_origin, dotenv_origin, env_origin, one, quiet

ID = "base-url-override"
API = "https://api.openai.com/v1"


def test_openai_base_url_in_env_is_ignored_by_this_codex(machine: Machine) -> None:
    # Oracle row 4h: OPENAI_BASE_URL changes nothing in Codex 0.169.0.
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["OPENAI_BASE_URL"] = API
    f = one(machine, ID, Severity.INFO)
    assert f.title == "OPENAI_BASE_URL is set, but this Codex ignores it"
    assert "no longer reads OPENAI_BASE_URL" in f.detail
    assert "openai_base_url" in f.fix.summary
    assert f.fix.commands == ("unset OPENAI_BASE_URL",)
    env_origin(f, "OPENAI_BASE_URL")


def test_chatgpt_tokens_sent_to_the_api_endpoint_by_config(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config(f'openai_base_url = "{API}"\n')
    f = one(machine, ID, Severity.ERROR)
    o = config_origin(f, machine)
    assert o.text == f'openai_base_url = "{API}"'
    assert f.fix.summary.startswith(f"Remove openai_base_url from {machine.codex_home / 'config.toml'}")
    assert "codex login --with-api-key" in f.fix.summary
    assert f.fix.commands == ()


def test_agent_identity_sent_to_the_api_endpoint(machine: Machine) -> None:
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=timedelta(days=1))
    machine.write_config('openai_base_url = "https://api.openai.com/v1/"\n')
    one(machine, ID, Severity.ERROR)


def test_proxy_in_config_is_a_warning(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('openai_base_url = "https://llm-proxy.example.com/v1"\n')
    f = one(machine, ID, Severity.WARNING)
    assert "llm-proxy.example.com" in f.detail
    assert f.fix.summary.startswith("Unless you use a proxy on purpose")


def test_from_dotenv(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_dotenv("EDITOR=vim\nOPENAI_BASE_URL=https://relay.example.net/v1\n")
    f = one(machine, ID, Severity.INFO)
    dotenv_origin(f, "OPENAI_BASE_URL", machine, line=2)
    assert "line 2" in f.fix.summary and str(machine.codex_home / ".env") in f.fix.summary
    assert "unset" not in f.fix.summary
    assert f.fix.commands == ()


def test_config_and_env_both_set(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config(f'openai_base_url = "{API}"\n')
    machine.env["OPENAI_BASE_URL"] = "https://llm-proxy.example.com/v1"
    # The config decides (it sends ChatGPT tokens to the API endpoint); the
    # variable changes nothing.
    f = one(machine, ID, Severity.ERROR)
    assert [o.context for o in f.origins] == ["config"]
    assert "openai_base_url" in f.fix.summary


def test_api_key_login_with_a_proxy(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    machine.write_config('openai_base_url = "http://localhost:8080/v1"\n')
    f = one(machine, ID, Severity.WARNING)
    assert "localhost" in f.detail


def test_not_logged_in_yet(machine: Machine) -> None:
    machine.write_config(f'openai_base_url = "{API}"\n')
    one(machine, ID, Severity.WARNING)


def test_url_credentials_are_not_shown(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('openai_base_url = "https://bob:hunter2hunter2@proxy.example.com/v1?key=abcdefgh12345"\n')
    f = one(machine, ID, Severity.WARNING)
    o = config_origin(f, machine)
    assert o.text == 'openai_base_url = "https://proxy.example.com/v1"'
    for text in (f.detail, f.fix.summary, o.text):
        assert "hunter2" not in text and "abcdefgh12345" not in text


def test_url_without_a_host(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('openai_base_url = "api.openai.com/v1"\n')
    f = one(machine, ID, Severity.WARNING)
    assert "without a host name" in f.detail


def test_explicit_openai_provider_still_counts(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config(f'model_provider = "openai"\nopenai_base_url = "{API}"\n')
    one(machine, ID, Severity.ERROR)


# --- no false alarms ----------------------------------------------------------


def test_quiet_when_unset(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    quiet(machine, ID)


@pytest.mark.parametrize("blank", ["", "  "])
def test_quiet_when_blank(machine: Machine, blank: str) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["OPENAI_BASE_URL"] = blank
    quiet(machine, ID)


@pytest.mark.parametrize("url", [API, "https://api.openai.com/v1/", "HTTPS://API.OPENAI.COM/v1"])
def test_quiet_when_an_api_key_uses_the_default_endpoint(machine: Machine, url: str) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    machine.write_config(f'openai_base_url = "{url}"\n')
    quiet(machine, ID)


def test_quiet_when_chatgpt_uses_its_default_endpoint(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('openai_base_url = "https://chatgpt.com/backend-api/codex"\n')
    quiet(machine, ID)


@pytest.mark.parametrize("provider", ["ollama", "azure"])
def test_quiet_when_another_provider_is_selected(machine: Machine, provider: str) -> None:
    # OPENAI_BASE_URL only changes the built-in `openai` provider.
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config(
        f'model_provider = "{provider}"\n\n[model_providers.azure]\nbase_url = "https://azure.example.com/openai"\nenv_key = "AZURE_KEY"\n'
    )
    machine.env["OPENAI_BASE_URL"] = API
    quiet(machine, ID)
