"""The Host: the only code that touches the machine.

Collectors read files, the environment, the clock and subprocesses only through
a :class:`Host`.  Tests build one over a temporary directory with an explicit
environment and a fixed clock, so no test depends on (or touches) the real home.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.errors import AuthdoctorError

if TYPE_CHECKING:
    import subprocess

    from authdoctor.host.keyring import KeyringProbe, KeyringStatus, KeyringWriter

# Codex state files are small; anything bigger than this is not a real one and
# must not make us read gigabytes into memory.
MAX_STATE_FILE_BYTES = 16 * 1024 * 1024

_PER_HOME = frozenset({"APPDATA", "LOCALAPPDATA", "USERPROFILE", "ZDOTDIR"})


class RunResult(NamedTuple):
    """What a subprocess did.  ``returncode`` is None when it timed out or could not start."""

    returncode: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    error: str | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Host(NamedTuple):
    """A view of one machine (or a directory standing in for one)."""

    env: Mapping[str, str]
    home: Path
    root: Path = Path("/")
    platform: str = sys.platform
    uid: int | None = None  # None: unknown (Windows), so ownership checks are skipped
    clock: Callable[[], datetime] = _utcnow
    keyring: KeyringProbe | None = None
    # Where the process table lives (Linux /proc); tests point it at a fake one.
    proc: Path | None = Path("/proc") if sys.platform.startswith("linux") else None
    # The process whose ancestry explains this environment ("self" = authdoctor).
    pid: str = "self"
    # The ports `codex login` listens on for the browser's callback; tests pass free ports.
    login_ports: tuple[int, ...] = (1455, 1457)
    # The real, running machine (not an image under --root, not a test's stand-in): live state
    # that has no /proc to point at -- macOS and Windows process tables -- is read only then.
    live: bool = False

    # --- construction -------------------------------------------------------

    @classmethod
    def from_system(cls, *, home: str | None = None, root: str | None = None) -> Host:
        """The real machine.  ``home``/``root`` redirect diagnosis to another home or image."""
        env: Mapping[str, str] = dict(os.environ)
        root_path = Path(root).resolve() if root else Path("/")
        if root and not root_path.is_dir():
            raise AuthdoctorError(f"--root {root!r} is not a directory", hint="pass the folder an image or container is unpacked in")
        if root:
            # An image has no live environment of its own: what this terminal
            # holds says nothing about it.
            env = {}
        if home:
            home_path = Path(home).expanduser().resolve()
        else:
            raw = os.environ.get("HOME") or os.environ.get("USERPROFILE") or str(Path.home())
            home_path = Path(raw)
            if root:
                home_path = root_path / home_path.relative_to(home_path.anchor)
        if home and not home_path.is_dir():
            raise AuthdoctorError(f"--home {home!r} is not a directory", hint="pass an existing home directory")
        if home:
            # Folders the environment names for the real user (XDG_CONFIG_HOME, XDG_STATE_HOME,
            # APPDATA …) belong to the real home, not to the one under diagnosis or repair.
            env = {k: v for k, v in env.items() if not (k.startswith("XDG_") and k.endswith("_HOME")) and k not in _PER_HOME}
            env["HOME"] = str(home_path)
        # This machine's keyring says nothing about an image's.
        keyring = None if root else _SystemKeyring()
        uid = os.getuid() if hasattr(os, "getuid") else None
        # An image has no running processes.
        proc = Path("/proc") if sys.platform.startswith("linux") and not root else None
        ports = _login_ports(env)
        return cls(env=env, home=home_path, root=root_path, uid=uid, keyring=keyring, proc=proc, login_ports=ports, live=not root)

    # --- environment and clock --------------------------------------------

    def getenv(self, name: str) -> str | None:
        return self.env.get(name)

    def now(self) -> datetime:
        return self.clock()

    @property
    def is_windows(self) -> bool:
        return self.platform.startswith("win")

    # --- files ------------------------------------------------------------

    def path(self, target: str | Path) -> Path:
        """Map an absolute path inside the target system to a path on this machine."""
        p = Path(target)
        if self.root == Path("/") or not p.is_absolute():
            return p
        return self.root / p.relative_to(p.anchor)

    def read_bytes(self, path: Path, limit: int = MAX_STATE_FILE_BYTES) -> bytes:
        """Read a whole small file.  Raises OSError, or ValueError when it is over ``limit``."""
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"it is larger than {_size(limit)}, which no real Codex file is")
        return data

    def stat(self, path: Path, *, follow: bool = True) -> os.stat_result | None:
        try:
            return path.stat() if follow else path.lstat()
        except (OSError, ValueError):
            return None

    def list_dir(self, path: Path) -> list[Path]:
        """Entries of a directory, sorted by name.  Raises OSError like os.scandir."""
        return sorted(path.iterdir(), key=lambda p: p.name)

    def realpath(self, path: Path) -> Path:
        try:
            return path.resolve(strict=True)
        except (OSError, RuntimeError):
            return path

    # --- sockets ----------------------------------------------------------

    def tcp_listeners(self) -> list[tuple[str, int, int | None, int]] | None:
        """Every listening TCP socket here as ``(address, port, uid, inode)``, from the kernel's sock_diag netlink interface.

        Far cheaper than ``/proc/net/tcp{,6}`` (see host/sockdiag.py).  None when it
        cannot answer (not Linux, a sandbox without netlink, no answer within 0.5 s) or
        when ``proc`` is a stand-in for /proc, whose own files must be read instead.
        """
        if not sys.platform.startswith("linux") or self.proc != Path("/proc"):
            return None
        from authdoctor.host.sockdiag import listening_sockets

        return listening_sockets()

    # --- subprocesses -----------------------------------------------------

    def spawn(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None = None,
        stderr: int | None = None,
        pass_fds: Sequence[int] = (),
    ) -> subprocess.Popen[bytes]:
        """Start a program whose output the caller streams itself (the shell tracer).

        Same rules as :meth:`run`: stdin closed, stdout discarded, no terminal, its
        own session (so the caller can kill the whole group).
        """
        import subprocess

        return subprocess.Popen(  # noqa: S603 - argv is built by us, never by a shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
            pass_fds=tuple(pass_fds),
            env=dict(env),
            cwd=cwd,
            start_new_session=not self.is_windows,
        )

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        input: bytes | None = None,
    ) -> RunResult:
        """Run a program with no terminal and stdin closed (or fed ``input``), killing its whole group on timeout."""
        import subprocess  # only commands that run programs pay for it

        if not argv:
            return RunResult(None, b"", b"", error="no program to run")
        try:
            proc = subprocess.Popen(  # noqa: S603 - argv is built by us, never by a shell
                list(argv),
                stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env if env is not None else self.env),
                cwd=cwd,
                start_new_session=not self.is_windows,
            )
        except OSError as exc:
            return RunResult(None, b"", b"", error=f"could not start {argv[0]}: {exc.strerror or exc}")
        except ValueError:
            # An argument or environment value with a NUL byte; never echo it.
            return RunResult(None, b"", b"", error=f"could not start {argv[0]}: an argument or variable contains a NUL byte")
        own = input is None and hasattr(os, "pidfd_open")
        try:
            out, err = _communicate(proc, timeout) if own else proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            # Our reader hands over what it read in the exception; Popen keeps its own and returns it all below.
            prior = (exc.output or b"", exc.stderr or b"") if own else (b"", b"")
            try:
                out, err = proc.communicate(timeout=_DRAIN_TIMEOUT)
                out, err = prior[0] + out, prior[1] + err
            except subprocess.TimeoutExpired:
                # A descendant left the process group (setsid, a daemon) and
                # still holds our pipes: stop waiting for it.
                for stream in (proc.stdout, proc.stderr):
                    if stream is not None:
                        stream.close()
                proc.wait()
                out, err = b"", b""
            return RunResult(None, out, err, timed_out=True)
        return RunResult(proc.returncode, out, err)


class _SystemKeyring:
    """This OS's keyring probe, imported when a check first asks it something.

    Codex stores its login in a file unless config.toml says otherwise, and then
    the keyring is never probed; host/keyring.py (probes for three OSes and the
    writers ``fix`` uses) costs about 2 ms to import, for nothing.
    """

    def probe(self, host: Host, account: str) -> KeyringStatus:
        from authdoctor.host.keyring import default_keyring_probe

        return default_keyring_probe().probe(host, account)

    def writer(self, host: Host) -> KeyringWriter | None:
        """The store ``fix`` and ``undo`` write, as the real probe hands it out (see keyring_writer_for)."""
        from authdoctor.host.keyring import default_keyring_probe

        make = getattr(default_keyring_probe(), "writer", None)
        return make(host) if make is not None else None


# After a timeout kill, how long to wait for the pipes to reach end of file.
_DRAIN_TIMEOUT = 1.0


def _login_ports(env: Mapping[str, str]) -> tuple[int, ...]:
    """``AUTHDOCTOR_LOGIN_PORTS=1455,1457``: other ports (a Codex build that uses them, or a test that must not assume 1455 is free)."""
    raw = env.get("AUTHDOCTOR_LOGIN_PORTS", "")
    ports = tuple(int(p) for p in raw.replace(" ", "").split(",") if p.isdigit() and 0 < int(p) < 65536)
    return ports or (1455, 1457)


def _size(limit: int) -> str:
    mib = 1024 * 1024
    if limit >= mib and limit % mib == 0:
        return f"{limit // mib} MiB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


def _communicate(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes]:
    """``proc.communicate(timeout=…)`` without its polling wait (Linux).

    After the pipes close, Popen waits for the exit with a loop of growing sleeps
    (0.5, 1, 2 … ms), which rounds every short program up by about a millisecond;
    a shell start-up is a few.  A pidfd becomes readable the moment the process
    exits.  A child that closes its pipes but keeps running still times out.
    """
    import selectors
    import subprocess
    import time

    deadline = time.monotonic() + timeout
    chunks: dict[int, list[bytes]] = {}
    with selectors.DefaultSelector() as sel:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                chunks[stream.fileno()] = []
                sel.register(stream.fileno(), selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(proc.args, timeout, _joined(proc.stdout, chunks), _joined(proc.stderr, chunks))
            for key, _ in sel.select(left):
                data = os.read(key.fd, 65536)
                if data:
                    chunks[key.fd].append(data)
                else:
                    sel.unregister(key.fd)
        try:
            pidfd = os.pidfd_open(proc.pid)
        except OSError:
            pidfd = None  # an old kernel: Popen's own wait below
        if pidfd is not None:
            try:
                sel.register(pidfd, selectors.EVENT_READ)
                if not sel.select(max(0.0, deadline - time.monotonic())):
                    raise subprocess.TimeoutExpired(proc.args, timeout, _joined(proc.stdout, chunks), _joined(proc.stderr, chunks))
            finally:
                os.close(pidfd)
    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    out, err = _joined(proc.stdout, chunks), _joined(proc.stderr, chunks)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return out, err


def _joined(stream: object, chunks: dict[int, list[bytes]]) -> bytes:
    fileno = getattr(stream, "fileno", None)
    return b"".join(chunks.get(fileno(), ())) if fileno is not None else b""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    import signal

    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        proc.kill()
