"""``authdoctor where VAR…``: every place each variable is set, and which one wins where."""

from __future__ import annotations

import argparse
import os
import sys

from authdoctor.codex import knowledge as K
from authdoctor.collect.origins import scan_origins
from authdoctor.collect.origins.contexts import user_shell
from authdoctor.collect.origins.provenance import describe_chain, process_chain
from authdoctor.diagnose.where import all_notes, analyse
from authdoctor.errors import AuthdoctorError, ExitCode
from authdoctor.host import Host


def run_where(args: argparse.Namespace) -> int:
    from authdoctor.cli import write

    names = tuple(dict.fromkeys(args.vars)) or K.WHERE_VARS
    bad = [n for n in names if not n.replace("_", "").isalnum() or n[0].isdigit()]
    if bad:
        raise AuthdoctorError(f"not a variable name: {bad[0]!r}", hint="pass names like CODEX_ACCESS_TOKEN, without $ or =")
    host = Host.from_system(home=args.home, root=args.root)
    scans = scan_origins(host, frozenset(names), execute=not args.no_exec)
    reports = analyse(scans, names, env=host.env, shell=user_shell(host.env, host.platform), platform=host.platform)
    notes = all_notes(scans)
    likely = describe_chain(process_chain(host))
    if args.json:
        from authdoctor.report.where_report import render_where_json

        write(sys.stdout, render_where_json(reports, notes, likely))
    else:
        from authdoctor.report.style import make_style
        from authdoctor.report.where_report import render_where_text

        style = make_style(sys.stdout, os.environ, no_color=args.no_color, ascii_only=args.ascii)
        write(sys.stdout, render_where_text(reports, notes, likely, style, host.home, verbose=args.verbose))
    return ExitCode.OK
