"""What ``authdoctor explain`` says, as text or as versioned JSON (schema version 1).

Pasted text is the one input authdoctor did not read from a place it knows:
a token in it was never wrapped in a ``Secret``, so ``secret.scrub`` cannot
know it.  Every excerpt therefore also goes through :func:`redact_tokens`,
which blanks whatever merely *looks* like a credential, before it reaches a
result object; the renderers only ever see redacted text.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from authdoctor.codex.signatures import Signature
from authdoctor.report.as_text import WIDTH, tilde
from authdoctor.report.envelope import envelope

if TYPE_CHECKING:
    from authdoctor.report.style import Style


class LocalFinding(NamedTuple):
    """A finding of the local check that bears on an explained cause."""

    id: str
    severity: str  # "error" | "warning" | "info"
    title: str
    path: str | None  # where its first origin is, when it has one in a file
    line: int | None
    origin: str | None  # the first origin's (already redacted) text, or None when it has no origin


class Cause(NamedTuple):
    """One distinct cause: a signature and the lines that showed it."""

    signature: Signature
    hits: int  # matching lines (`count` would shadow tuple.count)
    first_line: int | None  # 1-based line of the first match, when known
    excerpt: str  # redacted and cut short
    local: tuple[LocalFinding, ...] | None  # None: not cross-checked (--no-local)


class Candidate(NamedTuple):
    """A known cause that resembles text nothing recognised."""

    signature: Signature
    score: float  # 0..1, higher is closer


class InputInfo(NamedTuple):
    source: str  # "argument" | "stdin" | "file"
    path: str | None  # --file
    lines: int | None  # lines read (None for a file: it is streamed for matches only)
    size: int  # bytes read
    matched: int  # lines matching a known signature


class Explanation(NamedTuple):
    input: InputInfo
    causes: tuple[Cause, ...]  # most decisive first
    closest: tuple[Candidate, ...]  # only when nothing was recognised
    local_checked: bool  # the local diagnosis ran
    home: Path

    @property
    def recognised(self) -> bool:
        return bool(self.causes)


# --- text -------------------------------------------------------------------------------


def _wrap(text: str, indent: str, later: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=indent,
        subsequent_indent=later if later is not None else indent,
        break_on_hyphens=False,
        # Paths, URLs and commands stay whole, so they can be copied.
        break_long_words=False,
    ) or [indent]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _place(f: LocalFinding, home: Path) -> str:
    if f.path:
        return tilde(f"{f.path}:{f.line}" if f.line else f.path, home)
    return "this terminal's environment" if f.origin is not None else ""


def _cause_lines(n: int, c: Cause, style: Style, home: Path) -> list[str]:
    sig = c.signature
    permanent = sig.permanent
    mark = style.paint(style.error, "red", "bold") if permanent else style.paint(style.warn, "yellow", "bold")
    kind = "permanent: trying again will not help" if permanent else "transient: it may pass on its own"
    out = _wrap(f"{n}. {sig.cause}", f"{mark} ", "    ")
    out.append(f"    {style.paint(kind, 'red' if permanent else 'yellow')}")
    fms = ", ".join(sig.fm) or "no FM"
    out.append(f"    finding {style.paint(sig.finding, 'bold')} {style.dash} signature {sig.id} {style.dash} {fms}")
    where = f"line {c.first_line}" if c.first_line is not None else "an unknown line"
    seen = f"Seen in {_plural(c.hits, 'line')}, first at {where}: {c.excerpt}"
    out += [style.paint(line, "dim") for line in _wrap(seen, "    ", "      ")]
    out += _wrap(f"Next: {sig.next_step}", "    ", "      ")
    out += [f"      $ {cmd}" for cmd in sig.commands]
    if c.local is not None:
        if c.local:
            out.append("    On this machine:")
            for f in c.local:
                fmark = style.paint(style.error, "red") if f.severity == "error" else style.paint(style.warn, "yellow")
                place = _place(f, home)
                text = f"{fmark} {tilde(f.title, home)} [{f.id}]" + (f" {style.dash} {place}" if place else "")
                out += _wrap(text, "      ", "        ")
        else:
            checked = ", ".join(dict.fromkeys((sig.finding, *sig.related)))
            out += _wrap(f"On this machine: nothing related found (looked for {checked}).", "    ", "      ")
    return out


def render_explain_text(result: Explanation, style: Style) -> str:
    home = result.home
    info = result.input
    read = _plural(info.lines, "line") if info.lines is not None else _plural(info.size, "byte")
    origin = {"argument": "the text given", "stdin": "standard input"}.get(info.source, tilde(info.path or "", home))
    out: list[str] = []
    if result.causes:
        head = f"authdoctor explain {style.dash} {_plural(len(result.causes), 'cause')} in {read} of {origin} ({info.matched} matched)"
        out += [style.paint(head, "bold"), ""]
        for n, cause in enumerate(result.causes, 1):
            out += _cause_lines(n, cause, style, home)
            out.append("")
        if not result.local_checked:
            out.append("Not compared with this machine (--no-local). `authdoctor check` shows what is set here.")
        else:
            out.append("`authdoctor check` shows the whole diagnosis of this machine.")
        return "\n".join(out) + "\n"
    out.append(style.paint(f"{style.info} Not recognised: no known Codex auth message in {read} of {origin}.", "bold"))
    out += _wrap(
        "authdoctor knows the messages Codex prints for failed logins, refreshes and credentials; this text holds none of them. "
        "The closest known causes:",
        "",
    )
    for cand in result.closest:
        out += _wrap(f"{style.bullet} {cand.signature.id} ({', '.join(cand.signature.fm)}): {cand.signature.cause}", "  ", "    ")
    out += ["", "Paste the whole error (or pipe the log: `… | authdoctor explain -`), or run `authdoctor check`."]
    return "\n".join(out) + "\n"


# --- JSON -------------------------------------------------------------------------------


def _local_json(f: LocalFinding) -> dict[str, Any]:
    origin = None if f.origin is None else {"path": f.path, "line": f.line, "text": f.origin}
    return {"id": f.id, "severity": f.severity, "title": f.title, "origin": origin}


def _signature_json(sig: Signature) -> dict[str, Any]:
    return {
        "signature": sig.id,
        "category": sig.category,
        "cause": sig.cause,
        "permanence": sig.permanence,
        "finding": sig.finding,
        "next_step": sig.next_step,
        "commands": list(sig.commands),
        "failure_modes": list(sig.fm),
        "related_findings": list(sig.related),
    }


def explain_json(result: Explanation) -> dict[str, Any]:
    info = result.input
    return {
        **envelope("explain"),
        "input": {"source": info.source, "path": info.path, "lines": info.lines, "bytes": info.size, "matched_lines": info.matched},
        "recognised": result.recognised,
        "local_checked": result.local_checked,
        "causes": [
            {
                **_signature_json(c.signature),
                "matches": {"count": c.hits, "first_line": c.first_line, "excerpt": c.excerpt},
                "on_this_machine": None if c.local is None else [_local_json(f) for f in c.local],
            }
            for c in result.causes
        ],
        "closest": [{**_signature_json(c.signature), "score": round(c.score, 3)} for c in result.closest],
    }


def render_explain_json(result: Explanation) -> str:
    return json.dumps(explain_json(result), indent=2, ensure_ascii=False) + "\n"
