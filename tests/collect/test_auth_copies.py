"""Copies of the login: the same refresh token stored in another home, a backup, a switcher's snapshot."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from authdoctor.collect.auth_copies import BACKUP, HOME, MAX_BYTES, OPENCODE, SNAPSHOT, AuthCopy
from authdoctor.sandbox import api_key, chatgpt_auth, write_auth, write_private
from tests.conftest import Machine


def _copies(machine: Machine) -> dict[Path, AuthCopy]:
    return {c.path: c for c in machine.evidence().auth_copies}


def _custom_home(machine: Machine) -> Path:
    custom = machine.root / "custom-codex"
    custom.mkdir()
    machine.env["CODEX_HOME"] = str(custom)
    return custom


def _login(machine: Machine) -> dict[str, Any]:
    payload = chatgpt_auth(machine.now)
    machine.write_auth(payload)
    return payload


def test_same_token_in_the_default_home_and_codex_home(machine: Machine) -> None:
    custom = _custom_home(machine)
    payload = _login(machine)
    default = write_auth(machine.home / ".codex", payload)
    copies = _copies(machine)
    assert set(copies) == {default}
    c = copies[default]
    assert c.same_chain and c.kind == HOME and c.folder == (machine.home / ".codex").resolve()
    assert c.account_id == "acct-sandbox-1" and c.last_refresh is not None
    assert custom / "auth.json" not in copies  # the login itself is no copy


def test_the_custom_home_seen_from_the_default_one(machine: Machine) -> None:
    """The other way round: CODEX_HOME unset, a sibling home and an XDG one hold the same token."""
    payload = _login(machine)
    sibling = write_auth(machine.home / ".codex-work", payload)
    under_score = write_auth(machine.home / ".codex_old", payload)
    xdg = write_auth(machine.home / ".config" / "codex", payload)
    copies = _copies(machine)
    assert {sibling, under_score, xdg} <= set(copies)
    assert all(copies[p].same_chain and copies[p].kind == HOME for p in (sibling, under_score, xdg))


def test_a_backup_with_the_same_token_is_found(machine: Machine) -> None:
    payload = _login(machine)
    body = json.dumps(payload)
    bak = write_private(machine.codex_home / "auth.json.bak", body)
    named = write_private(machine.codex_home / "auth-work.json", body)
    copies = _copies(machine)
    assert copies[bak].same_chain and copies[bak].kind == BACKUP
    assert copies[named].same_chain and copies[named].kind == BACKUP


def test_a_copy_with_another_token_is_not_the_same_chain(machine: Machine) -> None:
    _login(machine)
    other = write_private(machine.codex_home / "auth.json.bak", json.dumps(chatgpt_auth(machine.now)))
    elsewhere = write_auth(machine.home / ".codex-work", chatgpt_auth(machine.now))
    copies = _copies(machine)
    assert not copies[other].same_chain and not copies[elsewhere].same_chain


def test_authdoctors_own_backups_are_not_copies(machine: Machine) -> None:
    payload = _login(machine)
    body = json.dumps(payload)
    write_private(machine.codex_home / "auth.json.authdoctor-20261120T120000Z", body)
    write_private(machine.codex_home / "auth.json.authdoctor-20261120T120000Z-2", body)
    write_private(machine.codex_home / "auth.json.authdoctor-tmp-123", body)
    assert _copies(machine) == {}


def test_broken_copies_are_skipped_without_a_crash(machine: Machine) -> None:
    payload = _login(machine)
    folder = machine.codex_home
    write_private(folder / "auth.json.bad", "{not json")
    write_private(folder / "auth.json.bin", os.urandom(512) + b"\xff\xfe\x00")
    write_private(folder / "auth.json.bom", "\ufeff" + json.dumps(payload))
    huge = json.dumps({**payload, "padding": "x" * (MAX_BYTES + 10)})
    write_private(folder / "auth.json.huge", huge)
    write_private(folder / "auth.json.list", "[1, 2, 3]")
    (folder / "auth.json.d").mkdir()
    os.mkfifo(folder / "auth.json.fifo")  # opening it would block forever
    (folder / "auth.json.dangling").symlink_to(folder / "nowhere.json")
    locked = write_private(folder / "auth.json.locked", json.dumps(payload), 0o000)
    copies = _copies(machine)
    if os.geteuid() == 0:  # root reads anything: the locked copy is then a real copy
        assert set(copies) == {locked}
    else:
        assert copies == {}


def test_a_symlink_to_the_login_is_not_a_copy(machine: Machine) -> None:
    _login(machine)
    (machine.codex_home / "auth-current.json").symlink_to(machine.codex_home / "auth.json")
    os.link(machine.codex_home / "auth.json", machine.codex_home / "auth.json.hardlink")
    assert _copies(machine) == {}


def test_a_default_home_that_is_a_link_to_codex_home_is_not_a_copy(machine: Machine) -> None:
    custom = _custom_home(machine)
    _login(machine)
    (machine.home / ".codex").symlink_to(custom, target_is_directory=True)
    assert _copies(machine) == {}


def test_switcher_snapshots_and_per_account_homes(machine: Machine) -> None:
    payload = _login(machine)
    accounts = machine.codex_home / "accounts"
    snapshot = write_private(accounts / "work.json", json.dumps(payload))
    per_account = write_auth(accounts / "login-1234", payload)
    other = write_private(accounts / "personal.json", json.dumps(chatgpt_auth(machine.now)))
    copies = _copies(machine)
    assert copies[snapshot].kind == SNAPSHOT and copies[snapshot].same_chain
    assert copies[per_account].kind == HOME and copies[per_account].same_chain
    assert copies[per_account].folder == (accounts / "login-1234").resolve()
    assert not copies[other].same_chain


def test_opencode_holding_codex_tokens(machine: Machine) -> None:
    payload = _login(machine)
    refresh = payload["tokens"]["refresh_token"]
    store = machine.home / ".local" / "share" / "opencode" / "auth.json"
    write_private(store, json.dumps({"openai": {"type": "oauth", "refresh": refresh, "access": "x", "expires": 0}}))
    c = _copies(machine)[store]
    assert c.kind == OPENCODE and c.same_chain


@pytest.mark.parametrize("payload", [{"auth_mode": "apikey", "OPENAI_API_KEY": "sk-stand-in-000000"}, None])
def test_nothing_is_looked_at_without_a_chatgpt_login(machine: Machine, payload: dict[str, Any] | None) -> None:
    if payload is not None:
        payload["OPENAI_API_KEY"] = api_key()
        machine.write_auth(payload)
    write_auth(machine.home / ".codex-work", chatgpt_auth(machine.now))
    assert machine.evidence().auth_copies == ()
