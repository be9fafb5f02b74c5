"""``authdoctor demo`` on a clean machine: real zsh, throwaway home, nothing left behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI, clean_env


def run_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    home = tmp_path / "realhome"
    home.mkdir(exist_ok=True)
    env = clean_env(home, TMPDIR=str(scratch))
    return subprocess.run(
        [sys.executable, "-m", "authdoctor", "demo", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(autouse=True)
def _need_zsh() -> None:
    if shutil.which("zsh") is None:
        if IN_CI:
            pytest.fail("zsh is required on CI")
        pytest.skip("zsh is not installed")


def test_demo_reproduces_the_seed_story_with_a_real_zsh(tmp_path: Path) -> None:
    proc = run_demo(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "a real `zsh -i` started on the sandbox home" in proc.stdout
    assert "[access-token-overrides-login]" in proc.stdout
    assert "~/.zshrc line 3" in proc.stdout
    assert "Check exit code on this setup: 1" in proc.stdout
    # The sandbox is gone, and the real home was never written.
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "realhome").iterdir()) == []


def test_demo_json(tmp_path: Path) -> None:
    proc = run_demo(tmp_path, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["credential"]["source"] == "env:CODEX_ACCESS_TOKEN"
    assert any(f["id"] == "access-token-overrides-login" for f in report["findings"])


def test_demo_keep_leaves_the_sandbox(tmp_path: Path) -> None:
    proc = run_demo(tmp_path, "--keep")
    assert proc.returncode == 0
    [kept] = list((tmp_path / "tmp").iterdir())
    assert str(kept) in proc.stderr
    assert (kept / "home" / ".zshrc").is_file()
