"""live-state-unseen: what the OS would not show is said, never taken for "all clear"."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from authdoctor.collect import collect
from authdoctor.diagnose import diagnose
from authdoctor.diagnose.finding import Finding, Severity
from tests.collect.test_processes_other import TASKLIST_OUTPUT, fake_program
from tests.conftest import Machine
from tests.diagnose.rules.conftest import well_formed

ID = "live-state-unseen"


def _mine(machine: Machine, **host: Any) -> tuple[list[Finding], tuple[str, ...]]:
    diagnosis = diagnose(collect(machine.host()._replace(**host), execute=False))
    found = [f for f in diagnosis.findings if f.id == ID]
    for f in found:
        well_formed(f, ID, Severity.INFO)
    return found, diagnosis.passed


def test_a_test_machine_or_an_image_is_not_the_live_machine(machine: Machine) -> None:
    found, passed = _mine(machine)
    assert found == []
    assert not any("running machine" in p for p in passed)


def test_windows_says_the_environments_cannot_be_seen(machine: Machine, tmp_path: Path) -> None:
    fake_program(tmp_path / "fakebin", "tasklist", TASKLIST_OUTPUT)
    machine.env["PATH"] = str(tmp_path / "fakebin")
    [f], _ = _mine(machine, live=True, platform="win32", proc=None)
    assert "the environment of 3 running Codex processes (pid 77, 88, 4242)" in f.detail
    assert "Windows does not let one process read another's environment" in f.detail
    assert "restart those Codex processes" in f.fix.summary


def test_no_process_table(machine: Machine) -> None:
    [f], _ = _mine(machine, live=True, proc=None)
    assert "running Codex processes (this system's process table cannot be read)" in f.detail


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the Linux process table")
def test_quiet_when_everything_could_be_seen(machine: Machine) -> None:
    found, passed = _mine(machine, live=True, proc=Path("/proc"), uid=None)
    assert [f for f in found if "process" in f.detail and "another user" not in f.detail] == []
    if not found:
        assert "every part of the running machine that matters could be looked at" in passed


def test_listeners_that_cannot_be_seen_are_named(machine: Machine) -> None:
    # macOS without lsof on PATH: the ports reader says so.
    machine.env["PATH"] = str(machine.home / "nothing-here")
    [f], _ = _mine(machine, live=True, platform="darwin", proc=None)
    assert "login callback ports" in f.detail
    assert "lsof -iTCP" in f.fix.summary


def test_a_hanging_ps_or_lsof_does_not_hold_up_the_check(machine: Machine, tmp_path: Path) -> None:
    import time

    bindir = tmp_path / "hang"
    bindir.mkdir()
    for name in ("ps", "lsof"):
        (bindir / name).write_text("#!/bin/sh\nexec /bin/sleep 30\n")
        (bindir / name).chmod(0o755)
    machine.env["PATH"] = str(bindir)
    started = time.monotonic()
    [f], _ = _mine(machine, live=True, platform="darwin", proc=None)
    assert time.monotonic() - started < 6  # both asked at once, each cut off after its timeout
    assert "process table cannot be read" in f.detail and "login callback ports" in f.detail
