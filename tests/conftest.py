"""Shared fixtures: a temporary machine with a fixed clock and a fake keyring.

No test touches the real home: every Host is built over ``tmp_path`` with an
environment written from scratch, and CLI tests run the real command in a
subprocess with such an environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from authdoctor.collect import collect
from authdoctor.collect.evidence import Evidence
from authdoctor.commands.check import build_report
from authdoctor.diagnose import Diagnosis, diagnose
from authdoctor.diagnose.finding import Finding
from authdoctor.host import Host
from authdoctor.host.keyring import SERVICE, FakeKeyringWriter, KeyringStatus
from authdoctor.report.model import CheckReport
from authdoctor.sandbox import write_auth, write_private

FIXED_NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
IN_CI = bool(os.environ.get("CI"))
REPO = Path(__file__).resolve().parents[1]


@dataclass
class FakeKeyring:
    """Stands in for the OS keyring behind the same interface as the real probes.

    With a ``store`` it is a working keyring: the probe sees what the store
    holds, and ``writer`` hands the store to ``authdoctor fix`` and ``undo``, as
    the real probes hand out their writers.
    """

    status: KeyringStatus = field(default_factory=lambda: KeyringStatus(None, False, None, "fake: no keyring"))
    calls: list[str] = field(default_factory=list)
    store: FakeKeyringWriter | None = None

    def probe(self, host: Host, account: str) -> KeyringStatus:
        self.calls.append(account)
        if self.store is not None:
            return KeyringStatus(self.store.backend, True, (SERVICE, account) in self.store.items)
        return self.status

    def writer(self, host: Host) -> FakeKeyringWriter | None:
        return self.store


@dataclass
class Machine:
    """A throwaway machine: a home under tmp_path, an explicit environment, a fixed clock."""

    root: Path
    home: Path
    env: dict[str, str]
    keyring: FakeKeyring
    now: datetime = FIXED_NOW
    platform: str = "linux"
    uid: int | None = field(default_factory=lambda: os.getuid() if hasattr(os, "getuid") else None)

    @property
    def codex_home(self) -> Path:
        custom = self.env.get("CODEX_HOME")
        return Path(custom) if custom else self.home / ".codex"

    def host(self) -> Host:
        # No process table: the test runner's own ancestors are not the machine under test.
        return Host(
            env=dict(self.env),
            home=self.home,
            platform=self.platform,
            uid=self.uid,
            clock=lambda: self.now,
            keyring=self.keyring,
            proc=None,
        )

    def write_auth(self, payload: dict[str, Any] | str | bytes, mode: int = 0o600) -> Path:
        self.codex_home.mkdir(parents=True, exist_ok=True)
        return write_auth(self.codex_home, payload, mode)

    def write_config(self, text: str | bytes) -> Path:
        return write_private(self.codex_home / "config.toml", text, 0o644)

    def write_dotenv(self, text: str | bytes) -> Path:
        return write_private(self.codex_home / ".env", text, 0o600)

    def evidence(self) -> Evidence:
        # Unit tests never run shells; tests that need the trace call collect() themselves.
        return collect(self.host(), execute=False)

    def diagnosis(self) -> Diagnosis:
        return diagnose(self.evidence())

    def report(self) -> CheckReport:
        return build_report(self.host(), execute=False)

    def findings(self, finding_id: str | None = None) -> list[Finding]:
        found = list(self.diagnosis().findings)
        return [f for f in found if f.id == finding_id] if finding_id else found

    def ids(self) -> set[str]:
        return {f.id for f in self.diagnosis().findings}


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    home = tmp_path / "home"
    home.mkdir()
    # TMUX_TMPDIR: the collector must find only a test's own tmux servers, never the developer's.
    env = {"HOME": str(home), "PATH": os.defpath, "TMUX_TMPDIR": str(tmp_path)}
    return Machine(root=tmp_path, home=home, env=env, keyring=FakeKeyring())


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment built from scratch for subprocesses: nothing of the developer's leaks in."""
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMUX_TMPDIR": str(home),
    }
    src = str(REPO / "src")
    env["PYTHONPATH"] = src
    env.update(extra)
    return env


def run_authdoctor(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess: stdin closed, output captured, never raising on an exit code."""
    return subprocess.run(
        [sys.executable, "-m", "authdoctor", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def load_json(text: str) -> dict[str, Any]:
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


@pytest.fixture(autouse=True)
def _real_home_untouched() -> Iterator[None]:
    """Fail any test that writes into the developer's real ~/.codex."""
    real = Path.home() / ".codex"
    before = sorted((p.name, p.stat().st_mtime_ns) for p in real.iterdir()) if real.is_dir() else None
    yield
    after = sorted((p.name, p.stat().st_mtime_ns) for p in real.iterdir()) if real.is_dir() else None
    assert before == after, "a test modified the real ~/.codex"
