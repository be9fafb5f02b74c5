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
    automatic: bool = False
    commands: tuple[str, ...] = ()


class Finding(NamedTuple):
    id: str
    severity: Severity
    title: str
    detail: str
    fix: Fix
    origins: tuple[Origin, ...] = ()
