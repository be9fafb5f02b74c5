"""``$CODEX_HOME/.env``: Codex loads it at start-up and lets it override the shell.

Codex (``codex-rs/arg0`` ``load_dotenv``) reads the file with dotenvy and
exports every key into its own environment, *replacing* what the shell
passed, except keys that start with ``CODEX_``: those are ignored, so a
``CODEX_ACCESS_TOKEN`` in ``.env`` does nothing (it is reported as a note, so
nobody edits the wrong file).  Parsing is shared with the evidence collector
(:mod:`authdoctor.collect.dotenv`), which follows dotenvy line for line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor.collect.codex_home import collect_codex_home
from authdoctor.collect.dotenv import collect_dotenv
from authdoctor.collect.origins._textfile import under_home
from authdoctor.collect.origins.model import EXPORT, OriginScan, ScanNote, Setting, Trail

if TYPE_CHECKING:
    from authdoctor.host import Host

CONTEXT = "codex (loads $CODEX_HOME/.env)"


class CodexDotenvSource:
    """The keys of ``$CODEX_HOME/.env`` that Codex applies over its inherited environment."""

    name = "codex .env"

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        home = collect_codex_home(host)
        evidence = collect_dotenv(host, home.path)
        if not evidence.exists:
            return OriginScan(self.name)
        path = evidence.path
        notes: list[ScanNote] = []
        if evidence.problem is not None:
            kind = "unreadable" if evidence.problem.kind in ("unreadable", "not-a-file") else "parse-error"
            notes.append(ScanNote(path, kind, f"{path}: {evidence.problem.message}"))
        data = _read(host, evidence.path) if evidence.entries else b""
        starts = _line_starts(data)
        settings: list[Setting] = []
        for entry in evidence.entries:
            if entry.key not in names:
                continue
            if not entry.applies:
                notes.append(
                    ScanNote(
                        path,
                        "ignored",
                        f"{path}:{entry.line} sets {entry.key}, but Codex ignores .env keys starting with CODEX_; "
                        "set it in the environment instead (or remove the line)",
                    )
                )
                continue
            start = starts[entry.line - 1] if entry.line - 1 < len(starts) else 0
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            if data[start:end].endswith(b"\r"):
                end -= 1
            blocker = None if under_home(host, path) else "outside-home"
            if "\n" in entry.value.reveal():
                blocker = "multi-line"  # a quoted value that spans lines
            settings.append(
                Setting(
                    var=entry.key,
                    action=EXPORT,
                    exported=True,
                    value=entry.value,
                    path=path,
                    line=entry.line,
                    text=f"{entry.key}=<redacted>",
                    family="dotenv",
                    span=(start, end),
                    editable=blocker is None,
                    blocker=blocker,
                )
            )
        return OriginScan(self.name, (Trail(CONTEXT, tuple(settings), (path,)),), tuple(notes))


def _read(host: Host, path: Path) -> bytes:
    try:
        return host.read_bytes(path)
    except (OSError, ValueError):
        return b""


def _line_starts(data: bytes) -> list[int]:
    starts = [0]
    i = data.find(b"\n")
    while i != -1:
        starts.append(i + 1)
        i = data.find(b"\n", i + 1)
    return starts
