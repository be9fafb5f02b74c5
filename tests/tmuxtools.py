"""Real tmux servers for the tmux tests, on private sockets that are always killed afterwards.

Every server lives under a fresh ``TMUX_TMPDIR`` (a short folder in /tmp: a Unix
socket path must stay under ~107 bytes, which pytest's ``tmp_path`` can exceed),
started with ``-L name`` so tmux itself creates ``tmux-<uid>/`` as it does for
people.  A Host whose environment names that ``TMUX_TMPDIR`` sees only these
servers, never the developer's.  Each server starts with an environment written
from scratch (plus what the test adds): that becomes its global environment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI


def need_tmux() -> str:
    found = shutil.which("tmux")
    if found is None:
        if IN_CI:
            pytest.fail("tmux is required on CI (.ci/run installs it)")
        pytest.skip("tmux is not installed: these tests start real tmux servers")
    return found


class Servers:
    """Starts tmux servers under one TMUX_TMPDIR and kills every one of them afterwards."""

    def __init__(self, tmux: str, tmpdir: Path) -> None:
        self.tmux = tmux
        self.tmpdir = tmpdir
        self.pids: dict[Path, int] = {}

    @property
    def folder(self) -> Path:
        """Where tmux puts the sockets of ``-L`` servers (what the collector lists)."""
        return self.tmpdir / f"tmux-{os.getuid()}"

    def base_env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.tmpdir),
            "LANG": "C.UTF-8",
            "TMUX_TMPDIR": str(self.tmpdir),
            **extra,
        }

    def start(self, name: str = "default", session: str = "t1", *, socket: Path | None = None, **env: str) -> Path:
        """A server named ``name`` (or on ``socket``) with one detached session; ``env`` joins its global environment."""
        where = ["-S", str(socket)] if socket is not None else ["-L", name]
        subprocess.run(
            [self.tmux, *where, "-f", "/dev/null", "new-session", "-d", "-s", session, "sleep 600"],
            env=self.base_env(**env),
            check=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
        )
        path = socket if socket is not None else self.folder / name
        self.pids[path] = int(self.run(path, "display-message", "-p", "#{pid}").strip())
        return path

    def run(self, socket: Path, *args: str) -> str:
        proc = subprocess.run(
            [self.tmux, "-S", str(socket), *args],
            env=self.base_env(),
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            stdin=subprocess.DEVNULL,
        )
        return proc.stdout

    def kill_hard(self, socket: Path) -> None:
        """SIGKILL the server: its socket file stays behind, as after a crash."""
        pid = self.pids[socket]
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)
        assert socket.exists()

    def stop(self) -> None:
        for socket, pid in self.pids.items():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(
                    [self.tmux, "-S", str(socket), "kill-server"], env=self.base_env(), capture_output=True, timeout=5, check=False
                )
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)


def _wait_gone(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    """Running, and not a zombie: tmux daemonises, so its dead server waits for init (seconds in a container) to reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


@contextlib.contextmanager
def tmux_servers() -> Iterator[Servers]:
    tmux = need_tmux()
    tmpdir = Path(tempfile.mkdtemp(prefix="adtmux", dir="/tmp"))
    servers = Servers(tmux, tmpdir)
    try:
        yield servers
    finally:
        servers.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)
