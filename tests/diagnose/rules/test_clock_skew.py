"""clock-skew: the servers' Date header against the local clock, measured by the ``--online`` probe.

The firing cases run the real probe against a loopback TLS server that sends
the chosen ``Date``; the per-platform fix wording is checked on the same
evidence with another platform stamped on it (the rule is a pure function).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from authdoctor.collect import collect
from authdoctor.collect.evidence import Evidence
from authdoctor.collect.online import OnlineEvidence, TargetResult
from authdoctor.diagnose import diagnose
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.diagnose.rules import clock_skew
from tests.conftest import Machine
from tests.diagnose.rules.conftest import well_formed
from tests.nettools import Pki, TlsServer

ID = "clock-skew"


def online_evidence(machine: Machine, tmp_path: Path, *dates: datetime | None) -> Evidence:
    """Evidence with the real probe run against one loopback server per date."""
    pki = Pki(tmp_path)
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    servers = [TlsServer(pki.server_context(), date=d) for d in dates]
    names = ("auth.openai.com", "chatgpt.com", "api.openai.com")
    for s in servers:
        s.__enter__()
    try:
        machine.env["AUTHDOCTOR_ONLINE_TARGETS"] = ",".join(f"{n}={s.address}" for n, s in zip(names, servers, strict=False))
        return collect(machine.host(), origins=False, execute=False, online=True)
    finally:
        for s in servers:
            s.__exit__(None, None, None)


def findings(ev: Evidence) -> list[Finding]:
    return [f for f in diagnose(ev).findings if f.id == ID]


def test_clock_behind_the_servers(machine: Machine, tmp_path: Path) -> None:
    ahead = machine.now + timedelta(minutes=10, seconds=3)
    ev = online_evidence(machine, tmp_path, ahead, ahead + timedelta(seconds=1))
    (f,) = findings(ev)
    well_formed(f, ID, Severity.WARNING)
    assert f.title == "This machine's clock is 10 minutes 3 seconds behind"
    assert "auth.openai.com and chatgpt.com report" in f.detail
    assert "2026-11-20 12:10:03 UTC" in f.detail and "2026-11-20 12:00:00 UTC" in f.detail
    assert f.fix.commands == ("sudo timedatectl set-ntp true", "sudo hwclock -s")
    assert [o.context for o in f.origins] == ["online", "online"]
    assert "local clock 10 minutes 3 seconds behind" in f.origins[0].text


def test_clock_ahead(machine: Machine, tmp_path: Path) -> None:
    (f,) = findings(online_evidence(machine, tmp_path, machine.now - timedelta(hours=2, minutes=5)))
    assert f.title == "This machine's clock is 2 hours 5 minutes ahead"
    assert "ahead of the time auth.openai.com reports" in f.detail


def test_quiet_under_the_threshold(machine: Machine, tmp_path: Path) -> None:
    ev = online_evidence(machine, tmp_path, machine.now + timedelta(seconds=90))
    assert ev.online is not None and ev.online.targets[0].skew_seconds == 90
    assert findings(ev) == []
    assert clock_skew.RULE.passed in diagnose(ev).passed


def test_quiet_when_the_servers_disagree(machine: Machine, tmp_path: Path) -> None:
    """One host far ahead, one in step: a stale cache somewhere, not this clock."""
    assert findings(online_evidence(machine, tmp_path, machine.now + timedelta(hours=1), machine.now)) == []


def test_quiet_without_a_date_header(machine: Machine, tmp_path: Path) -> None:
    ev = online_evidence(machine, tmp_path, None)
    assert findings(ev) == []
    assert clock_skew.RULE.passed not in diagnose(ev).passed  # nothing was measured


def test_quiet_without_online(machine: Machine) -> None:
    ev = machine.evidence()
    assert ev.online is None
    assert findings(ev) == []
    assert clock_skew.RULE.passed not in diagnose(ev).passed


def _stamped(machine: Machine, platform: str, *, wsl: bool = False) -> Finding:
    """The rule on a measured skew, as if on another platform (evidence is plain data)."""
    target = TargetResult(
        host="auth.openai.com", stages=("dns", "tcp", "tls", "http"), http_status=200, server_date=machine.now, skew_seconds=300.0
    )
    ev = machine.evidence()._replace(platform=platform, online=OnlineEvidence(targets=(target,), wsl=wsl))
    (f,) = findings(ev)
    return well_formed(f, ID, Severity.WARNING)


@pytest.mark.parametrize(
    ("platform", "wsl", "command", "words"),
    [
        ("win32", False, "w32tm /resync", "administrator prompt"),
        ("darwin", False, "sudo sntp -sS time.apple.com", "Apple's time server"),
        ("linux", True, "wsl --shutdown", "WSL's clock drifts after Windows sleeps"),
        ("linux", False, "sudo timedatectl set-ntp true", "network time sync"),
    ],
)
def test_resync_command_per_platform(machine: Machine, platform: str, wsl: bool, command: str, words: str) -> None:
    f = _stamped(machine, platform, wsl=wsl)
    assert f.fix.commands[0] == command
    assert words in f.fix.summary and f"`{command}`" in f.fix.summary
