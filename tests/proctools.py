"""Real stand-in Codex processes for the process-table tests (Linux only).

A copy of ``/bin/sh`` named ``codex`` is started with the command line of each
Codex role.  The kernel names the process after the file (``comm`` = codex);
``-c 'read -r line'`` keeps it alive on a pipe that never delivers a line (a
builtin: no child process that could briefly look like another codex), and
since Codex's own ``-c`` takes a value too, what follows reads exactly like
the real command line:

    codex -c 'read -r line' app-server --listen unix:// --managed-daemon

Each process gets an environment written from scratch (never the developer's).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from authdoctor.host import Host

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the Linux process table")

KEEP_ALIVE = "read -r line"

# The arguments each role runs with (after the program), as Codex 0.169.0 starts them.
MANAGED_DAEMON = ("app-server", "--listen", "unix://", "--analytics-default-enabled", "--managed-daemon")
PID_UPDATE_LOOP = ("app-server", "daemon", "pid-update-loop")
EXEC = ("exec", "summarise the repository")
TUI: tuple[str, ...] = ()
IDE_APP_SERVER = ("app-server",)


def real_proc_host(home: Path, env: dict[str, str] | None = None) -> Host:
    """A Host over a temporary home that sees the real process table."""
    return Host(env=env or {"HOME": str(home), "PATH": os.defpath}, home=home, proc=Path("/proc"))


class Stand:
    """Starts stand-in processes and stops every one of them (and their children) afterwards."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.bindir.mkdir(parents=True, exist_ok=True)
        self.procs: list[subprocess.Popen[bytes]] = []

    def program(self, name: str) -> Path:
        path = self.bindir / name
        if not path.exists():
            shutil.copy(shutil.which("sh") or "/bin/sh", path)
        return path

    def start(
        self,
        args: Sequence[str],
        *,
        env: dict[str, str],
        name: str = "codex",
        cwd: Path | None = None,
        rename: str | None = None,
    ) -> int:
        """A process named ``name`` whose command line is ``name -c <keep alive> *args``.

        ``rename``: the process renames itself (its ``comm``) once started, as some programs do.
        """
        script = KEEP_ALIVE if rename is None else f"printf %s {rename} > /proc/$$/comm; {KEEP_ALIVE}"
        argv = [str(self.program(name)), "-c", script, *args]
        return self._spawn(argv, env, cwd, rename or name)

    def start_script(self, interpreter: str, script: Path, args: Sequence[str], *, env: dict[str, str]) -> int:
        """``interpreter script args…`` (the npm package's node wrapper: ``node …/codex.js exec``)."""
        script.write_text(KEEP_ALIVE + "\n")
        return self._spawn([str(self.program(interpreter)), str(script), *args], env, None, interpreter)

    def _spawn(self, argv: list[str], env: dict[str, str], cwd: Path | None, comm: str) -> int:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, start_new_session=True, stdin=subprocess.PIPE)
        self.procs.append(proc)
        _wait_for_comm(proc.pid, comm)
        return proc.pid

    def stop(self) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait()
            if proc.stdin is not None:
                proc.stdin.close()


def _wait_for_comm(pid: int, name: str, timeout: float = 5.0) -> None:
    comm = Path("/proc", str(pid), "comm")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if comm.read_text().strip() == name[:15]:
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} never became {name}")


@contextmanager
def stand_ins(tmp: Path) -> Iterator[Stand]:
    stand = Stand(tmp / "bin")
    try:
        yield stand
    finally:
        stand.stop()


def env_for(home: Path, codex_home: Path | str | None = None, **extra: str) -> dict[str, str]:
    """A process environment from scratch: HOME, PATH, and CODEX_HOME when given."""
    env = {"HOME": str(home), "PATH": os.defpath, **extra}
    if codex_home is not None:
        env["CODEX_HOME"] = str(codex_home)
    return env


def running_with(marker: str) -> list[int]:
    """Processes whose command line holds ``marker``, after giving killed ones a moment to go (SIGKILL is not instant)."""
    found: list[int] = []
    for _ in range(100):
        found = []
        for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except (OSError, ValueError):
                continue
        if not found:
            break
        time.sleep(0.02)
    return found
