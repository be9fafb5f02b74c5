"""The human report: grouped, with ✓/⚠/✗ marks, colour only when wanted."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from authdoctor import __version__
from authdoctor.codex import knowledge as K
from authdoctor.codex.tokens import relative
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.diagnose.precedence import Credential
from authdoctor.diagnose.rules.base import kind_words
from authdoctor.report.model import CheckReport, credential_status
from authdoctor.report.style import Style

if TYPE_CHECKING:
    from authdoctor.collect.online import OnlineEvidence, TargetResult

WIDTH = 88


def tilde(text: str, home: Path) -> str:
    prefix = str(home).rstrip("/\\")
    if prefix and len(prefix) > 1:
        text = text.replace(prefix + "/", "~/").replace(prefix + "\\", "~\\")
    return text


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, width=WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False) or [indent]


def _hanging(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, width=WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False) or [first]


def _credential_line(c: Credential, report: CheckReport, style: Style) -> str:
    now = report.now
    where = (
        c.source[len("file:") :]
        if c.source.startswith("file:")
        else (f"{c.source[4:]} (environment)" if c.source.startswith("env:") else c.source)
    )
    bits = [f"{kind_words(c.kind)}"]
    if c.fingerprint:
        bits.append(c.fingerprint)
    if c.email:
        bits.append(c.email)
    if c.plan:
        bits.append(c.plan)
    if c.account_id:
        bits.append(f"account {c.account_id}")
    if c.last_refresh:
        bits.append(f"refreshed {relative(c.last_refresh, now)}")
    if c.expires_at:
        label = "access token " if c.kind == "chatgpt" else ""
        verb = "expired" if c.expires_at <= now else "expires"
        bits.append(f"{label}{verb} {relative(c.expires_at, now)}")
    if c.problem:
        bits.append(c.problem)
    if c.note:
        bits.append(c.note)
    status = credential_status(c, now)
    mark = style.paint(style.ok, "green") if status == "ok" else style.paint(style.error, "red")
    return f"{mark} {where} {style.dash} " + ", ".join(bits)


def _finding_lines(f: Finding, style: Style, home: Path) -> list[str]:
    mark = {
        Severity.ERROR: style.paint(style.error, "red", "bold"),
        Severity.WARNING: style.paint(style.warn, "yellow", "bold"),
        Severity.INFO: style.paint(style.info, "cyan"),
    }[f.severity]
    lines = [f"  {mark} {style.paint(tilde(f.title, home), 'bold')}  {style.paint('[' + f.id + ']', 'dim')}"]
    lines += _wrap(tilde(f.detail, home), "      ")
    for o in f.origins:
        place = (
            f"{tilde(o.path, home)}:{o.line}"
            if o.path and o.line
            else (tilde(o.path, home) if o.path else "the online check" if o.context == "online" else "the environment of this terminal")
        )
        lines += _wrap(f"From: {place} ({o.context}): {o.text}", "      ")
    lines += _wrap(f"Next: {tilde(f.fix.summary, home)}", "      ")
    if f.fix.automatic:
        how = "`authdoctor fix`" if f.severity is Severity.ERROR else f"`authdoctor fix {f.id}`"
        lines += _wrap(f"{how} does this for you, with a backup (`authdoctor undo` reverts it).", "      ")
    return lines


def _route(t: TargetResult) -> str:
    if t.proxy is not None:
        # host:port only: the proxy URL may hold a user name and password.
        return f"through {t.proxy.variable} ({t.proxy.url.address})"
    return f"directly ({t.no_proxy} exempts it from the proxy)" if t.no_proxy else "directly"


def _online_lines(online: OnlineEvidence, style: Style, home: Path) -> list[str]:
    """What the opt-in probe did and found, one line per host, and what it never sent."""
    from authdoctor.diagnose.rules.clock_skew import skew_words

    lines = [style.paint("Online check (--online)", "bold")]
    if not online.targets:
        lines.append(f"  {style.paint(style.info, 'cyan')} no host to check")
    for t in online.targets:
        if t.reached:
            bits = [f"HTTP {t.http_status}"]
            if t.tls_issuer:
                bits.append(f"certificate issued by '{t.tls_issuer}'")
            if t.skew_seconds is not None:
                bits.append(f"local clock {skew_words(t.skew_seconds)}")
            mark, outcome = style.paint(style.ok, "green"), ", ".join(bits)
        elif t.error:
            mark, outcome = style.paint(style.error, "red"), t.error
        else:
            mark, outcome = style.paint(style.info, "cyan"), t.note or "not checked"
        lines += _hanging(tilde(f"{mark} {t.where} {_route(t)}: {outcome}", home), "  ", "    ")
        if t.note and (t.reached or t.error) and t.proxy is not None and t.proxy.url.scheme.startswith("socks"):
            lines += _wrap(t.note, "    ")  # how a SOCKS proxy was tried; the plain proxy's note goes in the summary
    opened = [t for t in online.targets if "tls" in t.stages]
    routes = " and ".join(dict.fromkeys(_route(t) for t in opened))
    trust = _trust_words(online)
    if opened:
        hosts = ", ".join(t.host for t in opened)
        resolved = " (the proxy resolving the names)" if any(t.proxy for t in opened) else ""
        lines += _wrap(f"Opened TLS connections to {hosts} {routes}{resolved}, trusting {trust}; no credential was sent.", "  ")
    else:
        lines += _wrap(f"No TLS connection could be completed (trusting {trust}); no credential was sent.", "  ")
    return lines


def _trust_words(online: OnlineEvidence) -> str:
    bundle = online.ca_bundle[0] if online.ca_bundle is not None else None
    if online.native_roots:
        names = list(dict.fromkeys([*(name for name, _ in online.native_roots), *([bundle] if bundle else [])]))
        return f"only {' and '.join(names)} (not the system's certificates)"
    return f"the system's certificates plus {bundle}" if bundle else "the system's certificates"


def render_text(report: CheckReport, style: Style, *, verbose: bool = False) -> str:
    ev, res = report.diagnosis.evidence, report.diagnosis.resolution
    home = ev.home
    version = f"Codex {ev.codex_version}" if ev.codex_version else f"Codex (knowledge checked on {K.CHECKED_AGAINST})"
    out = [style.paint(f"authdoctor {__version__} {style.dash} {version}, CODEX_HOME {tilde(str(ev.codex_home.path), home)}", "bold"), ""]

    out.append(style.paint("Credential Codex uses", "bold"))
    if res.interactive.present:
        out += _wrap(tilde(_credential_line(res.interactive, report, style), home), "  ")
    else:
        out.append(f"  {style.paint(style.error, 'red')} none")
    if res.shadowed:
        out.append(style.paint("Shadowed (present, but not used by interactive codex)", "bold"))
        for c in res.shadowed:
            out += _wrap(tilde(f"{style.bullet} " + _credential_line(c, report, style), home), "  ")
    out.append("")
    if ev.online is not None:
        out += _online_lines(ev.online, style, home)
        out.append("")

    groups = ((Severity.ERROR, "Errors"), (Severity.WARNING, "Warnings"), (Severity.INFO, "Notes"))
    for severity, heading in groups:
        found = [f for f in report.findings if f.severity is severity]
        if not found:
            continue
        out.append(style.paint(heading, "bold"))
        for f in found:
            out += _finding_lines(f, style, home)
            out.append("")

    passed = report.diagnosis.passed
    if passed:
        out.append(style.paint("Passed", "bold"))
        if verbose:
            out += [f"  {style.paint(style.ok, 'green')} {p}" for p in passed]
        else:
            out.append(f"  {style.paint(style.ok, 'green')} {len(passed)} other checks passed (--verbose lists them)")
        out.append("")

    errors, warnings = report.tally(Severity.ERROR), report.tally(Severity.WARNING)
    if errors or warnings:
        summary = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}."
        out.append(style.paint(summary, "red" if errors else "yellow", "bold"))
        if any(f.fix.automatic and f.severity is Severity.ERROR for f in report.findings):
            out.append("Run `authdoctor fix` to see the repair as a diff; nothing changes until you say yes.")
    else:
        out.append(style.paint(f"{style.ok} No problems found.", "green", "bold"))
    return "\n".join(out) + "\n"
