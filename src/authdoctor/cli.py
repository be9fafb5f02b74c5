"""Command line: parse arguments, dispatch to one function per command, map errors to exit codes.

Imports are kept to the standard library needed for parsing; each command
imports its own machinery, so ``authdoctor --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from authdoctor import __version__
from authdoctor.errors import AuthdoctorError, ExitCode

if TYPE_CHECKING:
    from typing import TextIO


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the versioned JSON report instead of text")
    parser.add_argument("--no-color", action="store_true", help="never colour the output (NO_COLOR is honoured too)")
    parser.add_argument("--ascii", action="store_true", help="use ASCII marks instead of ✓/⚠/✗")
    parser.add_argument("--verbose", "-v", action="store_true", help="list passed checks; show tracebacks on internal errors")
    parser.add_argument("--no-exec", action="store_true", help="never run the user's shell start-up code")


COMMANDS = ("check", "where", "explain", "fix", "undo", "demo")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that command's sub-parser (each costs milliseconds to build)."""
    _plain_argparse()
    parser = argparse.ArgumentParser(
        formatter_class=formatter,
        prog="authdoctor",
        description="Find out why Codex will not stay logged in: which credential it really uses, what that "
        "credential shadows, and what is wrong with it.",
    )
    parser.add_argument("--version", action="version", version=f"authdoctor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    if only in (None, "check"):
        _add_check(sub)
    if only in (None, "where"):
        _add_where(sub)
    if only in (None, "explain"):
        _add_explain(sub)
    if only in (None, "fix"):
        _add_fix(sub)
    if only in (None, "undo"):
        _add_undo(sub)
    if only in (None, "demo"):
        _add_demo(sub)
    return parser


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = sub.add_parser(
        "check", formatter_class=formatter, help="diagnose (the default command)", description="Diagnose Codex authentication."
    )
    _common(check)
    check.add_argument("--home", metavar="DIR", help="diagnose this home directory instead of yours")
    check.add_argument("--root", metavar="DIR", help="diagnose an image or container root offline (no live environment)")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument(
        "--online",
        action="store_true",
        help="also open TLS connections to the auth and API hosts, through the proxy and CA settings Codex would use "
        "(never sends a credential)",
    )


def _add_where(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = sub.add_parser(
        "where",
        formatter_class=formatter,
        help="every place a variable is set, and which one wins where",
        description="List every place that sets each variable, in evaluation order, and say which one wins for a new "
        "login shell, a new interactive shell, GUI apps and Windows processes. Without VAR, all variables that affect Codex.",
    )
    _common(where)
    where.add_argument("vars", nargs="*", metavar="VAR", help="variable names (default: every variable that affects Codex)")
    where.add_argument("--home", metavar="DIR", help="look at this home directory instead of yours")
    where.add_argument("--root", metavar="DIR", help="look at an image or container root offline")


def _add_explain(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = sub.add_parser(
        "explain",
        formatter_class=formatter,
        help="what a Codex error message or log means, and what to do about it",
        description="Explain a pasted Codex error message, log line or whole log: for every known cause, whether it is "
        "permanent, the finding and failure-mode ids, the next step with exact commands, and which lines showed it; then "
        "what on this machine bears on it (start-up files are read, never run). Text nothing matches gets the closest "
        "known causes. Exit code 0 when a cause was recognised, 1 when none was, 2 when there was nothing to read.",
    )
    _common(explain)
    explain.add_argument("text", nargs="*", metavar="TEXT", help="the message (quote it); `-` or nothing with a pipe reads standard input")
    explain.add_argument("--file", "-f", metavar="PATH", help="read a log file (streamed, any size)")
    explain.add_argument("--no-local", action="store_true", help="do not compare with this machine's setup")
    explain.add_argument("--home", metavar="DIR", help="compare with this home directory instead of yours")


def _add_fix(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fix = sub.add_parser(
        "fix",
        formatter_class=formatter,
        help="show the repair plan as a diff; --yes applies it (backed up, undoable)",
        description="Plan the repair of the findings authdoctor can fix (by default every error with an automatic fix), show "
        "it as a diff, and apply it with your consent: each file is backed up into a private journal, written atomically, "
        "and checked with a fresh shell. `authdoctor undo` puts every byte back. What cannot be edited safely (eval lines, "
        "blocks other tools manage, system files) is listed as steps to do by hand.",
    )
    _common(fix)
    fix.add_argument("findings", nargs="*", metavar="FINDING", help="finding ids to fix (default: every error with an automatic fix)")
    fix.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    fix.add_argument("--dry-run", "-n", action="store_true", help="show the plan; never write")
    fix.add_argument("--home", metavar="DIR", help="fix this home directory instead of yours")


def _add_undo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    undo = sub.add_parser(
        "undo",
        formatter_class=formatter,
        help="put back exactly what the last fix changed; --list shows the journal",
        description="Restore every file the last fix (or the named journal entry) changed, byte for byte and with the same "
        "mode. Refuses when a file changed after the fix. Running it twice is safe.",
    )
    _common(undo)
    undo.add_argument("entry", nargs="?", metavar="ENTRY", help="journal entry id (default: the latest)")
    undo.add_argument("--list", action="store_true", help="list the journal and change nothing")
    undo.add_argument("--yes", "-y", action="store_true", help="restore without asking")
    undo.add_argument("--home", metavar="DIR", help="the home directory the fix was made in")


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo",
        formatter_class=formatter,
        help="show what authdoctor does on a throwaway broken setup",
        description="Build a throwaway home with a classic broken setup, diagnose it and explain. Never touches your home.",
    )
    _common(demo)
    demo.add_argument("--keep", action="store_true", help="keep the sandbox directory and print its path")


def formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's formatter, with the width measured here: argparse asks ``shutil``, whose import
    (with bz2, lzma and fnmatch) costs a few milliseconds of every run for the rare ``--help``."""
    import os

    raw = os.environ.get("COLUMNS", "")
    columns = int(raw) if raw.isdigit() else 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (OSError, AttributeError, ValueError):
            columns = 0
    columns = columns or 80
    return argparse.HelpFormatter(prog, width=max(columns - 2, 20))


def _plain_argparse() -> None:
    """argparse looks each of its messages up with gettext, which imports ``locale`` and searches the
    disk for catalogues on every call; authdoctor ships none and Python ships none for argparse."""
    argparse._ = _same  # type: ignore[attr-defined]
    argparse.ngettext = _plural  # type: ignore[attr-defined]


def _same(message: str) -> str:
    return message


def _plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _normalise(argv: list[str]) -> list[str]:
    """``authdoctor`` and ``authdoctor --json`` mean ``authdoctor check …``."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        return ["check", *argv]
    return argv


def write(stream: TextIO, text: str) -> None:
    """Write scrubbed text, degrading characters the stream cannot encode instead of crashing."""
    from authdoctor.secret import scrub

    text = scrub(text)
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "replace").decode(encoding))
    stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    words = _normalise(list(sys.argv[1:] if argv is None else argv))
    args = build_parser(words[0] if words[0] in COMMANDS else None).parse_args(words)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "check": cmd_check,
        "where": cmd_where,
        "explain": cmd_explain,
        "fix": cmd_fix,
        "undo": cmd_undo,
        "demo": cmd_demo,
    }
    try:
        return commands[args.command](args)
    except AuthdoctorError as exc:
        hint = f"\n  hint: {exc.hint}" if exc.hint else ""
        write(sys.stderr, f"authdoctor: error: {exc.message}{hint}\n")
        return ExitCode.FAILURE
    except KeyboardInterrupt:
        write(sys.stderr, "authdoctor: interrupted\n")
        return ExitCode.FAILURE
    except BrokenPipeError:
        return ExitCode.FAILURE
    except Exception as exc:  # noqa: BLE001 - the one place internal errors become a line, not a traceback
        if getattr(args, "verbose", False):
            import traceback

            write(sys.stderr, "".join(traceback.format_exception(exc)))
        write(
            sys.stderr,
            f"authdoctor: internal error: {type(exc).__name__}: {exc}\n"
            "  This is a bug in authdoctor, not in your setup. Re-run with --verbose for details.\n",
        )
        return ExitCode.FAILURE


def entry() -> None:
    """The console script: run :func:`main`, then leave without interpreter teardown.

    Tearing down the interpreter (module globals, garbage collection) takes
    about 10 ms -- a tenth of a check.  Output is flushed and nothing else is
    left open, so exiting at once loses nothing.

    Almost everything a check allocates lives until that exit: modules,
    classes, functions, evidence.  With the default threshold (a collection
    every 700 new objects) the cycle collector walks them some 35 times for
    nothing, about 3% of a check's instructions.  At 50,000 a check never
    collects, and a long command (``explain --file`` on a big log) still does.
    """
    import gc
    import os

    _, older, oldest = gc.get_threshold()
    gc.set_threshold(50_000, older, oldest)
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def cmd_check(args: argparse.Namespace) -> int:
    from authdoctor.commands.check import run_check

    return run_check(args)


def cmd_where(args: argparse.Namespace) -> int:
    from authdoctor.commands.where import run_where

    return run_where(args)


def cmd_explain(args: argparse.Namespace) -> int:
    from authdoctor.commands.explain import run_explain

    return run_explain(args)


def cmd_fix(args: argparse.Namespace) -> int:
    from authdoctor.commands.fix import run_fix

    return run_fix(args)


def cmd_undo(args: argparse.Namespace) -> int:
    from authdoctor.commands.undo import run_undo

    return run_undo(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from authdoctor.commands.demo import run_demo

    return run_demo(args)
