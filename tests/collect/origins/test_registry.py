"""Windows registry environment, through FakeRegistry; WinregReader against a stand-in ``winreg`` module."""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from authdoctor.collect.origins import registry as R
from authdoctor.collect.origins.contexts import WINDOWS
from authdoctor.collect.origins.model import OriginScan, winner
from authdoctor.host import Host
from authdoctor.sandbox import api_key, personal_access_token

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER, "CODEX_HOME"})


def win(tmp_path: Path) -> Host:
    return Host(env={"USERPROFILE": str(tmp_path)}, home=tmp_path, platform="win32")


def scan(tmp_path: Path, reg: R.FakeRegistry) -> OriginScan:
    return R.RegistrySource(reg).scan(win(tmp_path), NAMES)


def test_user_value_beats_machine_value(tmp_path: Path) -> None:
    token, old = personal_access_token(), personal_access_token()
    result = scan(tmp_path, R.FakeRegistry(user={NAME: token}, machine={NAME: old, "Path": "C:\\Windows"}))
    [trail] = result.trails
    assert trail.context == WINDOWS
    assert trail.files == (Path("HKLM/SYSTEM/CurrentControlSet/Control/Session Manager/Environment"), Path("HKCU/Environment"))
    machine, user = trail.settings
    assert machine.blocker == "registry-machine" and user.blocker == "registry"
    win_ = winner(trail.settings, NAME)
    assert win_ == user
    assert user.value is not None and user.value.reveal() == token
    assert (user.path, user.line, user.family, user.editable) == (Path("HKCU/Environment"), 0, "registry", False)
    assert user.where == "HKCU/Environment"
    assert "SetEnvironmentVariable('CODEX_ACCESS_TOKEN', $null, 'User')" in user.text
    for s in trail.settings:
        assert token not in s.text and old not in s.text


def test_names_are_case_insensitive(tmp_path: Path) -> None:
    result = scan(tmp_path, R.FakeRegistry(user={"openai_api_key": api_key()}))
    [s] = result.trails[0].settings
    assert s.var == OTHER and "openai_api_key" in s.text


def test_expand_sz_is_computed_and_non_strings_ignored(tmp_path: Path) -> None:
    reg = R.FakeRegistry(user={"CODEX_HOME": ("%USERPROFILE%\\.codex", "REG_EXPAND_SZ"), NAME: (None, "REG_DWORD")})
    result = scan(tmp_path, reg)
    [s] = result.trails[0].settings
    assert s.var == "CODEX_HOME" and s.value is None and "REG_EXPAND_SZ" in s.text
    assert [n.kind for n in result.notes] == ["ignored"]


def test_plain_expand_sz_keeps_value(tmp_path: Path) -> None:
    result = scan(tmp_path, R.FakeRegistry(user={"CODEX_HOME": ("D:\\codex", "REG_EXPAND_SZ")}))
    [s] = result.trails[0].settings
    assert s.value is not None and s.value.reveal() == "D:\\codex"


def test_missing_and_denied_keys(tmp_path: Path) -> None:
    assert scan(tmp_path, R.FakeRegistry()) == OriginScan("registry")
    result = scan(tmp_path, R.FakeRegistry(user={NAME: "x"}, machine={}, denied=frozenset({"HKLM"})))
    assert [n.kind for n in result.notes] == ["unreadable"]
    assert [s.var for s in result.trails[0].settings] == [NAME]


def test_not_windows_or_image(tmp_path: Path) -> None:
    reg = R.FakeRegistry(user={NAME: "x"})
    linux = Host(env={}, home=tmp_path, platform="linux")
    assert R.RegistrySource(reg).scan(linux, NAMES) == OriginScan("registry")
    assert reg.opened == []
    image = Host(env={}, home=tmp_path, root=tmp_path, platform="win32")
    result = R.RegistrySource().scan(image, NAMES)
    assert result.trails == () and [n.kind for n in result.notes] == ["not-followed"]


# --- WinregReader, with a stand-in for the winreg module ------------------------------------------------


class _Key:
    def __init__(self, values: list[tuple[str, Any, int]]) -> None:
        self.values = values

    def __enter__(self) -> _Key:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _fake_winreg(keys: dict[tuple[int, str], list[tuple[str, Any, int]]], calls: list[tuple[int, str, int, int]]) -> types.ModuleType:
    mod = types.ModuleType("winreg")
    mod.HKEY_CURRENT_USER = 1  # type: ignore[attr-defined]
    mod.HKEY_LOCAL_MACHINE = 2  # type: ignore[attr-defined]
    mod.KEY_READ = 0x20019  # type: ignore[attr-defined]
    mod.KEY_WOW64_64KEY = 0x0100  # type: ignore[attr-defined]

    def open_key(root: int, key: str, reserved: int, access: int) -> _Key:
        calls.append((root, key, reserved, access))
        if (root, key) not in keys:
            raise FileNotFoundError(2, "not found")
        return _Key(keys[(root, key)])

    def query_info_key(k: _Key) -> tuple[int, int, int]:
        return (0, len(k.values), 0)

    def enum_value(k: _Key, i: int) -> tuple[str, Any, int]:
        return k.values[i]

    mod.OpenKey = open_key  # type: ignore[attr-defined]
    mod.QueryInfoKey = query_info_key  # type: ignore[attr-defined]
    mod.EnumValue = enum_value  # type: ignore[attr-defined]
    return mod


@pytest.fixture
def fake_winreg(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[dict[tuple[int, str], list[tuple[str, Any, int]]], list[tuple[int, str, int, int]]]]:
    keys: dict[tuple[int, str], list[tuple[str, Any, int]]] = {}
    calls: list[tuple[int, str, int, int]] = []
    monkeypatch.setitem(__import__("sys").modules, "winreg", _fake_winreg(keys, calls))
    yield keys, calls


def test_winreg_reader_reads_read_only(fake_winreg: Any) -> None:
    keys, calls = fake_winreg
    keys[(1, "Environment")] = [(NAME, "tok", 1), ("CODEX_HOME", "%USERPROFILE%\\x", 2), ("N", 5, 4), ("M", ["a", "b"], 7)]
    got = R.WinregReader().values("HKCU", "Environment")
    assert got == [
        R.RegistryValue(NAME, "tok", "REG_SZ"),
        R.RegistryValue("CODEX_HOME", "%USERPROFILE%\\x", "REG_EXPAND_SZ"),
        R.RegistryValue("N", None, "REG_DWORD"),
        R.RegistryValue("M", None, "REG_MULTI_SZ"),
    ]
    assert calls == [(1, "Environment", 0, 0x20019 | 0x0100)]
    with pytest.raises(FileNotFoundError):
        R.WinregReader().values("HKLM", R.MACHINE_KEY[1])


def test_source_uses_winreg_on_live_windows(fake_winreg: Any, tmp_path: Path) -> None:
    keys, _ = fake_winreg
    keys[(2, R.MACHINE_KEY[1])] = [(NAME, "machine", 1)]
    result = R.RegistrySource().scan(win(tmp_path), NAMES)
    [s] = result.trails[0].settings
    assert s.value is not None and s.value.reveal() == "machine" and s.path == R.pseudo_path(*R.MACHINE_KEY)
