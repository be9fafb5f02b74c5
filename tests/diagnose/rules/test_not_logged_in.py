"""not-logged-in: no usable credential anywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.host.keyring import KeyringStatus
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import one, quiet

ID = "not-logged-in"


def test_empty_home(machine: Machine) -> None:
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "Codex is not logged in"
    assert f"there is no {machine.codex_home / 'auth.json'}" in f.detail
    assert "codex login" in f.fix.summary and "--device-auth" in f.fix.summary
    assert f.fix.commands == ("codex login",)
    assert f.origins == ()


def test_unreadable_auth_file(machine: Machine) -> None:
    machine.write_auth("{ not json")
    f = one(machine, ID, Severity.ERROR)
    assert "auth-file-unreadable" in f.detail


def test_ephemeral_store(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('cli_auth_credentials_store = "ephemeral"\n')
    f = one(machine, ID, Severity.ERROR)
    assert "ephemeral" in f.detail
    assert 'cli_auth_credentials_store = "file"' in f.fix.summary


def test_keyring_store_without_a_keyring(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus(None, False, None, "no D-Bus session bus")
    f = one(machine, ID, Severity.ERROR)
    assert "keyring-unavailable" in f.detail
    assert '"auto"' in f.fix.summary


def test_keyring_store_without_an_entry(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, False)
    f = one(machine, ID, Severity.ERROR)
    assert "no Codex entry was found in the keyring" in f.detail


def test_auto_store_with_nothing_anywhere(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "auto"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, False)
    f = one(machine, ID, Severity.ERROR)
    assert "the keyring holds no Codex entry" in f.detail


@pytest.mark.parametrize("blank", ["", "  ", "\n"])
def test_blank_access_token_is_unset(machine: Machine, blank: str) -> None:
    machine.env["CODEX_ACCESS_TOKEN"] = blank
    f = one(machine, ID, Severity.ERROR)
    assert "blank" in f.detail


def test_broken_codex_home(machine: Machine) -> None:
    machine.env["CODEX_HOME"] = str(machine.root / "missing")
    f = one(machine, ID, Severity.ERROR)
    assert "codex-home-override" in f.detail and "codex-home-override" in f.fix.summary


# --- no false alarms ----------------------------------------------------------


def test_quiet_with_a_chatgpt_login(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    quiet(machine, ID)


def test_quiet_with_only_codex_api_key(machine: Machine) -> None:
    # `codex exec` has a credential; api-key-env-overrides-login tells the rest.
    machine.env["CODEX_API_KEY"] = api_key()
    quiet(machine, ID)
    assert "api-key-env-overrides-login" in machine.ids()


def test_quiet_with_only_an_access_token(machine: Machine) -> None:
    # Even an expired one: access-token-invalid is the better report.
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=-timedelta(days=3))
    quiet(machine, ID)


def test_quiet_with_an_incomplete_login(machine: Machine) -> None:
    # auth-file-unreadable reports it; it is still the credential Codex loads.
    payload = chatgpt_auth(machine.now)
    payload["tokens"]["access_token"] = ""
    machine.write_auth(payload)
    quiet(machine, ID)


def test_quiet_when_the_keyring_holds_the_login(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, True)
    quiet(machine, ID)


@pytest.mark.parametrize("store", ["keyring", "auto"])
def test_quiet_when_the_keyring_cannot_tell(machine: Machine, store: str) -> None:
    # A locked keychain is not proof of "not logged in".
    machine.write_config(f'cli_auth_credentials_store = "{store}"\n')
    machine.keyring.status = KeyringStatus("macOS Keychain", True, None, "the keychain did not answer within 2 s (locked?)")
    quiet(machine, ID)


def test_quiet_with_an_api_key_login(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    quiet(machine, ID)
