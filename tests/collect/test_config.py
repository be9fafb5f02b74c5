"""The auth-related keys of config.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from authdoctor.codex import knowledge as K
from authdoctor.collect.config import collect_config, parse_config
from authdoctor.collect.evidence import ConfigEvidence, ProviderConfig
from tests.conftest import Machine

PATH = Path("/h/.codex/config.toml")


def _parse(text: str | bytes) -> ConfigEvidence:
    return parse_config(PATH, text.encode() if isinstance(text, str) else text)


def test_missing_config_means_file_store(machine: Machine) -> None:
    ev = collect_config(machine.host(), machine.codex_home)
    assert ev == ConfigEvidence(machine.codex_home / "config.toml", exists=False)
    assert ev.store_mode == K.STORE_FILE


def test_empty_config() -> None:
    ev = _parse("")
    assert ev.exists
    assert ev.problem is None
    assert ev.store_mode == K.STORE_FILE
    assert ev.store_mode_raw is None


@pytest.mark.parametrize("mode", list(K.STORE_MODES))
def test_each_store_mode(mode: str) -> None:
    ev = _parse(f'cli_auth_credentials_store = "{mode}"\n')
    assert ev.problem is None
    assert ev.store_mode == mode
    assert ev.store_mode_raw == mode


@pytest.mark.parametrize("raw", ["bogus", "Keyring", "FILE", ""])
def test_invalid_store_mode_is_a_problem_and_falls_back_to_file(raw: str) -> None:
    # Codex refuses to start: "unknown variant `bogus`, expected one of `file`, `keyring`, `auto`, `ephemeral`".
    ev = _parse(f'cli_auth_credentials_store = "{raw}"\n')
    assert ev.store_mode == K.STORE_FILE
    assert ev.store_mode_raw == raw
    assert ev.problem is not None
    assert ev.problem.kind == "invalid-value"
    assert f"cli_auth_credentials_store = {raw!r}" in ev.problem.message
    assert "file, keyring, auto, ephemeral" in ev.problem.message


def test_store_mode_of_another_type() -> None:
    ev = _parse("cli_auth_credentials_store = 1\n")
    assert ev.store_mode == K.STORE_FILE
    assert ev.problem is not None
    assert "`cli_auth_credentials_store` must be a string" in ev.problem.message


@pytest.mark.parametrize("method", ["chatgpt", "api"])
def test_forced_login_method(method: str) -> None:
    ev = _parse(f'forced_login_method = "{method}"\n')
    assert ev.forced_login_method == method
    assert ev.problem is None


def test_invalid_forced_login_method() -> None:
    ev = _parse('forced_login_method = "apikey"\n')
    assert ev.forced_login_method is None
    assert ev.problem is not None
    assert "forced_login_method = 'apikey' is not one of chatgpt, api" in ev.problem.message


def test_workspace_as_a_string() -> None:
    assert _parse('forced_chatgpt_workspace_id = "ws-1"\n').forced_workspace_ids == ("ws-1",)


def test_workspace_as_a_list() -> None:
    ev = _parse('forced_chatgpt_workspace_id = ["ws-1", "ws-2", "  "]\n')
    assert ev.forced_workspace_ids == ("ws-1", "ws-2")
    assert ev.problem is None


@pytest.mark.parametrize("value", ['"   "', '""', "[]"])
def test_blank_workspace_restricts_nothing(value: str) -> None:
    assert _parse(f"forced_chatgpt_workspace_id = {value}\n").forced_workspace_ids == ()


@pytest.mark.parametrize("value", ["1", '["ws", 2]', "{ id = 'ws' }"])
def test_workspace_of_another_type(value: str) -> None:
    ev = _parse(f"forced_chatgpt_workspace_id = {value}\n")
    assert ev.forced_workspace_ids == ()
    assert ev.problem is not None
    assert "`forced_chatgpt_workspace_id` must be a string or a list of strings" in ev.problem.message


def test_openai_base_url_and_provider() -> None:
    ev = _parse(
        'openai_base_url = "https://proxy.example/v1"\n'
        'model_provider = "relay"\n'
        "\n"
        "[model_providers.relay]\n"
        'base_url = "https://relay.example/v1"\n'
        'env_key = "RELAY_KEY"\n'
        "requires_openai_auth = false\n"
        "\n"
        "[model_providers.bare]\n"
        'env_key = ""\n'
        "requires_openai_auth = 'yes'\n"
    )
    assert ev.problem is None
    assert ev.openai_base_url == "https://proxy.example/v1"
    assert ev.model_provider == "relay"
    assert ev.providers == {
        "relay": ProviderConfig(id="relay", base_url="https://relay.example/v1", env_key="RELAY_KEY", requires_openai_auth=False),
        "bare": ProviderConfig(id="bare"),
    }


def test_provider_table_of_another_shape_is_skipped() -> None:
    ev = _parse('model_providers = "x"\n[projects]\na = 1\n')
    assert ev.providers == {}
    ev = _parse('[model_providers]\nrelay = "x"\n')
    assert ev.providers == {}


def test_several_problems_are_joined() -> None:
    ev = _parse('cli_auth_credentials_store = "x"\nforced_login_method = "y"\nopenai_base_url = 3\n')
    assert ev.problem is not None
    assert ev.problem.message.count(";") == 2


def test_malformed_toml_gives_the_position() -> None:
    ev = _parse('cli_auth_credentials_store = "file"\nexperimental_bearer_token = sk-unquoted-secret-value\n')
    assert ev.problem is not None
    assert ev.problem.kind == "unparsable"
    assert "(at line 2, column 29)" in ev.problem.message
    assert "sk-unquoted-secret-value" not in ev.problem.message
    assert ev.store_mode == K.STORE_FILE


def test_deeply_nested_toml() -> None:
    ev = _parse("a = " + "[" * 100_000)
    assert ev.problem is not None
    assert ev.problem.kind == "unparsable"


def test_non_utf8_config() -> None:
    ev = _parse(b'cli_auth_credentials_store = "keyring"\n# caf\xe9\n')
    assert ev.problem is not None
    assert ev.problem.message == "it is not UTF-8 text (bad byte at offset 44)"
    assert ev.store_mode == K.STORE_FILE


def test_crlf_config() -> None:
    ev = _parse(b'cli_auth_credentials_store = "auto"\r\nforced_login_method = "api"\r\n')
    assert ev.problem is None
    assert ev.store_mode == K.STORE_AUTO
    assert ev.forced_login_method == "api"


def test_bom_is_skipped_like_codex() -> None:
    # Codex's `toml` crate (toml_parser's lexer) skips a leading UTF-8 BOM; tomllib alone would refuse the file.
    ev = _parse(b'\xef\xbb\xbfcli_auth_credentials_store = "keyring"\n')
    assert ev.problem is None
    assert ev.store_mode == K.STORE_KEYRING


def test_collect_reads_the_file(machine: Machine) -> None:
    path = machine.write_config('cli_auth_credentials_store = "ephemeral"\n')
    ev = machine.evidence().config
    assert ev.path == path
    assert ev.store_mode == K.STORE_EPHEMERAL


def test_config_directory_is_unreadable(machine: Machine) -> None:
    (machine.codex_home / "config.toml").mkdir(parents=True)
    ev = collect_config(machine.host(), machine.codex_home)
    assert ev.exists
    assert ev.problem is not None
    assert ev.problem.kind == "unreadable"
    assert "Is a directory" in ev.problem.message


def test_dangling_config_symlink_is_no_config(machine: Machine, tmp_path: Path) -> None:
    machine.codex_home.mkdir(parents=True)
    (machine.codex_home / "config.toml").symlink_to(tmp_path / "gone.toml")
    ev = collect_config(machine.host(), machine.codex_home)
    assert ev.problem is None
    assert ev.store_mode == K.STORE_FILE
