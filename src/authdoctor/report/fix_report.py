"""What ``authdoctor fix`` and ``authdoctor undo`` say, as text or as versioned JSON.

Everything here is already redacted: diffs go through ``plan.display``, steps
carry the scanners' redacted statement text, verification holds only names.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from authdoctor.plan.display import diff
from authdoctor.plan.model import Change, FileChange, FolderAside, KeyringAside, ManualStep, MoveAside, Plan, RegistryDelete, TmuxUnset
from authdoctor.plan.planner import reason_words
from authdoctor.report.as_text import tilde
from authdoctor.report.envelope import envelope
from authdoctor.report.style import Style

if TYPE_CHECKING:
    from authdoctor.verify import Holder, ShellVerdict


# What happened to the plan.
APPLIED = "applied"
DRY_RUN = "dry-run"
DECLINED = "declined"
NOT_A_TERMINAL = "not-a-terminal"
NOTHING = "nothing-to-do"
MANUAL_ONLY = "manual-only"  # nothing authdoctor may change itself: every step is by hand


class Verification(NamedTuple):
    shells: tuple[ShellVerdict, ...]
    skipped: str | None  # why no fresh shell was started (--no-exec)
    remaining: tuple[str, ...]  # cured finding ids a new terminal would still show
    this_terminal: tuple[str, ...]  # removed variables the shell that ran authdoctor still holds
    unset: str  # the command for it
    holders: tuple[Holder, ...]


class FixOutcome(NamedTuple):
    plan: Plan
    status: str
    home: Path
    journal_entry: str | None = None
    journal_path: Path | None = None
    verification: Verification | None = None


# --- text -------------------------------------------------------------------------------


def _summary(change: Change, home: Path) -> str:
    cures = f"  (cures {', '.join(change.cures)})"
    if isinstance(change, FileChange):
        where = tilde(str(change.path), home)
        lines = f" line{'s' if len(change.lines) > 1 else ''} {', '.join(map(str, change.lines))}" if change.lines else ""
        return f"{where}{lines}: remove {', '.join(change.removes)}{cures}"
    if isinstance(change, MoveAside):
        return f"move {tilde(str(change.path), home)} aside to {change.dest.name}, then {change.then}{cures}"
    if isinstance(change, KeyringAside):
        return (
            f"move the {change.service!r} keyring entry for {change.account} into the journal (a private copy) and delete it "
            f"from the keyring, then {change.then}{cures}"
        )
    if isinstance(change, FolderAside):
        holds = f" (it holds {', '.join(change.holds)})" if change.holds else ""
        return f"move the legacy folder {tilde(str(change.path), home)}{holds} aside to {change.dest.name}, then {change.then}{cures}"
    if isinstance(change, TmuxUnset):
        return f"remove {change.target.words()}, so new panes no longer get it (its value goes to the journal){cures}"
    return f"delete {change.name} from {change.hive}\\{change.key} and tell Windows (WM_SETTINGCHANGE){cures}"


def _manual_text(step: ManualStep, home: Path) -> list[str]:
    where = f"{tilde(str(step.path), home)}:{step.line}" if step.path is not None and step.line else tilde(str(step.path or ""), home)
    out = [f"{tilde(step.summary, home)}: {reason_words(step.reason)}."]
    if step.detail:
        out.append(f"    {tilde(step.detail, home)}")
    if step.text:
        out.append(f"    {where}: {step.text}" if where else f"    {step.text}")
    out += [f"    $ {c}" for c in step.commands]
    return out


def render_plan_text(plan: Plan, home: Path, style: Style) -> str:
    out: list[str] = []
    if plan.changes:
        out.append(style.paint(f"The plan ({len(plan.changes)} change{'s' if len(plan.changes) != 1 else ''})", "bold"))
        for n, change in enumerate(plan.changes, 1):
            out.append(f"  {n}. {_summary(change, home)}")
            if isinstance(change, FileChange):
                if change.note:
                    out.append(f"     note: {tilde(change.note, home)}")
                for line in diff(change, tilde(str(change.path), home)):
                    color = "red" if line.startswith("-") and not line.startswith("---") else "green" if line.startswith("+") else "dim"
                    out.append("     " + style.paint(line, color))
    if plan.manual:
        out.append(style.paint("By hand (authdoctor will not do these)", "bold"))
        for step in plan.manual:
            lines = _manual_text(step, home)
            out.append(f"  {style.bullet} {lines[0]}")
            out += [f"  {line}" for line in lines[1:]]
    return "\n".join(out) + ("\n" if out else "")


def render_outcome_text(outcome: FixOutcome, style: Style) -> str:
    out: list[str] = []
    if outcome.status == NOTHING:
        out.append(f"{style.paint(style.ok, 'green')} Nothing to fix: no finding authdoctor can repair.")
    elif outcome.status == DRY_RUN:
        out.append("Dry run: nothing was changed. `authdoctor fix --yes` applies the plan.")
    elif outcome.status == MANUAL_ONLY:
        out.append("Nothing was changed: authdoctor cannot make these changes safely itself. Do the steps above by hand.")
        if outcome.verification is not None:
            out += _verification_text(outcome.verification, outcome.plan, style)
    elif outcome.status == DECLINED:
        out.append("Nothing was changed.")
    elif outcome.status == NOT_A_TERMINAL:
        out.append("Nothing was changed: this is not a terminal, so authdoctor cannot ask. Re-run with --yes to apply the plan.")
    elif outcome.status == APPLIED:
        if outcome.plan.changes:
            out.append(
                f"{style.paint(style.ok, 'green')} Applied. Backups are in journal entry {outcome.journal_entry}; "
                "`authdoctor undo` puts every byte back."
            )
        for then in next_steps(outcome.plan):
            out.append(f"{style.paint(style.info, 'cyan')} Next: {then} to sign in again. authdoctor never refreshes or revokes tokens.")
        v = outcome.verification
        if v is not None:
            out += _verification_text(v, outcome.plan, style)
    return "\n".join(out) + "\n"


def next_steps(plan: Plan) -> list[str]:
    """What the person does after a login was moved aside (``run `codex login```), once each."""
    seen: dict[str, None] = {}
    for change in plan.changes:
        if isinstance(change, MoveAside | KeyringAside | FolderAside):
            seen[change.then] = None
    return list(seen)


def _verification_text(v: Verification, plan: Plan, style: Style) -> list[str]:
    out = [style.paint("Verification", "bold")]
    if v.skipped:
        out.append(f"  {style.paint(style.info, 'cyan')} No fresh shell was started: {v.skipped}.")
    for s in v.shells:
        if s.problem:
            out.append(f"  {style.paint(style.warn, 'yellow')} A new {s.context} could not be checked: {s.problem}.")
            continue
        mark = style.paint(style.ok, "green") if not s.still_set and not s.changed else style.paint(style.warn, "yellow")
        parts = []
        if s.gone:
            parts.append(f"{', '.join(s.gone)} {'is' if len(s.gone) == 1 else 'are'} gone")
        if s.still_set:
            parts.append(f"{', '.join(s.still_set)} still set (see the steps by hand)")
        parts.append(f"the other {s.kept} variables kept their values")
        if s.changed:
            parts.append(f"but {', '.join(s.changed)} changed (not by authdoctor: your start-up files vary between runs?)")
        out.append(f"  {mark} A new {s.context}: {'; '.join(parts)}.")
    if v.remaining:
        still = ", ".join(v.remaining)
        out.append(f"  {style.paint(style.warn, 'yellow')} Still found for a new terminal: {still} (see the steps by hand).")
    elif plan.changes:
        out.append(f"  {style.paint(style.ok, 'green')} A new check no longer finds {', '.join(plan.cures)} for a new terminal.")
    if v.this_terminal:
        out.append(
            f"  {style.paint(style.warn, 'yellow')} This terminal still holds {', '.join(v.this_terminal)} (a program cannot change "
            f"the shell that started it). Run:  {v.unset}"
        )
        out.append("    or open a new terminal.")
    for h in v.holders:
        out.append(f"  {style.paint(style.warn, 'yellow')} Restart {h.what}: {h.how}.")
    return out


# --- JSON -------------------------------------------------------------------------------


def change_json(change: Change) -> dict[str, Any]:
    if isinstance(change, FileChange):
        return {
            "kind": "edit",
            "path": str(change.path),
            "target": str(change.target),
            "lines": list(change.lines),
            "removes": list(change.removes),
            "cures": list(change.cures),
            "note": change.note or None,
            "diff": list(diff(change, str(change.path))),
        }
    if isinstance(change, MoveAside):
        return {"kind": "move", "path": str(change.path), "dest": str(change.dest), "cures": list(change.cures), "then": change.then}
    if isinstance(change, KeyringAside):
        return {"kind": "keyring", "service": change.service, "account": change.account, "cures": list(change.cures), "then": change.then}
    if isinstance(change, FolderAside):
        return {
            "kind": "move-folder",
            "path": str(change.path),
            "dest": str(change.dest),
            "holds": list(change.holds),
            "cures": list(change.cures),
            "then": change.then,
        }
    if isinstance(change, TmuxUnset):
        t = change.target
        return {"kind": "tmux", "socket": str(t.socket), "session": t.session, "name": t.name, "cures": list(change.cures)}
    assert isinstance(change, RegistryDelete)
    return {"kind": "registry", "hive": change.hive, "key": change.key, "name": change.name, "cures": list(change.cures)}


def manual_json(step: ManualStep) -> dict[str, Any]:
    return {
        "summary": step.summary,
        "reason": step.reason,
        "why": reason_words(step.reason),
        "detail": step.detail or None,
        "path": str(step.path) if step.path is not None else None,
        "line": step.line,
        "text": step.text,
        "commands": list(step.commands),
        "cures": list(step.cures),
    }


def outcome_json(outcome: FixOutcome) -> dict[str, Any]:
    v = outcome.verification
    return {
        **envelope("fix"),
        "status": outcome.status,
        "cures": list(outcome.plan.cures),
        "removes": list(outcome.plan.removes),
        "applied": [change_json(c) for c in outcome.plan.changes] if outcome.status == APPLIED else [],
        "planned": [change_json(c) for c in outcome.plan.changes],
        "manual": [manual_json(s) for s in outcome.plan.manual],
        "journal": {"entry": outcome.journal_entry, "path": str(outcome.journal_path)} if outcome.journal_entry else None,
        "next": next_steps(outcome.plan) if outcome.status == APPLIED else [],
        "verification": None
        if v is None
        else {
            "skipped": v.skipped,
            "shells": [s._asdict() for s in v.shells],
            "remaining_findings": list(v.remaining),
            "this_terminal": {"holds": list(v.this_terminal), "command": v.unset if v.this_terminal else None},
            "restart": [h._asdict() for h in v.holders],
        },
    }
