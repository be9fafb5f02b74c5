"""Who listens on the login callback ports (stub: filled in by the ports work)."""

from __future__ import annotations

from typing import NamedTuple

from authdoctor.host import Host


class Listener(NamedTuple):
    """One socket listening on a watched port."""

    port: int
    address: str  # "127.0.0.1", "0.0.0.0", "::1", "::"
    pid: int | None = None  # None: the OS did not say (another user's process, or no permission)
    program: str | None = None  # the process name, as the process table shows it
    role: str | None = None  # for Codex: "login", "app-server", "tui" … (collect/processes.py roles)
    stopped: bool = False  # the holder is suspended (Ctrl-Z on a `codex login`)


class PortEvidence(NamedTuple):
    ports: tuple[int, ...]  # the ports looked at
    listeners: tuple[Listener, ...] = ()
    visible: bool = True  # False: this system does not let us see listeners; ``note`` says why
    note: str = ""
    excluded: tuple[tuple[int, int], ...] = ()  # Windows: excluded port ranges that cover a watched port


def collect_ports(host: Host) -> PortEvidence | None:
    return None
