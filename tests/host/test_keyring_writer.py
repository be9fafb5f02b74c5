"""The keyring writers: the Secret Service one run for real against a stand-in ``secret-tool``; the fake; the choice of writer."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from authdoctor.host import Host
from authdoctor.host.keyring import (
    SERVICE,
    FakeKeyringWriter,
    KeyringError,
    LinuxSecretServiceProbe,
    MacKeychainProbe,
    MacKeychainWriter,
    NoKeyringProbe,
    SecretServiceWriter,
    WindowsCredentialProbe,
    WindowsCredentialWriter,
    keyring_writer_for,
)

ACCOUNT = "cli|0123456789abcdef"

# Keeps each item in a file named after the account; logs every argv (one per line) to $FAKE_LOG.
SECRET_TOOL = """\
echo "$@" >> "$FAKE_LOG"
if [ -n "$FAKE_FAIL" ]; then echo "secret-tool: $FAKE_FAIL" >&2; exit 1; fi
case "$1" in
  lookup) f="$FAKE_STORE/$(echo "$5" | tr '|' '_')"; [ -f "$f" ] || exit 1; cat "$f" ;;
  store) f="$FAKE_STORE/$(echo "$6" | tr '|' '_')"; cat > "$f" ;;
  clear) rm -f "$FAKE_STORE/$(echo "$5" | tr '|' '_')" ;;
  *) exit 2 ;;
esac
"""

posix_only = pytest.mark.skipif(sys.platform.startswith("win"), reason="a shell-script stand-in")


def _host(tmp_path: Path, *, tool: bool = True, **env: str) -> Host:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if tool:
        script = bin_dir / "secret-tool"
        script.write_text("#!/bin/sh\n" + SECRET_TOOL)
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    store = tmp_path / "store"
    store.mkdir(exist_ok=True)
    full = {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_LOG": str(tmp_path / "log"), "FAKE_STORE": str(store), **env}
    return Host(env=full, home=tmp_path, keyring=LinuxSecretServiceProbe())


@posix_only
def test_secret_service_round_trip_is_exact(tmp_path: Path) -> None:
    host = _host(tmp_path)
    writer = keyring_writer_for(host)
    assert isinstance(writer, SecretServiceWriter)
    assert writer.get(SERVICE, ACCOUNT) is None
    secret = b'{"tokens":{"refresh_token":"rt-' + b"x" * 40 + b'"}}\n\xff\x00end'
    writer.set(SERVICE, ACCOUNT, secret)
    assert writer.get(SERVICE, ACCOUNT) == secret
    writer.delete(SERVICE, ACCOUNT)
    assert writer.get(SERVICE, ACCOUNT) is None
    writer.delete(SERVICE, ACCOUNT)  # already gone: not an error
    log = (tmp_path / "log").read_text()
    assert "rt-" not in log  # the secret went through stdin, never the command line
    store_line = next(line for line in log.splitlines() if line.startswith("store"))
    assert store_line.endswith(f"service {SERVICE} username {ACCOUNT} target default application rust-keyring")


@posix_only
def test_secret_service_failure_names_the_problem(tmp_path: Path) -> None:
    writer = SecretServiceWriter(_host(tmp_path, FAKE_FAIL="Cannot autolaunch D-Bus without X11 $DISPLAY"))
    with pytest.raises(KeyringError) as info:
        writer.get(SERVICE, ACCOUNT)
    assert "Cannot autolaunch D-Bus" in info.value.message and "exited with 1" in info.value.message
    with pytest.raises(KeyringError, match="secret-tool store"):
        writer.set(SERVICE, ACCOUNT, b"s3cr3t-value")


def test_secret_tool_missing(tmp_path: Path) -> None:
    writer = SecretServiceWriter(_host(tmp_path, tool=False))
    with pytest.raises(KeyringError) as info:
        writer.get(SERVICE, ACCOUNT)
    assert "secret-tool is not installed" in info.value.message and "libsecret-tools" in info.value.hint


def test_each_probe_hands_out_its_writer(tmp_path: Path) -> None:
    def writer_for(probe: object) -> object:
        return keyring_writer_for(Host(env={}, home=tmp_path, keyring=probe))  # type: ignore[arg-type]

    assert isinstance(writer_for(MacKeychainProbe()), MacKeychainWriter)
    assert isinstance(writer_for(WindowsCredentialProbe()), WindowsCredentialWriter)
    assert isinstance(writer_for(LinuxSecretServiceProbe()), SecretServiceWriter)
    assert writer_for(NoKeyringProbe()) is None
    assert writer_for(None) is None  # an image under --root: no keyring to change


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="checks the refusal off the platform")
def test_native_writers_refuse_off_their_platform(tmp_path: Path) -> None:
    host = Host(env={}, home=tmp_path)
    for writer in (MacKeychainWriter(host), WindowsCredentialWriter()):
        with pytest.raises(KeyringError, match="can only be changed on"):
            writer.get(SERVICE, ACCOUNT)
        with pytest.raises(KeyringError, match="can only be changed on"):
            writer.set(SERVICE, ACCOUNT, b"x")


def test_fake_writer_logs_names_never_secrets() -> None:
    fake = FakeKeyringWriter({(SERVICE, ACCOUNT): "value-1"})
    assert fake.get(SERVICE, ACCOUNT) == b"value-1"
    fake.set(SERVICE, "other", b"value-2")
    fake.delete(SERVICE, ACCOUNT)
    assert fake.items == {(SERVICE, "other"): b"value-2"}
    assert fake.log == [("get", SERVICE, ACCOUNT), ("set", SERVICE, "other"), ("delete", SERVICE, ACCOUNT)]
    fake.failing.add("set")
    with pytest.raises(KeyringError):
        fake.set(SERVICE, ACCOUNT, b"value-3")


def test_the_real_host_hands_out_the_same_writer_as_its_probe(tmp_path: Path) -> None:
    """The probe is imported lazily; the writer fix and undo use must come through all the same."""
    from authdoctor.host import Host
    from authdoctor.host.keyring import default_keyring_probe, keyring_writer_for

    host = Host.from_system(home=str(tmp_path))
    expected = getattr(default_keyring_probe(), "writer", None)
    got = keyring_writer_for(host)
    assert type(got) is type(expected(host) if expected is not None else None)
