"""PowerShell profiles: ``$env:NAME = …``, ``Set-Item env:NAME``, ``[Environment]::SetEnvironmentVariable``.

PowerShell runs up to four profiles at start-up, in this order (about_Profiles):
AllUsersAllHosts (``$PSHOME/profile.ps1``), AllUsersCurrentHost
(``$PSHOME/Microsoft.PowerShell_profile.ps1``), CurrentUserAllHosts and
CurrentUserCurrentHost (the same two names in the user's profile folder).
PowerShell 7 keeps the user's in ``Documents\\PowerShell`` on Windows and in
``~/.config/powershell`` elsewhere; Windows PowerShell 5.1 in
``Documents\\WindowsPowerShell`` (a separate program with its own trail).
Documents may be moved (OneDrive, a policy): the real place is Explorer's
"Personal" user shell folder in the registry, which PowerShell itself asks
for; the usual places are looked at too.

Profiles may be UTF-8 (with or without a byte-order mark) or UTF-16 with a
byte-order mark (what Windows PowerShell 5.1 writes with ``Out-File``), with
CRLF line ends.

``[Environment]::SetEnvironmentVariable(name, value, 'User'|'Machine')`` does
not change the running shell: it writes the registry (HKCU\\Environment or
HKLM\\…\\Session Manager\\Environment) and broadcasts the change, so it is
listed under the context of processes started from Explorer, and it runs
again every time the profile does: deleting the registry value alone does
not help.  On Linux and macOS .NET ignores those two targets.

Environment variable names are case-insensitive on Windows only.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.collect.origins._textfile import LazyRegex, TextFile, read_text, under_home, xdg_config_home
from authdoctor.collect.origins.contexts import WINDOWS
from authdoctor.collect.origins.model import EXPORT, UNSET, OriginScan, ScanNote, Setting, Trail
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from authdoctor.collect.origins.registry import RegistryReader
    from authdoctor.host import Host

PWSH = "PowerShell"
WINDOWS_POWERSHELL = "Windows PowerShell 5.1"
MAX_SOURCE_DEPTH = 8

_PROFILE_NAMES = ("profile.ps1", "Microsoft.PowerShell_profile.ps1")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ENV_ASSIGN = LazyRegex(rf"^\$(?:env:({_NAME})|\{{env:({_NAME})\}})\s*(\+?=)(?!=)\s*(.*)$", re.IGNORECASE | re.DOTALL)
_ITEM_CMD = LazyRegex(r"^(set-item|si|new-item|ni|remove-item|ri|rm|del|erase|rd|rmdir)(?=\s|$)", re.IGNORECASE)
_SETENV = LazyRegex(r"^\[(?:system\.)?environment\]::setenvironmentvariable\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_ENV_PATH = LazyRegex(rf"^env:[\\/]?({_NAME})$", re.IGNORECASE)
_TARGET = LazyRegex(r"^(?:\[(?:system\.)?environmentvariabletarget\]::)?(process|user|machine)$", re.IGNORECASE)
_DOT_SOURCE = LazyRegex(r"^\.\s+(.+)$", re.DOTALL)
_ARG = LazyRegex(r"'(?:[^']|'')*'|\"(?:[^\"`]|`.|\"\")*\"|[^\s'\"]+", re.DOTALL)


# --- lexing ---------------------------------------------------------------------------------------


class _Statement(NamedTuple):
    start: int
    end: int
    conditional: bool


def _skip_single(text: str, i: int) -> int:
    n = len(text)
    i += 1
    while i < n:
        if text[i] == "'":
            if text.startswith("''", i):
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _skip_double(text: str, i: int) -> int:
    n = len(text)
    i += 1
    while i < n:
        c = text[i]
        if c == "`":
            i += 2
            continue
        if c == '"':
            if text.startswith('""', i):
                i += 2
                continue
            return i + 1
        if c == "$" and text.startswith("(", i + 1):
            i = _skip_parens(text, i + 1)
            continue
        i += 1
    return n


def _skip_parens(text: str, i: int) -> int:
    depth = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == "'":
            i = _skip_single(text, i)
            continue
        elif c == '"':
            i = _skip_double(text, i)
            continue
        elif c == "`":
            i += 2
            continue
        i += 1
    return n


def _here_string_end(text: str, i: int, quote: str) -> int:
    """``text[i:]`` starts with ``@'`` or ``@"``; the index after the closing ``'@`` / ``"@`` at a line start."""
    m = re.compile(rf"\r?\n[ \t]*{re.escape(quote)}@").search(text, i + 2)
    return len(text) if m is None else m.end()


def statements(text: str) -> list[_Statement]:
    """Split a script into simple statements, skipping comments, strings and here-strings.

    Statements end at a newline, ``;``, ``{``, ``}``, ``&&`` or ``||`` outside
    strings and parentheses; a backtick at the end of a line continues it.
    Whatever sits inside braces (``if``, ``function``, a script block) is
    conditional, except ``try``/``finally`` blocks and ``& { … }``.
    """
    out: list[_Statement] = []
    n = len(text)
    i = 0
    start = end = -1  # the statement being read: first and after-last significant character
    paren = 0
    blocks: list[bool] = []  # per open brace: is what is inside conditional?
    chained = False

    def close(next_chained: bool = False) -> None:
        nonlocal start, end, chained
        if start >= 0:
            out.append(_Statement(start, end, any(blocks) or chained))
        start = end = -1
        chained = next_chained

    while i < n:
        c = text[i]
        if c == "<" and text.startswith("<#", i):
            j = text.find("#>", i + 2)
            i = n if j == -1 else j + 2
            continue
        if c == "#" and (start < 0 or text[i - 1] in " \t;|"):
            j = text.find("\n", i)
            i = n if j == -1 else j
            continue
        if c == "`" and (text.startswith("\n", i + 1) or text.startswith("\r\n", i + 1)):
            i += 2 if text[i + 1] == "\n" else 3
            continue
        if c in " \t\r":
            i += 1
            continue
        if paren == 0 and (c in "\n;{}" or text.startswith(("&&", "||"), i)):
            if c == "{":
                head = text[start:end].strip().lower() if start >= 0 else ""
                first = head.split(None, 1)[0] if head else ""
                close()
                blocks.append(first not in ("try", "finally", "&", "."))
            elif c == "}":
                close()
                if blocks:
                    blocks.pop()
            elif c in "\n;":
                close()
            else:
                close(next_chained=True)
                i += 1
            i += 1
            continue
        if start < 0:
            start = i
        if c == "@" and i + 1 < n and text[i + 1] in "'\"":
            i = _here_string_end(text, i, text[i + 1])
        elif c == "'":
            i = _skip_single(text, i)
        elif c == '"':
            i = _skip_double(text, i)
        elif c == "`":
            i += 2
        elif c == "(":
            paren += 1
            i += 1
        elif c == ")":
            paren = max(0, paren - 1)
            i += 1
        else:
            i += 1
        end = min(i, n)
    close()
    return out


# --- values -----------------------------------------------------------------------------------------

_BACKTICK = {"0": "\0", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def literal_value(expr: str) -> str | None:
    """The value of a constant expression (a quoted string, a bare word, a number); None when computed."""
    expr = expr.strip()
    if not expr:
        return None
    if len(expr) >= 2 and expr[0] == "'" and expr[-1] == "'" and _skip_single(expr, 0) == len(expr):
        return expr[1:-1].replace("''", "'")
    if len(expr) >= 2 and expr[0] == '"' and expr[-1] == '"' and _skip_double(expr, 0) == len(expr):
        body = expr[1:-1]
        if "$" in body:
            return None
        out: list[str] = []
        i = 0
        while i < len(body):
            c = body[i]
            if c == "`" and i + 1 < len(body):
                out.append(_BACKTICK.get(body[i + 1], body[i + 1]))
                i += 2
            elif c == '"' and body.startswith('""', i):
                out.append('"')
                i += 2
            else:
                out.append(c)
                i += 1
        return "".join(out)
    if re.fullmatch(r"-?\d+(\.\d+)?", expr):
        return expr
    return None


def _is_null(expr: str) -> bool:
    return expr.strip().lower() in ("$null", "''", '""', "[nullstring]::value")


def _split_args(text: str) -> list[str]:
    return _ARG().findall(text)


def _split_commas(text: str) -> list[str]:
    """Top-level comma-separated arguments of a method call."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if c == "'":
            i = _skip_single(text, i)
            continue
        if c == '"':
            i = _skip_double(text, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


# --- recognising statements ---------------------------------------------------------------------


class _Found(NamedTuple):
    name: str  # as written
    action: str
    value: Secret | None
    text: str
    registry: str | None = None  # "User" | "Machine" for SetEnvironmentVariable with that target


def recognise(stmt: str) -> list[_Found]:
    """What a single statement does to environment variables (any name)."""
    m = _ENV_ASSIGN().match(stmt)
    if m:
        name = m.group(1) or m.group(2)
        op, expr = m.group(3), m.group(4).strip()
        if op == "=" and _is_null(expr):
            return [_Found(name, UNSET, None, f"$env:{name} = {expr.strip()}")]
        value = literal_value(expr) if op == "=" else None
        return [_Found(name, EXPORT, Secret(value) if value is not None else None, f"$env:{name} {op} <redacted>")]
    m = _SETENV().match(stmt)
    if m:
        return _set_environment_variable(m.group(1))
    m = _ITEM_CMD().match(stmt)
    if m:
        return _item_command(m.group(1), _split_args(stmt[m.end() :]))
    return []


def _set_environment_variable(arglist: str) -> list[_Found]:
    args = _split_commas(arglist)
    if len(args) < 2:
        return []
    name = literal_value(args[0])
    if name is None or not re.fullmatch(_NAME, name):
        return []
    target = "Process"
    if len(args) >= 3:
        t = _TARGET().match(literal_value(args[2]) or args[2])
        if not t:
            return []
        target = t.group(1).capitalize()
    registry = None if target == "Process" else target
    where = f", '{target}'" if len(args) >= 3 else ""
    if _is_null(args[1]):
        return [_Found(name, UNSET, None, f"[Environment]::SetEnvironmentVariable('{name}', $null{where})", registry)]
    value = literal_value(args[1])
    shown = f"[Environment]::SetEnvironmentVariable('{name}', <redacted>{where})"
    return [_Found(name, EXPORT, Secret(value) if value is not None else None, shown, registry)]


def _item_command(cmd: str, args: list[str]) -> list[_Found]:
    positional: list[str] = []
    named: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) > 1 and not a[1].isdigit():
            key = a[1:].rstrip(":").lower()
            if i + 1 < len(args) and not args[i + 1].startswith("-"):
                named[key] = args[i + 1]
                i += 2
            else:
                named[key] = ""
                i += 1
            continue
        positional.append(a)
        i += 1
    path = named.get("path") or named.get("literalpath")
    if path is None:
        if not positional:
            return []
        path, positional = positional[0], positional[1:]
    path_value = literal_value(path) if path[:1] in "'\"" else path
    if path_value is None:
        return []
    name_arg = named.get("name")
    if name_arg is not None and path_value.lower().rstrip("\\/") == "env:":
        name = literal_value(name_arg) if name_arg[:1] in "'\"" else name_arg
        if name is None:
            return []
    else:
        pm = _ENV_PATH().match(path_value)
        if not pm:
            return []
        name = pm.group(1)
    verb = cmd.lower()
    if verb in ("remove-item", "ri", "rm", "del", "erase", "rd", "rmdir"):
        return [_Found(name, UNSET, None, f"Remove-Item Env:{name}")]
    expr = named.get("value")
    if expr is None:
        expr = positional[0] if positional else None
    value = None if expr is None else literal_value(expr) if expr[:1] in "'\"" or expr[:1].isdigit() else expr
    if expr is not None and expr.startswith(("$", "(", "@", "[")):
        value = None
    title = "New-Item" if verb in ("new-item", "ni") else "Set-Item"
    return [_Found(name, EXPORT, Secret(value) if value is not None else None, f"{title} env:{name} <redacted>")]


# --- the source -------------------------------------------------------------------------------------


class _Profile(NamedTuple):
    context: str
    paths: tuple[Path, ...]  # in the order PowerShell runs them


def profiles(host: Host, reader: RegistryReader | None = None) -> list[_Profile]:
    if host.is_windows:
        docs = [host.home / "Documents"]
        onedrive = host.env.get("OneDrive") or host.env.get("OneDriveConsumer")
        if onedrive:
            docs.append(Path(onedrive) / "Documents")
        if reader is not None:
            from authdoctor.collect.origins.registry import documents_folder

            real = documents_folder(reader, host.env)
            if real is not None:
                docs = [real, *(d for d in docs if d != real)]
        program_files = Path(host.env.get("ProgramFiles") or "C:\\Program Files")
        system_root = Path(host.env.get("SystemRoot") or "C:\\Windows")
        out = []
        for context, pshome, folder in (
            (PWSH, program_files / "PowerShell" / "7", "PowerShell"),
            (WINDOWS_POWERSHELL, system_root / "System32" / "WindowsPowerShell" / "v1.0", "WindowsPowerShell"),
        ):
            paths = [pshome / n for n in _PROFILE_NAMES]
            for d in docs:
                paths += [d / folder / n for n in _PROFILE_NAMES]
            out.append(_Profile(context, tuple(paths)))
        return out
    unix_home = Path("/usr/local/microsoft/powershell/7" if host.platform == "darwin" else "/opt/microsoft/powershell/7")
    user = xdg_config_home(host) / "powershell"
    found = [host.path(unix_home / n) for n in _PROFILE_NAMES] + [user / n for n in _PROFILE_NAMES]
    return [_Profile(PWSH, tuple(found))]


class _Scan:
    def __init__(self, host: Host, names: frozenset[str], notes: list[ScanNote]) -> None:
        self.host = host
        self.notes = notes
        # Windows compares names without regard to case; so must we, there.
        self.fold = host.is_windows
        self.names = {(n.upper() if self.fold else n): n for n in names}
        self.shell: list[Setting] = []
        self.registry: list[Setting] = []
        self.files: list[Path] = []
        self.stack: list[Path] = []
        self.shared: set[int] = set()  # lines of the current file holding more than one statement

    def watched(self, name: str) -> str | None:
        return self.names.get(name.upper() if self.fold else name)

    def run(self, path: Path, *, chain: tuple[Path, ...] = (), conditional: bool = False, missing: str | None = None) -> None:
        if path in self.stack or len(self.stack) >= MAX_SOURCE_DEPTH:
            self.notes.append(ScanNote(path, "cycle", f"{path} is dot-sourced again while it is being read; not followed"))
            return
        tf = read_text(self.host, path, self.notes, missing=missing, utf16=True)
        if tf is None:
            return
        self.files.append(path)
        self.stack.append(path)
        outer_shared = self.shared
        try:
            found = statements(tf.text)
            per_line: dict[int, int] = {}
            for st in found:
                for ln in {tf.line_of(st.start), tf.line_of(max(st.start, st.end - 1))}:
                    per_line[ln] = per_line.get(ln, 0) + 1
            self.shared = {ln for ln, count in per_line.items() if count > 1}
            for st in found:
                self.statement(tf, st, chain, conditional)
        finally:
            self.stack.pop()
            self.shared = outer_shared

    def statement(self, tf: TextFile, st: _Statement, chain: tuple[Path, ...], conditional: bool) -> None:
        text = tf.text[st.start : st.end].strip()
        cond = conditional or st.conditional
        m = _DOT_SOURCE().match(text)
        if m:
            self.dot_source(tf, st, m.group(1).strip(), chain, cond)
            return
        for found in recognise(text):
            var = self.watched(found.name)
            if var is None:
                continue
            first, last = tf.line_of(st.start), tf.line_of(max(st.start, st.end - 1))
            blocker = None
            if first != last:
                blocker = "multi-line"
            elif first in self.shared:
                blocker = "shared-line"
            elif not under_home(self.host, tf.path):
                blocker = "system-file"
            shown = found.text
            if found.registry and not self.host.is_windows:
                self.notes.append(
                    ScanNote(
                        tf.path,
                        "ignored",
                        f"{tf.path}:{first} sets {var} for the {found.registry} target, which .NET ignores outside Windows",
                    )
                )
                continue
            if found.registry:
                hive = "HKCU\\Environment" if found.registry == "User" else "HKLM\\…\\Session Manager\\Environment"
                shown += f"  (writes {hive} in the registry every time this profile runs)"
            setting = Setting(
                var=var,
                action=found.action,
                exported=found.action != UNSET,
                value=found.value,
                path=tf.path,
                line=first,
                text=shown,
                family="powershell",
                span=tf.span(st.start, st.end),
                chain=chain,
                conditional=cond,
                editable=blocker is None,
                blocker=blocker,
            )
            (self.registry if found.registry else self.shell).append(setting)

    def dot_source(self, tf: TextFile, st: _Statement, arg: str, chain: tuple[Path, ...], conditional: bool) -> None:
        target = self.resolve(arg, tf.path)
        where = f"{tf.path}:{tf.line_of(st.start)}"
        if target is None:
            self.notes.append(
                ScanNote(tf.path, "not-followed", f"{where} dot-sources a script whose path is computed; it was not followed")
            )
            return
        self.run(target, chain=(*chain, tf.path), conditional=conditional, missing=f"{where} dot-sources {target}, which does not exist")

    def resolve(self, arg: str, here: Path) -> Path | None:
        raw = literal_value(arg) if arg[:1] in "'\"" else arg
        if raw is None:
            raw = arg.strip('"')
        home = str(self.host.home)
        for var, value in (
            ("$HOME", home),
            ("$env:USERPROFILE", home),
            ("$env:HOME", home),
            ("$PSScriptRoot", str(here.parent)),
            ("~", home),
        ):
            if raw.lower().startswith(var.lower()):
                raw = value + raw[len(var) :]
                break
        if "$" in raw or "(" in raw or not raw:
            return None
        if not self.host.is_windows:
            raw = raw.replace("\\", "/")
        p = Path(raw)
        # A relative path is relative to the current location, which is the home folder at start-up.
        return self.host.path(p) if p.is_absolute() else self.host.home / p


class PowerShellSource:
    """The four profiles per PowerShell program, in the order PowerShell runs them.

    ``reader`` is the registry (where Windows keeps the Documents folder); by
    default the real one on a live Windows, none elsewhere.
    """

    name = "powershell"

    def __init__(self, reader: RegistryReader | None = None) -> None:
        self.reader = reader

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        notes: list[ScanNote] = []
        trails: list[Trail] = []
        explorer: list[Setting] = []
        explorer_files: list[Path] = []
        reader = self.reader
        # The real registry only on a live Windows (a test's Windows host runs on Linux).
        if reader is None and host.is_windows and host.root == Path("/") and sys.platform == "win32":
            from authdoctor.collect.origins.registry import WinregReader

            reader = WinregReader()
        for profile in profiles(host, reader):
            scan = _Scan(host, names, notes)
            for path in profile.paths:
                scan.run(path)
            if scan.files:
                trails.append(Trail(profile.context, tuple(scan.shell), tuple(scan.files)))
            explorer += scan.registry
            explorer_files += [s.path for s in scan.registry]
        if explorer:
            trails.append(Trail(WINDOWS, tuple(explorer), tuple(dict.fromkeys(explorer_files))))
        return OriginScan(self.name, tuple(trails), tuple(notes))
