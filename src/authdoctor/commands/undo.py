"""``authdoctor undo``: put back, byte for byte and with the same mode, what a fix changed.

Without an entry id it takes the latest journal entry; an entry already undone
is left alone (undo is safe to run twice).  ``--list`` shows the journal.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from authdoctor.errors import ExitCode
from authdoctor.host import Host
from authdoctor.report.as_text import tilde
from authdoctor.report.envelope import envelope

if TYPE_CHECKING:
    from authdoctor.apply.journal import Journal


def run_undo(args: argparse.Namespace) -> int:
    from authdoctor.apply.journal import Journal, journal_root
    from authdoctor.cli import write
    from authdoctor.commands.fix import confirm, interactive, keyring_for, registry_for, style_for, tmux_for

    host = Host.from_system(home=args.home)
    journal = Journal(journal_root(host))
    if args.list:
        return _list(journal, args, host)
    entry = journal.get(args.entry) if args.entry else journal.latest()
    if entry is None:
        from authdoctor.errors import AuthdoctorError

        raise AuthdoctorError("nothing to undo: the journal is empty", hint="`authdoctor fix` records every change it makes there")
    style = style_for(args)
    if entry.state == "undone":
        return _done(
            args,
            {"status": "already-undone", "entry": entry.id, "restored": []},
            f"Journal entry {entry.id} was already undone; nothing to do.",
        )
    paths = [r.get("path", "") for r in entry.records if r.get("status") in ("written", "backed-up")]
    if not args.json:
        listed = "\n".join(f"  {style.bullet} {tilde(str(p), host.home)}" for p in paths) or "  (no file was changed)"
        write(sys.stdout, f"Undo journal entry {entry.id} ({', '.join(entry.cures) or 'fix'}), restoring:\n{listed}\n")
    if not args.yes:
        if args.json or not interactive():
            return _done(
                args,
                {"status": "not-a-terminal", "entry": entry.id, "restored": []},
                "Nothing was changed: re-run with --yes.",
                code=ExitCode.FINDINGS,
            )
        if not confirm("Restore these files? [y/N] "):
            return _done(args, {"status": "declined", "entry": entry.id, "restored": []}, "Nothing was changed.", code=ExitCode.FINDINGS)
    from authdoctor.apply.undo import undo

    done = undo(journal, entry.id, registry=registry_for(host), keyring=keyring_for(host), tmux=tmux_for(host))
    if done.already:
        return _done(
            args,
            {"status": "already-undone", "entry": done.entry_id, "restored": []},
            f"Journal entry {done.entry_id} was already undone; nothing to do.",
        )
    text = "\n".join(
        [f"{style.ok} Restored {len(done.restored)} item{'s' if len(done.restored) != 1 else ''} exactly as they were:"]
        + [f"  {style.bullet} {tilde(p, host.home)}" for p in done.restored]
        + ["Open a new terminal for the restored settings to take effect."]
    )
    return _done(args, {"status": "undone", "entry": done.entry_id, "restored": list(done.restored)}, text)


def _done(args: argparse.Namespace, payload: dict[str, Any], text: str, *, code: int = ExitCode.OK) -> int:
    from authdoctor.cli import write

    if args.json:
        import json

        body = {**envelope("undo"), **payload}
        write(sys.stdout, json.dumps(body, indent=2) + "\n")
    else:
        write(sys.stdout, text + "\n")
    return code


def _list(journal: Journal, args: argparse.Namespace, host: Host) -> int:
    from authdoctor.cli import write

    entries = journal.entries()
    if args.json:
        import json

        body = {
            **envelope("undo --list"),
            "journal": str(journal.root),
            "entries": [e._asdict() for e in entries],
        }
        write(sys.stdout, json.dumps(body, indent=2) + "\n")
        return ExitCode.OK
    if not entries:
        write(sys.stdout, f"The journal is empty ({tilde(str(journal.root), host.home)}).\n")
        return ExitCode.OK
    lines = [f"Journal: {tilde(str(journal.root), host.home)} (newest first)"]
    for e in entries:
        problem = f"  [{e.problem}]" if e.problem else ""
        files = ", ".join(tilde(p, host.home) for p in e.paths)
        lines.append(f"  {e.id}  {e.state:<8} {', '.join(e.cures) or '-'}  {files}{problem}")
    write(sys.stdout, "\n".join(lines) + "\n")
    return ExitCode.OK
