"""config-unreadable: a broken config.toml stops Codex before any login is looked at."""

from __future__ import annotations

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import one, quiet

ID = "config-unreadable"


@pytest.mark.parametrize(
    "text",
    [
        "model = o3\n",  # syntax (oracle 6-bad-toml)
        "cli_auth_credentials_store = 5\n",  # wrong type (6-bad-type)
        'cli_auth_credentials_store = "bogus"\n',  # unknown variant (6-bogus-auth)
        'forced_login_method = "bogus"\n',  # (6-forced-bogus)
    ],
)
def test_broken_config_is_an_error(machine: Machine, text: str) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config(text)
    f = one(machine, ID, Severity.ERROR)
    assert "Error loading configuration" in f.detail
    assert f.origins[0].path == str(machine.codex_home / "config.toml")


def test_binary_config(machine: Machine) -> None:
    machine.write_config(b"\xff\xfe\x00garbage")
    one(machine, ID, Severity.ERROR)


def test_quiet_for_a_valid_config(machine: Machine) -> None:
    machine.write_config('model = "o3"\ncli_auth_credentials_store = "file"\n')
    quiet(machine, ID)


def test_quiet_without_a_config(machine: Machine) -> None:
    quiet(machine, ID)
