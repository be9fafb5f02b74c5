"""startup-file-problem: start-up files that hang, exit, exec or loop are reported as facts about those files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from authdoctor.collect import collect
from authdoctor.collect.origins.model import OriginScan, ScanNote
from authdoctor.diagnose import diagnose
from authdoctor.diagnose.finding import Severity
from tests.conftest import IN_CI, Machine

ID = "startup-file-problem"


def findings_for(machine: Machine, notes: tuple[ScanNote, ...], source: str = "shell trace") -> list[str]:
    ev = machine.evidence()._replace(origin_scans=(OriginScan(source, (), notes),))
    return [f.detail for f in diagnose(ev).findings if f.id == ID]


def test_a_hang_is_a_warning_about_that_file(machine: Machine) -> None:
    rc = machine.home / ".zshrc"
    [detail] = findings_for(machine, (ScanNote(rc, "timeout", f"start-up file {rc} did not finish within 10 s (last line run: {rc}:2)"),))
    assert "did not finish" in detail and "10 s" in detail


def test_source_cycle_and_exec(machine: Machine) -> None:
    notes = (ScanNote(machine.home / ".a", "cycle", "sources itself"), ScanNote(machine.home / ".zshrc", "exec", "exec tmux at line 4"))
    assert len(findings_for(machine, notes, "posix shells")) == 2


def test_quiet_for_our_own_failures(machine: Machine) -> None:
    assert findings_for(machine, (ScanNote(Path("zsh"), "crash", "could not start zsh"),)) == []
    assert findings_for(machine, (ScanNote(machine.home / ".zshrc", "missing", "not there"),)) == []


def test_real_hanging_zshrc_through_check(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        if IN_CI:
            pytest.fail("zsh is required on CI")
        pytest.skip("zsh is not installed")
    (machine.home / ".zshrc").write_text("export EDITOR=vim\nsleep 30\neval \"$(printf 'export CODEX_ACCESS_TOKEN=x')\"\n")
    machine.env["SHELL"] = zsh
    # The eval makes check trace; the sleep makes the trace time out.
    from authdoctor.collect.origins import trace

    monkeypatch.setattr(trace, "DEFAULT_TIMEOUT", 2.0)
    ev = collect(machine.host(), execute=True)
    found = [f for f in diagnose(ev).findings if f.id == ID]
    assert found, [n for s in ev.origin_scans for n in s.notes]
    assert found[0].severity is Severity.WARNING
    assert found[0].origins[0].path == str(machine.home / ".zshrc")
