"""Read, remove and put back one variable in a running tmux server's environment.

``set-environment -gu NAME`` (or ``-t <session> -u NAME``) removes a variable
from what the server hands to new panes.  Putting it back must not show the
value on a command line (``/proc/PID/cmdline`` is readable by other users), so
undo feeds ``set-environment`` to ``tmux source-file -`` on standard input,
single-quoted: inside single quotes tmux expands nothing, and a single quote
is written ``'\\''`` as in sh.
"""

from __future__ import annotations

from collections.abc import Sequence

from authdoctor.collect.tmux_sockets import client_env
from authdoctor.errors import AuthdoctorError
from authdoctor.host import Host
from authdoctor.plan.model import TmuxTarget

TIMEOUT = 2.0
_NOT_SET = (b"unknown variable", b"no such variable")


class TmuxWriter:
    """The real tmux, through :meth:`Host.run`."""

    def __init__(self, host: Host) -> None:
        self._host = host

    def _run(self, target: TmuxTarget, args: Sequence[str], data: bytes | None = None) -> tuple[int | None, bytes, bytes]:
        # -u: values are bytes, not text in the client's locale (without it tmux prints some as `_`).
        # A minimal environment: a client must not hand our own variables to the server.
        env = client_env(self._host)
        res = self._host.run([target.program, "-u", "-S", str(target.socket), *args], timeout=TIMEOUT, input=data, env=env)
        if res.timed_out:
            raise AuthdoctorError(f"the tmux server at {target.socket} did not answer within {TIMEOUT:.0f} s", hint="is it stopped?")
        if res.returncode is None:
            raise AuthdoctorError(f"tmux could not be started ({res.error})", hint="is tmux still installed?")
        return res.returncode, res.stdout, res.stderr

    def get(self, target: TmuxTarget) -> bytes | None:
        """The value, or None when the server no longer has it.  Raises AuthdoctorError when the server cannot be asked."""
        code, out, err = self._run(target, ["show-environment", *target.scope(), target.name])
        if code != 0:
            if any(marker in err for marker in _NOT_SET):
                return None
            raise AuthdoctorError(f"the tmux server at {target.socket} cannot be asked: {_first_line(err)}", hint="is it still running?")
        line = out.rstrip(b"\n")
        prefix = target.name.encode() + b"="
        return line[len(prefix) :] if line.startswith(prefix) else None

    def unset(self, target: TmuxTarget) -> None:
        code, _, err = self._run(target, ["set-environment", *target.scope(), "-u", target.name])
        if code != 0:
            raise AuthdoctorError(f"tmux refused to remove {target.words()}: {_first_line(err)}")

    def set(self, target: TmuxTarget, value: bytes) -> None:
        if b"\n" in value or b"\0" in value:
            raise AuthdoctorError(
                f"the old value of {target.words()} spans lines and cannot be put back safely",
                hint=f"set it again by hand: tmux -S {target.socket} set-environment {' '.join(target.scope())} {target.name} '…'",
            )
        quoted = b"'" + value.replace(b"'", b"'\\''") + b"'"
        scope = " ".join(target.scope()).encode()
        command = b"set-environment " + scope + b" " + target.name.encode() + b" " + quoted + b"\n"
        code, _, err = self._run(target, ["source-file", "-"], data=command)
        if code != 0:
            raise AuthdoctorError(f"tmux refused to put back {target.words()}: {_first_line(err)}")


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "no reason given"
