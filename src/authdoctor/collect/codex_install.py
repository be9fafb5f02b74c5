"""Which Codex is installed, found without running it (running it costs ~150 ms)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from authdoctor.host import Host


class CodexInstall(NamedTuple):
    path: Path | None
    version: str | None


def collect_codex_install(host: Host) -> CodexInstall:
    names = ("codex.cmd", "codex.exe", "codex") if host.is_windows else ("codex",)
    for folder in (host.getenv("PATH") or "").split(os.pathsep):
        if not folder:
            continue
        for name in names:
            candidate = Path(folder) / name
            if host.stat(candidate) is not None:
                return CodexInstall(candidate, _npm_version(host, candidate))
    return CodexInstall(None, None)


def _npm_version(host: Host, launcher: Path) -> str | None:
    """npm installs link ``bin/codex`` to ``@openai/codex/bin/codex.js``; its package.json has the version."""
    real = host.realpath(launcher)
    for parent in list(real.parents)[:3]:
        manifest = parent / "package.json"
        if host.stat(manifest) is None:
            continue
        try:
            data = json.loads(host.read_bytes(manifest, limit=1024 * 1024))
        except (OSError, ValueError):
            return None
        if isinstance(data, dict) and data.get("name") == "@openai/codex" and isinstance(data.get("version"), str):
            return str(data["version"])
        return None
    return None
