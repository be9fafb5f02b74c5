"""Windows: change values of an environment key in the registry, then tell running programs.

:class:`WinregWriter` uses the standard ``winreg`` module (imported only
when used, so this module imports everywhere) and broadcasts
``WM_SETTINGCHANGE`` with ``"Environment"`` afterwards, as rustup and
userpath do, so Explorer rebuilds the environment it gives new programs.
Programs already running keep their old environment whatever we do.

:class:`FakeRegistryWriter` is the in-memory stand-in for tests; it is also a
``RegistryReader``, so a scan and a fix can share one fake.

Only string values (``REG_SZ``, ``REG_EXPAND_SZ``) are handled: those are the
only kinds Windows puts in the environment, and the kind is kept on restore
so ``%VAR%`` references still expand.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Protocol

from authdoctor.collect.origins.registry import STRING_KINDS, RegistryValue
from authdoctor.errors import AuthdoctorError

# winreg's type numbers, so this module needs no winreg to import.
_KIND_NUMBERS = {"REG_SZ": 1, "REG_EXPAND_SZ": 2}
_KIND_BY_NUMBER = {0: "REG_NONE", 1: "REG_SZ", 2: "REG_EXPAND_SZ", 3: "REG_BINARY", 4: "REG_DWORD", 7: "REG_MULTI_SZ", 11: "REG_QWORD"}

HWND_BROADCAST = 0xFFFF
WM_SETTINGCHANGE = 0x001A
SMTO_ABORTIFHUNG = 0x0002
BROADCAST_TIMEOUT_MS = 5000


class RegistryWriter(Protocol):
    """Reads, deletes and sets one string value of a key.  Names are case-insensitive, as in Windows."""

    def get(self, hive: str, key: str, name: str) -> tuple[str, str] | None:
        """``(data, kind)`` with kind like ``"REG_SZ"``, or None when the value does not exist."""
        ...

    def delete(self, hive: str, key: str, name: str) -> None: ...

    def set(self, hive: str, key: str, name: str, data: str, kind: str) -> None: ...

    def broadcast(self) -> None:
        """Tell running programs (Explorer above all) that the environment changed."""
        ...


def _not_windows() -> AuthdoctorError:
    return AuthdoctorError(
        "the Windows registry can only be changed on Windows",
        hint="run authdoctor on the Windows machine itself, or change the value by hand there",
    )


class WinregWriter:
    """The real registry, through ``winreg``; raises AuthdoctorError when used off Windows."""

    def get(self, hive: str, key: str, name: str) -> tuple[str, str] | None:
        winreg = _winreg()
        try:
            with winreg.OpenKey(_hive(winreg, hive), key, 0, winreg.KEY_READ | _wow64(winreg)) as handle:
                data, kind = winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        kind_name = _KIND_BY_NUMBER.get(kind, f"type {kind}")
        if kind_name not in STRING_KINDS or not isinstance(data, str):
            raise AuthdoctorError(
                f"{hive}\\{key} has {name} as {kind_name}, not a string; authdoctor only removes string values",
                hint="Windows does not put such a value in the environment; remove it with regedit if you want it gone",
            )
        return data, kind_name

    def delete(self, hive: str, key: str, name: str) -> None:
        winreg = _winreg()
        with winreg.OpenKey(_hive(winreg, hive), key, 0, winreg.KEY_READ | winreg.KEY_SET_VALUE | _wow64(winreg)) as handle:
            winreg.DeleteValue(handle, name)

    def set(self, hive: str, key: str, name: str, data: str, kind: str) -> None:
        number = _KIND_NUMBERS.get(kind)
        if number is None:
            raise ValueError(f"only string values can be set, not {kind}")
        winreg = _winreg()
        # The key exists (we deleted a value from it); CreateKeyEx would also make a key that vanished, which we do not want.
        with winreg.OpenKey(_hive(winreg, hive), key, 0, winreg.KEY_READ | winreg.KEY_SET_VALUE | _wow64(winreg)) as handle:
            winreg.SetValueEx(handle, name, 0, number, data)

    def broadcast(self) -> None:
        ctypes: Any = importlib.import_module("ctypes")
        if not hasattr(ctypes, "WinDLL"):
            raise _not_windows()
        wintypes: Any = importlib.import_module("ctypes.wintypes")
        user32 = ctypes.WinDLL("user32", use_last_error=True)
        send = user32.SendMessageTimeoutW
        send.argtypes = (
            wintypes.HWND,
            wintypes.UINT,
            wintypes.WPARAM,
            wintypes.LPCWSTR,  # lParam: the name of the changed setting area
            wintypes.UINT,
            wintypes.UINT,
            ctypes.POINTER(ctypes.c_size_t),  # PDWORD_PTR
        )
        send.restype = wintypes.LPARAM  # LRESULT
        result = ctypes.c_size_t(0)
        # SMTO_ABORTIFHUNG with a timeout: one hung window must not hang us.  A zero
        # return (timeout, or a window that did not answer) is not an error: the
        # registry is already changed and new logons read it.
        send(HWND_BROADCAST, WM_SETTINGCHANGE, 0, "Environment", SMTO_ABORTIFHUNG, BROADCAST_TIMEOUT_MS, ctypes.byref(result))


def _winreg() -> Any:
    # importlib keeps mypy (which checks this on Linux, where winreg has no attributes) quiet.
    try:
        return importlib.import_module("winreg")
    except ImportError:
        raise _not_windows() from None


def _hive(winreg: Any, hive: str) -> Any:
    roots = {"HKCU": winreg.HKEY_CURRENT_USER, "HKLM": winreg.HKEY_LOCAL_MACHINE}
    if hive not in roots:
        raise ValueError(f"unknown registry hive {hive!r}")
    return roots[hive]


def _wow64(winreg: Any) -> int:
    # A 32-bit Python must change the same key Explorer (64-bit) reads.
    return int(getattr(winreg, "KEY_WOW64_64KEY", 0))


class FakeRegistryWriter:
    """An in-memory registry: ``FakeRegistryWriter({("HKCU", "Environment"): {"NAME": ("value", "REG_SZ")}})``.

    A plain string value means ``REG_SZ``.  ``broadcasts`` counts broadcasts;
    ``log`` lists every change as ``(operation, hive, key, name)`` (never data).
    """

    def __init__(self, keys: Mapping[tuple[str, str], Mapping[str, str | tuple[str, str]]] | None = None) -> None:
        self.keys: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        for where, values in (keys or {}).items():
            self.keys[where] = {name: (spec, "REG_SZ") if isinstance(spec, str) else (spec[0], spec[1]) for name, spec in values.items()}
        self.broadcasts = 0
        self.log: list[tuple[str, str, str, str]] = []

    def _key(self, hive: str, key: str) -> dict[str, tuple[str, str]]:
        found = self.keys.get((hive, key))
        if found is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return found

    def _name(self, values: Mapping[str, tuple[str, str]], name: str) -> str | None:
        return next((n for n in values if n.upper() == name.upper()), None)

    # RegistryReader
    def values(self, hive: str, key: str) -> list[RegistryValue]:
        return [RegistryValue(n, d if k in STRING_KINDS else None, k) for n, (d, k) in self._key(hive, key).items()]

    # RegistryWriter
    def get(self, hive: str, key: str, name: str) -> tuple[str, str] | None:
        try:
            values = self._key(hive, key)
        except FileNotFoundError:
            return None
        found = self._name(values, name)
        return None if found is None else values[found]

    def delete(self, hive: str, key: str, name: str) -> None:
        values = self._key(hive, key)
        found = self._name(values, name)
        if found is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        del values[found]
        self.log.append(("delete", hive, key, name))

    def set(self, hive: str, key: str, name: str, data: str, kind: str) -> None:
        if kind not in _KIND_NUMBERS:
            raise ValueError(f"only string values can be set, not {kind}")
        values = self._key(hive, key)
        values[self._name(values, name) or name] = (data, kind)
        self.log.append(("set", hive, key, name))

    def broadcast(self) -> None:
        self.broadcasts += 1
