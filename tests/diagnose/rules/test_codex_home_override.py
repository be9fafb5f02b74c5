"""codex-home-override: CODEX_HOME points somewhere broken, or away from the login."""

from __future__ import annotations

from authdoctor.diagnose.finding import Severity
from authdoctor.diagnose.precedence import resolve
from authdoctor.diagnose.rules import Facts, codex_home_override
from authdoctor.host.keyring import KeyringStatus
from authdoctor.sandbox import chatgpt_auth, write_auth, write_private
from tests.conftest import Machine
from tests.diagnose.rules.conftest import env_origin, one, quiet, well_formed

ID = "codex-home-override"


def test_missing_directory(machine: Machine) -> None:
    target = machine.root / "no such dir"
    machine.env["CODEX_HOME"] = str(target)
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "CODEX_HOME points to a path that does not exist"
    assert f'"{target}"' in f.detail and "refuses to start" in f.detail
    assert f"mkdir -p '{target}'" in f.fix.summary  # quoted: the path has spaces
    assert f.fix.commands == (f"mkdir -p '{target}'",)
    env_origin(f, "CODEX_HOME")


def test_not_a_directory(machine: Machine) -> None:
    target = write_private(machine.root / "codex-home.txt", "not a dir\n")
    machine.env["CODEX_HOME"] = str(target)
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "CODEX_HOME points to a path that is not a directory"
    assert "mkdir" not in f.fix.summary
    assert "unset" in f.fix.summary
    env_origin(f, "CODEX_HOME")


def test_unresolvable_directory(machine: Machine) -> None:
    # Cannot be staged for real as root; feed the rule what the collector reports.
    machine.env["CODEX_HOME"] = str(machine.root)
    ev = machine.evidence()
    ev = ev._replace(codex_home=ev.codex_home._replace(problem="unreadable", exists=False))
    (f,) = codex_home_override.check(Facts(ev, resolve(ev)))
    well_formed(f, ID, Severity.ERROR)
    assert "canonicalize" in f.detail


def test_login_left_behind_in_default_home(machine: Machine) -> None:
    write_auth(machine.home / ".codex", chatgpt_auth(machine.now))
    other = machine.root / "work-codex"
    other.mkdir()
    machine.env["CODEX_HOME"] = str(other)
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "CODEX_HOME hides the login stored in ~/.codex"
    assert str(other) in f.detail and str(machine.home / ".codex" / "auth.json") in f.detail
    assert "Not logged in" in f.detail
    assert f.fix.commands == ("unset CODEX_HOME",)
    env_origin(f, "CODEX_HOME")


def test_keyring_without_an_entry_counts_as_no_login(machine: Machine) -> None:
    write_auth(machine.home / ".codex", chatgpt_auth(machine.now))
    other = machine.root / "work-codex"
    other.mkdir()
    machine.env["CODEX_HOME"] = str(other)
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, False)
    one(machine, ID, Severity.WARNING)


# --- no false alarms ----------------------------------------------------------


def test_quiet_when_unset(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    quiet(machine, ID)


def test_quiet_when_empty(machine: Machine) -> None:
    # Codex treats an empty CODEX_HOME as unset.
    machine.env["CODEX_HOME"] = ""
    machine.write_auth(chatgpt_auth(machine.now))
    quiet(machine, ID)


def test_quiet_when_it_holds_the_login(machine: Machine) -> None:
    other = machine.root / "work-codex"
    other.mkdir()
    machine.env["CODEX_HOME"] = str(other)
    machine.write_auth(chatgpt_auth(machine.now))  # into CODEX_HOME
    write_auth(machine.home / ".codex", chatgpt_auth(machine.now))
    quiet(machine, ID)


def test_quiet_when_it_is_the_default_home(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.env["CODEX_HOME"] = str(machine.home / ".codex")
    quiet(machine, ID)


def test_quiet_when_neither_home_has_a_login(machine: Machine) -> None:
    other = machine.root / "work-codex"
    other.mkdir()
    machine.env["CODEX_HOME"] = str(other)
    quiet(machine, ID)
    assert "not-logged-in" in machine.ids()


def test_quiet_when_the_default_home_holds_only_a_broken_file(machine: Machine) -> None:
    write_auth(machine.home / ".codex", "{ truncated")
    other = machine.root / "work-codex"
    other.mkdir()
    machine.env["CODEX_HOME"] = str(other)
    quiet(machine, ID)


def test_quiet_when_the_login_is_in_the_keyring(machine: Machine) -> None:
    write_auth(machine.home / ".codex", chatgpt_auth(machine.now))
    other = machine.root / "work-codex"
    other.mkdir()
    machine.env["CODEX_HOME"] = str(other)
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus("Secret Service", True, True)
    quiet(machine, ID)


def test_quiet_when_the_keyring_cannot_tell(machine: Machine) -> None:
    # A locked keychain may hold the login: not a reason to claim it is elsewhere.
    write_auth(machine.home / ".codex", chatgpt_auth(machine.now))
    other = machine.root / "work-codex"
    other.mkdir()
    machine.env["CODEX_HOME"] = str(other)
    machine.write_config('cli_auth_credentials_store = "keyring"\n')
    machine.keyring.status = KeyringStatus("macOS Keychain", True, None, "the keychain did not answer")
    quiet(machine, ID)
