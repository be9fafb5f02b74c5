"""The opt-in ``--online`` probe (stub)."""

from __future__ import annotations

from typing import NamedTuple

from authdoctor.collect.evidence import DotenvEvidence
from authdoctor.host import Host


class OnlineEvidence(NamedTuple):
    pass


def collect_online(host: Host, dotenv: DotenvEvidence) -> OnlineEvidence:
    return OnlineEvidence()
