"""Findings: what is wrong, why, where it comes from, and what to do next."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Origin:
    """Where a setting comes from.  ``text`` is always already redacted."""

    context: str  # "environment" | "dotenv" | "zsh" | "bash" | "config" | "file" …
    text: str
    path: str | None = None
    line: int | None = None
    active: bool = True


@dataclass(frozen=True)
class Fix:
    summary: str
    automatic: bool = False
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    id: str
    severity: Severity
    title: str
    detail: str
    fix: Fix
    origins: tuple[Origin, ...] = field(default_factory=tuple)
