"""VS Code and Cursor: ``terminal.integrated.env.<platform>`` in user and workspace settings.

Every terminal the editor opens gets these variables on top of the editor's
own environment (the key for the current platform only: ``linux``, ``osx``
or ``windows``); a ``null`` value removes the variable.  Workspace settings
(``.vscode/settings.json`` of the opened folder) override user settings
key by key.  Which folder is open is not known here, so every
``.vscode/settings.json`` from the working directory up to the root is
listed, outermost first, and marked conditional.

Settings files are JSON with comments and trailing commas (JSONC); a small
tolerant parser below reads them, records where each key is, and turns a
broken file into a note instead of an error.

Each profile (``User/profiles/<id>/settings.json``) has settings of its own
that replace the default profile's in the windows that use it; which profile
a window uses is not known here, so each is its own trail, named after the
profile (``User/globalStorage/storage.json`` holds the names).

The editors also inherit the login shell's environment (on macOS they run
``$SHELL -ilc`` at start-up), which the shell sources already cover.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from authdoctor.collect.origins._textfile import TextFile, read_text
from authdoctor.collect.origins.model import EXPORT, UNSET, OriginScan, ScanNote, Setting, Trail
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from authdoctor.host import Host

# (context, folder name under the platform's config folder)
EDITORS = (
    ("VS Code terminals", "Code"),
    ("VS Code Insiders terminals", "Code - Insiders"),
    ("VSCodium terminals", "VSCodium"),
    ("Cursor terminals", "Cursor"),
)
_ALWAYS = ("VS Code terminals", "Cursor terminals")  # listed for workspace settings even when not installed
MAX_UPWARD = 64


# --- JSONC ------------------------------------------------------------------------------------------------


class JsoncError(Exception):
    def __init__(self, index: int, why: str) -> None:
        super().__init__(why)
        self.index = index
        self.why = why


class Member(NamedTuple):
    key: str
    key_start: int  # character index of the key's opening quote
    end: int  # character index just after the value
    value: Any  # str | float | int | bool | None | list[Any] | JsonObject


class JsonObject(NamedTuple):
    members: tuple[Member, ...]

    def get(self, key: str) -> Member | None:
        """The last member named ``key`` (a later duplicate wins, as in VS Code)."""
        found = None
        for m in self.members:
            if m.key == key:
                found = m
        return found


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def fail(self, why: str) -> JsoncError:
        return JsoncError(self.i, why)

    def ws(self) -> None:
        text, n = self.text, len(self.text)
        while self.i < n:
            c = text[self.i]
            if c in " \t\r\n\ufeff":
                self.i += 1
            elif text.startswith("//", self.i):
                j = text.find("\n", self.i)
                self.i = n if j == -1 else j
            elif text.startswith("/*", self.i):
                j = text.find("*/", self.i + 2)
                if j == -1:
                    raise self.fail("a /* comment is never closed")
                self.i = j + 2
            else:
                return

    def value(self) -> Any:
        self.ws()
        if self.i >= len(self.text):
            raise self.fail("the file ends where a value should be")
        c = self.text[self.i]
        if c == "{":
            return self.obj()
        if c == "[":
            return self.array()
        if c == '"':
            return self.string()
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.i):
                self.i += len(word)
                return val
        return self.number()

    def obj(self) -> JsonObject:
        self.i += 1
        members: list[Member] = []
        while True:
            self.ws()
            if self.i >= len(self.text):
                raise self.fail("an object is never closed")
            if self.text[self.i] == "}":
                self.i += 1
                return JsonObject(tuple(members))
            if self.text[self.i] != '"':
                raise self.fail("a key must be a string in double quotes")
            start = self.i
            key = self.string()
            self.ws()
            if self.i >= len(self.text) or self.text[self.i] != ":":
                raise self.fail("a ':' is missing after a key")
            self.i += 1
            value = self.value()
            members.append(Member(key, start, self.i, value))
            self.ws()
            if self.i < len(self.text) and self.text[self.i] == ",":
                self.i += 1  # a trailing comma before "}" is fine in JSONC
            elif self.i < len(self.text) and self.text[self.i] != "}":
                raise self.fail("a ',' or '}' is missing")

    def array(self) -> list[Any]:
        self.i += 1
        items: list[Any] = []
        while True:
            self.ws()
            if self.i >= len(self.text):
                raise self.fail("an array is never closed")
            if self.text[self.i] == "]":
                self.i += 1
                return items
            items.append(self.value())
            self.ws()
            if self.i < len(self.text) and self.text[self.i] == ",":
                self.i += 1
            elif self.i < len(self.text) and self.text[self.i] != "]":
                raise self.fail("a ',' or ']' is missing")

    def string(self) -> str:
        text, n = self.text, len(self.text)
        self.i += 1
        out: list[str] = []
        while self.i < n:
            c = text[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                e = text[self.i + 1 : self.i + 2]
                if e == "u":
                    digits = text[self.i + 2 : self.i + 6]
                    if len(digits) != 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                        raise self.fail("a \\u escape needs four hex digits")
                    code = int(digits, 16)
                    self.i += 6
                    low = text[self.i + 2 : self.i + 6] if text.startswith("\\u", self.i) else ""
                    if 0xD800 <= code < 0xDC00 and len(low) == 4 and all(d in "0123456789abcdefABCDEF" for d in low):
                        second = int(low, 16)
                        if 0xDC00 <= second < 0xE000:
                            # A UTF-16 surrogate pair written as two escapes is one character.
                            code = 0x10000 + ((code - 0xD800) << 10) + (second - 0xDC00)
                            self.i += 6
                    out.append(chr(code))
                    continue
                if e not in _ESCAPES:
                    raise self.fail("an unknown escape in a string")
                out.append(_ESCAPES[e])
                self.i += 2
                continue
            if c == "\n":
                raise self.fail("a string is never closed on its line")
            out.append(c)
            self.i += 1
        raise self.fail("a string is never closed")

    def number(self) -> float | int:
        text, start = self.text, self.i
        while self.i < len(text) and text[self.i] in "+-0123456789.eE":
            self.i += 1
        raw = text[start : self.i]
        try:
            return int(raw) if raw.lstrip("-").isdigit() else float(raw)
        except ValueError:
            self.i = start
            raise self.fail("unexpected text") from None


def parse_jsonc(text: str) -> Any:
    """Parse JSON with ``//`` and ``/* */`` comments and trailing commas.  Raises JsoncError."""
    p = _Parser(text)
    value = p.value()
    p.ws()
    if p.i < len(text):
        raise p.fail("there is text after the end of the settings")
    return value


# --- the source ---------------------------------------------------------------------------------------------


def platform_key(platform: str) -> str:
    if platform.startswith("win"):
        return "windows"
    return "osx" if platform == "darwin" else "linux"


def user_settings_dirs(host: Host) -> Path:
    """Where the editors keep per-user data: ``~/.config``, ``~/Library/Application Support`` or ``%APPDATA%``."""
    if host.is_windows:
        appdata = host.env.get("APPDATA")
        return Path(appdata) if appdata else host.home / "AppData" / "Roaming"
    if host.platform == "darwin":
        return host.home / "Library" / "Application Support"
    raw = host.env.get("XDG_CONFIG_HOME")
    return host.path(raw) if raw and Path(raw).is_absolute() else host.home / ".config"


class EditorSource:
    """User and workspace ``settings.json`` of VS Code, its variants and Cursor."""

    name = "editors"

    def __init__(self, cwd: Path | None = None) -> None:
        self.cwd = cwd

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        notes: list[ScanNote] = []
        key = f"terminal.integrated.env.{platform_key(host.platform)}"
        base = user_settings_dirs(host)
        workspace: list[tuple[TextFile, JsonObject]] = []
        for path in self._workspace_files(host):
            parsed = _load(host, path, notes)
            if parsed is not None:
                workspace.append(parsed)
        trails: list[Trail] = []
        for context, folder in EDITORS:
            user_path = base / folder / "User" / "settings.json"
            user = _load(host, user_path, notes)
            if user is None and not (workspace and context in _ALWAYS):
                continue
            settings: list[Setting] = []
            files: list[Path] = []
            for i, (tf, root) in enumerate(([user] if user else []) + workspace):
                files.append(tf.path)
                is_workspace = user is None or i > 0
                settings += _settings(tf, root, key, names, conditional=is_workspace)
            trails.append(Trail(context, tuple(settings), tuple(files)))
            trails += self._profiles(host, base / folder / "User", context, key, names, workspace, notes)
        return OriginScan(self.name, tuple(trails), tuple(notes))

    def _profiles(
        self,
        host: Host,
        user: Path,
        context: str,
        key: str,
        names: frozenset[str],
        workspace: list[tuple[TextFile, JsonObject]],
        notes: list[ScanNote],
    ) -> list[Trail]:
        try:
            folders = [p for p in host.list_dir(user / "profiles") if host.stat(p / "settings.json") is not None]
        except OSError:
            return []
        if not folders:
            return []
        labels = _profile_names(host, user / "globalStorage" / "storage.json")
        out = []
        for folder in folders:
            loaded = _load(host, folder / "settings.json", notes)
            if loaded is None:
                continue
            tf, root = loaded
            settings = _settings(tf, root, key, names, conditional=False)
            for wtf, wroot in workspace:
                settings += _settings(wtf, wroot, key, names, conditional=True)
            label = labels.get(folder.name, folder.name)
            out.append(Trail(f"{context} (profile {label})", tuple(settings), (tf.path, *(w.path for w, _ in workspace))))
        return out

    def _workspace_files(self, host: Host) -> list[Path]:
        if host.root != Path("/"):
            return []  # an image has no working directory of ours
        cwd = self.cwd if self.cwd is not None else Path.cwd()
        found: list[Path] = []
        here = cwd.absolute()
        for _ in range(MAX_UPWARD):
            candidate = here / ".vscode" / "settings.json"
            # The user settings folder is not a workspace, even when the home is an ancestor.
            if host.stat(candidate) is not None:
                found.append(candidate)
            if here.parent == here:
                break
            here = here.parent
        return list(reversed(found))


def _profile_names(host: Host, storage: Path) -> dict[str, str]:
    """Profile folder name -> the name a person gave it, from the editor's own storage (best effort)."""
    loaded = _load(host, storage, [])
    if loaded is None:
        return {}
    member = loaded[1].get("userDataProfiles")
    out: dict[str, str] = {}
    for item in member.value if member is not None and isinstance(member.value, list) else ():
        if isinstance(item, JsonObject):
            location, name = item.get("location"), item.get("name")
            if location is not None and name is not None and isinstance(location.value, str) and isinstance(name.value, str):
                # A name is shown in reports: keep it short and on one line.
                out[location.value] = " ".join(name.value.split())[:60]
    return out


def _load(host: Host, path: Path, notes: list[ScanNote]) -> tuple[TextFile, JsonObject] | None:
    tf = read_text(host, path, notes)
    if tf is None:
        return None
    try:
        root = parse_jsonc(tf.text)
    except JsoncError as exc:
        notes.append(ScanNote(path, "parse-error", f"{path}:{tf.line_of(exc.index)}: {exc.why}; the editor may ignore these settings"))
        return None
    except RecursionError:
        notes.append(ScanNote(path, "parse-error", f"{path} is nested too deeply to read"))
        return None
    if not isinstance(root, JsonObject):
        notes.append(ScanNote(path, "parse-error", f"{path} does not hold a settings object"))
        return None
    return tf, root


def _settings(tf: TextFile, root: JsonObject, key: str, names: frozenset[str], *, conditional: bool) -> list[Setting]:
    member = root.get(key)
    if member is None or not isinstance(member.value, JsonObject):
        return []
    out: list[Setting] = []
    for m in member.value.members:
        if m.key not in names:
            continue
        if m.value is None:
            action, value, shown = UNSET, None, "null"
        elif isinstance(m.value, str):
            # ${env:X}, ${workspaceFolder} … are substituted by the editor.
            action, value, shown = EXPORT, (None if "${" in m.value else Secret(m.value)), "<redacted>"
        elif isinstance(m.value, bool | int | float):
            action, value, shown = EXPORT, Secret(str(m.value).lower() if isinstance(m.value, bool) else str(m.value)), "<redacted>"
        else:
            continue
        first, last = tf.line_of(m.key_start), tf.line_of(max(m.key_start, m.end - 1))
        out.append(
            Setting(
                var=m.key,
                action=action,
                exported=action != UNSET,
                value=value,
                path=tf.path,
                line=first,
                text=f'"{key}": {{"{m.key}": {shown}}}',
                family="vscode",
                span=tf.span(m.key_start, m.end),
                conditional=conditional,
                # Removing a JSON member needs care with commas; a person (or a JSON-aware fixer) does it.
                editable=False,
                blocker="json-setting" if first == last else "multi-line",
            )
        )
    return out
