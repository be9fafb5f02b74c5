"""clock-skew: this machine's clock disagrees with the servers' clocks (FM-26).

Codex decides when to refresh by comparing the tokens' expiry (JWT ``exp``) with
the local clock, and TLS checks certificate validity against it: a clock minutes
off makes Codex refresh at the wrong moments or treat fresh tokens as expired,
and certificates can look "not yet valid".  WSL2's clock drifts after Windows
sleeps (microsoft/WSL#10006); a Windows clock without time sync drifts for good
(openai/codex#32164).

The evidence is the ``Date`` header of the hosts the opt-in ``--online`` probe
reached, minus the local clock when the answer arrived.  ``Date`` has a
resolution of one second and the round trip adds a little, so only more than
:data:`THRESHOLD` counts, and only when every host that sent a date agrees on
the direction; the smallest of their skews is reported (a caching proxy can
hand out a stale ``Date``, it cannot make every host agree on a wrong one).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "clock-skew"
THRESHOLD = 120.0  # seconds


def _dated(f: Facts) -> list[tuple[str, float, datetime]]:
    """``(host, skew, what its Date said)`` for every probed host that sent a Date."""
    online = f.ev.online
    if online is None:
        return []
    return [(r.host, r.skew_seconds, r.server_date) for r in online.targets if r.skew_seconds is not None and r.server_date is not None]


def check(f: Facts) -> Iterable[Finding]:
    dated = _dated(f)
    if not dated:
        return []
    skews = [skew for _, skew, _ in dated]
    if all(s > THRESHOLD for s in skews):
        skew = min(skews)
    elif all(s < -THRESHOLD for s in skews):
        skew = max(skews)
    else:
        return []
    hosts = [host for host, _, _ in dated]
    said = next(when for _, s, when in dated if s == skew)
    local = said - timedelta(seconds=skew)
    direction = "behind" if skew > 0 else "ahead of"
    online = f.ev.online
    summary, commands = _resync(f.ev.platform, online.wsl if online is not None else False)
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title=f"This machine's clock is {_duration(abs(skew))} {'behind' if skew > 0 else 'ahead'}",
            detail=(
                f"The local clock is {_duration(abs(skew))} {direction} the time {_and(hosts)} "
                f"{'report' if len(hosts) > 1 else 'reports'} (the server said {_utc(said)} when the local clock read {_utc(local)}; "
                "measured by the online check). Codex compares token expiry times with the local clock, so a clock this far off "
                "makes it refresh at the wrong moments or treat valid tokens as expired, and TLS certificates can look not yet "
                "valid or expired."
            ),
            fix=Fix(summary=summary, commands=commands),
            origins=tuple(
                Origin(context="online", text=f"{host}: Date {_utc(when)} (local clock {skew_words(s)})") for host, s, when in dated
            ),
        )
    ]


def _utc(when: datetime) -> str:
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"


def skew_words(seconds: float) -> str:
    """``3 minutes behind`` / ``in step`` / ``2 hours ahead``."""
    if abs(seconds) < 1:
        return "in step"
    return f"{_duration(abs(seconds))} {'behind' if seconds > 0 else 'ahead'}"


def _resync(platform: str, wsl: bool) -> tuple[str, tuple[str, ...]]:
    if platform.startswith("win"):
        return (
            "Resync the clock from an administrator prompt (`w32tm /resync`; if the time service is stopped, "
            "`net start w32time` first) and turn on Settings > Time & language > Set time automatically, then restart Codex.",
            ("w32tm /resync",),
        )
    if platform == "darwin":
        return (
            "Resync the clock with Apple's time server (`sudo sntp -sS time.apple.com`) and keep System Settings > General > "
            "Date & Time > Set time and date automatically on, then restart Codex.",
            ("sudo sntp -sS time.apple.com",),
        )
    if wsl:
        return (
            "WSL's clock drifts after Windows sleeps: run `wsl --shutdown` in Windows (PowerShell or cmd) and reopen the "
            "WSL terminal, or resync it in place with `sudo hwclock -s`, then restart Codex.",
            ("wsl --shutdown", "sudo hwclock -s"),
        )
    return (
        "Turn on network time sync (`sudo timedatectl set-ntp true`); if the clock is still off, set it from the "
        "hardware clock (`sudo hwclock -s`), then restart Codex.",
        ("sudo timedatectl set-ntp true", "sudo hwclock -s"),
    )


def _duration(seconds: float) -> str:
    """``4 minutes 10 seconds``, ``2 hours 5 minutes``, ``3 days 1 hour``: the two largest units."""
    total = round(seconds)
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts[:2]) or "0 seconds"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _applies(f: Facts) -> bool:
    return bool(_dated(f))


RULE = Rule(ID, check, f"the local clock agrees with the servers' clocks (within {THRESHOLD / 60:.0f} minutes)", applies=_applies)
