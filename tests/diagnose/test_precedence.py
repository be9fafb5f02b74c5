"""The precedence model on its own (tests/oracle checks it against the real binary)."""

from __future__ import annotations

from datetime import timedelta

from authdoctor.host.keyring import KeyringStatus
from authdoctor.sandbox import agent_identity_jwt, api_key, chatgpt_auth, personal_access_token
from tests.conftest import Machine


def test_access_token_wins_and_the_stored_login_is_shadowed(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now, email="me@example.com", account_id="acct-9"))
    machine.env["CODEX_ACCESS_TOKEN"] = "  " + personal_access_token() + "  "
    res = machine.diagnosis().resolution
    assert res.interactive.source == "env:CODEX_ACCESS_TOKEN"
    assert res.interactive.kind == "personal-access-token"
    assert res.interactive.used_by == ("codex", "codex exec")
    [stored] = res.shadowed
    assert stored.source == f"file:{machine.codex_home / 'auth.json'}"
    assert (stored.kind, stored.email, stored.account_id) == ("chatgpt", "me@example.com", "acct-9")
    assert stored.used_by == ()
    assert res.stored is not None and res.stored.fingerprint == stored.fingerprint


def test_codex_api_key_wins_only_for_exec(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["CODEX_API_KEY"] = api_key()
    res = machine.diagnosis().resolution
    assert res.interactive.kind == "chatgpt"
    assert res.interactive.used_by == ("codex",)
    assert res.exec.source == "env:CODEX_API_KEY"
    [api] = res.shadowed
    assert api.used_by == ("codex exec",)
    assert api.note is not None and "codex exec" in api.note


def test_workload_identity_beats_the_access_token(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["CODEX_ACCESS_TOKEN"] = agent_identity_jwt(machine.now, expires_in=timedelta(days=1))
    machine.env["OPENAI_FEDERATION_RULE_ID"] = ""
    res = machine.diagnosis().resolution
    assert res.interactive.kind == "workload-identity"
    assert not res.interactive.usable
    assert {c.source for c in res.shadowed} == {"env:CODEX_ACCESS_TOKEN", f"file:{machine.codex_home / 'auth.json'}"}


def test_forced_api_skips_the_access_token_and_hides_chatgpt(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('forced_login_method = "api"\n')
    machine.env["CODEX_ACCESS_TOKEN"] = personal_access_token()
    res = machine.diagnosis().resolution
    assert not res.interactive.present
    assert [(b.credential.kind, b.by) for b in res.blocked] == [
        ("personal-access-token", "forced_login_method"),
        ("chatgpt", "forced_login_method"),
    ]
    assert all(c.note and "forced_login_method" in c.note for c in res.shadowed)


def test_workspace_filter_reads_the_stored_account_field(machine: Machine) -> None:
    payload = chatgpt_auth(machine.now, account_id="acct-1")
    payload["tokens"]["account_id"] = "acct-2"
    machine.write_auth(payload)
    machine.write_config('forced_chatgpt_workspace_id = "acct-1"\n')
    res = machine.diagnosis().resolution
    assert not res.interactive.present
    [blocked] = res.blocked
    assert blocked.by == "forced_chatgpt_workspace_id"
    assert blocked.credential.workspace_account == "acct-2"
    assert blocked.credential.claim_account == "acct-1"


def test_keyring_mode_never_falls_back_to_the_file(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    res = machine.diagnosis().resolution
    assert not res.interactive.present
    [unread] = res.shadowed
    assert unread.note == "not read: cli_auth_credentials_store = 'keyring'"


def test_auto_mode_prefers_a_keyring_entry(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('cli_auth_credentials_store = "auto"\n')
    assert machine.diagnosis().resolution.interactive.kind == "chatgpt"
    machine.keyring.status = KeyringStatus("fake", True, True)
    res = machine.diagnosis().resolution
    assert res.interactive.source == "keyring"
    assert res.shadowed[0].note == "not read while the keyring holds a login (auto mode)"


def test_ephemeral_reads_nothing_persistent(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('cli_auth_credentials_store = "ephemeral"\n')
    res = machine.diagnosis().resolution
    assert not res.interactive.present
    assert res.stored is None


def test_refused_and_unreadable_stores(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": None})
    res = machine.diagnosis().resolution
    assert res.interactive.kind == "api-key"
    assert not res.interactive.usable
    assert res.interactive.problem is not None and res.interactive.problem.startswith("Codex refuses it")
    machine.write_auth("{broken")
    res = machine.diagnosis().resolution
    assert not res.interactive.present
    assert res.shadowed == ()
