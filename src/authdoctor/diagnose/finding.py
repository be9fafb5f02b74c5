"""Findings: what is wrong, why, where it comes from, and what to do next."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Origin(NamedTuple):
    """Where a setting comes from.  ``text`` is always already redacted."""

    context: str  # "environment" | "dotenv" | "zsh" | "bash" | "config" | "file" …
    text: str
    path: str | None = None
    line: int | None = None
    active: bool = True


class Fix(NamedTuple):
    summary: str
    automatic: bool = False  # `authdoctor fix` does it (by default for errors; named, for warnings)
    commands: tuple[str, ...] = ()
    # What `authdoctor fix` would do, as data for the planner:
    removes: tuple[str, ...] = ()  # variables to remove from every place that sets them
    moves: str | None = None  # a file to move aside (a broken auth.json), so a fresh `codex login` can write a new one
    # The keyring account (service "Codex Auth") whose entry goes into the journal and out of the keyring.
    moves_keyring: str | None = None
    # Also move aside the legacy folders (~/.config/codex, %APPDATA%\codex) where they exist and hold credentials.
    moves_legacy: bool = False
    # Variables to remove from running tmux servers: (socket path, session id or "" for the global environment, name).
    unsets_tmux: tuple[tuple[str, str, str], ...] = ()


class Finding(NamedTuple):
    id: str
    severity: Severity
    title: str
    detail: str
    fix: Fix
    origins: tuple[Origin, ...] = ()
