"""Every tmux server of this user and the environment it hands to new panes (stub)."""

from __future__ import annotations

from typing import NamedTuple

from authdoctor.host import Host


class TmuxEvidence(NamedTuple):
    pass


def collect_tmux(host: Host) -> TmuxEvidence | None:
    return None
