"""auth-file-permissions: auth.json is readable by others, owned by someone else, or read-only."""

from __future__ import annotations

import os

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import one, quiet

ID = "auth-file-permissions"


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        (0o644, "read your tokens"),
        (0o640, "read your tokens"),
        (0o604, "read your tokens"),
        (0o620, "replace them"),
        (0o666, "read your tokens and replace them"),
        (0o754, "read your tokens"),
    ],
)
def test_open_to_others(machine: Machine, mode: int, words: str) -> None:
    path = machine.write_auth(chatgpt_auth(machine.now), mode=mode)
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "auth.json has unsafe or unusable permissions"
    assert f.detail.startswith(f"{path}: its mode is {mode:04o}")
    assert words in f.detail
    assert f.fix.commands == (f"chmod 600 {path}",)
    assert f"`chmod 600 {path}`" in f.fix.summary


def test_owned_by_another_user(machine: Machine) -> None:
    path = machine.write_auth(chatgpt_auth(machine.now))
    owner = os.stat(path).st_uid
    machine.uid = owner + 1000
    f = one(machine, ID, Severity.WARNING)
    assert f"belongs to user id {owner}, not to you ({owner + 1000})" in f.detail
    assert "sudo codex login" in f.detail
    assert f.fix.commands == (f"sudo chown $(id -u):$(id -g) {path}",)


def test_another_users_world_readable_file_is_chowned_first(machine: Machine) -> None:
    path = machine.write_auth(chatgpt_auth(machine.now), mode=0o644)
    machine.uid = os.stat(path).st_uid + 1
    f = one(machine, ID, Severity.WARNING)
    assert f.fix.commands == (f"sudo chown $(id -u):$(id -g) {path}", f"chmod 600 {path}")


def test_read_only_for_its_owner(machine: Machine) -> None:
    path = machine.write_auth(chatgpt_auth(machine.now), mode=0o400)
    f = one(machine, ID, Severity.WARNING)
    assert "not writable by its owner" in f.detail
    assert "refreshed tokens" in f.detail
    assert f.fix.commands == (f"chmod 600 {path}",)


def test_paths_with_spaces_are_quoted(machine: Machine) -> None:
    home = machine.root / "My Codex"
    home.mkdir()
    machine.env["CODEX_HOME"] = str(home)
    machine.write_auth(chatgpt_auth(machine.now), mode=0o644)
    f = one(machine, ID, Severity.WARNING)
    assert f.fix.commands == (f"chmod 600 '{home}/auth.json'",)


# --- no false alarms ----------------------------------------------------------


def test_quiet_for_0600_owned_by_the_user(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now), mode=0o600)
    quiet(machine, ID)


@pytest.mark.parametrize("mode", [0o700, 0o611])
def test_quiet_for_execute_bits_alone(machine: Machine, mode: int) -> None:
    machine.write_auth(chatgpt_auth(machine.now), mode=mode)
    quiet(machine, ID)


def test_quiet_without_a_file(machine: Machine) -> None:
    quiet(machine, ID)


def test_quiet_on_windows(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now), mode=0o644)
    machine.platform = "win32"
    quiet(machine, ID)


def test_quiet_for_a_directory_in_its_place(machine: Machine) -> None:
    # auth-file-unreadable says what is wrong with that.
    (machine.codex_home / "auth.json").mkdir(parents=True, mode=0o755)
    quiet(machine, ID)
    assert "auth-file-unreadable" in machine.ids()


def test_quiet_when_the_user_id_is_unknown(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.uid = None
    quiet(machine, ID)
