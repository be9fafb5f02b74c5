"""The OS keyring probes, run for real against stand-in helper programs on the Host's PATH."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import authdoctor.host.keyring as keyring_module
from authdoctor.host import Host, RunResult
from authdoctor.host.keyring import (
    SERVICE,
    KeyringStatus,
    LinuxSecretServiceProbe,
    MacKeychainProbe,
    NoKeyringProbe,
    WindowsCredentialProbe,
    default_keyring_probe,
)

ACCOUNT = "cli|" + hashlib.sha256(b"/home/u/.codex").hexdigest()[:16]


class NoRunHost(Host):
    """A Host on which starting any program is a test failure."""

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        input: bytes | None = None,
    ) -> RunResult:
        raise AssertionError(f"unexpected run of {argv[0]}")


def _script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _host(tmp_path: Path, **env: str) -> Host:
    return Host(env={"PATH": str(tmp_path / "bin"), **env}, home=tmp_path)


# --- macOS: `security`, found on the Host's PATH ---------------------------------------------------

SECURITY = """\
echo "$@" >> "$FAKE_LOG"
case "$1" in
  default-keychain) echo '    "/Users/u/Library/Keychains/login.keychain-db"'; exit "${FAKE_DEFAULT_RC:-0}" ;;
  find-generic-password) exit "${FAKE_FIND_RC:-0}" ;;
esac
exit 2
"""


@pytest.mark.parametrize(("find_rc", "entry", "note"), [(0, True, ""), (44, False, ""), (36, None, "exit code 36")])
def test_mac_probe(tmp_path: Path, find_rc: int, entry: bool | None, note: str) -> None:
    _script(tmp_path / "bin", "security", SECURITY)
    log = tmp_path / "log"
    status = MacKeychainProbe().probe(_host(tmp_path, FAKE_LOG=str(log), FAKE_FIND_RC=str(find_rc)), ACCOUNT)
    assert status.backend == "macOS Keychain"
    assert status.usable
    assert status.entry is entry
    assert note in status.note
    calls = log.read_text().splitlines()
    assert calls == ["default-keychain", f"find-generic-password -s {SERVICE} -a {ACCOUNT}"]
    assert all("-w" not in c.split() for c in calls)  # never asks for the secret itself


def test_mac_probe_without_default_keychain(tmp_path: Path) -> None:
    _script(tmp_path / "bin", "security", SECURITY)
    status = MacKeychainProbe().probe(_host(tmp_path, FAKE_LOG=str(tmp_path / "log"), FAKE_DEFAULT_RC="50"), ACCOUNT)
    assert not status.usable
    assert status.entry is None
    assert "no default keychain" in status.note
    assert (tmp_path / "log").read_text().splitlines() == ["default-keychain"]


def test_mac_probe_hanging_keychain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _script(tmp_path / "bin", "security", 'case "$1" in default-keychain) exit 0 ;; esac\nexec sleep 30\n')
    monkeypatch.setattr(keyring_module, "PROBE_TIMEOUT", 0.3)
    host = Host(env={"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}, home=tmp_path)
    status = MacKeychainProbe().probe(host, ACCOUNT)
    assert status.usable
    assert status.entry is None
    assert "did not answer" in status.note


def test_mac_probe_without_security_tool(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    status = MacKeychainProbe().probe(_host(tmp_path), ACCOUNT)
    assert not status.usable
    assert status.entry is None
    assert "could not be run" in status.note


# --- Linux: the Secret Service over gdbus -------------------------------------------------------------


def test_linux_probe_without_a_session_bus_runs_nothing(tmp_path: Path) -> None:
    host = NoRunHost(env={"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(tmp_path / "no-bus-here")}, home=tmp_path)
    status = LinuxSecretServiceProbe().probe(host, ACCOUNT)
    assert status.backend is None
    assert not status.usable
    assert status.entry is None
    assert "no D-Bus session bus" in status.note


GDBUS = """\
echo "$@" >> "$FAKE_LOG"
if [ -n "$FAKE_FAIL" ]; then echo "Error: no such name" >&2; exit 1; fi
echo "$FAKE_OUT"
"""


@pytest.mark.parametrize(
    ("out", "entry"),
    [
        ("([objectpath '/org/freedesktop/secrets/collection/login/7'], @ao [])", True),
        ("(@ao [], [objectpath '/org/freedesktop/secrets/collection/login/7'])", True),  # locked: still exists
        ("(@ao [], @ao [])", False),
    ],
)
def test_linux_probe_searches_items(tmp_path: Path, out: str, entry: bool) -> None:
    _script(tmp_path / "bin", "gdbus", GDBUS)
    log = tmp_path / "log"
    host = _host(tmp_path, DBUS_SESSION_BUS_ADDRESS="unix:path=/fake/bus", FAKE_LOG=str(log), FAKE_OUT=out)
    status = LinuxSecretServiceProbe().probe(host, ACCOUNT)
    assert status.backend == "Secret Service"
    assert status.usable
    assert status.entry is entry
    call = log.read_text()
    assert "org.freedesktop.Secret.Service.SearchItems" in call
    assert f"'username': <'{ACCOUNT}'>" in call
    assert f"'service': <'{SERVICE}'>" in call


def test_linux_probe_finds_the_bus_in_xdg_runtime_dir(tmp_path: Path) -> None:
    _script(tmp_path / "bin", "gdbus", GDBUS)
    runtime = tmp_path / "run"
    runtime.mkdir()
    (runtime / "bus").touch()
    host = _host(tmp_path, XDG_RUNTIME_DIR=str(runtime), FAKE_LOG=str(tmp_path / "log"), FAKE_OUT="(@ao [], @ao [])")
    status = LinuxSecretServiceProbe().probe(host, ACCOUNT)
    assert status.usable
    assert status.entry is False


def test_linux_probe_bus_without_secret_service(tmp_path: Path) -> None:
    _script(tmp_path / "bin", "gdbus", GDBUS)
    host = _host(tmp_path, DBUS_SESSION_BUS_ADDRESS="unix:path=/fake/bus", FAKE_LOG=str(tmp_path / "log"), FAKE_FAIL="1")
    status = LinuxSecretServiceProbe().probe(host, ACCOUNT)
    assert not status.usable
    assert "no Secret Service" in status.note


def test_linux_probe_without_gdbus(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    host = NoRunHost(env={"PATH": str(tmp_path / "bin"), "DBUS_SESSION_BUS_ADDRESS": "unix:path=/fake/bus"}, home=tmp_path)
    status = LinuxSecretServiceProbe().probe(host, ACCOUNT)
    assert status.usable
    assert status.entry is None
    assert "gdbus is not installed" in status.note


def test_linux_probe_without_path_does_not_use_ours(tmp_path: Path) -> None:
    host = NoRunHost(env={"DBUS_SESSION_BUS_ADDRESS": "unix:path=/fake/bus"}, home=tmp_path)
    status = LinuxSecretServiceProbe().probe(host, ACCOUNT)
    assert "gdbus is not installed" in status.note


# --- choosing a probe -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "probe"),
    [
        ("darwin", MacKeychainProbe),
        ("win32", WindowsCredentialProbe),
        ("linux", LinuxSecretServiceProbe),
        ("freebsd14", LinuxSecretServiceProbe),
        ("openbsd7", LinuxSecretServiceProbe),
        ("netbsd10", NoKeyringProbe),
        ("sunos5", NoKeyringProbe),
        ("aix", NoKeyringProbe),
        ("cygwin", NoKeyringProbe),
        ("emscripten", NoKeyringProbe),
    ],
)
def test_default_probe_per_platform(platform: str, probe: type) -> None:
    assert type(default_keyring_probe(platform)) is probe


def test_no_keyring_probe(tmp_path: Path) -> None:
    status = NoKeyringProbe().probe(NoRunHost(env={}, home=tmp_path, platform="sunos5"), ACCOUNT)
    assert status == KeyringStatus(None, False, None, "Codex has no keyring backend on sunos5")
