"""Read-only probes of the OS credential store Codex uses in ``keyring`` mode.

The probes only ask *whether* a usable store and a Codex entry exist.  They
never read a secret, never unlock anything and never prompt: a locked
collection or an item we could only see by unlocking is reported as
"cannot tell", not opened.  Each probe runs its helper program under a short
timeout with stdin closed, because a keychain that wants to ask the user
something would otherwise hang the check.

Codex 0.169.0 uses the Rust ``keyring`` crate: the macOS login keychain,
the Windows Credential Manager (target ``<account>.Codex Auth``) and, on Linux,
the D-Bus Secret Service with the kernel keyutils as a cache.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Protocol

    from authdoctor.host import Host

SERVICE = "Codex Auth"
PROBE_TIMEOUT = 2.0
# `security` exits with errSecItemNotFound (-25300) truncated to a byte.
SECURITY_ITEM_NOT_FOUND = 44


class KeyringStatus(NamedTuple):
    """What a probe learned.  ``entry`` is None when it cannot be known without prompting."""

    backend: str | None
    usable: bool
    entry: bool | None
    note: str = ""


if TYPE_CHECKING:

    class KeyringProbe(Protocol):
        """One small interface, one implementation per OS, and a fake in the tests."""

        def probe(self, host: Host, account: str) -> KeyringStatus: ...


class MacKeychainProbe:
    """``security find-generic-password`` without ``-w`` reads attributes only: no prompt."""

    def probe(self, host: Host, account: str) -> KeyringStatus:
        # The Host's PATH, not this process's: the Host says what is installed.
        security = _which(host, "security") or "/usr/bin/security"
        default = host.run([security, "default-keychain"], timeout=PROBE_TIMEOUT)
        if default.error is not None:
            return KeyringStatus("macOS Keychain", False, None, "the `security` tool could not be run, so the keychain was not checked")
        if default.timed_out:
            return KeyringStatus("macOS Keychain", True, None, "the keychain did not answer within 2 s (locked?)")
        if default.returncode != 0:
            return KeyringStatus("macOS Keychain", False, None, "no default keychain is configured for this user")
        found = host.run([security, "find-generic-password", "-s", SERVICE, "-a", account], timeout=PROBE_TIMEOUT)
        if found.timed_out:
            return KeyringStatus("macOS Keychain", True, None, "the keychain did not answer within 2 s (locked?)")
        if found.returncode == 0:
            return KeyringStatus("macOS Keychain", True, True)
        if found.returncode == SECURITY_ITEM_NOT_FOUND:
            return KeyringStatus("macOS Keychain", True, False)
        # A locked keychain, "user interaction is not allowed", …: the entry may exist.
        return KeyringStatus("macOS Keychain", True, None, f"`security find-generic-password` failed with exit code {found.returncode}")


def _which(host: Host, name: str) -> str | None:
    """``name`` on the Host's PATH.  shutil.which would fall back to this process's PATH."""
    import shutil

    path = host.env.get("PATH")
    return shutil.which(name, path=path) if path else None


class WindowsCredentialProbe:
    """``CredReadW`` on the generic credential ``<account>.Codex Auth`` (keyring-rs v3 naming)."""

    def probe(self, host: Host, account: str) -> KeyringStatus:
        import ctypes
        from ctypes import wintypes

        advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
        cred_read = advapi32.CredReadW
        cred_read.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, ctypes.POINTER(ctypes.c_void_p)]
        cred_read.restype = wintypes.BOOL
        cred_free = advapi32.CredFree
        cred_free.argtypes = [ctypes.c_void_p]
        handle = ctypes.c_void_p()
        cred_type_generic = 1
        ok = cred_read(f"{account}.{SERVICE}", cred_type_generic, 0, ctypes.byref(handle))
        if ok:
            # The blob is never looked at: existence is all we need.
            cred_free(handle)
            return KeyringStatus("Windows Credential Manager", True, True)
        error_not_found = 1168
        err = ctypes.get_last_error()  # type: ignore[attr-defined,unused-ignore]
        if err == error_not_found:
            return KeyringStatus("Windows Credential Manager", True, False)
        return KeyringStatus("Windows Credential Manager", True, None, f"CredReadW failed with error {err}")


class LinuxSecretServiceProbe:
    """The D-Bus Secret Service (GNOME Keyring, KWallet) plus the kernel keyutils cache."""

    def probe(self, host: Host, account: str) -> KeyringStatus:
        bus = _session_bus(host)
        in_kernel = _kernel_keyring_has(host, account)
        if bus is None:
            note = "no D-Bus session bus, so no Secret Service (GNOME Keyring or KWallet) can be reached"
            return KeyringStatus(None, False, True if in_kernel else None, note)
        import re

        gdbus = _which(host, "gdbus")
        if gdbus is None:
            return KeyringStatus(
                "Secret Service", True, True if in_kernel else None, "gdbus is not installed, so the entry could not be looked up"
            )
        # SearchItems lists matching items, locked or not, without unlocking them.
        res = host.run(
            [
                gdbus,
                "call",
                "--session",
                "--timeout",
                "2",
                "--dest",
                "org.freedesktop.secrets",
                "--object-path",
                "/org/freedesktop/secrets",
                "--method",
                "org.freedesktop.Secret.Service.SearchItems",
                f"{{'service': <'{SERVICE}'>, 'username': <'{account}'>}}",
            ],
            timeout=PROBE_TIMEOUT + 1,
        )
        if res.returncode != 0:
            return KeyringStatus(
                None, False, True if in_kernel else None, "the session bus has no Secret Service (org.freedesktop.secrets)"
            )
        out = res.stdout.decode("utf-8", "replace")
        return KeyringStatus("Secret Service", True, bool(re.search(r"/org/freedesktop/secrets/collection/", out)) or in_kernel)


def _session_bus(host: Host) -> str | None:
    addr = host.env.get("DBUS_SESSION_BUS_ADDRESS")
    if addr:
        return addr
    runtime = host.env.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime, "bus").exists():
        return f"unix:path={runtime}/bus"
    return None


def _kernel_keyring_has(host: Host, account: str) -> bool:
    try:
        text = host.read_bytes(Path("/proc/keys"), limit=4 * 1024 * 1024).decode("utf-8", "replace")
    except (OSError, ValueError):
        return False
    return any(SERVICE in line and account in line for line in text.splitlines())


class NoKeyringProbe:
    """For systems where Codex has no keyring backend at all."""

    def probe(self, host: Host, account: str) -> KeyringStatus:
        return KeyringStatus(None, False, None, f"Codex has no keyring backend on {host.platform}")


def default_keyring_probe(platform: str = sys.platform) -> KeyringProbe:
    """The probe for the OS Codex runs on, chosen by the platform string alone."""
    if platform == "darwin":
        return MacKeychainProbe()
    if platform.startswith("win"):
        return WindowsCredentialProbe()
    # Codex builds a Secret Service backend for Linux, FreeBSD and OpenBSD only
    # (sys.platform "linux", "freebsd14", "openbsd7", …).
    if platform.startswith(("linux", "freebsd", "openbsd")):
        return LinuxSecretServiceProbe()
    return NoKeyringProbe()
