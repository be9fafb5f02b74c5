"""auth-file-unreadable: auth.json cannot be parsed, is incomplete, or cannot be read."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from authdoctor.collect.evidence import Problem
from authdoctor.diagnose.finding import Severity
from authdoctor.diagnose.precedence import resolve
from authdoctor.diagnose.rules import Facts, auth_file_unreadable
from authdoctor.host.keyring import KeyringStatus
from authdoctor.sandbox import api_key, chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import assert_no_secret, one, quiet, well_formed

ID = "auth-file-unreadable"


def _broken_json(machine: Machine) -> tuple[str, list[str]]:
    """A login cut off mid-write (Codex does not write atomically)."""
    payload = chatgpt_auth(machine.now)
    text = json.dumps(payload, indent=2)
    cut = text[: text.index('"refresh_token"') + 30]
    return cut, [payload["tokens"]["id_token"], payload["tokens"]["access_token"]]


def test_truncated_json(machine: Machine) -> None:
    text, tokens = _broken_json(machine)
    path = machine.write_auth(text)
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "auth.json cannot be read"
    assert str(path) in f.detail and "not valid JSON" in f.detail and "line" in f.detail
    assert "not logged in" in f.detail
    assert f"mv {path} {path}.broken" in f.fix.summary
    assert f.fix.commands == (f"mv {path} {path}.broken", "codex login")
    assert f.origins == ()
    assert_no_secret([f], *tokens)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "empty"),
        ("[]", "JSON list"),
        ('{"auth_mode": "magic"}', "magic"),
        ('{"tokens": "abc"}', "`tokens` must be an object"),
    ],
)
def test_unparsable_shapes(machine: Machine, content: str, words: str) -> None:
    machine.write_auth(content)
    f = one(machine, ID, Severity.ERROR)
    assert words in f.detail


def test_missing_refresh_token_key(machine: Machine) -> None:
    payload = chatgpt_auth(machine.now)
    del payload["tokens"]["refresh_token"]
    machine.write_auth(payload)
    f = one(machine, ID, Severity.ERROR)
    assert "tokens.refresh_token" in f.detail


def test_id_token_that_is_not_a_jwt(machine: Machine) -> None:
    payload = chatgpt_auth(machine.now)
    payload["tokens"]["id_token"] = "opaque-" + "y" * 30
    machine.write_auth(payload)
    f = one(machine, ID, Severity.ERROR)
    assert "id_token" in f.detail


@pytest.mark.parametrize("empty", ["access_token", "refresh_token"])
def test_empty_chatgpt_token(machine: Machine, empty: str) -> None:
    payload = chatgpt_auth(machine.now)
    payload["tokens"][empty] = ""
    path = machine.write_auth(payload)
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "auth.json is incomplete"
    assert f"{path} is incomplete: tokens.{empty} is empty." in f.detail
    assert "sign in again" in f.detail


def test_chatgpt_login_without_tokens(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "chatgpt", "OPENAI_API_KEY": None})
    f = one(machine, ID, Severity.ERROR)
    assert "no ChatGPT tokens" in f.detail


def test_api_key_login_with_an_empty_key(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": ""})
    f = one(machine, ID, Severity.ERROR)
    assert "OPENAI_API_KEY is empty" in f.detail


def test_a_directory_in_its_place(machine: Machine) -> None:
    (machine.codex_home / "auth.json").mkdir(parents=True)
    f = one(machine, ID, Severity.ERROR)
    assert "directory" in f.detail


def test_dangling_symlink(machine: Machine) -> None:
    machine.codex_home.mkdir(parents=True)
    (machine.codex_home / "auth.json").symlink_to(machine.root / "gone.json")
    f = one(machine, ID, Severity.ERROR)
    assert "symbolic link" in f.detail


def test_auto_mode_reads_the_file_when_the_keyring_is_empty(machine: Machine) -> None:
    machine.write_auth("{ nope")
    machine.write_config('cli_auth_credentials_store = "auto"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, False)
    one(machine, ID, Severity.ERROR)


def test_paths_with_spaces_are_quoted(machine: Machine) -> None:
    home = machine.root / "My Codex"
    home.mkdir()
    machine.env["CODEX_HOME"] = str(home)
    machine.write_auth("{ nope")
    f = one(machine, ID, Severity.ERROR)
    assert f.fix.commands[0] == f"mv '{home}/auth.json' '{home}/auth.json.broken'"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_for_real(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now), mode=0o000)
    f = one(machine, ID, Severity.ERROR)
    assert "permission denied" in f.detail
    assert "chmod 600" in f.fix.summary and "mv " not in f.fix.summary


def test_permission_denied_gives_the_file_back(machine: Machine) -> None:
    # Root reads everything, so stage what the collector reports for another user's 0600 file.
    machine.write_auth(chatgpt_auth(machine.now))
    ev = machine.evidence()
    auth = ev.auth_file._replace(
        login=None, uid=(ev.uid or 0) + 1, problem=Problem("unreadable", "permission denied: your user cannot read it")
    )
    ev = ev._replace(auth_file=auth)
    (f,) = auth_file_unreadable.check(Facts(ev, resolve(ev)))
    well_formed(f, ID, Severity.ERROR)
    assert "permission denied" in f.detail
    assert f.fix.commands == (f"sudo chown $(id -u):$(id -g) {auth.path}", f"chmod 600 {auth.path}")
    assert "no new login is needed" in f.fix.summary


# --- no false alarms ----------------------------------------------------------


def test_quiet_for_a_good_login(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    quiet(machine, ID)


def test_quiet_without_a_file(machine: Machine) -> None:
    quiet(machine, ID)


def test_quiet_for_app_managed_tokens_with_an_empty_refresh_token(machine: Machine) -> None:
    payload: dict[str, Any] = chatgpt_auth(machine.now)
    payload["auth_mode"] = "chatgptAuthTokens"
    payload["tokens"]["refresh_token"] = ""
    machine.write_auth(payload)
    quiet(machine, ID)


def test_quiet_without_last_refresh(machine: Machine) -> None:
    # Codex loads such a login fine; refresh-token-stale weighs the missing time.
    payload = chatgpt_auth(machine.now)
    del payload["last_refresh"]
    machine.write_auth(payload)
    quiet(machine, ID)


def test_quiet_for_an_api_key_login(machine: Machine) -> None:
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": api_key()})
    quiet(machine, ID)


@pytest.mark.parametrize("store", ["keyring", "ephemeral"])
def test_quiet_when_the_store_never_reads_the_file(machine: Machine, store: str) -> None:
    machine.write_auth("{ nope")
    machine.write_config(f'cli_auth_credentials_store = "{store}"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, True)
    quiet(machine, ID)


def test_quiet_in_auto_mode_when_the_keyring_holds_the_login(machine: Machine) -> None:
    machine.write_auth("{ nope")
    machine.write_config('cli_auth_credentials_store = "auto"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, True)
    quiet(machine, ID)
