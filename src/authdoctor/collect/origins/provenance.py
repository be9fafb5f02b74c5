"""Where a variable in *this* terminal most likely came from, when no start-up file explains it.

Three layers inject variables after (or instead of) the shell's own files:

- the parent process chain: tmux, screen, an IDE's terminal, ``sudo``/``su``
  (read from /proc on Linux; elsewhere the chain cannot be seen and we say so);
- tmux's global environment, which a long-lived server hands to every new pane
  (``tmux show-environment -g``);
- direnv, which records what it exported in ``DIRENV_DIFF`` and the file in
  ``DIRENV_FILE``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.collect.origins.model import EXPORT, OriginScan, ScanNote, Setting, Trail
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from authdoctor.host import Host

CONTEXT = "this terminal"

# What a parent process named like this means for the environment it passed down.
_LAUNCHERS = {
    "tmux": "tmux: panes inherit the tmux server's global environment from when the server started",
    "tmux: server": "tmux: panes inherit the tmux server's global environment from when the server started",
    "screen": "screen: windows inherit the environment screen started with",
    "sudo": "sudo: the environment was filtered and rebuilt by sudo (see `sudo -l`, env_keep)",
    "su": "su: the environment comes from su (without `-`, the caller's variables pass through)",
    "code": "VS Code: its terminals inherit the editor's environment and terminal.integrated.env settings",
    "cursor": "Cursor: its terminals inherit the editor's environment and terminal.integrated.env settings",
    "sshd": "sshd: the SSH session (AcceptEnv / ~/.ssh/environment may pass variables)",
    "login": "login: a console login session",
    "systemd": "systemd: the user session manager (environment.d, `systemctl --user set-environment`)",
    "launchd": "launchd: GUI session (`launchctl setenv`)",
}


class Ancestor(NamedTuple):
    pid: int
    name: str
    meaning: str | None


def process_chain(host: Host, limit: int = 32) -> list[Ancestor] | None:
    """Parents of this process, nearest first; None when the OS does not let us see them."""
    if host.proc is None:
        return None
    chain: list[Ancestor] = []
    pid = host.pid
    for _ in range(limit):
        status = _read_status(host, pid)
        if status is None:
            break
        ppid = status.get("PPid", "0")
        if not ppid.isdigit() or ppid == "0":
            break
        parent = _read_status(host, ppid)
        if parent is None:
            break
        name = parent.get("Name", "?")
        chain.append(Ancestor(int(ppid), name, _meaning(name)))
        pid = ppid
    return chain


def _read_status(host: Host, pid: str) -> dict[str, str] | None:
    assert host.proc is not None
    try:
        text = host.read_bytes(host.proc / pid / "status", limit=64 * 1024).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _meaning(name: str) -> str | None:
    lowered = name.lower()
    for key, meaning in _LAUNCHERS.items():
        if lowered == key or lowered.startswith(key + " ") or (key in ("code", "cursor") and lowered.startswith(key)):
            return meaning
    return None


def tmux_settings(host: Host, names: frozenset[str]) -> tuple[list[Setting], list[ScanNote]]:
    """Watched variables in the global environment of the tmux server this terminal runs in."""
    from authdoctor.collect.tmux import RUNNING, STALE, find_program, read_server
    from authdoctor.collect.tmux_sockets import current_socket

    socket = current_socket(host)
    if socket is None:
        return [], []
    where = Path("tmux global environment")
    program = find_program(host)
    if program is None:
        return [], [ScanNote(where, "unreadable", "$TMUX is set but no `tmux` program is on PATH to ask for its global environment")]
    # The global environment is what this terminal inherited from; sessions are collect/tmux.py's business.
    server = read_server(host, program, socket, names, current=True, sessions=False)
    if server.state != RUNNING:
        kind = "missing" if server.state == STALE else "unreadable"
        return [], [ScanNote(where, kind, server.problem or f"the tmux server on {socket} could not be read")]
    settings: list[Setting] = []
    for v in server.global_variables():
        if v.value is None:
            settings.append(Setting(v.name, "unset", False, None, where, 0, f"-{v.name} (removed from new panes)", "tmux", editable=False))
        else:
            text = f"{v.name}=<redacted>"
            settings.append(Setting(v.name, EXPORT, True, v.value, where, 0, text, "tmux", editable=False, blocker="tmux-server"))
    return settings, []


def direnv_settings(host: Host, names: frozenset[str]) -> list[Setting]:
    """What direnv says it exported into this shell (DIRENV_DIFF), attributed to DIRENV_FILE."""
    diff = host.env.get("DIRENV_DIFF")
    if not diff:
        return []
    import base64
    import binascii
    import zlib

    try:
        padded = diff + "=" * (-len(diff) % 4)
        data = json.loads(zlib.decompress(base64.urlsafe_b64decode(padded)))
    except (binascii.Error, zlib.error, ValueError):
        return []
    new = data.get("n") if isinstance(data, dict) else None
    if not isinstance(new, dict):
        return []
    envrc = Path(host.env.get("DIRENV_FILE") or "direnv")
    found: list[Setting] = []
    for name in sorted(names):
        value = new.get(name)
        if isinstance(value, str):
            found.append(Setting(name, EXPORT, True, Secret(value), envrc, 0, f"{name}=<redacted> (exported by direnv)", "direnv"))
    return found


class ProvenanceSource:
    """Live layers of this terminal: tmux, direnv, and the parent process chain (as notes)."""

    name = "this terminal"

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        tmux, notes = tmux_settings(host, names)
        settings = [*tmux, *direnv_settings(host, names)]
        return OriginScan(self.name, (Trail(CONTEXT, tuple(settings)),), tuple(notes))


def describe_chain(chain: list[Ancestor] | None) -> str:
    """``zsh (pid 12) ← tmux (pid 7): …``, or why it cannot be seen."""
    if chain is None:
        return "the parent processes cannot be inspected on this system"
    if not chain:
        return "no parent process could be read"
    parts = [f"{a.name} (pid {a.pid})" for a in chain[:6]]
    meaning = next((a.meaning for a in chain if a.meaning), None)
    text = " ← ".join(parts)
    return f"{text}; {meaning}" if meaning else text
