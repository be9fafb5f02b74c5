"""Where Codex writes logs, per platform (checked against Codex 0.169.0 where it runs here).

Observed with the real binary (``scripts/capture_codex_logs.py`` and by hand):

* ``$CODEX_HOME/logs_2.sqlite`` -- the structured log database the app-server
  daemon (started by the TUI) writes; it moves to ``log_dir`` when config.toml
  sets ``log_dir``.  ``sqlite_home`` / ``CODEX_SQLITE_HOME`` move the state
  databases, so they are looked at too.  ``codex exec`` does not write it.
* ``$CODEX_HOME/app-server-daemon/daemon.stderr.log`` -- the daemon's stderr,
  ``tracing`` lines with colour codes; the refresh errors land here first.
* ``{log_dir}/codex-tui.log`` (only when ``log_dir`` is set) and
  ``{log_dir}/codex-login.log`` (``codex login``), default ``$CODEX_HOME/log``.

From the references, not verifiable here: the desktop app's
``~/Library/Logs/com.openai.codex/YYYY/MM/DD/codex-desktop-*.log`` on macOS, and
the VS Code-family editors' output-channel logs of the ``openai.chatgpt``
extension (``<config>/logs/<session>/window*/exthost/openai.chatgpt/*.log``).
The Windows desktop app's folder is a best guess (``%LOCALAPPDATA%\\Codex\\Logs``);
a folder that does not exist costs one ``stat``.
"""

from __future__ import annotations

import stat as statmod
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.collect.evidence import ConfigEvidence
from authdoctor.host import Host

if TYPE_CHECKING:
    from typing import Final

LOG_DBS: Final = ("logs_2.sqlite", "logs_1.sqlite")
DAEMON_DIR: Final = "app-server-daemon"
EDITORS: Final = ("Code", "Code - Insiders", "Cursor", "Windsurf", "VSCodium")
EXTENSION_ID: Final = "openai.chatgpt"
# Bounded walks: a logs folder with years of sessions must not slow the check down.
MAX_SESSIONS: Final = 20
MAX_FILES: Final = 200


class Candidate(NamedTuple):
    path: Path
    kind: str  # "text" | "sqlite"
    origin: str
    size: int
    mtime: float


def _resolve(raw: str, codex_home: Path, home: Path) -> Path:
    p = Path(raw)
    if raw.startswith("~"):
        p = home / raw[1:].lstrip("/\\")
    return p if p.is_absolute() else codex_home / p


def log_dir(host: Host, codex_home: Path, config: ConfigEvidence) -> Path:
    if config.log_dir:
        return host.path(_resolve(config.log_dir, codex_home, host.home))
    return codex_home / "log"


def candidates(host: Host, codex_home: Path, config: ConfigEvidence) -> Iterator[Candidate]:
    seen: set[Path] = set()

    def one(path: Path, kind: str, origin: str) -> Iterator[Candidate]:
        st = host.stat(path)
        if st is None or not statmod.S_ISREG(st.st_mode):
            return
        key = host.realpath(path)
        if key in seen:
            return
        seen.add(key)
        yield Candidate(path, kind, origin, st.st_size, st.st_mtime)

    logs = log_dir(host, codex_home, config)
    db_dirs = [codex_home, logs]
    sqlite_env = host.getenv("CODEX_SQLITE_HOME")
    for raw in (config.sqlite_home, sqlite_env):
        if raw:
            db_dirs.append(host.path(_resolve(raw, codex_home, host.home)))
    for folder in db_dirs:
        for name in LOG_DBS:
            yield from one(folder / name, "sqlite", "codex_home" if folder == codex_home else "log_dir")
    for path in _files(host, logs, ".log"):
        yield from one(path, "text", "log_dir")
    for path in _files(host, codex_home / DAEMON_DIR, ".log"):
        yield from one(path, "text", "daemon")
    for path in _desktop(host):
        yield from one(path, "text", "desktop")
    for path in _ide(host):
        yield from one(path, "text", "ide")


def _files(host: Host, folder: Path, suffix: str) -> list[Path]:
    try:
        return [p for p in host.list_dir(folder) if p.name.endswith(suffix)][:MAX_FILES]
    except OSError:
        return []


def _newest_dirs(host: Host, folder: Path, limit: int) -> list[Path]:
    try:
        entries = host.list_dir(folder)
    except OSError:
        return []
    dirs = []
    for p in entries:
        st = host.stat(p)
        if st is not None and statmod.S_ISDIR(st.st_mode):
            dirs.append((st.st_mtime, p))
    dirs.sort(reverse=True)
    return [p for _, p in dirs[:limit]]


def _desktop(host: Host) -> Iterator[Path]:
    if host.platform == "darwin":
        base = host.home / "Library" / "Logs" / "com.openai.codex"
        # YYYY/MM/DD: the newest days only.
        for year in _newest_dirs(host, base, 1):
            for month in _newest_dirs(host, year, 2):
                for day in _newest_dirs(host, month, 31):
                    yield from (p for p in _files(host, day, ".log") if p.name.startswith("codex-desktop"))
    elif host.is_windows:
        local = host.getenv("LOCALAPPDATA")
        if local:
            yield from _files(host, host.path(Path(local) / "Codex" / "Logs"), ".log")


def _editor_roots(host: Host) -> Iterator[Path]:
    if host.platform == "darwin":
        base = host.home / "Library" / "Application Support"
    elif host.is_windows:
        appdata = host.getenv("APPDATA")
        if not appdata:
            return
        base = host.path(Path(appdata))
    else:
        xdg = host.getenv("XDG_CONFIG_HOME")
        base = host.path(Path(xdg)) if xdg else host.home / ".config"
    for name in EDITORS:
        yield base / name / "logs"


def _ide(host: Host) -> Iterator[Path]:
    for logs in _editor_roots(host):
        for session in _newest_dirs(host, logs, MAX_SESSIONS):
            for window in _newest_dirs(host, session, 8):
                yield from _files(host, window / "exthost" / EXTENSION_ID, ".log")
