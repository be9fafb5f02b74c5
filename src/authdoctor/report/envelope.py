"""The head every JSON output starts with: one schema version for all commands, and who wrote it."""

from __future__ import annotations

from typing import Any

from authdoctor import __version__

# Fields are only ever added within a version (docs/json-report.md).
SCHEMA_VERSION = 1


def envelope(command: str | None = None) -> dict[str, Any]:
    """``schema_version``, ``tool`` and, for every command but ``check``, ``command``; the caller adds the rest."""
    head: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "tool": {"name": "authdoctor", "version": __version__}}
    if command is not None:
        head["command"] = command
    return head
