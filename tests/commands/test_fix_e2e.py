"""End to end: ``authdoctor fix --yes`` then ``undo --yes`` on a temporary home, judged by real shells and the real Codex.

Each scenario writes start-up files that export a stale CODEX_ACCESS_TOKEN
next to a valid ChatGPT login.  The test itself (not authdoctor) then starts
a fresh login shell of the scenario's kind before and after the fix and
compares the environments, asks the real ``codex login status`` in the
after-environment, and finally checks that undo restores every byte and mode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest

from authdoctor.sandbox import agent_identity_jwt, chatgpt_auth, write_auth
from tests.conftest import IN_CI, clean_env

pytestmark = pytest.mark.shell

NOW = datetime.now(UTC)
VAR = "CODEX_ACCESS_TOKEN"
MARK = b"__E2E_ENV__"
VOLATILE = {"_", "SHLVL", "OLDPWD", "PWD", "fish_pid"}


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        if IN_CI:
            pytest.fail(f"{tool} is required on CI")
        pytest.skip(f"{tool} is not installed")
    return found


def codex_binary() -> str | None:
    found = os.environ.get("AUTHDOCTOR_CODEX") or shutil.which("codex")
    if not found and IN_CI:
        pytest.fail("the real Codex CLI is required on CI (scripts/test installs it)")
    return found


class Scenario(NamedTuple):
    name: str
    shell: str  # the login shell the person uses
    files: Callable[[Path, str], dict[str, bytes]]  # home, token -> relative path: bytes
    links: tuple[tuple[str, str], ...] = ()  # (link, target) relative to home


def _seed_zsh(home: Path, token: str) -> dict[str, bytes]:
    return {".zshrc": f"# ~/.zshrc\nexport EDITOR=vim\nexport {VAR}={token}\nalias ll='ls -l'\n".encode()}


def _multi(home: Path, token: str) -> dict[str, bytes]:
    return {
        ".bash_profile": b"[ -f ~/.bashrc ] && . ~/.bashrc\n",
        ".bashrc": f"export EDITOR=vim {VAR}={token} PAGER=less\nexport KEEP=1\n".encode(),
    }


def _assign_then_export(home: Path, token: str) -> dict[str, bytes]:
    return {".zshrc": f"export EDITOR=vim\n{VAR}='{token}'\nexport PAGER=less\nexport {VAR}\n".encode()}


def _sourced(home: Path, token: str) -> dict[str, bytes]:
    return {
        ".zshrc": b"export EDITOR=vim\n[ -f ~/.secrets.sh ] && source ~/.secrets.sh\n",
        ".secrets.sh": f'export GITHUB_USER=octo\nexport {VAR}="{token}"\n'.encode(),
    }


def _two_files(home: Path, token: str) -> dict[str, bytes]:
    return {
        ".zshenv": f"export {VAR}={token}\nexport ZVAR=1\n".encode(),
        ".zshrc": f"export EDITOR=vim\nexport {VAR}={token}\n".encode(),
    }


def _fish_universal(home: Path, token: str) -> dict[str, bytes]:
    return {
        ".config/fish/fish_variables": (
            "# This file contains fish universal variable definitions.\n# VERSION: 3.0\n"
            f"SETUVAR --export {VAR}:{token}\nSETUVAR --export KEEPU:yes\nSETUVAR fish_greeting:\n"
        ).encode(),
        ".config/fish/config.fish": b"set -gx EDITOR vim\n",
    }


def _symlinked(home: Path, token: str) -> dict[str, bytes]:
    return {"dotfiles/zshrc": f"export EDITOR=vim\nexport {VAR}={token}\n".encode()}


def _crlf(home: Path, token: str) -> dict[str, bytes]:
    return {
        ".bash_profile": b"[ -f ~/.bashrc ] && . ~/.bashrc\n",  # LF: a CR here would name a file "~/.bashrc\\r"
        ".bashrc": f"export EDITOR=vim\r\nexport {VAR}={token}\r\nexport KEEP=1\r\n".encode(),
    }


SCENARIOS = [
    Scenario("seed-zshrc", "zsh", _seed_zsh),
    Scenario("multi-assign", "bash", _multi),
    Scenario("assign-then-export", "zsh", _assign_then_export),
    Scenario("sourced-secrets-file", "zsh", _sourced),
    Scenario("two-files", "zsh", _two_files),
    Scenario("fish-universal", "fish", _fish_universal),
    Scenario("symlinked-dotfile", "zsh", _symlinked, links=((".zshrc", "dotfiles/zshrc"),)),
    Scenario("crlf", "bash", _crlf),
]


def login_env(shell: str, home: Path) -> dict[str, str]:
    """What a fresh login (and interactive) shell of this kind ends up with, started on the real files."""
    path = need(shell)
    env = clean_env(home, SHELL=path)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [path, "-l", "-i", "-c", f"printf %s {MARK.decode()}; env -0"],
        env=env,
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert MARK in proc.stdout, proc.stderr
    out: dict[str, str] = {}
    for item in proc.stdout.split(MARK, 1)[1].split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep and key:
            out[key.decode()] = value.decode("utf-8", "surrogateescape")
    return out


def snapshot(home: Path) -> dict[str, tuple[bytes, int]]:
    out: dict[str, tuple[bytes, int]] = {}
    for p in sorted(home.rglob("*")):
        # The journal (under .local/state) is authdoctor's own record, not the person's files.
        if p.is_file() and not p.is_symlink() and ".local/state" not in p.relative_to(home).as_posix():
            out[str(p.relative_to(home))] = (p.read_bytes(), p.stat().st_mode)
    return out


def authdoctor(home: Path, shell: str, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = clean_env(home, SHELL=need(shell))
    if token is not None:
        env[VAR] = token  # the terminal that runs authdoctor still holds the old value
    return subprocess.run(
        [sys.executable, "-m", "authdoctor", *args], env=env, cwd=home, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_fix_then_undo(tmp_path: Path, scenario: Scenario) -> None:
    home = tmp_path / "home"
    home.mkdir()
    token = agent_identity_jwt(NOW, expires_in=-timedelta(days=300))
    write_auth(home / ".codex", chatgpt_auth(NOW))
    for rel, data in scenario.files(home, token).items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o640)
    for link, target in scenario.links:
        (home / link).symlink_to(home / target)
    before_env = login_env(scenario.shell, home)
    before_files = snapshot(home)  # after the first start: fish records its own universal variables then
    assert before_env.get(VAR) is not None and token in before_env[VAR], "the scenario must reproduce the problem"

    fixed = authdoctor(home, scenario.shell, "fix", "--yes", "--json", token=token)
    assert fixed.returncode in (0, 1), fixed.stderr
    report = json.loads(fixed.stdout)
    assert report["status"] == "applied", report
    assert report["manual"] == [], report["manual"]
    assert token not in fixed.stdout + fixed.stderr

    after_env = login_env(scenario.shell, home)
    assert VAR not in after_env
    others = (set(before_env) | set(after_env)) - {VAR} - VOLATILE
    assert {k: before_env.get(k) for k in others} == {k: after_env.get(k) for k in others}
    for link, target in scenario.links:
        assert (home / link).is_symlink() and (home / link).resolve() == (home / target).resolve()

    codex = codex_binary()
    if codex is not None:
        env = dict(after_env, HOME=str(home), PATH=clean_env(home)["PATH"])
        status = subprocess.run(
            [codex, "login", "status"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False
        )
        assert "Logged in using ChatGPT" in status.stdout + status.stderr, status.stderr

    undone = authdoctor(home, scenario.shell, "undo", "--yes", "--json")
    assert undone.returncode == 0, undone.stderr
    assert json.loads(undone.stdout)["status"] == "undone"
    assert snapshot(home) == before_files
    again = authdoctor(home, scenario.shell, "undo", "--yes", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "already-undone"
    assert snapshot(home) == before_files
    assert login_env(scenario.shell, home).get(VAR) == before_env[VAR]
