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

The second half of this module *changes* the keyring, for ``authdoctor fix``
and ``undo`` only: a :class:`KeyringWriter` gets, sets and deletes one generic
password, through the same helpers the probes use (``security`` on macOS,
``secret-tool`` on Linux, ``CredReadW``/``CredWriteW``/``CredDeleteW`` on
Windows).  Unlike a probe it does read the secret, and may make the OS ask the
person to unlock the keyring: it runs only after they agreed to the fix.
Secrets travel through pipes (stdin/stdout) or memory, never command lines,
and never appear in an error message.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from authdoctor.errors import AuthdoctorError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Protocol

    from authdoctor.host import Host, RunResult

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

    class KeyringWriter(Protocol):
        """Reads, sets and deletes one generic password (``service``, ``account``), as bytes, exactly.

        Every failure is a :class:`KeyringError` whose message never holds the secret.
        """

        backend: str  # for messages: "macOS Keychain", "Secret Service" …

        def get(self, service: str, account: str) -> bytes | None:
            """The secret, or None when there is no such entry."""
            ...

        def set(self, service: str, account: str, secret: bytes) -> None: ...

        def delete(self, service: str, account: str) -> None:
            """Remove the entry; an entry already gone is not an error."""
            ...


class MacKeychainProbe:
    """``security find-generic-password`` without ``-w`` reads attributes only: no prompt."""

    def writer(self, host: Host) -> KeyringWriter:
        return MacKeychainWriter(host)

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

    def writer(self, host: Host) -> KeyringWriter:
        return WindowsCredentialWriter()

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

    def writer(self, host: Host) -> KeyringWriter:
        return SecretServiceWriter(host)

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


# --- writers: for `authdoctor fix` and `undo` only --------------------------------------------------

# Changing the keyring may make the OS ask the person to unlock it: give them time to answer.
WRITE_TIMEOUT = 120.0
SECURITY_DUPLICATE_ITEM = -25299
SECURITY_NOT_FOUND_STATUS = -25300


class KeyringError(AuthdoctorError):
    """The keyring could not be read or changed.  ``message`` never holds a secret; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)


def keyring_writer_for(host: Host) -> KeyringWriter | None:
    """The writer for the keyring ``host.keyring`` probes, or None (no keyring, or an image under ``--root``).

    A probe offers its store through a ``writer(host)`` method; the tests' fake
    probe hands out an in-memory :class:`FakeKeyringWriter` the same way.
    """
    probe = host.keyring
    make = getattr(probe, "writer", None) if probe is not None else None
    if make is None:
        return None
    writer: KeyringWriter | None = make(host)
    return writer


def _failed(what: str, backend: str, detail: str) -> KeyringError:
    return KeyringError(f"{what} in the {backend} failed ({detail})", "unlock the keyring (or answer its prompt) and try again")


def _first_line(raw: bytes) -> str:
    """The first line of a helper's error output, short: it names the problem, never a secret we passed on stdin."""
    line = raw.decode("utf-8", "replace").strip().splitlines()[0] if raw.strip() else ""
    return line[:160]


class SecretServiceWriter:
    """Linux (and the BSDs): the D-Bus Secret Service through ``secret-tool`` (libsecret).

    The secret goes to ``secret-tool store`` on stdin and comes back from
    ``secret-tool lookup`` on stdout, exactly (it adds a newline only at a
    terminal).  Restored items get the attributes keyring-rs v3 gives them
    (``service``, ``username``, ``target=default``, ``application=rust-keyring``),
    so Codex finds them again.  The kernel keyutils copy some keyring builds keep
    is a cache of this entry and is not touched.
    """

    backend = "Secret Service"

    def __init__(self, host: Host) -> None:
        self.host = host

    def _tool(self) -> str:
        tool = _which(self.host, "secret-tool")
        if tool is None:
            raise KeyringError(
                "secret-tool is not installed, so authdoctor cannot change the Secret Service",
                "install it (Debian/Ubuntu: libsecret-tools; Fedora: libsecret) and run authdoctor again",
            )
        return tool

    def get(self, service: str, account: str) -> bytes | None:
        res = _run(self.host, [self._tool(), "lookup", "service", service, "username", account])
        if res.returncode == 0:
            return res.stdout
        if res.returncode == 1 and not res.stderr.strip():
            return None  # no such item: secret-tool says nothing and exits 1
        raise _failed("reading the Codex entry", self.backend, _why_run(res, "secret-tool lookup"))

    def set(self, service: str, account: str, secret: bytes) -> None:
        label = f"keyring-rs for target 'default', service '{service}', user '{account}' (restored by authdoctor)"
        argv = [self._tool(), "store", f"--label={label}", "service", service, "username", account]
        argv += ["target", "default", "application", "rust-keyring"]
        res = _run(self.host, argv, stdin=secret)
        if res.returncode != 0:
            raise _failed("writing the Codex entry", self.backend, _why_run(res, "secret-tool store"))

    def delete(self, service: str, account: str) -> None:
        res = _run(self.host, [self._tool(), "clear", "service", service, "username", account])
        if res.returncode == 0 or (res.returncode == 1 and not res.stderr.strip()):
            return
        raise _failed("deleting the Codex entry", self.backend, _why_run(res, "secret-tool clear"))


class MacKeychainWriter:
    """macOS: the login keychain through the Security framework (the calls keyring-rs itself makes).

    Not the ``security`` tool, which the probe uses: ``find-generic-password -w``
    prints some values as hex, and ``add-generic-password`` takes the secret on
    its command line (or from the terminal, not stdin).  The framework reads and
    writes the exact bytes in memory.  macOS may ask once whether authdoctor
    (and later Codex) may use the item.
    """

    backend = "macOS Keychain"

    def __init__(self, host: Host) -> None:
        self.host = host

    def get(self, service: str, account: str) -> bytes | None:
        import ctypes

        api = _mac_api()
        s, a = service.encode("utf-8"), account.encode("utf-8")
        length = ctypes.c_uint32(0)
        data = ctypes.c_void_p()
        status = api.find(None, len(s), s, len(a), a, ctypes.byref(length), ctypes.byref(data), None)
        if status == SECURITY_NOT_FOUND_STATUS:
            return None
        if status != 0:
            raise _failed("reading the Codex entry", self.backend, f"OSStatus {status}")
        try:
            return ctypes.string_at(data, length.value) if length.value else b""
        finally:
            api.free_content(None, data)

    def set(self, service: str, account: str, secret: bytes) -> None:
        api = _mac_api()
        s, a = service.encode("utf-8"), account.encode("utf-8")
        status = api.add(None, len(s), s, len(a), a, len(secret), secret, None)
        if status == SECURITY_DUPLICATE_ITEM:
            raise KeyringError(f"the {self.backend} already has a Codex entry for {account}; authdoctor will not overwrite it")
        if status != 0:
            raise _failed("writing the Codex entry", self.backend, f"OSStatus {status}")

    def delete(self, service: str, account: str) -> None:
        import ctypes

        api = _mac_api()
        s, a = service.encode("utf-8"), account.encode("utf-8")
        item = ctypes.c_void_p()
        # No password arguments: finding the item to delete it does not read its secret.
        status = api.find(None, len(s), s, len(a), a, None, None, ctypes.byref(item))
        if status == SECURITY_NOT_FOUND_STATUS:
            return
        if status != 0:
            raise _failed("finding the Codex entry", self.backend, f"OSStatus {status}")
        try:
            status = api.delete(item)
        finally:
            api.release(item)
        if status != 0:
            raise _failed("deleting the Codex entry", self.backend, f"OSStatus {status}")


def _mac_api() -> Any:
    import ctypes
    from types import SimpleNamespace

    try:
        sec = ctypes.CDLL("/System/Library/Frameworks/Security.framework/Security")
        cf = ctypes.CDLL("/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation")
    except OSError:
        raise KeyringError(
            "the macOS Keychain can only be changed on macOS", "run authdoctor on the Mac itself, or change the entry in Keychain Access"
        ) from None
    u32, vp, cp = ctypes.c_uint32, ctypes.c_void_p, ctypes.c_char_p
    find = sec.SecKeychainFindGenericPassword
    find.argtypes = [vp, u32, cp, u32, cp, ctypes.POINTER(u32), ctypes.POINTER(vp), ctypes.POINTER(vp)]
    find.restype = ctypes.c_int32
    add = sec.SecKeychainAddGenericPassword
    add.argtypes = [vp, u32, cp, u32, cp, u32, cp, ctypes.POINTER(vp)]
    add.restype = ctypes.c_int32
    delete = sec.SecKeychainItemDelete
    delete.argtypes = [vp]
    delete.restype = ctypes.c_int32
    free_content = sec.SecKeychainItemFreeContent
    free_content.argtypes = [vp, vp]
    free_content.restype = ctypes.c_int32
    release = cf.CFRelease
    release.argtypes = [vp]
    release.restype = None
    return SimpleNamespace(find=find, add=add, delete=delete, free_content=free_content, release=release)


class WindowsCredentialWriter:
    """Windows: the generic credential ``<account>.<service>`` (keyring-rs v3 naming) via CredReadW/CredWriteW/CredDeleteW.

    The blob is read and written as raw bytes (keyring-rs stores a password as
    UTF-16LE; we never decode it).  A restored credential is written as
    keyring-rs writes one: user name = account, persisted with the profile.
    """

    backend = "Windows Credential Manager"

    def get(self, service: str, account: str) -> bytes | None:
        import ctypes

        api = _win_api()
        pcred = ctypes.POINTER(api.CREDENTIALW)()
        if not api.read(f"{account}.{service}", _CRED_TYPE_GENERIC, 0, ctypes.byref(pcred)):
            err = api.last_error()
            if err == _ERROR_NOT_FOUND:
                return None
            raise _failed("reading the Codex entry", self.backend, f"CredReadW error {err}")
        try:
            cred = pcred.contents
            size = int(cred.CredentialBlobSize)
            return ctypes.string_at(cred.CredentialBlob, size) if size else b""
        finally:
            api.free(pcred)

    def set(self, service: str, account: str, secret: bytes) -> None:
        import ctypes

        if len(secret) > _CRED_MAX_BLOB:
            raise KeyringError(f"the saved Codex entry is {len(secret)} bytes, more than the {self.backend} holds ({_CRED_MAX_BLOB})")
        api = _win_api()
        blob = (ctypes.c_ubyte * max(len(secret), 1)).from_buffer_copy(secret or b"\0")
        cred = api.CREDENTIALW()
        cred.Flags = 0
        cred.Type = _CRED_TYPE_GENERIC
        cred.TargetName = f"{account}.{service}"
        cred.Comment = "restored by authdoctor undo"
        cred.CredentialBlobSize = len(secret)
        cred.CredentialBlob = ctypes.cast(blob, ctypes.POINTER(ctypes.c_ubyte))
        cred.Persist = _CRED_PERSIST_ENTERPRISE
        cred.AttributeCount = 0
        cred.Attributes = None
        cred.TargetAlias = None
        cred.UserName = account
        if not api.write(ctypes.byref(cred), 0):
            raise _failed("writing the Codex entry", self.backend, f"CredWriteW error {api.last_error()}")

    def delete(self, service: str, account: str) -> None:
        api = _win_api()
        if api.delete(f"{account}.{service}", _CRED_TYPE_GENERIC, 0):
            return
        err = api.last_error()
        if err != _ERROR_NOT_FOUND:
            raise _failed("deleting the Codex entry", self.backend, f"CredDeleteW error {err}")


_CRED_TYPE_GENERIC = 1
_CRED_PERSIST_ENTERPRISE = 3  # what keyring-rs uses
_CRED_MAX_BLOB = 5 * 512  # CRED_MAX_CREDENTIAL_BLOB_SIZE
_ERROR_NOT_FOUND = 1168


def _win_api() -> Any:
    import ctypes
    from types import SimpleNamespace

    native: Any = ctypes  # WinDLL and get_last_error exist only on Windows
    if not hasattr(native, "WinDLL"):
        raise KeyringError(
            "the Windows Credential Manager can only be changed on Windows",
            "run authdoctor on the Windows machine itself, or change the entry in Credential Manager",
        )

    class FILETIME(ctypes.Structure):
        _fields_ = (("dwLowDateTime", ctypes.c_uint32), ("dwHighDateTime", ctypes.c_uint32))

    class CREDENTIALW(ctypes.Structure):
        _fields_ = (
            ("Flags", ctypes.c_uint32),
            ("Type", ctypes.c_uint32),
            ("TargetName", ctypes.c_wchar_p),
            ("Comment", ctypes.c_wchar_p),
            ("LastWritten", FILETIME),
            ("CredentialBlobSize", ctypes.c_uint32),
            ("CredentialBlob", ctypes.POINTER(ctypes.c_ubyte)),
            ("Persist", ctypes.c_uint32),
            ("AttributeCount", ctypes.c_uint32),
            ("Attributes", ctypes.c_void_p),
            ("TargetAlias", ctypes.c_wchar_p),
            ("UserName", ctypes.c_wchar_p),
        )

    advapi32 = native.WinDLL("advapi32", use_last_error=True)
    read = advapi32.CredReadW
    read.argtypes = [ctypes.c_wchar_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(ctypes.POINTER(CREDENTIALW))]
    read.restype = ctypes.c_int
    write = advapi32.CredWriteW
    write.argtypes = [ctypes.POINTER(CREDENTIALW), ctypes.c_uint32]
    write.restype = ctypes.c_int
    delete = advapi32.CredDeleteW
    delete.argtypes = [ctypes.c_wchar_p, ctypes.c_uint32, ctypes.c_uint32]
    delete.restype = ctypes.c_int
    free = advapi32.CredFree
    free.argtypes = [ctypes.c_void_p]
    free.restype = None
    return SimpleNamespace(CREDENTIALW=CREDENTIALW, read=read, write=write, delete=delete, free=free, last_error=native.get_last_error)


def _run(host: Host, argv: list[str], *, stdin: bytes | None = None) -> RunResult:
    """``host.run``, but able to feed ``stdin`` (a secret: through a pipe, never the command line)."""
    if stdin is None:
        return host.run(argv, timeout=WRITE_TIMEOUT)
    import subprocess

    from authdoctor.host import RunResult, _kill_group

    try:
        proc = subprocess.Popen(  # noqa: S603 - argv is built by us, never by a shell
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(host.env),
            start_new_session=not host.is_windows,
        )
    except OSError as exc:
        return RunResult(None, b"", b"", error=f"could not start {argv[0]}: {exc.strerror or exc}")
    try:
        out, err = proc.communicate(stdin, timeout=WRITE_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        return RunResult(None, out, err, timed_out=True)
    return RunResult(proc.returncode, out, err)


def _why_run(res: RunResult, what: str) -> str:
    if res.error is not None:
        return res.error
    if res.timed_out:
        return f"`{what}` did not finish within {WRITE_TIMEOUT:.0f} s"
    line = _first_line(res.stderr)
    return f"`{what}` exited with {res.returncode}" + (f": {line}" if line else "")


class FakeKeyringWriter:
    """An in-memory keyring for tests: ``FakeKeyringWriter({("Codex Auth", "cli|…"): b"{...}"})``.

    ``log`` lists every operation as ``(operation, service, account)``, never a
    secret; an operation named in ``failing`` raises KeyringError, as a locked
    or broken keyring would.
    """

    backend = "fake keyring"

    def __init__(self, items: Mapping[tuple[str, str], bytes | str] | None = None) -> None:
        given = (items or {}).items()
        self.items: dict[tuple[str, str], bytes] = {k: v.encode("utf-8") if isinstance(v, str) else bytes(v) for k, v in given}
        self.log: list[tuple[str, str, str]] = []
        self.failing: set[str] = set()

    def _op(self, name: str, service: str, account: str) -> None:
        if name in self.failing:
            raise KeyringError(f"the {self.backend} refused to {name} the entry for {account}", "unlock it")
        self.log.append((name, service, account))

    def get(self, service: str, account: str) -> bytes | None:
        self._op("get", service, account)
        return self.items.get((service, account))

    def set(self, service: str, account: str, secret: bytes) -> None:
        self._op("set", service, account)
        self.items[(service, account)] = bytes(secret)

    def delete(self, service: str, account: str) -> None:
        self._op("delete", service, account)
        self.items.pop((service, account), None)
