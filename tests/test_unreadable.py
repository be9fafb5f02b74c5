"""Files the user cannot read, for real: the check runs as an unprivileged user.

As root every file is readable, so when the suite runs as root these tests
drop to ``nobody`` with ``setpriv`` (and a system Python that user can run).
As an ordinary user they run directly with chmod 000.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from authdoctor.sandbox import chatgpt_auth, write_auth
from tests.conftest import IN_CI, REPO

NOBODY = 65534


def runner() -> list[str]:
    if os.geteuid() != 0:
        return [sys.executable]
    setpriv = shutil.which("setpriv")
    python = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if Path(p).exists()), None)
    if setpriv is None or python is None:
        if IN_CI:
            pytest.fail("setpriv and a system python3 are needed to test unreadable files as root")
        pytest.skip("cannot drop privileges here")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", python]


@pytest.fixture
def world() -> Iterator[Path]:
    """A directory an unprivileged user can reach (tmp_path is private to root)."""
    base = Path(tempfile.mkdtemp(prefix="authdoctor-perm-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def check_as_user(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(REPO / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([*runner(), "-m", "authdoctor", "check", *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def make_home(world: Path) -> Path:
    home = world / "home"
    (home / ".codex").mkdir(parents=True)
    for d in (home, home / ".codex"):
        d.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(home, NOBODY, NOBODY)
    return home


def test_auth_json_the_user_cannot_read(world: Path) -> None:
    home = make_home(world)
    auth = write_auth(home / ".codex", chatgpt_auth(datetime.now(UTC)), mode=0o600)
    if os.geteuid() != 0:
        auth.chmod(0o000)
    proc = check_as_user(home, "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    ids = {f["id"] for f in report["findings"]}
    assert "auth-file-unreadable" in ids
    [unreadable] = [f for f in report["findings"] if f["id"] == "auth-file-unreadable"]
    assert "permission denied" in unreadable["detail"]
    assert "Traceback" not in proc.stderr
    if os.geteuid() == 0:
        # Left by root (think `sudo codex login`): the fix gives it back.
        assert "auth-file-permissions" in ids
        assert "chown" in unreadable["fix"]["summary"]


def test_unreadable_config_and_dotenv_do_not_stop_the_check(world: Path) -> None:
    home = make_home(world)
    if os.geteuid() == 0:
        os.chown(home / ".codex", NOBODY, NOBODY)
    write_auth(home / ".codex", chatgpt_auth(datetime.now(UTC)))
    if os.geteuid() == 0:
        os.chown(home / ".codex" / "auth.json", NOBODY, NOBODY)
    for name in ("config.toml", ".env"):
        path = home / ".codex" / name
        path.write_text('cli_auth_credentials_store = "file"\n' if name == "config.toml" else "OPENAI_API_KEY=x\n")
        path.chmod(0o000)
    proc = check_as_user(home, "--json")
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["credential"]["kind"] == "chatgpt"
    assert "Traceback" not in proc.stderr
