"""Running Codex processes, read from the Linux process table (``/proc``).

What each process is doing matters more than how many there are.  Observed
with the real Codex 0.169.0 binary:

* ``codex`` with no subcommand (or with a prompt, ``resume``, ``fork``) is the
  TUI.  It starts -- once per ``CODEX_HOME`` -- a detached managed daemon
  ``codex app-server --listen unix:// … --managed-daemon`` plus a helper
  ``codex app-server daemon pid-update-loop``.  The daemon refreshes the login;
  the TUIs on that home are its clients, and the helper never refreshes.
  ``$CODEX_HOME/app-server-daemon/daemon.pid`` names the daemon
  (``{"pid": …, "processStartTime": …}``).
* ``codex exec`` (and ``review``, ``mcp-server``) refreshes in-process.
* A ``codex app-server`` without ``--managed-daemon`` -- the IDE extension,
  the desktop app -- refreshes on its own.

Cheap by design: only ``comm`` (and, when it does not match, the ``exe``
link) is read for every process; ``cmdline``, ``environ`` (variable *names*,
never values) and ``stat`` only for Codex ones.
Other users' processes, whose environment cannot be read, are kept with
``environ_readable=False`` so callers can say how many they could not see.
On systems without ``/proc`` (macOS, Windows, an image under ``--root``)
:func:`codex_processes` returns None: "cannot see", never "none running".
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.host import Host
from authdoctor.secret import Secret

# --- roles ------------------------------------------------------------------

TUI = "tui"
EXEC = "exec"
MANAGED_DAEMON = "managed-daemon"
APP_SERVER = "app-server"  # not managed: an IDE extension or the desktop app
PID_UPDATE_LOOP = "pid-update-loop"
MCP_SERVER = "mcp-server"
LAUNCHER = "launcher"  # the npm package's node wrapper; its native child does the work
LOGIN = "login"  # `codex login`: listens on the callback port until the browser answers
OTHER = "other"  # logout, completion, daemon control, a `codex-*` tool …

# Roles that refresh the login themselves.  TUIs refresh only when no managed
# daemon serves their home (see :func:`refreshers`).
REFRESHING_ROLES = frozenset({MANAGED_DAEMON, EXEC, APP_SERVER, MCP_SERVER})

# Every variable a process may hold that changes what Codex does (names only).
WATCHED: tuple[str, ...] = K.CHECK_VARS

DAEMON_PID_FILE = Path("app-server-daemon") / "daemon.pid"

# Codex 0.169.0 subcommands, as the first positional argument.
_EXEC_COMMANDS = frozenset({"exec", "e", "review"})
_TUI_COMMANDS = frozenset({"resume", "fork"})
_SUBCOMMANDS = frozenset(
    {
        *_EXEC_COMMANDS,
        *_TUI_COMMANDS,
        "app-server",
        "mcp-server",
        "login",
        "logout",
        "mcp",
        "completion",
        "sandbox",
        "debug",
        "apply",
        "a",
        "cloud",
        "cloud-tasks",
        "responses-api-proxy",
        "stdio-to-uds",
        "features",
        "doctor",
        "help",
    }
)
# Global options that take a value as the next argument (`-c key=value`, `-m model` …).
_VALUE_OPTIONS = frozenset(
    {
        "-c",
        "--config",
        "--enable",
        "--disable",
        "-i",
        "--image",
        "-m",
        "--model",
        "--local-provider",
        "-p",
        "--profile",
        "-s",
        "--sandbox",
        "-a",
        "--ask-for-approval",
        "-C",
        "--cd",
        "--add-dir",
    }
)
# Native binaries the npm package ships under an architecture-suffixed name.
_ARCH_PREFIXES = ("codex-x86_64", "codex-aarch64", "codex-arm64", "codex-armv7")
_LAUNCHER_COMMS = frozenset({"node", "nodejs", "bun"})
_MAX_ARGS = 64 * 1024  # a command line longer than this is cut (its start is what matters)
_MAX_ENVIRON = 1024 * 1024


class CodexProcess(NamedTuple):
    """One running Codex process.  Never holds an argument or a variable's value."""

    pid: int
    role: str  # TUI | EXEC | MANAGED_DAEMON | APP_SERVER | PID_UPDATE_LOOP | MCP_SERVER | LAUNCHER | OTHER
    codex_home: Path | None  # the home it uses (CODEX_HOME canonicalised, else $HOME/.codex); None when unknown
    holds: frozenset[str] = frozenset()  # watched variables set in its environment (names only)
    environ_readable: bool = True  # False: another user's process, its environment is closed to us
    started: datetime | None = None
    uid: int | None = None
    program: str = "codex"  # the executable's name, as the process table shows it
    registered: bool | None = None  # managed daemon: whether daemon.pid names it (None: no such file)
    values: tuple[tuple[str, Secret], ...] = ()  # the watched variables it holds, with their values (never shown)
    stopped: bool = False  # suspended (Ctrl-Z, SIGSTOP)
    via: str | None = None  # what runs it, when its executable's path tells: "VS Code extension", "desktop app" …
    hidden: str | None = None  # why its environment cannot be seen (macOS, Windows); None: another user's, or seen

    def value(self, name: str) -> Secret | None:
        return next((v for n, v in self.values if n == name), None)

    @property
    def refreshes(self) -> bool:
        """Refreshes the login on its own, whatever else runs (TUIs depend on a daemon: see :func:`refreshers`)."""
        return self.role in REFRESHING_ROLES


def codex_processes(host: Host, watch: Iterable[str] = WATCHED) -> tuple[CodexProcess, ...] | None:
    """Every running Codex process, by pid; None when this system's process table cannot be read."""
    if host.proc is None:
        return _other_system(host, watch)
    proc = host.proc
    try:
        pids = [n for n in os.listdir(proc) if n.isdigit()]  # noqa: PTH208 - names only, no Path per pid
    except OSError:
        return None
    me = _self_pid(proc)
    wanted = [n.encode() + b"=" for n in dict.fromkeys(watch)]
    boot = None
    daemon_pids: dict[Path, int | None] = {}
    found: list[CodexProcess] = []
    base = str(proc)
    # Plain os calls, no Path per pid: this loop visits every process on the machine
    # and must cost a few microseconds each (a busy desktop runs hundreds).  os.open
    # rather than open(): a buffered file object costs 3 times the whole read.
    for pid in pids:
        if pid == me:
            continue
        try:
            name = _read_comm(f"{base}/{pid}/comm")
        except OSError:
            continue
        if not maybe_codex(name):
            # A process may rename itself; the executable's own name still tells.
            try:
                name = _base(os.readlink(f"{base}/{pid}/exe").removesuffix(" (deleted)"))  # noqa: PTH115 - see above
            except OSError:
                continue
            if not _is_codex_binary(name):
                continue
        pid_dir = proc / pid
        if boot is None:
            boot = _boot_time(proc)
        argv = _argv(pid_dir)
        if argv is None:
            continue
        role = _role(name, argv)
        if role is None:
            continue
        found.append(_describe(host, pid_dir, name, role, wanted, boot, daemon_pids))
    return tuple(sorted(found, key=lambda p: p.pid))


def _other_system(host: Host, watch: Iterable[str]) -> tuple[CodexProcess, ...] | None:
    """macOS and Windows: their own process tables, on a live machine only (never for an image under ``--root``)."""
    if not host.live:
        return None
    from authdoctor.collect import processes_other

    if host.platform == "darwin":
        return processes_other.darwin_processes(host, watch)
    if host.is_windows:
        return processes_other.windows_processes(host)
    return None


def watched_values(environ: Iterable[bytes], wanted: Sequence[bytes]) -> dict[str, Secret]:
    """The watched variables in an environment block (``NAME=value`` items), the first of each name."""
    found: dict[str, Secret] = {}
    for item in environ:
        for w in wanted:
            if item.startswith(w):
                found.setdefault(w[:-1].decode(), Secret(os.fsdecode(item[len(w) :])))
    return found


def refreshers(processes: Iterable[CodexProcess], codex_home: Path) -> tuple[CodexProcess, ...]:
    """The processes that refresh the login of ``codex_home`` on their own, by pid."""
    on = [p for p in processes if p.codex_home == codex_home]
    daemon = any(p.role == MANAGED_DAEMON for p in on)
    return tuple(p for p in on if p.refreshes or (p.role == TUI and not daemon))


def daemon_pid(host: Host, codex_home: Path) -> int | None:
    """The pid ``$CODEX_HOME/app-server-daemon/daemon.pid`` names, if it names one."""
    try:
        data = host.read_bytes(codex_home / DAEMON_PID_FILE, limit=4096)
        record = json.loads(data)
    except (OSError, ValueError):
        return None
    pid = record.get("pid") if isinstance(record, dict) else None
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else None


# --- classification ------------------------------------------------------------


def maybe_codex(comm: str) -> bool:
    """Worth reading the command line of (comm is the executable's name, cut to 15 bytes)."""
    return comm == "codex" or comm.startswith("codex-") or comm in _LAUNCHER_COMMS


def _is_codex_binary(program: str) -> bool:
    return program in ("codex", "codex-app-server", "codex-app-serve") or program.startswith(_ARCH_PREFIXES)


def _role(comm: str, argv: Sequence[str]) -> str | None:
    """What the process does; None when it is not Codex at all."""
    if comm in _LAUNCHER_COMMS:
        # `node …/bin/codex.js exec …`: the wrapper waits for the native binary.
        script = _base(argv[1]) if len(argv) > 1 else ""
        return LAUNCHER if script in ("codex", "codex.js") else None
    program = _base(argv[0]) if argv else comm
    if comm.startswith("codex-app-serve") or program == "codex-app-server":
        return _app_server_role(argv[1:])
    if not (_is_codex_binary(comm) or _is_codex_binary(program)):
        return OTHER  # a `codex-*` tool (a switcher, a proxy): not Codex, but worth naming
    return _subcommand_role(argv[1:])


def _subcommand_role(args: Sequence[str]) -> str:
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == "--":
            return TUI  # what follows is the prompt
        if arg.startswith("-"):
            skip = arg in _VALUE_OPTIONS
            continue
        if arg not in _SUBCOMMANDS:
            return TUI  # `codex "fix the tests"`
        if arg in _EXEC_COMMANDS:
            return EXEC
        if arg in _TUI_COMMANDS:
            return TUI
        if arg == "app-server":
            return _app_server_role(args[i + 1 :])
        if arg == "login":
            return LOGIN
        return MCP_SERVER if arg == "mcp-server" else OTHER
    return TUI


def _app_server_role(args: Sequence[str]) -> str:
    if "--managed-daemon" in args:
        return MANAGED_DAEMON
    positional = [a for a in args if not a.startswith("-")]
    if positional[:1] == ["daemon"]:
        # `daemon pid-update-loop` keeps daemon.pid current; other `daemon …` commands start or stop it.
        return PID_UPDATE_LOOP if positional[1:2] == ["pid-update-loop"] else OTHER
    return APP_SERVER


# --- reading /proc -------------------------------------------------------------


def _describe(
    host: Host,
    pid_dir: Path,
    comm: str,
    role: str,
    wanted: list[bytes],
    boot: datetime | None,
    daemon_pids: dict[Path, int | None],
) -> CodexProcess:
    pid = int(pid_dir.name)
    st = host.stat(pid_dir)
    uid = st.st_uid if st is not None else None
    started, stopped = _started(pid_dir, boot)
    via = _via(pid_dir)
    environ = _read(pid_dir / "environ", _MAX_ENVIRON)
    if environ is None:
        return CodexProcess(pid, role, None, frozenset(), False, started, uid, comm, stopped=stopped, via=via)
    items = environ.split(b"\0")
    found = watched_values(items, wanted)
    values = tuple(found.items())
    holds = frozenset(found)
    home = codex_home_of(host, items, _cwd(pid_dir))
    registered = None
    if role == MANAGED_DAEMON and home is not None:
        if home not in daemon_pids:
            daemon_pids[home] = daemon_pid(host, home)
        recorded = daemon_pids[home]
        registered = None if recorded is None else recorded == pid
    return CodexProcess(pid, role, home, holds, True, started, uid, comm, registered, values, stopped, via)


def codex_home_of(host: Host, environ: Iterable[bytes], cwd: Path | None = None) -> Path | None:
    """The home a process with this environment uses, resolved the way Codex's ``find_codex_home`` does.

    ``cwd`` is the process's working directory, for a relative CODEX_HOME (None: unknown).
    """
    values: dict[bytes, bytes] = {}
    for item in environ:
        key, sep, value = item.partition(b"=")
        if sep and key in (b"CODEX_HOME", b"HOME") and key not in values:
            values[key] = value
    raw = values.get(b"CODEX_HOME")
    if raw:
        path = Path(os.fsdecode(raw))
        if not path.is_absolute():
            if cwd is None:
                return path
            path = cwd / path
        # Codex canonicalises CODEX_HOME (authdoctor's own CODEX_HOME evidence too).
        return host.realpath(path)
    home = values.get(b"HOME")
    return Path(os.fsdecode(home)) / K.DEFAULT_HOME_DIRNAME if home else None


def _cwd(pid_dir: Path) -> Path | None:
    try:
        return (pid_dir / "cwd").readlink()
    except OSError:
        return None


def _argv(pid_dir: Path) -> list[str] | None:
    data = _read(pid_dir / "cmdline", _MAX_ARGS, cut=True)
    if not data:
        return None  # a kernel thread or a zombie
    return [a.decode("utf-8", "replace") for a in data.rstrip(b"\0").split(b"\0")]


def _read(path: Path, limit: int, *, cut: bool = False) -> bytes | None:
    """At most ``limit`` bytes of a /proc file (``cut``: its start, when longer); None when unreadable."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError:
        return None
    if len(data) > limit:
        return data[:limit] if cut else None
    return data


def _read_comm(path: str) -> str:
    """A process's name: ``/proc/PID/comm`` (at most 16 bytes, whole in one read).  Raises OSError."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 256).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)


def _base(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _self_pid(proc: Path) -> str:
    try:
        return (proc / "self").readlink().name
    except OSError:
        return str(os.getpid())


def _boot_time(proc: Path) -> datetime | None:
    data = _read(proc / "stat", 1024 * 1024, cut=True)
    for line in (data or b"").splitlines():
        if line.startswith(b"btime "):
            try:
                return datetime.fromtimestamp(int(line.split()[1]), UTC)
            except (ValueError, IndexError, OverflowError, OSError):
                return None
    return None


def _started(pid_dir: Path, boot: datetime | None) -> tuple[datetime | None, bool]:
    """When it started (field 22 of ``/proc/PID/stat``, clock ticks after boot) and whether it is stopped (field 3)."""
    data = _read(pid_dir / "stat", 4096)
    if data is None:
        return None, False
    # The name (field 2) is in parentheses and may hold spaces: split after the last one.
    fields = data.rpartition(b")")[2].split()
    stopped = fields[:1] in ([b"T"], [b"t"])
    if boot is None:
        return None, stopped
    try:
        ticks = int(fields[19])
        hertz = os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, OSError):
        return None, stopped
    return boot + timedelta(seconds=ticks / hertz), stopped


# Where the IDE extensions and the desktop app keep the Codex binary they run.
_VIA = (
    ("/.vscode-server/extensions/openai.chatgpt", "VS Code extension (remote)"),
    ("/.vscode/extensions/openai.chatgpt", "VS Code extension"),
    ("/.vscode-insiders/extensions/openai.chatgpt", "VS Code Insiders extension"),
    ("/.cursor/extensions/openai.chatgpt", "Cursor extension"),
    ("/.cursor-server/extensions/openai.chatgpt", "Cursor extension (remote)"),
    ("/.windsurf/extensions/openai.chatgpt", "Windsurf extension"),
    ("/.vscode-oss/extensions/openai.chatgpt", "VS Code (OSS) extension"),
    ("/Codex.app/", "desktop app"),
    ("/WindowsApps/OpenAI.Codex", "desktop app"),
)


def via_of(executable: str) -> str | None:
    """What runs a Codex binary at this path: an IDE extension, the desktop app, or None (a terminal)."""
    path = executable.replace("\\", "/")
    return next((words for marker, words in _VIA if marker in path), None)


def _via(pid_dir: Path) -> str | None:
    try:
        return via_of(os.readlink(pid_dir / "exe"))  # noqa: PTH115 - a str is what via_of reads
    except OSError:
        return None


# --- one process, by name and command line (collect/ports.py: who holds the login port) ---


def codex_role(program: str, argv: Sequence[str]) -> str | None:
    """The role of a process named ``program`` (its comm, or its executable's name) running ``argv``; None: not Codex."""
    if not (maybe_codex(program) or _is_codex_binary(program)):
        return None
    return _role(program, argv)
