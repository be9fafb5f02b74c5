"""Session-wide files on Linux: PAM's ``pam_env`` and systemd's ``environment.d``.

pam_env (Linux-PAM ``modules/pam_env/pam_env.c``) runs when a session opens
(console, SSH, display manager) and reads, in this order:

1. ``/etc/security/pam_env.conf``: ``NAME [DEFAULT=value] [OVERRIDE=value]``;
2. ``/etc/environment`` (``readenv=1``, the default): ``KEY=VALUE`` lines;
3. ``~/.pam_environment``, only with ``user_readenv=1`` (off by default, and
   deprecated since Linux-PAM 1.5.0), in the pam_env.conf syntax.

Quirks kept on purpose, because they decide what the session really gets
(checked against the real ``pam_env.so`` of Linux-PAM 1.5.2, see
``tests/collect/origins/test_system.py``): everything from ``#`` on is a
comment, even inside quotes; a value's opening quote and a quote that is its
very last character are dropped, other quotes and trailing blanks stay;
``KEY`` alone unsets KEY; a trailing blank spoils a pam_env.conf line; and in
the pam_env.conf syntax a bare ``KEY=VALUE`` word is handed to ``pam_putenv``
as it is, so it sets KEY.

systemd's user manager builds the environment of user services (and, on
GNOME and KDE, of GUI apps and terminals started by them) from
``environment.d``: ``~/.config/environment.d``, ``/etc/environment.d``,
``/run/environment.d``, ``/usr/local/lib/environment.d`` and
``/usr/lib/environment.d``, all ``*.conf`` files sorted by file name across
folders (a name in a more important folder masks the same name elsewhere);
later files win.  ``/etc/environment`` usually takes part through the
``99-environment.conf`` symlink systemd ships.  The syntax is systemd's
environment-file one (quotes, backslash escapes, ``$VAR`` expansion; an
empty value is rejected), checked against systemd 252's generator.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.collect.origins._textfile import TextFile, is_regular, list_dir, read_text, under_home, xdg_config_home
from authdoctor.collect.origins.contexts import PAM, SYSTEMD_GUI
from authdoctor.collect.origins.model import EXPORT, UNSET, OriginScan, ScanNote, Setting, Trail
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from authdoctor.host import Host

ETC_ENVIRONMENT = Path("/etc/environment")
PAM_ENV_CONF = Path("/etc/security/pam_env.conf")
USER_PAM_ENV = ".pam_environment"
ENVIRONMENT_D_SYSTEM = (
    Path("/etc/environment.d"),
    Path("/run/environment.d"),
    Path("/usr/local/lib/environment.d"),
    Path("/usr/lib/environment.d"),
)


# --- pam_env ---------------------------------------------------------------------------------------


class _Line(NamedTuple):
    text: str
    first: int  # 1-based line number where it starts
    last: int
    start: int  # character indices of the logical line in the file
    end: int


def pam_lines(tf: TextFile) -> list[_Line]:
    """pam_env's line assembly (Linux-PAM 1.5 ``_assemble_line``, checked against 1.5.2).

    Blank and comment lines are skipped, ``#`` ends the line (even inside
    quotes), and a backslash at the end of a line (blanks after it allowed)
    is dropped and the next line appended as it is, leading blanks included.
    Leading blanks of the first line stay (the /etc/environment reader skips
    them, the pam_env.conf reader does not), and so do trailing blanks and the
    ``\\r`` of a CRLF file: they end up in values, as with the real pam_env.
    """
    out: list[_Line] = []
    parts: list[str] = []
    first = start = -1
    text = tf.text
    starts = tf.line_starts
    for number, line_start in enumerate(starts, 1):
        line_end = starts[number] if number < len(starts) else len(text)
        raw = text[line_start:line_end]
        if raw.endswith("\n"):
            raw = raw[:-1]
        body = raw.lstrip(" \t")
        if not body or body[0] == "#":
            continue
        if first < 0:
            first, start = number, line_start + len(raw) - len(body)
        cut = raw.find("#")
        if cut < 0:
            stripped = raw.rstrip(" \t")
            if stripped.endswith("\\"):
                parts.append(stripped[:-1])
                continue
        parts.append(raw if cut < 0 else raw[:cut])
        out.append(_Line("".join(parts), first, number, start, line_start + len(raw)))
        parts, first, start = [], -1, -1
    return out


def _strip_pam_quotes(value: str) -> str:
    """/etc/environment's quote handling, exactly as pam_env does it (see the module docstring)."""
    if not value or value[0] not in "\"'":
        return value
    out: list[str] = []
    for i in range(1, len(value)):
        c = value[i]
        if c not in "\"'" or i + 1 < len(value):
            out.append(c)
    return "".join(out)


def parse_etc_environment(tf: TextFile) -> list[tuple[_Line, str, str | None]]:
    """(line, name, value) per entry; value None means the line unsets the name."""
    out: list[tuple[_Line, str, str | None]] = []
    for line in pam_lines(tf):
        key = line.text.lstrip(" \t")
        if key.startswith("export "):
            key = key[7:]
        if not key or key[0] == "=":
            continue
        name, eq, value = key.partition("=")
        if not name.isascii() or not all(c.isalnum() or c == "_" for c in name):
            continue
        out.append((line, name, _strip_pam_quotes(value) if eq else None))
    return out


def parse_pam_env_conf(tf: TextFile) -> list[tuple[_Line, str, str | None, bool]]:
    """(line, name, value, computed) per entry of the pam_env.conf syntax; value None unsets."""
    out: list[tuple[_Line, str, str | None, bool]] = []
    for line in pam_lines(tf):
        text = line.text
        cut = next((i for i, c in enumerate(text) if c in " \t"), len(text))
        name, rest = text[:cut], text[cut:]
        if not name:
            continue  # an indented line has an empty name for pam_env: nothing is set
        if "=" in name:
            # Not the documented syntax, but pam_env hands "KEY=VALUE" to pam_putenv as
            # a name to delete, which sets it: lines copied from /etc/environment work.
            if not rest:
                key, _, value = name.partition("=")
                out.append((line, key, value, False))
            continue
        options = _pam_options(rest)
        if options is None:
            continue  # pam_env logs "Unrecognized Option" and skips the line
        (default, raw_default), (override, raw_override) = options
        computed = any(r is not None and re.search(r"(?<!\\)[$@]\{", r) for r in (raw_default, raw_override))
        if override:
            out.append((line, name, override, computed))
        elif default is not None:
            out.append((line, name, default, computed))
        else:
            out.append((line, name, None, False))
    return out


_Option = tuple[str | None, str | None]  # (value after unescaping, as written)


def _pam_options(rest: str) -> tuple[_Option, _Option] | None:
    """DEFAULT= and OVERRIDE= of one pam_env.conf line (``_parse_line``); None for a line pam_env rejects.

    A value stays None when not given *or* given empty without quotes;
    ``""`` gives the empty string.  Every option must follow a blank, and a
    blank must be followed by an option: trailing blanks spoil the line.
    """
    values: dict[str, _Option] = {"DEFAULT=": (None, None), "OVERRIDE=": (None, None)}
    i = 0
    n = len(rest)
    while True:
        j = i
        while j < n and rest[j] in " \t":
            j += 1
        if j == i:
            break  # no blank: pam_env stops reading options here
        i = j
        which = next((k for k in values if rest.startswith(k, i)), None)
        if which is None:
            return None
        i += len(which)
        if i < n and rest[i] == '"':
            close = rest.find('"', i + 1)
            if close < 0 or (close + 1 < n and rest[close + 1] not in " \t\n"):
                return None
            raw = rest[i + 1 : close]
            values[which] = (_pam_unescape(raw), raw)
            i = close + 1
        else:
            j = i
            while j < n and rest[j] not in " \t\n":
                j += 1
            if j > i:
                values[which] = (_pam_unescape(rest[i:j]), rest[i:j])
            i = j
    return values["DEFAULT="], values["OVERRIDE="]


def _pam_unescape(value: str) -> str:
    """``_expand_arg``'s escapes: a backslash quotes ``$``, ``@`` and itself, and is dropped before anything else."""
    if "\\" not in value:
        return value
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "\\":
            if i + 1 < len(value) and value[i + 1] in "$@\\":
                out.append(value[i + 1])
                i += 2
            else:
                i += 1
            continue
        out.append(value[i])
        i += 1
    return "".join(out)


# --- systemd environment files ----------------------------------------------------------------------


def parse_env_file(tf: TextFile) -> list[tuple[int, int, int, str, str, bool]]:
    """systemd's ``parse_env_file`` state machine: (first line, start, end, key, value, computed)."""
    text = tf.text
    out: list[tuple[int, int, int, str, str, bool]] = []
    n = len(text)
    i = 0
    state = "pre_key"
    key: list[str] = []
    value: list[str] = []
    start = 0
    trailing_ws = 0  # unescaped whitespace at the end of an unquoted value, dropped at the end

    def push(end: int) -> None:
        k = "".join(key).rstrip(" \t\r")
        v = "".join(value)
        if trailing_ws:
            v = v[:-trailing_ws]
        # systemd 252 rejects an empty value ("invalid syntax"), so KEY= neither sets nor unsets.
        if k and v and _valid_env_name(k):
            out.append((tf.line_of(start), start, end, k, v, "$" in v))

    while i < n:
        c = text[i]
        if state == "pre_key":
            if c in "#;":
                state = "comment"
            elif c not in " \t\r\n":
                state, key, value, start, trailing_ws = "key", [c], [], i, 0
        elif state == "key":
            if c == "\n":
                state = "pre_key"  # a line without "=" is ignored
            elif c == "=":
                state = "pre_value"
            else:
                key.append(c)
        elif state == "pre_value":
            if c == "\n":
                push(i)
                state = "pre_key"
            elif c == "'":
                state = "single"
            elif c == '"':
                state = "double"
            elif c == "\\":
                state = "value_escape"
            elif c not in " \t\r":
                value.append(c)
                state = "value"
        elif state == "value":
            if c == "\n":
                push(i)
                state = "pre_key"
            elif c == "\\":
                state = "value_escape"
                trailing_ws = 0
            else:
                value.append(c)
                trailing_ws = trailing_ws + 1 if c in " \t\r" else 0
        elif state == "value_escape":
            state = "value"
            if c != "\n":
                value.append(c)
        elif state == "single":
            if c == "'":
                state = "pre_value"
            else:
                value.append(c)
        elif state == "double":
            if c == '"':
                state = "pre_value"
            elif c == "\\":
                state = "double_escape"
            else:
                value.append(c)
        elif state == "double_escape":
            state = "double"
            if c in '"\\`$':
                value.append(c)
            elif c != "\n":
                value.append("\\" + c)
        elif state == "comment":
            if c == "\\":
                state = "comment_escape"
            elif c == "\n":
                state = "pre_key"
        elif state == "comment_escape":
            state = "comment"
        i += 1
    if state in ("pre_value", "value", "value_escape", "single", "double", "double_escape"):
        push(n)
    return out


def _valid_env_name(name: str) -> bool:
    return bool(name) and name.isascii() and not name[0].isdigit() and all(c.isalnum() or c == "_" for c in name)


# --- the source -----------------------------------------------------------------------------------------


class SystemEnvironmentSource:
    """PAM (``pam_env``) and systemd ``environment.d``: what a session has before any shell runs."""

    name = "system"

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        if host.is_windows or host.platform == "darwin":
            return OriginScan(self.name)
        notes: list[ScanNote] = []
        trails = []
        pam, pam_files = self._pam(host, names, notes)
        if pam_files:
            trails.append(Trail(PAM, tuple(pam), tuple(pam_files)))
        gui, gui_files = self._environment_d(host, names, notes)
        if gui_files:
            trails.append(Trail(SYSTEMD_GUI, tuple(gui), tuple(gui_files)))
        return OriginScan(self.name, tuple(trails), tuple(notes))

    # -- PAM --

    def _pam(self, host: Host, names: frozenset[str], notes: list[ScanNote]) -> tuple[list[Setting], list[Path]]:
        settings: list[Setting] = []
        files: list[Path] = []
        conf = read_text(host, host.path(PAM_ENV_CONF), notes)
        if conf is not None:
            files.append(conf.path)
            for line, name, value, computed in parse_pam_env_conf(conf):
                if name in names:
                    settings.append(_setting(host, conf, line, name, value, computed, _pam_conf_text(name, line.text)))
        env = read_text(host, host.path(ETC_ENVIRONMENT), notes)
        if env is not None:
            files.append(env.path)
            for line, name, value in parse_etc_environment(env):
                if name in names:
                    text = f"{name}=<redacted>" if value is not None else name
                    settings.append(_setting(host, env, line, name, value, False, text))
        user = read_text(host, host.home / USER_PAM_ENV, notes)
        if user is not None:
            files.append(user.path)
            found = False
            for line, name, value, computed in parse_pam_env_conf(user):
                if name in names:
                    found = True
                    text = _pam_conf_text(name, line.text) + "  (read only with pam_env user_readenv=1, deprecated since PAM 1.5)"
                    settings.append(_setting(host, user, line, name, value, computed, text, conditional=True))
            if found:
                notes.append(
                    ScanNote(
                        user.path,
                        "deprecated",
                        f"{user.path} is read only where pam_env runs with user_readenv=1 (off by default, deprecated since "
                        "Linux-PAM 1.5); it is listed because some systems still enable it",
                    )
                )
        return settings, files

    # -- systemd --

    def _environment_d(self, host: Host, names: frozenset[str], notes: list[ScanNote]) -> tuple[list[Setting], list[Path]]:
        dirs = [xdg_config_home(host) / "environment.d", *(host.path(d) for d in ENVIRONMENT_D_SYSTEM)]
        chosen: dict[str, Path] = {}
        for d in dirs:
            for p in list_dir(host, d, ".conf", notes):
                # The first (most important) folder holding a name wins it.
                chosen.setdefault(p.name, p)
        settings: list[Setting] = []
        files: list[Path] = []
        for base in sorted(chosen):
            path = chosen[base]
            if not is_regular(host, path):
                continue  # a symlink to /dev/null masks the file
            real = _follow(host, path)
            tf = read_text(host, real, notes)
            if tf is None:
                continue
            files.append(real)
            for first, start, end, key, value, computed in parse_env_file(tf):
                if key not in names:
                    continue
                last = tf.line_of(max(start, end - 1))
                blocker = "multi-line" if last != first else None if under_home(host, real) else "system-file"
                settings.append(
                    Setting(
                        var=key,
                        action=EXPORT,
                        exported=True,
                        value=None if computed else Secret(value),
                        path=real,
                        line=first,
                        text=f"{key}=<redacted>",
                        family="environment.d",
                        span=tf.span(start, end),
                        editable=blocker is None,
                        blocker=blocker,
                    )
                )
        return settings, files


def _follow(host: Host, path: Path) -> Path:
    """Where a symlinked file really lives (99-environment.conf -> /etc/environment), inside --root."""
    for _ in range(8):
        st = host.stat(path, follow=False)
        if st is None or not stat.S_ISLNK(st.st_mode):
            return path
        try:
            target = path.readlink()
        except OSError:
            return path
        path = host.path(target) if target.is_absolute() else Path(os.path.normpath(path.parent / target))
    return path


def _pam_conf_text(name: str, line: str) -> str:
    head = line.strip().split(None, 1)[0] if line.strip() else name
    if "=" in head:
        return f"{name}=<redacted>"
    parts = [name]
    if "DEFAULT=" in line:
        parts.append("DEFAULT=<redacted>")
    if "OVERRIDE=" in line:
        parts.append("OVERRIDE=<redacted>")
    return " ".join(parts)


def _setting(
    host: Host, tf: TextFile, line: _Line, name: str, value: str | None, computed: bool, text: str, *, conditional: bool = False
) -> Setting:
    blocker = None
    if line.first != line.last:
        blocker = "multi-line"
    elif not under_home(host, tf.path):
        blocker = "system-file"
    return Setting(
        var=name,
        action=UNSET if value is None else EXPORT,
        exported=value is not None,
        value=None if value is None or computed else Secret(value),
        path=tf.path,
        line=line.first,
        text=text,
        family="pam",
        span=tf.span(line.start, line.end),
        conditional=conditional,
        editable=blocker is None,
        blocker=blocker,
    )
