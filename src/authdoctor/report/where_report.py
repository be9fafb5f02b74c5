"""Rendering ``authdoctor where``: text for people, JSON (schema version 1) for scripts."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from authdoctor.collect.origins.model import ScanNote, Setting
from authdoctor.diagnose.where import OriginRecord, VariableReport
from authdoctor.report.as_text import tilde
from authdoctor.report.envelope import envelope

if TYPE_CHECKING:
    from authdoctor.report.style import Style


def _place(s: Setting) -> str:
    return f"{s.path}:{s.line}" if s.line else str(s.path)


def record_json(r: OriginRecord) -> dict[str, Any]:
    s = r.setting
    return {
        "path": str(s.path),
        "line": s.line or None,
        "family": s.family,
        "contexts": list(r.contexts),
        "action": s.action,
        "text": s.text,
        "status": r.status,
        "wins_in": list(r.wins_in),
        "conditional": s.conditional,
        "editable": s.editable,
        "blocker": s.blocker,
        "chain": [str(p) for p in s.chain],
        "fingerprint": s.value.fingerprint if s.value is not None else None,
    }


def render_where_json(reports: tuple[VariableReport, ...], notes: tuple[ScanNote, ...], likely_from: str) -> str:
    data = {
        **envelope(),
        "variables": [
            {
                "name": r.name,
                "in_this_terminal": {
                    "set": r.current is not None,
                    "fingerprint": r.current.fingerprint if r.current is not None else None,
                    "likely_from": likely_from if r.current is not None and not _explained(r) else None,
                },
                "origins": [record_json(rec) for rec in r.records],
                "contexts": [
                    {
                        "name": v.name,
                        "scanned": v.covered,
                        "winner": None if v.winner is None else {"path": str(v.winner.path), "line": v.winner.line or None},
                    }
                    for v in r.verdicts
                ],
            }
            for r in reports
        ],
        "notes": [{"path": str(n.path), "kind": n.kind, "message": n.message} for n in notes],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _explained(r: VariableReport) -> bool:
    """Whether some start-up source explains the value this terminal holds."""
    return any(
        v.winner is not None and v.winner.value is not None and r.current is not None and v.winner.value == r.current for v in r.verdicts
    )


_STATUS = {
    "wins": "wins",
    "shadowed": "overridden later",
    "unset-later": "unset later",
    "unsets": "unsets it",
    "inactive": "not exported",
}


def render_where_text(
    reports: tuple[VariableReport, ...], notes: tuple[ScanNote, ...], likely_from: str, style: Style, home: Path, *, verbose: bool = False
) -> str:
    out: list[str] = []
    for r in reports:
        if not r.records and r.current is None and not verbose:
            continue
        here = f"set in this terminal ({r.current.fingerprint})" if r.current is not None else "not set in this terminal"
        out.append(f"{style.paint(r.name, 'bold')} {style.dash} {here}")
        if not r.records:
            out.append("  no start-up file or setting sets it")
        for rec in r.records:
            s = rec.setting
            flags = [f for f in ("conditional" if s.conditional else "", f"not auto-editable: {s.blocker}" if s.blocker else "") if f]
            mark = style.paint(style.error, "red") if rec.status == "wins" else style.bullet
            status = "wins in " + ", ".join(rec.wins_in) if rec.wins_in else _STATUS.get(rec.status, rec.status)
            line = f"  {mark} {tilde(_place(s), home)}  {s.text}  [{s.family}] {style.dash} {status}"
            if flags:
                line += f" ({'; '.join(flags)})"
            if s.chain:
                line += f" (via {' → '.join(tilde(str(p), home) for p in s.chain)})"
            out += textwrap.wrap(line, 100, subsequent_indent="      ", break_on_hyphens=False)
        out.append("  Who gets it:")
        for v in r.verdicts:
            if not v.covered and not verbose:
                continue
            got = f"from {tilde(_place(v.winner), home)}" if v.winner is not None else "not set"
            out.append(f"    {v.name}: {got}")
        if r.current is not None and not _explained(r):
            out += textwrap.wrap(
                f"  This terminal's value is not explained by any start-up file. Most likely from: {likely_from}.",
                100,
                subsequent_indent="    ",
            )
        out.append("")
    if not out:
        out.append("None of these variables is set in this terminal or by any start-up file authdoctor reads.")
    if notes:
        out.append(style.paint("Notes", "bold"))
        for n in notes:
            out += textwrap.wrap(f"  {style.warn} {tilde(str(n.path), home)}: {n.message}", 100, subsequent_indent="    ")
    return "\n".join(out).rstrip("\n") + "\n"
