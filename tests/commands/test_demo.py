"""``authdoctor demo`` on a clean machine: real zsh, throwaway home, nothing left behind."""

from __future__ import annotations

import json
import os
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
    if os.environ.get("AUTHDOCTOR_CODEX"):
        env["AUTHDOCTOR_CODEX"] = os.environ["AUTHDOCTOR_CODEX"]
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
    assert "Check exit code on the broken setup: 1" in proc.stdout
    # The whole story: fix with a diff, a fresh shell without the variable, Codex back on ChatGPT, undo.
    assert "$ authdoctor fix --yes" in proc.stdout
    assert "+# export CODEX_ACCESS_TOKEN=<redacted>  # disabled by authdoctor" in proc.stdout
    assert "(not set: the variable is gone)" in proc.stdout
    assert "~/.zshrc is byte-for-byte identical to before the fix" in proc.stdout
    if os.environ.get("AUTHDOCTOR_CODEX") or shutil.which("codex"):
        before, after = proc.stdout.split("$ authdoctor fix --yes", 1)
        assert "Logged in using ChatGPT" not in before
        assert "Logged in using ChatGPT" in after
    elif IN_CI:
        pytest.fail("the real Codex CLI is required on CI")
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
