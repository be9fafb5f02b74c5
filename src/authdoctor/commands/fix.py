"""``authdoctor fix``: check, plan, show the plan as a diff, apply it with consent, verify.

Host ──collect──▶ Evidence ──diagnose──▶ findings ──plan──▶ Plan ──apply──▶ Journal ──verify──▶ Evidence'

Nothing is written without ``--yes`` or a "y" typed at a terminal; a
non-terminal without ``--yes`` changes nothing.  ``--dry-run`` never writes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor.commands.check import build_report
from authdoctor.errors import AuthdoctorError, ExitCode
from authdoctor.host import Host
from authdoctor.plan.model import FileChange, Plan
from authdoctor.plan.planner import make_plan, select
from authdoctor.report.fix_report import (
    APPLIED,
    DECLINED,
    DRY_RUN,
    MANUAL_ONLY,
    NOT_A_TERMINAL,
    NOTHING,
    FixOutcome,
    Verification,
    outcome_json,
    render_outcome_text,
    render_plan_text,
)
from authdoctor.report.style import Style, make_style

if TYPE_CHECKING:
    from authdoctor.apply.registry_writer import RegistryWriter
    from authdoctor.apply.tmux_writer import TmuxWriter
    from authdoctor.host.keyring import KeyringWriter


def style_for(args: argparse.Namespace) -> Style:
    return make_style(sys.stdout, os.environ, no_color=args.no_color, ascii_only=args.ascii)


def confirm(question: str) -> bool:
    """Ask at a terminal; anything but y/yes is no.  Never asks a non-terminal."""
    from authdoctor.cli import write

    write(sys.stdout, question)
    try:
        answer = sys.stdin.readline()
    except (OSError, EOFError):
        return False
    return answer.strip().lower() in ("y", "yes")


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def run_fix(args: argparse.Namespace) -> int:
    from authdoctor.cli import write

    host = Host.from_system(home=args.home)
    outcome = fix(host, args, ask=confirm if interactive() and not args.json else None)
    if args.json:
        import json

        write(sys.stdout, json.dumps(outcome_json(outcome), indent=2, ensure_ascii=False) + "\n")
    else:
        write(sys.stdout, render_outcome_text(outcome, style_for(args)))
    return exit_code(outcome)


def exit_code(outcome: FixOutcome) -> int:
    if outcome.status == NOTHING:
        return ExitCode.OK
    if outcome.status == APPLIED:
        v = outcome.verification
        left = bool(v and (v.remaining or any(s.still_set for s in v.shells))) or bool(outcome.plan.manual)
        return ExitCode.FINDINGS if left else ExitCode.OK
    return ExitCode.FINDINGS


def fix(host: Host, args: argparse.Namespace, *, ask: Callable[[str], bool] | None = None) -> FixOutcome:
    """The whole fix.  ``ask`` is a ``(question) -> bool`` for a terminal, or None (then only --yes applies)."""
    from authdoctor.cli import write

    execute = not args.no_exec
    # A fix must find every origin, so the login shell is traced (a check traces only for eval lines).
    report = build_report(host, execute=execute, trace=True)
    chosen = select(report.findings, tuple(args.findings))
    stamp = host.now().strftime("%Y-%m-%d")
    plan = make_plan(host, report.diagnosis, chosen, stamp=stamp)
    home = host.home
    if plan.empty:
        if chosen:
            raise AuthdoctorError(
                f"found {', '.join(f.id for f in chosen)} but no place that sets {', '.join(plan.removes) or 'it'}",
                hint="`authdoctor where` lists every place a variable is set",
            )
        return FixOutcome(plan, NOTHING, home)
    if not args.json:
        head = f"authdoctor fix: {_count(len(chosen), 'finding')} to repair: "
        write(sys.stdout, head + ", ".join(f.id for f in chosen) + "\n\n" + render_plan_text(plan, home, style_for(args)) + "\n")
    if args.dry_run or not plan.changes:
        return FixOutcome(
            plan, DRY_RUN if args.dry_run else MANUAL_ONLY, home, verification=None if args.dry_run else _verify_only(host, plan)
        )
    if not args.yes:
        if ask is None:
            return FixOutcome(plan, NOT_A_TERMINAL, home)
        if not ask(f"Apply {len(plan.changes)} change{'s' if len(plan.changes) != 1 else ''}? [y/N] "):
            return FixOutcome(plan, DECLINED, home)
    return apply_and_verify(host, plan, execute=execute)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _verify_only(host: Host, plan: Plan) -> Verification:
    from authdoctor.verify import holders, unset_command

    shell = _user_shell(host)
    here = tuple(n for n in plan.removes if n in host.env)
    return Verification((), "nothing was changed automatically", plan.cures, here, unset_command(here, shell), tuple(holders(host, here)))


def _user_shell(host: Host) -> str:
    from authdoctor.collect.origins.contexts import user_shell

    return user_shell(host.env, host.platform)


def apply_and_verify(host: Host, plan: Plan, *, execute: bool) -> FixOutcome:
    from authdoctor.apply.apply import apply_plan
    from authdoctor.apply.journal import Journal, journal_root
    from authdoctor.verify import compare, holders, shells_to_check, snapshots, unset_command

    shell = _user_shell(host)
    kinds = shells_to_check({c.family for c in plan.changes if isinstance(c, FileChange)}, shell) if execute else []
    before = snapshots(host, kinds)
    applied = apply_plan(
        plan, Journal(journal_root(host)), now=host.now(), registry=registry_for(host), keyring=keyring_for(host), tmux=tmux_for(host)
    )
    after = snapshots(host, kinds)
    verdicts = tuple(compare(before, after, plan.removes))

    # A new terminal: this environment without what the fix removed.
    fresh = host._replace(env={k: v for k, v in host.env.items() if k not in plan.removes})
    recheck = build_report(fresh, execute=False)
    remaining = tuple(sorted({f.id for f in recheck.findings} & set(plan.cures)))
    here = tuple(n for n in plan.removes if n in host.env)
    verification = Verification(
        verdicts,
        None if execute else "--no-exec: authdoctor does not run your start-up files",
        remaining,
        here,
        unset_command(here, shell),
        tuple(holders(host, plan.removes)),
    )
    return FixOutcome(plan, APPLIED, host.home, applied.entry_id, applied.journal_path, verification)


def registry_for(host: Host) -> RegistryWriter | None:
    """The real registry on Windows; nothing elsewhere (there is no registry to edit)."""
    if not host.is_windows:
        return None
    from authdoctor.apply.registry_writer import WinregWriter

    return WinregWriter()


def tmux_for(host: Host) -> TmuxWriter | None:
    """The real tmux, on a machine that runs (an image under --root has no tmux server to change)."""
    if host.root != Path("/"):
        return None
    from authdoctor.apply.tmux_writer import TmuxWriter

    return TmuxWriter(host)


def keyring_for(host: Host) -> KeyringWriter | None:
    """The writer for the keyring the host's probe looks at; nothing for an image (--root has no keyring to change)."""
    from authdoctor.host.keyring import keyring_writer_for

    return keyring_writer_for(host)
