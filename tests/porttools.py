"""Real listeners for the login-port tests, and recorded macOS/Windows tool output behind fake programs.

Linux: a listener is a real socket, in the test process or in a child Python
started under another name (a symlink named ``codex``, ``cursor`` …: the
kernel names the process after the link, so ``comm`` and ``argv[0]`` read
like the real program).  ``codex -c <script> login`` is both a valid Python
command line and, to authdoctor's parser, ``codex`` with the global option
``-c <value>`` and the subcommand ``login``.

macOS and Windows cannot run here: their tools (``lsof``, ``ps``,
``netstat``, ``tasklist``, ``netsh``) are tiny scripts on a private PATH that
print output recorded from the real ones.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

# Binds where it is told, says which port it got, and waits for stdin to close.
LISTENER = (
    "import os, socket, sys\n"
    "address = os.environ['LISTEN_ADDRESS']\n"
    "s = socket.socket(socket.AF_INET6 if ':' in address else socket.AF_INET)\n"
    "s.bind((address, int(os.environ.get('LISTEN_PORT', '0'))))\n"
    "s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "sys.stdin.read()\n"
)

# The interpreter itself, not the venv's link to it: the children need only the standard library.
PYTHON = os.path.realpath(sys.executable)
# A Python another user may run (/root is closed to them).
SYSTEM_PYTHON = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None)


def free_port(address: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as s:
        s.bind((address, 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def listening(address: str = "127.0.0.1", port: int = 0) -> Iterator[socket.socket]:
    """A listening socket in this process."""
    s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    try:
        s.bind((address, port))
        s.listen()
        yield s
    finally:
        s.close()


class Child:
    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.port = port

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        _wait_state(self.pid, "T")


class Children:
    """Listener processes under chosen names; every one is killed afterwards (stopped ones too)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        bindir.mkdir(parents=True, exist_ok=True)
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        name: str,
        args: Sequence[str] = (),
        *,
        address: str = "127.0.0.1",
        port: int = 0,
        user: int | None = None,
    ) -> Child:
        """``name -c <listener> *args`` listening on ``address:port``; ``user``: run as that uid (root only)."""
        if user is None:
            program = self.bindir / name
            if not program.exists():
                program.symlink_to(PYTHON)
        else:
            # Another user cannot reach the test's private folders: the system Python, under its own name.
            assert SYSTEM_PYTHON is not None
            program = Path(SYSTEM_PYTHON)
        env = {"PATH": os.defpath, "LISTEN_ADDRESS": address, "LISTEN_PORT": str(port), "HOME": str(self.bindir)}
        proc = subprocess.Popen(
            [str(program), "-c", LISTENER, *args],
            env=env,
            cwd="/",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
            user=user,
            group=user,
            extra_groups=[] if user is not None else None,
        )
        self.procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), f"listener {name} did not start"
        return Child(proc, int(line))

    def close(self) -> None:
        for proc in self.procs:
            for sig in (signal.SIGKILL, signal.SIGCONT):
                with suppress(ProcessLookupError):
                    os.kill(proc.pid, sig)
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


@contextmanager
def children(tmp: Path) -> Iterator[Children]:
    kids = Children(tmp / "listeners")
    try:
        yield kids
    finally:
        kids.close()


def _wait_state(pid: int, state: str, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        if stat.rpartition(b")")[2].split()[0].decode() == state:
            return
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} never reached state {state}")


def gone(pid: int, timeout: float = 5.0) -> bool:
    """The process has exited (a zombie counts: it holds nothing any more)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except FileNotFoundError:
            return True
        if stat.rpartition(b")")[2].split()[0] in (b"Z", b"X"):
            return True
        time.sleep(0.01)
    return False


# --- recorded output of the macOS and Windows tools ---------------------------------------------


def fake_program(bindir: Path, name: str, script: str) -> Path:
    """A program on a private PATH: a POSIX shell script standing in for a tool of another OS."""
    bindir.mkdir(parents=True, exist_ok=True)
    path = bindir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def printing(bindir: Path, name: str, output: str | bytes, *, status: int = 0, crlf: bool = False) -> Path:
    """A program that prints ``output`` (recorded from the real tool) and exits with ``status``."""
    data = output.encode() if isinstance(output, str) else output
    if crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    recorded = bindir / f"{name}.out"
    bindir.mkdir(parents=True, exist_ok=True)
    recorded.write_bytes(data)
    return fake_program(bindir, name, f"/bin/cat '{recorded}'\nexit {status}\n")


# `lsof -nP +c 0 -iTCP:1455 -iTCP:1457 -sTCP:LISTEN -Fpctn` on macOS 15: a stopped `codex login`
# on 1455, Cursor's extension host on both families of 1457.
LSOF_OUTPUT = """\
p4242
ccodex
f9
tIPv4
n127.0.0.1:1455
p7781
cCursor Helper (Plugin)
f31
tIPv6
n*:1457
f32
tIPv4
n*:1457
"""

# `ps -o pid= -o stat= -o args= -p 4242,7781` for the same two.
PS_OUTPUT = """\
 4242 T    /opt/homebrew/bin/codex login
 7781 S    /Applications/Cursor.app/Contents/Frameworks/Cursor Helper (Plugin).app/Contents/MacOS/Cursor Helper (Plugin) --type=utility
"""

# `netstat -ano` on Windows 11: Cursor on 127.0.0.1:1455 (and a connection to it), a LAN-only listener
# and an IPv6-loopback one on 1457, noise on other ports.
NETSTAT_OUTPUT = """\

Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1032
  TCP    0.0.0.0:445            0.0.0.0:0              LISTENING       4
  TCP    127.0.0.1:1455         0.0.0.0:0              LISTENING       5678
  TCP    127.0.0.1:1455         127.0.0.1:50123        ESTABLISHED     5678
  TCP    127.0.0.1:50123        127.0.0.1:1455         ESTABLISHED     9999
  TCP    192.168.1.20:1457      0.0.0.0:0              LISTENING       4444
  TCP    [::]:135               [::]:0                 LISTENING       1032
  TCP    [::1]:1457             [::]:0                 LISTENING       7777
  TCP    [fe80::1c2d:3e4f:5a6b:7c8d%12]:1457  [::]:0   LISTENING       4444
  UDP    0.0.0.0:5353           *:*                                    2222
"""

# The same table on a German Windows: the state column is translated.
NETSTAT_GERMAN = """\

Aktive Verbindungen

  Proto  Lokale Adresse         Remoteadresse          Status           PID
  TCP    0.0.0.0:135            0.0.0.0:0              ABHÖREN         1032
  TCP    0.0.0.0:1457           0.0.0.0:0              ABHÖREN         3141
  TCP    127.0.0.1:1457         127.0.0.1:50200        HERGESTELLT     3141
"""

# `tasklist /FI "PID eq N" /FO CSV /NH`, by pid; anything else gets the "no tasks" line.
TASKS = {
    5678: '"Cursor.exe","5678","Console","1","182,344 K"',
    7777: '"idea64.exe","7777","Console","1","1,204,000 K"',
    3141: '"codex.exe","3141","Console","1","40,120 K"',
}
NO_TASKS = "INFO: No tasks are running which match the specified criteria."

# `netsh interface ipv4 show excludedportrange protocol=tcp` with Hyper-V/WinNAT's reservations.
NETSH_V4 = """\

Protocol tcp Port Exclusion Ranges

Start Port    End Port
----------    --------
      1447        1546
      5357        5357
     50000       50059     *

* - Administered port exclusions.

"""
NETSH_EMPTY = """\

Protocol tcp Port Exclusion Ranges

Start Port    End Port
----------    --------

* - Administered port exclusions.

"""


def windows_tools(bindir: Path, *, netstat: str | None = NETSTAT_OUTPUT, v4: str = NETSH_EMPTY, v6: str = NETSH_EMPTY) -> None:
    """Fake ``netstat``, ``tasklist`` and ``netsh`` printing recorded output (CRLF, as Windows does); ``netstat=None``: missing."""
    if netstat is not None:
        printing(bindir, "netstat", netstat, crlf=True)
    cases = "".join(f"  'PID eq {pid}') printf '%s\\r\\n' '{row}';;\n" for pid, row in TASKS.items())
    fake_program(bindir, "tasklist", f"case \"$2\" in\n{cases}  *) printf '%s\\r\\n' '{NO_TASKS}';;\nesac\n")
    for family, text in (("ipv4", v4), ("ipv6", v6)):
        (bindir / f"netsh-{family}.out").write_bytes(text.replace("\n", "\r\n").encode())
    fake_program(bindir, "netsh", f'/bin/cat "{bindir}/netsh-$2.out"\n')
