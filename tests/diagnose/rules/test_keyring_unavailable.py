"""keyring-unavailable: the configured credential store is the keyring, and there is none."""

from __future__ import annotations

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.host.keyring import KeyringStatus
from authdoctor.sandbox import chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import config_origin, one, quiet

ID = "keyring-unavailable"
NO_BUS = "no D-Bus session bus, so no Secret Service (GNOME Keyring or KWallet) can be reached"


def test_keyring_store_without_a_keyring(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus(None, False, None, NO_BUS)
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "Codex is set to store logins in a keyring that is not available"
    assert NO_BUS in f.detail
    assert "failed to write OAuth tokens to keyring" in f.detail
    assert '"auto"' in f.fix.summary and str(machine.codex_home / "config.toml") in f.fix.summary
    o = config_origin(f, machine)
    assert o.text == 'cli_auth_credentials_store = "keyring"'


def test_entry_found_only_in_a_cache(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus(None, False, True, NO_BUS)
    f = one(machine, ID, Severity.WARNING)
    assert "still found in a cache" in f.detail


def test_unusable_without_a_note(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus(None, False, None, "")
    f = one(machine, ID, Severity.WARNING)
    assert "no OS credential store could be reached" in f.detail


# --- no false alarms ----------------------------------------------------------


@pytest.mark.parametrize("entry", [True, False, None])
def test_quiet_with_a_usable_keyring(machine: Machine, entry: bool | None) -> None:
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, entry)
    quiet(machine, ID)


def test_quiet_in_auto_mode(machine: Machine) -> None:
    # auto falls back to auth.json when there is no keyring.
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('cli_auth_credentials_store = "auto"\n')
    machine.keyring.status = KeyringStatus(None, False, None, NO_BUS)
    quiet(machine, ID)


@pytest.mark.parametrize("config", ["", 'cli_auth_credentials_store = "file"\n', 'cli_auth_credentials_store = "ephemeral"\n'])
def test_quiet_for_other_stores(machine: Machine, config: str) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config(config)
    machine.keyring.status = KeyringStatus(None, False, None, NO_BUS)
    quiet(machine, ID)
    assert machine.keyring.calls == []  # only keyring and auto wake the keyring
