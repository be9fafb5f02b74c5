"""The environment as Codex sees it once $CODEX_HOME/.env is applied."""

from __future__ import annotations

from authdoctor.codex import knowledge as K
from authdoctor.collect.environment import WATCHED, collect_environment
from authdoctor.collect.evidence import EnvValue
from authdoctor.sandbox import api_key, personal_access_token
from authdoctor.secret import Secret
from tests.conftest import Machine


def test_inherited_values_are_watched_and_others_ignored(machine: Machine) -> None:
    key = api_key()
    machine.env.update({"OPENAI_API_KEY": key, "CODEX_HOME": "", "UNRELATED": "x"})
    env = machine.evidence().env
    assert set(env) == {"OPENAI_API_KEY", "CODEX_HOME"}
    assert env["OPENAI_API_KEY"] == EnvValue("OPENAI_API_KEY", Secret(key), "environment")
    assert not env["CODEX_HOME"].set
    assert set(WATCHED) == {*K.OVERRIDE_VARS, *K.PROXY_VARS, *K.CA_VARS}


def test_dotenv_overrides_the_inherited_api_key(machine: Machine) -> None:
    shell, dotenv = api_key(), api_key()
    machine.env["OPENAI_API_KEY"] = shell
    machine.write_dotenv(f"# keys\nOPENAI_API_KEY={dotenv}\n")
    value = machine.evidence().env["OPENAI_API_KEY"]
    assert value.source == "dotenv"
    assert value.line == 2
    assert value.value.reveal() == dotenv
    assert value.shell_value_overridden


def test_dotenv_with_the_same_value_overrides_nothing(machine: Machine) -> None:
    key = api_key()
    machine.env["OPENAI_API_KEY"] = key
    machine.write_dotenv(f"OPENAI_API_KEY={key}\n")
    value = machine.evidence().env["OPENAI_API_KEY"]
    assert value.source == "dotenv"
    assert not value.shell_value_overridden


def test_dotenv_sets_a_variable_the_shell_lacks(machine: Machine) -> None:
    machine.write_dotenv("OPENAI_BASE_URL=https://proxy.example/v1\n")
    value = machine.evidence().env["OPENAI_BASE_URL"]
    assert value.source == "dotenv"
    assert not value.shell_value_overridden


def test_codex_variables_in_dotenv_are_ignored(machine: Machine) -> None:
    pat = personal_access_token()
    machine.write_dotenv(f"CODEX_ACCESS_TOKEN={pat}\nCODEX_API_KEY={api_key()}\nCODEX_HOME=/elsewhere\n")
    ev = machine.evidence()
    assert ev.env == {}
    assert ev.var("CODEX_ACCESS_TOKEN") is None


def test_inherited_codex_token_survives_a_dotenv_one(machine: Machine) -> None:
    shell = personal_access_token()
    machine.env["CODEX_ACCESS_TOKEN"] = shell
    machine.write_dotenv(f"CODEX_ACCESS_TOKEN={personal_access_token()}\n")
    value = machine.evidence().env["CODEX_ACCESS_TOKEN"]
    assert value.source == "environment"
    assert value.value.reveal() == shell


def test_last_duplicate_wins(machine: Machine) -> None:
    first, last = api_key(), api_key()
    machine.write_dotenv(f"OPENAI_API_KEY={first}\nOPENAI_API_KEY={last}\n")
    value = machine.evidence().env["OPENAI_API_KEY"]
    assert value.value.reveal() == last
    assert value.line == 2


def test_blank_values_are_present_but_not_set(machine: Machine) -> None:
    machine.env["OPENAI_API_KEY"] = api_key()
    machine.write_dotenv("OPENAI_API_KEY=\n")
    ev = machine.evidence()
    assert ev.env["OPENAI_API_KEY"].shell_value_overridden
    assert ev.var("OPENAI_API_KEY") is None  # Codex sees it empty


def test_collect_environment_directly(machine: Machine) -> None:
    machine.env["OPENAI_BASE_URL"] = "https://a.example"
    ev = machine.evidence()
    assert collect_environment(machine.host(), ev.dotenv) == ev.env
