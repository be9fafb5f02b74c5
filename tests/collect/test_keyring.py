"""Whether Codex's keyring entry exists: asked only when the configured store uses the keyring."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from authdoctor.collect.keyring import collect_keyring
from authdoctor.host.keyring import KeyringStatus
from tests.conftest import Machine


def _account(path: Path) -> str:
    return "cli|" + hashlib.sha256(str(path).encode()).hexdigest()[:16]


@pytest.mark.parametrize("config", [None, 'cli_auth_credentials_store = "file"\n', 'cli_auth_credentials_store = "ephemeral"\n'])
def test_not_probed_unless_the_keyring_is_used(machine: Machine, config: str | None) -> None:
    if config is not None:
        machine.write_config(config)
    ev = machine.evidence().keyring
    assert not ev.probed
    assert ev.account is None
    assert machine.keyring.calls == []


@pytest.mark.parametrize("mode", ["keyring", "auto"])
def test_probed_with_the_exact_account(machine: Machine, mode: str) -> None:
    machine.write_config(f'cli_auth_credentials_store = "{mode}"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, True, "fake note")
    ev = machine.evidence().keyring
    expected = _account(machine.codex_home.resolve())
    assert machine.keyring.calls == [expected]
    assert ev.probed
    assert ev.account == expected
    assert ev.backend == "Secret Service"
    assert ev.usable
    assert ev.entry is True
    assert ev.note == "fake note"


def test_account_uses_the_canonical_default_home(machine: Machine, tmp_path: Path) -> None:
    # compute_store_key canonicalises ~/.codex: a home reached through a symlink hashes its real path.
    real_home = tmp_path / "real-home"
    (real_home / ".codex").mkdir(parents=True)
    linked = tmp_path / "linked-home"
    linked.symlink_to(real_home)
    machine = replace(machine, home=linked, env={**machine.env, "HOME": str(linked)})
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    ev = machine.evidence()
    assert ev.codex_home.path == linked / ".codex"
    assert ev.keyring.account == _account(real_home.resolve() / ".codex")
    assert ev.keyring.account != _account(linked / ".codex")


def test_account_of_a_missing_home_is_the_path_as_given(machine: Machine) -> None:
    ev = collect_keyring(machine.host(), machine.evidence().codex_home, machine.evidence().config._replace(store_mode="keyring"))
    assert ev.account == _account(machine.home / ".codex")  # canonicalize fails, Codex falls back to the path


def test_account_of_an_explicit_codex_home(machine: Machine, tmp_path: Path) -> None:
    custom = tmp_path / "x" / "codex"
    custom.mkdir(parents=True)
    machine.env["CODEX_HOME"] = str(tmp_path / "x" / ".." / "x" / "codex")
    machine.write_config('cli_auth_credentials_store = "auto"\n')
    assert machine.evidence().keyring.account == _account(custom.resolve())


def test_no_probe_available(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    host = machine.host()._replace(keyring=None)
    ev = machine.evidence()
    result = collect_keyring(host, ev.codex_home, ev.config)
    # Nothing asked, nothing concluded: keyring-unavailable must stay quiet.
    assert not result.probed
    assert result.entry is None
    assert result.note == "the keyring was not checked"


def test_secrets_backend_file_is_noticed(machine: Machine) -> None:
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    secrets = machine.codex_home / "secrets" / "codex_auth.age"
    secrets.parent.mkdir(parents=True)
    secrets.write_bytes(b"age-encryption.org/v1\n")
    ev = machine.evidence().keyring
    assert ev.secrets_file == secrets
    assert ev.secrets_file_exists
