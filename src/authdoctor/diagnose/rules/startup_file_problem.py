"""startup-file-problem: a shell start-up file hangs, exits, replaces the shell, or cannot be read.

Not in the original catalogue.  When authdoctor reads or runs the user's
start-up files and one of them misbehaves, that is a fact about the file --
and often why a terminal, an IDE's shell-environment probe or `codex` itself
behaves oddly -- not a failure of authdoctor.
"""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "startup-file-problem"

# Note kinds that describe the user's file, with what they mean for the person.
_MEANING = {
    "timeout": "it did not finish: editors that read your shell environment (VS Code runs `$SHELL -ilc`) give up after 10 s",
    "exit": "it ends the shell early, so everything after that line is never read",
    "exec": "it replaces the shell with another program, so nothing after that line runs",
    "crash": "the shell crashed while running it",
    "cycle": "files source each other in a loop",
    "unreadable": "it cannot be read, so the shell skips it",
}


def check(f: Facts) -> Iterable[Finding]:
    seen: set[tuple[str, str]] = set()
    found: list[Finding] = []
    for scan in f.ev.origin_scans:
        for note in scan.notes:
            meaning = _MEANING.get(note.kind)
            # Our own crashes are reported as collector failures, not here.
            # A note without a real file (our own source failing, a shell that
            # would not start) is not about the user's files.
            if meaning is None or not note.path.is_absolute() or (str(note.path), note.kind) in seen:
                continue
            seen.add((str(note.path), note.kind))
            found.append(
                Finding(
                    id=ID,
                    severity=Severity.WARNING,
                    title=f"A shell start-up file misbehaves: {note.path}",
                    detail=f"{note.message}. That matters because {meaning}.",
                    origins=(Origin(context=scan.source, text=note.kind, path=str(note.path)),),
                    fix=Fix(
                        summary=f"Open {note.path} and fix or guard that line "
                        "(for example run it only in interactive shells: `[[ $- == *i* ]]`)."
                    ),
                )
            )
    return found


def _applies(f: Facts) -> bool:
    return bool(f.ev.origin_scans)


RULE = Rule(ID, check, "shell start-up files read cleanly", _applies)
