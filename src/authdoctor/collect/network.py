"""Network settings Codex will use: proxies, CA bundles, headless and WSL markers (stub)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from authdoctor.collect.evidence import DotenvEvidence
from authdoctor.host import Host


class NetworkEvidence(NamedTuple):
    pass


def collect_network(host: Host, dotenv: DotenvEvidence, codex_home: Path) -> NetworkEvidence | None:
    return None
