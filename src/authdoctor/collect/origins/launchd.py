"""macOS launchd: what GUI apps (the Codex desktop app, an IDE started from the Dock) inherit.

GUI apps do not read shell start-up files: they get the launchd session's
environment.  ``launchctl setenv NAME VALUE`` changes it until logout, so
people make it stick with a LaunchAgent whose ``ProgramArguments`` run
``launchctl setenv`` at login (directly, or through ``sh -c "…"``).  Those
plists live in ``~/Library/LaunchAgents``, ``/Library/LaunchAgents`` and
``/Library/LaunchDaemons``.

A plist's ``EnvironmentVariables`` dictionary is different: it applies only
to the job that plist starts, so it gets a context of its own
("launchd job LABEL") instead of being counted for every GUI app.

On a live Mac, ``launchctl getenv NAME`` shows what the session holds now; it
is asked through :class:`LaunchctlProbe` (a fake stands in for it in tests),
only on macOS and never for a ``--root`` image.  That value is listed last:
whatever set it, it is what the next app started from the Dock gets.

Plists are XML or binary; ``plistlib`` reads both and is imported only when
a plist exists.
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.collect.origins._textfile import LazyRegex, list_dir, read_raw, under_home
from authdoctor.collect.origins.contexts import LAUNCHD_GUI
from authdoctor.collect.origins.model import EXPORT, UNSET, OriginScan, ScanNote, Setting, Trail
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from typing import Protocol

    from authdoctor.host import Host

AGENT_DIRS = (Path("/Library/LaunchAgents"), Path("/Library/LaunchDaemons"))
USER_AGENTS = Path("Library/LaunchAgents")
LIVE_PATH = Path("launchctl/getenv")  # a pseudo-path: the live session has no file
PROBE_TIMEOUT = 2.0
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh"})
_WRAPPERS = frozenset({"exec", "command", "env", "/usr/bin/env", "sudo", "/usr/bin/sudo", "nohup"})


class LaunchctlValue(NamedTuple):
    """What ``launchctl getenv`` said: a value, nothing (``value`` None), or why it could not be asked."""

    value: Secret | None
    error: str | None = None


if TYPE_CHECKING:

    class LaunchctlProbe(Protocol):
        """Reads the live launchd session's environment."""

        def getenv(self, host: Host, name: str) -> LaunchctlValue: ...


class RealLaunchctl:
    """``launchctl getenv NAME`` through the Host, under a short timeout with stdin closed."""

    def __init__(self, launchctl: str = "/bin/launchctl") -> None:
        self.launchctl = launchctl

    def getenv(self, host: Host, name: str) -> LaunchctlValue:
        res = host.run([self.launchctl, "getenv", name], timeout=PROBE_TIMEOUT)
        if res.timed_out:
            return LaunchctlValue(None, f"`launchctl getenv {name}` did not answer within {PROBE_TIMEOUT:g} s")
        if res.error is not None or res.returncode != 0:
            return LaunchctlValue(None, f"`launchctl getenv {name}` could not be run")
        raw = res.stdout.decode("utf-8", "surrogateescape")
        # launchctl prints the value and a newline, or nothing at all when it is not set.
        value = raw[:-1] if raw.endswith("\n") else raw
        return LaunchctlValue(Secret(value) if raw else None)


class FakeLaunchctl:
    """A launchd session in memory, for tests: ``FakeLaunchctl({"NAME": "value"})``."""

    def __init__(self, values: dict[str, str] | None = None, error: str | None = None) -> None:
        self.values = dict(values or {})
        self.error = error
        self.asked: list[str] = []

    def getenv(self, host: Host, name: str) -> LaunchctlValue:
        self.asked.append(name)
        if self.error is not None:
            return LaunchctlValue(None, self.error)
        value = self.values.get(name)
        return LaunchctlValue(Secret(value) if value is not None else None)


# --- reading plists ----------------------------------------------------------------------------------


class _Found(NamedTuple):
    var: str
    action: str
    value: Secret | None
    text: str
    job_only: bool  # EnvironmentVariables: only that job sees it


def setenv_calls(argv: list[str]) -> list[tuple[str, str, str | None]]:
    """``launchctl setenv|unsetenv`` calls in a job's argument vector, also inside ``sh -c "…"``.

    Returns (verb, name, value); value None when it is computed at run time.
    """
    if not argv:
        return []
    prog = PurePosixPath(argv[0]).name
    if prog == "launchctl":
        return _launchctl_args(argv[1:])
    if prog in _SHELLS:
        script = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a.startswith("-") and "c" in a[1:] and not a.startswith("--")), None)
        if script is not None:
            return script_setenv_calls(script)
    if prog == "env":
        rest = [a for a in argv[1:] if "=" not in a and not a.startswith("-")]
        return setenv_calls(rest)
    return []


def _launchctl_args(args: list[str], computed: frozenset[int] = frozenset()) -> list[tuple[str, str, str | None]]:
    if not args:
        return []
    verb = args[0]
    out: list[tuple[str, str, str | None]] = []
    if verb == "setenv":
        # Modern launchctl takes several KEY VALUE pairs.
        for i in range(1, len(args) - 1, 2):
            value = None if (i + 1) in computed else args[i + 1]
            out.append(("setenv", args[i], value))
    elif verb == "unsetenv":
        out += [("unsetenv", name, None) for name in args[1:]]
    return out


_SPLIT = LazyRegex(r";|&&|\|\||\n|\|")


def script_setenv_calls(script: str) -> list[tuple[str, str, str | None]]:
    """``launchctl setenv`` in a shell one-liner; a value that expands ``$…`` or backquotes is computed."""
    out: list[tuple[str, str, str | None]] = []
    for part in _split_commands(script):
        words = _words(part)
        if words is None:
            continue
        # Skip VAR=value prefixes and wrappers (exec, env, sudo …) to reach the command itself.
        while words and (
            ("=" in words[0][0] and not words[0][0].startswith("=")) or words[0][0] in _WRAPPERS or words[0][0].startswith("-")
        ):
            words.pop(0)
        if words and PurePosixPath(words[0][0]).name == "launchctl":
            rest = words[1:]
            computed = frozenset(j for j, (_, c) in enumerate(rest) if c)
            out += _launchctl_args([x for x, _ in rest], computed)
    return out


def _words(command: str) -> list[tuple[str, bool]] | None:
    """POSIX shell words of one simple command: (text, computed).  None on an unclosed quote."""
    words: list[tuple[str, bool]] = []
    buf: list[str] = []
    computed = started = False
    quote = ""
    i = 0
    n = len(command)
    while i < n:
        c = command[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                buf.append(c)
        elif quote == '"':
            if c == '"':
                quote = ""
            elif c == "\\" and i + 1 < n and command[i + 1] in '$`"\\':
                buf.append(command[i + 1])
                i += 1
            else:
                computed = computed or c in "$`"
                buf.append(c)
        elif c in " \t":
            if started:
                words.append(("".join(buf), computed))
            buf, computed, started = [], False, False
        else:
            started = True
            if c in "'\"":
                quote = c
            elif c == "\\" and i + 1 < n:
                buf.append(command[i + 1])
                i += 1
            else:
                computed = computed or c in "$`*?"
                buf.append(c)
        i += 1
    if quote:
        return None
    if started:
        words.append(("".join(buf), computed))
    return words


def _split_commands(script: str) -> list[str]:
    """Split at ``;``, ``&&``, ``||``, ``|`` and newlines outside quotes."""
    parts: list[str] = []
    buf: list[str] = []
    quote = ""
    i = 0
    while i < len(script):
        c = script[i]
        m = None if quote or c in "'\"\\" else _SPLIT().match(script, i)
        if quote:
            buf.append(c)
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"' and i + 1 < len(script):
                buf.append(script[i + 1])
                i += 1
        elif c in "'\"":
            quote = c
            buf.append(c)
        elif c == "\\" and i + 1 < len(script):
            buf += [c, script[i + 1]]
            i += 1
        elif m is not None:
            parts.append("".join(buf))
            buf = []
            i = m.end()
            continue
        else:
            buf.append(c)
        i += 1
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def _line_of(data: bytes, needle: str) -> int:
    """The 1-based line of ``<string>needle</string>`` or ``<key>needle</key>`` in an XML plist; 0 if binary."""
    if data.startswith(b"bplist"):
        return 0
    text = data.decode("utf-8", "replace")
    for tag in (f"<key>{needle}</key>", f"<string>{needle}</string>"):
        at = text.find(tag)
        if at >= 0:
            return text.count("\n", 0, at) + 1
    return 0


# --- the source ------------------------------------------------------------------------------------


class LaunchdSource:
    """LaunchAgents and LaunchDaemons plists, plus the live ``launchctl getenv`` values on a Mac."""

    name = "launchd"

    def __init__(self, probe: LaunchctlProbe | None = None) -> None:
        self.probe = probe

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        notes: list[ScanNote] = []
        session: list[Setting] = []
        files: list[Path] = []
        jobs: list[Trail] = []
        dirs = [host.home / USER_AGENTS, *(host.path(d) for d in AGENT_DIRS)]
        for d in dirs:
            for path in sorted(list_dir(host, d, ".plist", notes)):
                found = self._plist(host, path, names, notes)
                if found is None:
                    continue
                label, settings = found
                files.append(path)
                session += [s for s, job_only in settings if not job_only]
                job = tuple(s for s, job_only in settings if job_only)
                if job:
                    jobs.append(Trail(f"launchd job {label}", job, (path,)))
        session += self._live(host, names, notes)
        trails: list[Trail] = []
        if session or files:
            trails.append(Trail(LAUNCHD_GUI, tuple(session), tuple(files)))
        return OriginScan(self.name, (*trails, *jobs), tuple(notes))

    def _plist(self, host: Host, path: Path, names: frozenset[str], notes: list[ScanNote]) -> tuple[str, list[tuple[Setting, bool]]] | None:
        data = read_raw(host, path, notes, limit=1024 * 1024)
        if data is None:
            return None
        if not any(n.encode() in data for n in names) and not data.startswith(b"bplist"):
            return None  # cheap: an XML plist that never names a watched variable
        import plistlib

        try:
            plist = plistlib.loads(data)
        except Exception:  # noqa: BLE001 - plistlib raises several unrelated types on bad input
            notes.append(ScanNote(path, "parse-error", f"{path} is not a valid property list, so launchd ignores it"))
            return None
        if not isinstance(plist, dict):
            return None
        label = str(plist.get("Label") or path.stem)
        disabled = plist.get("Disabled") is True
        found: list[_Found] = []
        argv = plist.get("ProgramArguments")
        if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
            found += self._from_argv(argv, names)
        elif isinstance(plist.get("Program"), str):
            found += self._from_argv([plist["Program"]], names)
        env = plist.get("EnvironmentVariables")
        if isinstance(env, dict):
            for key, value in env.items():
                if key in names and isinstance(value, str):
                    shown = f"EnvironmentVariables {key}=<redacted>  (only for the launchd job {label})"
                    found.append(_Found(key, EXPORT, Secret(value), shown, True))
        settings = []
        system = not under_home(host, path)
        # A LaunchDaemon runs `launchctl setenv` in the system domain, which login sessions may not see.
        daemon = path.parent.name == "LaunchDaemons"
        for f in found:
            note = "  (the job is disabled)" if disabled else ""
            if daemon and not f.job_only:
                note += "  (a LaunchDaemon: it sets the system domain, which GUI sessions may not inherit)"
            settings.append(
                (
                    Setting(
                        var=f.var,
                        action=f.action,
                        exported=f.action != UNSET,
                        value=f.value,
                        path=path,
                        line=_line_of(data, f.var),
                        text=f.text + note,
                        family="launchd",
                        conditional=disabled or (daemon and not f.job_only),
                        # A plist is structured data, not lines: a fixer edits it with plistlib, or a person does.
                        editable=False,
                        blocker="system-file" if system else "plist",
                    ),
                    f.job_only,
                )
            )
        return label, settings

    @staticmethod
    def _from_argv(argv: list[str], names: frozenset[str]) -> list[_Found]:
        out: list[_Found] = []
        for verb, name, value in setenv_calls(argv):
            if name not in names:
                continue
            if verb == "setenv":
                out.append(_Found(name, EXPORT, Secret(value) if value is not None else None, f"launchctl setenv {name} <redacted>", False))
            else:
                out.append(_Found(name, UNSET, None, f"launchctl unsetenv {name}", False))
        return out

    def _live(self, host: Host, names: frozenset[str], notes: list[ScanNote]) -> list[Setting]:
        probe = self.probe
        if probe is None:
            # Only a live Mac has a launchd session to ask; an image (--root) has none.
            if host.platform != "darwin" or host.root != Path("/") or sys.platform != "darwin":
                return []
            probe = RealLaunchctl()
        out: list[Setting] = []
        for name in sorted(names):
            got = probe.getenv(host, name)
            if got.error is not None:
                notes.append(ScanNote(LIVE_PATH, "unreadable", got.error))
                break
            if got.value is None:
                continue
            out.append(
                Setting(
                    var=name,
                    action=EXPORT,
                    exported=True,
                    value=got.value,
                    path=LIVE_PATH,
                    line=0,
                    text=f"launchctl getenv {name} -> <redacted>  (set in this login session; clear it with: launchctl unsetenv {name})",
                    family="launchd",
                    editable=False,
                    blocker="live-session",
                )
            )
        return out
