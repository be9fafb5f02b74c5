"""``authdoctor check``: collect, diagnose, report."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from authdoctor.collect import collect
from authdoctor.diagnose import diagnose
from authdoctor.diagnose.finding import Severity
from authdoctor.errors import ExitCode
from authdoctor.host import Host
from authdoctor.report.model import CheckReport


def build_report(host: Host, *, execute: bool = True, trace: bool = False, online: bool = False) -> CheckReport:
    """The whole read-only pipeline: Host ──collect──▶ Evidence ──diagnose──▶ findings ──▶ report.

    ``execute=False`` (``--no-exec``) never runs the user's shell start-up code;
    ``trace=True`` traces the login shell even when reading explains everything;
    ``online=True`` (``--online``) adds the network probe.
    """
    return CheckReport.build(diagnose(collect(host, execute=execute, trace=trace, online=online)))


def exit_code(report: CheckReport, *, strict: bool = False) -> int:
    if report.tally(Severity.ERROR) or (strict and report.tally(Severity.WARNING)):
        return ExitCode.FINDINGS
    return ExitCode.OK


def render(report: CheckReport, args: argparse.Namespace, env: Mapping[str, str] | None = None) -> str:
    if args.json:
        from authdoctor.report.as_json import render_json

        return render_json(report)
    from authdoctor.report.as_text import render_text
    from authdoctor.report.style import make_style

    style = make_style(sys.stdout, os.environ if env is None else env, no_color=args.no_color, ascii_only=args.ascii)
    return render_text(report, style, verbose=args.verbose)


def run_check(args: argparse.Namespace) -> int:
    from authdoctor.cli import write

    host = Host.from_system(home=args.home, root=args.root)
    report = build_report(host, execute=not args.no_exec, online=getattr(args, "online", False))
    write(sys.stdout, render(report, args))
    return exit_code(report, strict=args.strict)
