"""live-state-unseen: what of the running machine this system would not show, said plainly.

Where the OS hides something -- another process's environment on Windows and for
hardened macOS apps, a process table under a sandbox, listeners when ``lsof`` is
missing, a tmux server that does not answer -- the rules that need it stay quiet.
Quiet must not read as "all clear": this note lists what could not be looked at,
so the person knows what to check by hand.  Only for the live machine: an image
under ``--root`` has no running state to miss.
"""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "live-state-unseen"


def check(f: Facts) -> Iterable[Finding]:
    ev = f.ev
    if not ev.live:
        return []
    unseen: list[str] = []
    steps: list[str] = []
    if ev.processes is None:
        unseen.append("running Codex processes (this system's process table cannot be read)")
        steps.append("quit and reopen every Codex window, IDE extension and the desktop app that ran before you changed your setup")
    else:
        reasons: dict[str, list[int]] = {}
        for p in ev.processes:
            if not p.environ_readable:
                reasons.setdefault(p.hidden or "they belong to another user", []).append(p.pid)
        for reason, pids in reasons.items():
            shown = ", ".join(str(pid) for pid in pids[:6]) + (" …" if len(pids) > 6 else "")
            unseen.append(f"the environment of {len(pids)} running Codex process{'es' if len(pids) != 1 else ''} (pid {shown}): {reason}")
        if reasons:
            steps.append("restart those Codex processes after changing variables or signing in again")
    if ev.ports is not None and not ev.ports.visible:
        unseen.append(ev.ports.note.rstrip(".") or "who listens on the login callback ports")
        ports = ", ".join(str(p) for p in ev.ports.ports)
        steps.append(f"before `codex login`, make sure nothing listens on port {ports} (e.g. `lsof -iTCP -sTCP:LISTEN -nP | grep 145`)")
    for server in ev.tmux.servers if ev.tmux is not None else ():
        if server.state == "unreadable":
            unseen.append(f"the tmux server at {server.socket}: {server.problem or 'it did not answer'}")
            steps.append(f"check it by hand: `tmux -S {server.socket} show-environment -g`")
    if not unseen:
        return []
    return [
        Finding(
            id=ID,
            severity=Severity.INFO,
            title="Some of the running machine could not be checked",
            detail="authdoctor found no problem in what it could not see, which is not the same as none: " + "; ".join(unseen) + ".",
            fix=Fix(summary="Check by hand: " + "; ".join(dict.fromkeys(steps)) + "."),
        )
    ]


RULE = Rule(ID, check, "every part of the running machine that matters could be looked at", lambda f: f.ev.live)
