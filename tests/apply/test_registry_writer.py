"""Registry writers: the fake (shared with the scan), apply + undo of a RegistryDelete, and WinregWriter off Windows."""

from __future__ import annotations

import ctypes
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from authdoctor.apply.apply import ApplyRefused, apply_plan, preflight
from authdoctor.apply.registry_writer import FakeRegistryWriter, RegistryWriter, WinregWriter
from authdoctor.apply.undo import undo
from authdoctor.collect.origins.registry import USER_KEY, RegistrySource, RegistryValue
from authdoctor.errors import AuthdoctorError
from authdoctor.host import Host
from authdoctor.plan.model import RegistryDelete
from tests.apply import CURE, FIXED_NOW, VAR, all_text, make_secret, new_journal, plan_of

HIVE, KEY = USER_KEY


def delete_change(name: str = VAR) -> RegistryDelete:
    return RegistryDelete(HIVE, KEY, name, (VAR,), (CURE,))


# --- FakeRegistryWriter -----------------------------------------------------------------------------------------------


def test_fake_get_delete_set_broadcast() -> None:
    reg = FakeRegistryWriter({USER_KEY: {VAR: ("v", "REG_SZ"), "PLAIN": "p"}})
    writer: RegistryWriter = reg
    assert writer.get(HIVE, KEY, VAR.lower()) == ("v", "REG_SZ")  # names are case-insensitive
    assert writer.get(HIVE, KEY, "PLAIN") == ("p", "REG_SZ")
    assert writer.get(HIVE, KEY, "MISSING") is None
    assert writer.get("HKLM", "Nowhere", VAR) is None
    writer.delete(HIVE, KEY, VAR)
    assert writer.get(HIVE, KEY, VAR) is None
    with pytest.raises(FileNotFoundError):
        writer.delete(HIVE, KEY, VAR)
    writer.set(HIVE, KEY, VAR, "%USERPROFILE%\\x", "REG_EXPAND_SZ")
    assert writer.get(HIVE, KEY, VAR) == ("%USERPROFILE%\\x", "REG_EXPAND_SZ")
    with pytest.raises(ValueError):
        writer.set(HIVE, KEY, "N", "1", "REG_DWORD")
    writer.broadcast()
    assert reg.broadcasts == 1
    assert reg.log == [("delete", HIVE, KEY, VAR), ("set", HIVE, KEY, VAR)]


def test_fake_is_a_registry_reader_for_the_scan(tmp_path: Path) -> None:
    secret = make_secret()
    reg = FakeRegistryWriter({USER_KEY: {VAR: (secret, "REG_SZ"), "N": ("1", "REG_DWORD")}})
    assert reg.values(HIVE, KEY) == [RegistryValue(VAR, secret, "REG_SZ"), RegistryValue("N", None, "REG_DWORD")]
    with pytest.raises(FileNotFoundError):
        reg.values("HKLM", "Missing")
    host = Host(env={"USERPROFILE": str(tmp_path)}, home=tmp_path, platform="win32")
    scan = RegistrySource(reg).scan(host, frozenset({VAR}))
    settings = [s for trail in scan.trails for s in trail.settings]
    assert [s.var for s in settings] == [VAR]


# --- apply + undo of a RegistryDelete ---------------------------------------------------------------------------------


def test_apply_and_undo_keep_expand_sz(tmp_path: Path) -> None:
    secret = make_secret()
    value = f"%USERPROFILE%\\{secret}"
    reg = FakeRegistryWriter({USER_KEY: {VAR: (value, "REG_EXPAND_SZ"), "OTHER": "keep"}})
    journal = new_journal(tmp_path)

    applied = apply_plan(plan_of(delete_change()), journal, now=FIXED_NOW, registry=reg)

    assert reg.get(HIVE, KEY, VAR) is None
    assert reg.get(HIVE, KEY, "OTHER") == ("keep", "REG_SZ")
    assert reg.broadcasts == 1
    entry = journal.get(applied.entry_id)
    (record,) = entry.records
    assert {k: record[k] for k in ("kind", "hive", "key", "name", "value_kind", "status")} == {
        "kind": "registry",
        "hive": HIVE,
        "key": KEY,
        "name": VAR,
        "value_kind": "REG_EXPAND_SZ",
        "status": "written",
    }
    assert record["path"] == f"{HIVE}\\{KEY}\\{VAR}"
    assert entry.read_backup(record["backup"]) == value.encode()
    assert secret not in all_text(journal.root.parent)
    assert journal.entries()[0].paths == (f"{HIVE}\\{KEY}\\{VAR}",)

    done = undo(journal, registry=reg)

    assert done.restored == (f"{HIVE}\\{KEY}\\{VAR}",)
    assert reg.get(HIVE, KEY, VAR) == (value, "REG_EXPAND_SZ")
    assert reg.broadcasts == 2
    assert undo(journal, registry=reg).already
    assert reg.broadcasts == 2


def test_undo_refuses_when_the_value_was_set_again(tmp_path: Path) -> None:
    reg = FakeRegistryWriter({USER_KEY: {VAR: (make_secret(), "REG_SZ")}})
    journal = new_journal(tmp_path)
    apply_plan(plan_of(delete_change()), journal, now=FIXED_NOW, registry=reg)
    newer = make_secret()
    reg.set(HIVE, KEY, VAR, newer, "REG_SZ")
    with pytest.raises(AuthdoctorError, match="has CODEX_ACCESS_TOKEN again since the fix") as info:
        undo(journal, registry=reg)
    assert newer not in str(info.value)
    assert reg.get(HIVE, KEY, VAR) == (newer, "REG_SZ")


def test_undo_needs_a_registry(tmp_path: Path) -> None:
    reg = FakeRegistryWriter({USER_KEY: {VAR: "v" * 10}})
    journal = new_journal(tmp_path)
    apply_plan(plan_of(delete_change()), journal, now=FIXED_NOW, registry=reg)
    with pytest.raises(AuthdoctorError, match="cannot change the Windows registry here"):
        undo(journal)


def test_preflight_registry_problems() -> None:
    assert preflight(plan_of(delete_change())) == [
        f"authdoctor cannot change the Windows registry here; remove {VAR} from {HIVE}\\{KEY} by hand"
    ]
    reg = FakeRegistryWriter({USER_KEY: {}})
    assert preflight(plan_of(delete_change()), registry=reg) == [f"{HIVE}\\{KEY} no longer has {VAR}; run `authdoctor fix` again"]


def test_refused_registry_plan_writes_nothing(tmp_path: Path) -> None:
    reg = FakeRegistryWriter({USER_KEY: {"OTHER": "x"}})
    journal = new_journal(tmp_path)
    with pytest.raises(ApplyRefused):
        apply_plan(plan_of(delete_change()), journal, now=FIXED_NOW, registry=reg)
    assert reg.log == [] and reg.broadcasts == 0
    assert journal.entries() == []


# --- WinregWriter ---------------------------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform.startswith("win"), reason="checks the behaviour off Windows")
def test_winreg_writer_off_windows_says_so() -> None:
    writer = WinregWriter()  # importing and constructing are fine anywhere
    calls: list[Any] = [
        lambda: writer.get(HIVE, KEY, VAR),
        lambda: writer.delete(HIVE, KEY, VAR),
        lambda: writer.set(HIVE, KEY, VAR, "x", "REG_SZ"),
        writer.broadcast,
    ]
    for call in calls:
        with pytest.raises(AuthdoctorError, match="only be changed on Windows"):
            call()


def _fake_winreg(values: dict[str, tuple[Any, int]], calls: list[tuple[Any, ...]]) -> types.ModuleType:
    mod = types.ModuleType("winreg")
    consts = {
        "HKEY_CURRENT_USER": 0x80000001,
        "HKEY_LOCAL_MACHINE": 0x80000002,
        "KEY_READ": 0x20019,
        "KEY_SET_VALUE": 0x0002,
        "KEY_WOW64_64KEY": 0x0100,
    }
    for name, number in consts.items():
        setattr(mod, name, number)

    class Handle:
        def __enter__(self) -> Handle:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def open_key(root: int, key: str, reserved: int, access: int) -> Handle:
        calls.append(("OpenKey", root, key, access))
        return Handle()

    def query(handle: Handle, name: str) -> tuple[Any, int]:
        if name not in values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return values[name]

    def delete(handle: Handle, name: str) -> None:
        calls.append(("DeleteValue", name))
        del values[name]

    def set_value(handle: Handle, name: str, reserved: int, kind: int, data: str) -> None:
        calls.append(("SetValueEx", name, kind))
        values[name] = (data, kind)

    mod.OpenKey = open_key  # type: ignore[attr-defined]
    mod.QueryValueEx = query  # type: ignore[attr-defined]
    mod.DeleteValue = delete  # type: ignore[attr-defined]
    mod.SetValueEx = set_value  # type: ignore[attr-defined]
    return mod


def test_winreg_writer_against_a_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    values: dict[str, tuple[Any, int]] = {VAR: ("%HOME%\\t", 2), "N": (1, 4)}
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setitem(sys.modules, "winreg", _fake_winreg(values, calls))
    writer = WinregWriter()

    assert writer.get(HIVE, KEY, VAR) == ("%HOME%\\t", "REG_EXPAND_SZ")
    assert calls[-1:] == [("OpenKey", 0x80000001, KEY, 0x20019 | 0x0100)]
    assert writer.get(HIVE, KEY, "MISSING") is None
    with pytest.raises(AuthdoctorError, match="REG_DWORD, not a string"):
        writer.get(HIVE, KEY, "N")

    writer.delete(HIVE, KEY, VAR)
    assert calls[-2:] == [("OpenKey", 0x80000001, KEY, 0x20019 | 0x0002 | 0x0100), ("DeleteValue", VAR)]
    writer.set(HIVE, KEY, VAR, "%HOME%\\t", "REG_EXPAND_SZ")
    assert calls[-1:] == [("SetValueEx", VAR, 2)]
    writer.set(HIVE, KEY, "PLAIN", "p", "REG_SZ")
    assert calls[-1:] == [("SetValueEx", "PLAIN", 1)]
    with pytest.raises(ValueError):
        writer.set(HIVE, KEY, "N", "1", "REG_DWORD")
    with pytest.raises(ValueError):
        writer.get("HKXX", KEY, VAR)


def test_winreg_writer_broadcasts_wm_settingchange(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[Any, ...]] = []

    class Function:
        argtypes: Any = None
        restype: Any = None

        def __call__(self, *args: Any) -> int:
            sent.append(args)
            return 1

    class User32:
        def __init__(self, name: str, use_last_error: bool = False) -> None:
            assert name == "user32"
            self.SendMessageTimeoutW = Function()

    monkeypatch.setattr(ctypes, "WinDLL", User32, raising=False)
    WinregWriter().broadcast()
    ((hwnd, msg, wparam, lparam, flags, timeout, _result),) = sent
    assert (hwnd, msg, wparam, lparam, flags, timeout) == (0xFFFF, 0x001A, 0, "Environment", 0x0002, 5000)
