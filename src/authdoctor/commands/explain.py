"""``authdoctor explain "TEXT"``: what a pasted Codex error, log line or whole log means, and what to do.

Text ──classify line by line──▶ causes ──cross-check with the local diagnosis──▶ Explanation

The input is an argument, standard input (``-``, or no argument with a pipe),
or ``--file PATH`` (streamed: logs can be gigabytes).  Every line is matched
against the signature table (``codex/signatures``); text matching nothing gets
an honest "not recognised" and the closest known causes.  The local
cross-check reads start-up files but never runs them: explaining a message
must not depend on, or wait for, the user's shell.

Exit codes: 0 at least one cause recognised, 1 nothing recognised (as
``grep``: scripts can test whether a log holds a known auth failure), 2 no
input or an unreadable file.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.codex import signatures as S
from authdoctor.collect.logs.scan import Aggregator, excerpt, scan_file, strip_ansi
from authdoctor.errors import AuthdoctorError, ExitCode
from authdoctor.host import Host
from authdoctor.report.explain_report import Candidate, Cause, Explanation, InputInfo, LocalFinding
from authdoctor.secret import redact_tokens

if TYPE_CHECKING:
    from typing import BinaryIO, Final, TextIO

    from authdoctor.collect.logs.model import LogHit
    from authdoctor.report.model import CheckReport

# Text kept to find the closest causes when nothing matched: difflib is quadratic, and the
# first screenful of an unknown log says as much as the rest.
SAMPLE: Final = 16 * 1024
CLOSEST: Final = 3
# Codes such as refresh_token_reused are split too: a person retypes them as words.
_WORD = re.compile(r"[a-z0-9]+")
# Words every auth message has: they say nothing about which one it is.
_STOPWORDS: Final = frozenset(
    {"the", "and", "for", "was", "has", "been", "not", "with", "your", "this", "that", "from", "are", "you"}
    | {"error", "failed", "please", "again", "could", "cannot", "into", "its"}
)
_USAGE_HINT: Final = 'paste the message: authdoctor explain "…"; pipe a log: … | authdoctor explain -; or use --file PATH'


class _Tally(NamedTuple):
    hits: int  # matching lines (`count` would shadow tuple.count)
    first_line: int | None
    excerpt: str


class _Scan(NamedTuple):
    info: InputInfo
    tallies: dict[str, _Tally]  # by signature id, in order of first appearance
    sample: str  # the start of the text, kept for the closest-cause search


def run_explain(args: argparse.Namespace) -> int:
    from authdoctor.cli import write

    result = explain(args, stdin=sys.stdin)
    if args.json:
        from authdoctor.report.explain_report import render_explain_json

        write(sys.stdout, render_explain_json(result))
    else:
        from authdoctor.report.explain_report import render_explain_text
        from authdoctor.report.style import make_style

        style = make_style(sys.stdout, os.environ, no_color=args.no_color, ascii_only=args.ascii)
        write(sys.stdout, render_explain_text(result, style))
    return exit_code(result)


def exit_code(result: Explanation) -> int:
    return ExitCode.OK if result.recognised else ExitCode.FINDINGS


def explain(args: argparse.Namespace, *, stdin: TextIO | None = None, host: Host | None = None) -> Explanation:
    """The whole explanation.  ``host`` replaces the machine named by ``--home`` (tests pass a sandbox)."""
    if host is None and not args.no_local:
        # Built first so that a bad --home is reported whatever the text says.
        host = Host.from_system(home=args.home)
    scan = _read(args, stdin)
    report = build_local(host) if host is not None and not args.no_local and scan.tallies else None
    causes = _rank(
        Cause(S.BY_ID[sid], t.hits, t.first_line, t.excerpt, None if report is None else local_findings(report, S.BY_ID[sid]))
        for sid, t in scan.tallies.items()
    )
    closest = () if causes else closest_causes(scan.sample)
    home = host.home if host is not None else Path.home() if args.home is None else Path(args.home)
    return Explanation(scan.info, causes, closest, report is not None, home)


# --- reading ------------------------------------------------------------------------------


def _read(args: argparse.Namespace, stdin: TextIO | None) -> _Scan:
    words: list[str] = list(args.text or [])
    if args.file is not None:
        if words:
            raise AuthdoctorError("give the text or --file, not both", hint=_USAGE_HINT)
        return _scan_path(Path(args.file).expanduser())
    if words == ["-"] or (not words and stdin is not None and not stdin.isatty()):
        if stdin is None:
            raise AuthdoctorError("no standard input to read", hint=_USAGE_HINT)
        return _scan_lines(_stdin_lines(stdin), "stdin")
    if not words:
        raise AuthdoctorError("nothing to explain", hint=_USAGE_HINT)
    # Unquoted words are one message: `authdoctor explain refresh token was already used`.
    return _scan_lines(iter(" ".join(words).splitlines()), "argument")


def _stdin_lines(stream: TextIO) -> Iterator[str]:
    """Lines of standard input, decoded leniently: a log with stray bytes is still a log."""
    raw: BinaryIO | None = getattr(stream, "buffer", None)
    if raw is None:
        yield from (line.rstrip("\r\n") for line in stream)
        return
    for chunk in raw:
        yield chunk.decode("utf-8", "replace").rstrip("\r\n")


def classify_loose(line: str) -> S.Signature | None:
    """The table's verdict, else the same patterns ignoring case and spacing.

    People paste retyped, re-cased or re-indented messages ("Refresh token was
    already used", ``{"detail": "Unauthorized"}``); the table itself stays exact
    so that ``grep -F`` finds what the scanner finds.
    """
    sig = S.classify(line)
    if sig is not None:
        return sig
    folded = _fold(line)
    for candidate in S.SIGNATURES:
        if any(_fold(p) in folded for p in candidate.patterns):
            return candidate
    return None


def _fold(text: str) -> str:
    return "".join(text.casefold().split())


def _scan_lines(lines: Iterator[str], source: str) -> _Scan:
    tallies: dict[str, _Tally] = {}
    sample: list[str] = []
    kept = 0
    size = 0
    number = 0
    content = False
    for number, raw in enumerate(lines, 1):
        size += len(raw.encode("utf-8", "replace")) + 1
        line = strip_ansi(raw)
        if not content and line.strip():
            content = True
        if kept < SAMPLE:
            sample.append(line)
            kept += len(line) + 1
        sig = classify_loose(line)
        if sig is None:
            continue
        t = tallies.get(sig.id)
        # excerpt() redacts before it cuts the line short: a cut token no longer looks like one.
        tallies[sig.id] = _Tally(t.hits + 1, t.first_line, t.excerpt) if t else _Tally(1, number, excerpt(line))
    if not content:
        raise AuthdoctorError(f"nothing to explain: the {'text' if source == 'argument' else 'input'} is empty", hint=_USAGE_HINT)
    matched = sum(t.hits for t in tallies.values())
    return _Scan(InputInfo(source, None, number, size, matched), tallies, "\n".join(sample))


class _FirstByLine(Aggregator):
    """The scanner's aggregator, also keeping the first hit by *line*.

    The scanner keeps the earliest hit by *time* per source; explain reads one
    file and names the first matching line.
    """

    def __init__(self) -> None:
        super().__init__()
        self.first: dict[str, LogHit] = {}

    def add(self, hit: LogHit) -> None:
        super().add(hit)
        seen = self.first.get(hit.signature)
        if seen is None or (hit.line is not None and (seen.line is None or hit.line < seen.line)):
            self.first[hit.signature] = hit


def _scan_path(path: Path) -> _Scan:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise AuthdoctorError(f"--file {str(path)!r} is not a file", hint="pass a log file, e.g. ~/.codex/log/codex-login.log")
        agg = _FirstByLine()
        scan = scan_file(path, str(path), agg, since=None, size=size)
        sample = b""
        if not agg.first:
            with path.open("rb") as fh:
                sample = fh.read(SAMPLE)
    except OSError as exc:
        raise AuthdoctorError(f"cannot read {str(path)!r}: {exc.strerror or exc}", hint="check the path and its permissions") from exc
    text = sample.decode("utf-8", "replace")
    if not agg.first and not text.strip():
        raise AuthdoctorError(f"nothing to explain: {str(path)!r} is empty", hint=_USAGE_HINT)
    # One file is one source: the aggregator's summaries are per signature.
    counts = {s.signature: s.hits for s in agg.summaries()}
    tallies = {sid: _Tally(counts[sid], hit.line, hit.excerpt) for sid, hit in sorted(agg.first.items(), key=lambda kv: kv[1].line or 0)}
    info = InputInfo("file", str(path), None, scan.scanned_bytes, sum(counts.values()))
    return _Scan(info, tallies, strip_ansi(text))


# --- ranking and closest causes -------------------------------------------------------------


def _rank(causes: Iterable[Cause]) -> tuple[Cause, ...]:
    """Most decisive first: permanent before transient, then the most frequent, then the table's order.

    A dead login outlives any number of network blips, so it leads even when the
    blips are more numerous.  Within a kind, frequency says what the log is about
    (a failing refresh logs its specific reason at least as often as its bare
    status line); the table's order (specific before generic) breaks ties.
    """
    order = {sig.id: i for i, sig in enumerate(S.SIGNATURES)}
    return tuple(sorted(causes, key=lambda c: (not c.signature.permanent, -c.hits, order[c.signature.id])))


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if len(w) > 2 and w not in _STOPWORDS}


def closest_causes(text: str, n: int = CLOSEST) -> tuple[Candidate, ...]:
    """The ``n`` known causes nearest to ``text``: shared words (typos forgiven), then overall likeness."""
    words = _words(text)
    needle = " ".join(text.casefold().split())[:400]
    fuzzy_pool = [w for w in words if len(w) > 3][:2000]
    scored = []
    for sig in S.SIGNATURES:
        best = 0.0
        for phrase in (*sig.patterns, S.KEYWORDS[sig.id]):
            wanted = _words(phrase)
            if not wanted:
                continue
            hits = sum(1 for w in wanted if w in words or (len(w) > 3 and difflib.get_close_matches(w, fuzzy_pool, n=1, cutoff=0.8)))
            overlap = hits / len(wanted)
            likeness = difflib.SequenceMatcher(None, needle, phrase.casefold()[:400], autojunk=False).ratio()
            best = max(best, 0.75 * overlap + 0.25 * likeness)
        scored.append(Candidate(sig, best))
    scored.sort(key=lambda c: -c.score)
    return tuple(scored[:n])


# --- the local cross-check --------------------------------------------------------------------


def build_local(host: Host) -> CheckReport:
    from authdoctor.commands.check import build_report

    # Static origins only: never run the user's shell to explain a message.
    return build_report(host, execute=False)


def local_findings(report: CheckReport, sig: S.Signature) -> tuple[LocalFinding, ...]:
    """The local findings that bear on ``sig``: its own finding id first, then the related ones."""
    wanted = list(dict.fromkeys((sig.finding, *sig.related)))
    found = sorted((f for f in report.findings if f.id in wanted), key=lambda f: wanted.index(f.id))
    out = []
    for f in found:
        # A file and line say more than "this terminal's environment": prefer the first origin that has one.
        o = next((o for o in f.origins if o.path), f.origins[0] if f.origins else None)
        out.append(
            LocalFinding(
                f.id,
                f.severity.value,
                redact_tokens(f.title),
                o.path if o is not None else None,
                o.line if o is not None else None,
                redact_tokens(o.text) if o is not None else None,
            )
        )
    return tuple(out)
