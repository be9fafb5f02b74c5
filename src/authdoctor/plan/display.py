"""Showing a plan: a unified diff per file, every value on a shown line redacted.

The lines a fix touches hold the secret it removes, and often others (``export
A=1 X=… GITHUB_TOKEN=…``).  So on every line the diff shows, every assigned
value is replaced by ``<redacted>`` -- not just the known secrets -- before
anything is printed.  The CLI's final scrub is a second net, not the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from authdoctor.plan.model import FileChange
from authdoctor.secret import REDACTED

_SHELL_VALUE = re.compile(r"""(\b[A-Za-z_][A-Za-z0-9_]*\+?=)("(?:[^"\\]|\\.)*"?|'[^']*'?|[^\s;&|#]*)""")
_JSON_VALUE = re.compile(r"""("(?:[^"\\]|\\.)*"\s*:\s*)("(?:[^"\\]|\\.)*"?)""")
_FISH_SET = re.compile(r"""(\bset\s+(?:-[A-Za-z-]+\s+)*[A-Za-z_][A-Za-z0-9_]*)(\s+.*?)(\s*(?:#.*)?)$""")
_PS_ASSIGN = re.compile(
    r"""(\$env:[A-Za-z_][A-Za-z0-9_]*\s*=\s*|[Ee]nv:[A-Za-z_][A-Za-z0-9_]*\s+(?:-Value\s+)?|,\s*)(['"])(?:(?!\2).)*\2?"""
)
_UNIVERSAL = re.compile(r"""^(SETUVAR\s+(?:--export\s+)?[A-Za-z_][A-Za-z0-9_]*:)(.*)$""")
_PLIST_STRING = re.compile(r"""(<string>)([^<]*)(</string>)""")
_PAM = re.compile(r"""(\b(?:DEFAULT|OVERRIDE)=)("(?:[^"\\]|\\.)*"?|\S*)""")


def redact_line(line: str, family: str) -> str:
    """``line`` with every value it assigns replaced by <redacted>; names, keywords and comments stay."""
    if family == "fish-universal":
        return _UNIVERSAL.sub(rf"\1{REDACTED}", line)
    if family == "vscode":
        return _JSON_VALUE.sub(rf'\1"{REDACTED}"', line)
    if family == "launchd":
        return _PLIST_STRING.sub(rf"\1{REDACTED}\3", line)
    if family == "powershell":
        line = _PS_ASSIGN.sub(rf"\1'{REDACTED}'", line)
    if family == "fish":
        line = _FISH_SET.sub(rf"\1 {REDACTED}\3", line)
    if family == "pam":
        line = _PAM.sub(rf"\1{REDACTED}", line)
    return _SHELL_VALUE.sub(rf"\1{REDACTED}", line)


def _lines(data: bytes) -> list[str]:
    from pathlib import Path

    from authdoctor.collect.origins._textfile import decode

    return decode(Path(), data, utf16=True)[0].text.splitlines()


def diff(change: FileChange, shown_path: str) -> Iterator[str]:
    """A unified diff (no context lines: they could hold secrets too) of one change, redacted."""
    import difflib

    if change.family == "launchd" and not change.before.lstrip().startswith(b"<"):
        yield f"(binary property list {shown_path}: {', '.join(change.removes)} removed from its launchctl setenv arguments)"
        return
    before, after = _lines(change.before), _lines(change.after)
    for line in difflib.unified_diff(before, after, f"{shown_path}", f"{shown_path} (fixed)", n=0, lineterm=""):
        if line.startswith(("---", "+++", "@@")):
            yield line
        else:
            yield line[0] + redact_line(line[1:], change.family).encode("utf-8", "replace").decode("utf-8", "replace")
