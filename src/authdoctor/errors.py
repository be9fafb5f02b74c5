"""The one error type for expected failures.

Anything authdoctor can anticipate going wrong (bad usage, an unreadable
``--home``, a refused edit) raises :class:`AuthdoctorError` with a message and
a hint.  The CLI turns it into one line and exit code 2; every other exception
is an internal error and gets the same one-line treatment unless ``--verbose``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes, set here and nowhere else (see DESIGN.md)."""

    OK = 0
    FINDINGS = 1
    FAILURE = 2


class AuthdoctorError(Exception):
    """An expected failure, with a hint that says what to do about it."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message
