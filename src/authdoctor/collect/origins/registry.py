"""Windows: the persistent environment in the registry, which every process started from Explorer gets.

Two keys hold it:

- machine: ``HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment``
- user: ``HKCU\\Environment`` (what ``setx NAME value`` writes)

At logon (and whenever a program broadcasts ``WM_SETTINGCHANGE``) Explorer
builds its environment from the machine values, then the user values: a user
value replaces a machine value of the same name, except ``Path``, where the
user value is appended (not a concern for the variables we watch).  Names
are case-insensitive.  ``REG_EXPAND_SZ`` values have ``%VAR%`` references
expanded at that moment; they are reported as computed.

Programs started before a change (an open terminal, the Codex desktop app,
Explorer itself if nobody broadcast the change) keep the old environment.

Reading goes through :class:`RegistryReader`: :class:`WinregReader` uses the
standard ``winreg`` module (imported only on Windows, read-only access);
:class:`FakeRegistry` stands in for it in tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from authdoctor.collect.origins.contexts import WINDOWS
from authdoctor.collect.origins.model import EXPORT, OriginScan, ScanNote, Setting, Trail
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from typing import Protocol

    from authdoctor.host import Host

USER_KEY = ("HKCU", "Environment")
MACHINE_KEY = ("HKLM", "SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment")
# Where Explorer keeps the user's folders; "Personal" is Documents (OneDrive or a policy may move it).
SHELL_FOLDERS_KEY = ("HKCU", "Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\User Shell Folders")
STRING_KINDS = frozenset({"REG_SZ", "REG_EXPAND_SZ"})


class RegistryValue(NamedTuple):
    name: str
    data: str | None  # None for a value that is not a string (Explorer ignores those)
    kind: str  # "REG_SZ" | "REG_EXPAND_SZ" | "REG_DWORD" | …


if TYPE_CHECKING:

    class RegistryReader(Protocol):
        """Lists the values of one key.  Raises FileNotFoundError when the key does not exist, PermissionError when denied."""

        def values(self, hive: str, key: str) -> list[RegistryValue]: ...


# winreg's type constants, by number, so that this module imports on every platform.
_KIND_NAMES = {
    0: "REG_NONE",
    1: "REG_SZ",
    2: "REG_EXPAND_SZ",
    3: "REG_BINARY",
    4: "REG_DWORD",
    5: "REG_DWORD_BIG_ENDIAN",
    6: "REG_LINK",
    7: "REG_MULTI_SZ",
    11: "REG_QWORD",
}


class WinregReader:
    """The real registry, read-only, through the standard ``winreg`` module (Windows only)."""

    def values(self, hive: str, key: str) -> list[RegistryValue]:
        # importlib keeps mypy (which checks this on Linux, where winreg has no attributes) quiet.
        winreg: Any = importlib.import_module("winreg")
        root = {"HKCU": winreg.HKEY_CURRENT_USER, "HKLM": winreg.HKEY_LOCAL_MACHINE}[hive]
        # KEY_WOW64_64KEY: a 32-bit Python must see the same key Explorer (64-bit) reads.
        access = winreg.KEY_READ | getattr(winreg, "KEY_WOW64_64KEY", 0)
        out: list[RegistryValue] = []
        with winreg.OpenKey(root, key, 0, access) as handle:
            _, count, _ = winreg.QueryInfoKey(handle)
            for index in range(count):
                try:
                    name, data, kind = winreg.EnumValue(handle, index)
                except OSError:
                    break  # the key changed while we read it
                kind_name = _KIND_NAMES.get(kind, f"type {kind}")
                # EnumValue returns REG_EXPAND_SZ unexpanded, which is what we want to show.
                text = data if kind_name in STRING_KINDS and isinstance(data, str) else None
                out.append(RegistryValue(str(name), text, kind_name))
        return out


class FakeRegistry:
    """An in-memory registry for tests.

    ``FakeRegistry(user={"NAME": "value"}, machine={"NAME": ("%X%\\\\y", "REG_EXPAND_SZ")})``;
    ``denied`` lists hives whose key cannot be opened; ``None`` for a hive means the key does not exist.
    """

    def __init__(
        self,
        user: Mapping[str, str | tuple[str | None, str]] | None = None,
        machine: Mapping[str, str | tuple[str | None, str]] | None = None,
        *,
        denied: frozenset[str] = frozenset(),
        other: Mapping[tuple[str, str], Mapping[str, str | tuple[str | None, str]]] | None = None,
    ) -> None:
        self.keys = {USER_KEY: user, MACHINE_KEY: machine, **(other or {})}
        self.denied = denied
        self.opened: list[tuple[str, str]] = []

    def values(self, hive: str, key: str) -> list[RegistryValue]:
        self.opened.append((hive, key))
        if hive in self.denied:
            raise PermissionError(5, "Access is denied")
        found = self.keys.get((hive, key))
        if found is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        out = []
        for name, spec in found.items():
            data, kind = (spec, "REG_SZ") if isinstance(spec, str) else spec
            out.append(RegistryValue(name, data if kind in STRING_KINDS else None, kind))
        return out


def documents_folder(reader: RegistryReader, env: Mapping[str, str]) -> Path | None:
    """The user's Documents folder as Windows resolves it (``[Environment]::GetFolderPath('MyDocuments')``), or None."""
    try:
        values = reader.values(*SHELL_FOLDERS_KEY)
    except (OSError, ImportError):
        return None  # no such key, denied, or no registry at all: the usual places still count
    for v in values:
        if v.name.lower() == "personal" and v.data:
            return Path(expand(v.data, env)) if v.kind == "REG_EXPAND_SZ" else Path(v.data)
    return None


def expand(text: str, env: Mapping[str, str]) -> str:
    """``%NAME%`` references as Windows expands them: names without regard to case; unknown ones stay as they are."""
    folded = {k.upper(): v for k, v in env.items()}
    parts = text.split("%")
    out = [parts[0]]
    i = 1
    while i < len(parts):
        name = parts[i]
        if i + 1 < len(parts) and name and name.upper() in folded:
            out.append(folded[name.upper()] + parts[i + 1])
            i += 2
        else:
            out.append("%" + name)
            i += 1
    return "".join(out)


def pseudo_path(hive: str, key: str) -> Path:
    """``HKCU/Environment``: where a registry setting is, in the shape of a path (there is no file)."""
    return Path(hive, *key.split("\\"))


class RegistrySource:
    """``HKLM\\…\\Session Manager\\Environment`` then ``HKCU\\Environment``: the user value wins."""

    name = "registry"

    def __init__(self, reader: RegistryReader | None = None) -> None:
        self.reader = reader

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        if not host.is_windows:
            return OriginScan(self.name)
        reader = self.reader
        if reader is None:
            if host.root != Path("/"):
                note = ScanNote(
                    Path("HKCU/Environment"), "not-followed", "the registry of an image (--root) is not read; only a live Windows"
                )
                return OriginScan(self.name, (), (note,))
            reader = WinregReader()
        wanted = {n.upper(): n for n in names}
        notes: list[ScanNote] = []
        settings: list[Setting] = []
        files: list[Path] = []
        for hive, key in (MACHINE_KEY, USER_KEY):
            where = pseudo_path(hive, key)
            shown_key = f"{hive}\\{key}"
            try:
                values = reader.values(hive, key)
            except FileNotFoundError:
                continue
            except PermissionError:
                notes.append(ScanNote(where, "unreadable", f"{shown_key} cannot be read (access denied), so it was not checked"))
                continue
            except OSError as exc:
                notes.append(ScanNote(where, "unreadable", f"{shown_key} cannot be read ({exc.strerror or type(exc).__name__})"))
                continue
            files.append(where)
            for v in values:
                var = wanted.get(v.name.upper())
                if var is None:
                    continue
                if v.data is None:
                    notes.append(
                        ScanNote(where, "ignored", f"{shown_key} has {v.name} as {v.kind}, which Windows does not put in the environment")
                    )
                    continue
                expands = v.kind == "REG_EXPAND_SZ" and "%" in v.data
                how = (
                    f"remove with: [Environment]::SetEnvironmentVariable('{var}', $null, 'User')"
                    if hive == "HKCU"
                    else f"remove (as administrator) with: [Environment]::SetEnvironmentVariable('{var}', $null, 'Machine')"
                )
                settings.append(
                    Setting(
                        var=var,
                        action=EXPORT,
                        exported=True,
                        value=None if expands else Secret(v.data),
                        path=where,
                        line=0,
                        text=f"{shown_key}: {v.name} = <redacted> ({v.kind}; {how})",
                        family="registry",
                        # Not a file: a fixer must use the registry API, not a text edit.
                        editable=False,
                        blocker="registry" if hive == "HKCU" else "registry-machine",
                    )
                )
        if not files:
            return OriginScan(self.name, (), tuple(notes))
        return OriginScan(self.name, (Trail(WINDOWS, tuple(settings), tuple(files)),), tuple(notes))
