"""Read ``$CODEX_HOME/.env``, which Codex loads with dotenvy at start-up.

Codex exports every key except those starting with ``CODEX_``, *overriding* the
value inherited from the shell -- unlike most ``.env`` loaders.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from authdoctor.codex import knowledge as K
from authdoctor.collect.evidence import DotenvEntry, DotenvEvidence, Problem
from authdoctor.host import Host
from authdoctor.secret import Secret

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def collect_dotenv(host: Host, codex_home: Path) -> DotenvEvidence:
    path = codex_home / K.DOTENV_FILENAME
    if host.stat(path) is None:
        return DotenvEvidence(path=path, exists=False)
    try:
        data = host.read_bytes(path)
    except (OSError, ValueError) as exc:
        reason = "permission denied" if isinstance(exc, PermissionError) else str(exc)
        return DotenvEvidence(path, True, Problem("unreadable", f"it cannot be read ({reason})"))
    parsed = parse_dotenv(path, data)
    entries = tuple(replace(e, differs_from_shell=e.applies and host.getenv(e.key) != e.value.reveal()) for e in parsed.entries)
    return replace(parsed, entries=entries)


def _unquote(raw: str) -> str:
    raw = raw.strip()
    if raw[:1] == "'":
        end = raw.find("'", 1)
        return raw[1:end] if end > 0 else raw[1:]
    if raw[:1] == '"':
        out: list[str] = []
        i = 1
        while i < len(raw) and raw[i] != '"':
            if raw[i] == "\\" and i + 1 < len(raw):
                out.append(_ESCAPES.get(raw[i + 1], raw[i + 1]))
                i += 2
                continue
            out.append(raw[i])
            i += 1
        return "".join(out)
    # Unquoted: a ` #` starts a comment.
    return re.split(r"\s+#", raw, maxsplit=1)[0].strip()


def parse_dotenv(path: Path, data: bytes) -> DotenvEvidence:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return DotenvEvidence(path, True, Problem("unparsable", f"it is not UTF-8 text (bad byte at offset {exc.start})"))
    entries: list[DotenvEntry] = []
    bad: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip().lstrip("\ufeff")
        if not stripped or stripped.startswith("#"):
            continue
        m = _LINE.match(stripped)
        if m is None:
            bad.append(number)
            continue
        key = m.group(1)
        entries.append(DotenvEntry(key=key, value=Secret(_unquote(m.group(2))), line=number, applies=K.dotenv_key_applies(key)))
    problem = None
    if bad:
        shown = ", ".join(str(n) for n in bad[:5])
        problem = Problem("unparsable", f"line {shown} {'is' if len(bad) == 1 else 'are'} not KEY=VALUE, so Codex skips it")
    return DotenvEvidence(path, True, problem, tuple(entries))
