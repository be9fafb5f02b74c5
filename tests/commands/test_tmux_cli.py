"""``authdoctor check`` and ``where`` against real tmux servers: the real command in a subprocess, a temporary home."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from authdoctor.sandbox import chatgpt_auth, personal_access_token, write_auth
from tests.conftest import clean_env
from tests.tmuxtools import Servers, tmux_servers

ID = "tmux-stale-environment"
PASSWORD = "pr0xy-passw0rd-42"


@pytest.fixture
def servers() -> Iterator[Servers]:
    with tmux_servers() as s:
        yield s


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    write_auth(home / ".codex", chatgpt_auth(datetime.now(UTC), email="me@example.com"))
    return home


def authdoctor(home: Path, servers: Servers, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(home, TMUX_TMPDIR=str(servers.tmpdir), **extra)
    return subprocess.run(
        [sys.executable, "-m", "authdoctor", *args], env=env, capture_output=True, text=True, timeout=60, check=False, cwd=home
    )


def tmux_findings(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return [f for f in data["findings"] if f["id"] == ID]


def test_check_reports_the_token_tmux_re_injects_without_showing_it(home: Path, servers: Servers) -> None:
    token = personal_access_token()
    proxy = f"http://me:{PASSWORD}@127.0.0.1:3128"
    sock = servers.start(CODEX_ACCESS_TOKEN=token, HTTPS_PROXY=proxy)
    (home / ".profile").write_text("export EDITOR=vim\n")

    proc = authdoctor(home, servers, "check", "--json")
    assert proc.returncode == 0, proc.stderr
    [f] = tmux_findings(proc)
    assert f["severity"] == "warning"
    assert f["title"] == "The tmux server 'default' re-injects CODEX_ACCESS_TOKEN into new panes, overriding your login"
    assert f"pid {servers.pids[sock]}" in f["detail"] and "me@example.com" in f["detail"]
    assert f["fix"]["automatic"] is True
    assert f["fix"]["commands"] == [
        f"tmux -S {sock} set-environment -gu CODEX_ACCESS_TOKEN",
        f"tmux -S {sock} set-environment -gu HTTPS_PROXY",
        "unset CODEX_ACCESS_TOKEN HTTPS_PROXY",
    ]
    assert [(o["context"], o["path"]) for o in f["origins"]] == [("tmux", str(sock)), ("tmux", str(sock))]

    text = authdoctor(home, servers, "check", "--no-color")
    assert "re-injects CODEX_ACCESS_TOKEN into new panes" in text.stdout
    for out in (proc.stdout, proc.stderr, text.stdout, text.stderr):
        assert token not in out and PASSWORD not in out


def test_check_inside_tmux_names_this_terminals_server(home: Path, servers: Servers) -> None:
    sock = servers.start(OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    proc = authdoctor(home, servers, "check", "--json", TMUX=f"{sock},{servers.pids[sock]},0")
    [f] = tmux_findings(proc)
    assert "this terminal runs inside it" in f["detail"]


def test_check_is_quiet_without_a_live_server(home: Path, servers: Servers) -> None:
    sock = servers.start(CODEX_ACCESS_TOKEN=personal_access_token())
    servers.kill_hard(sock)
    proc = authdoctor(home, servers, "check", "--json")
    assert proc.returncode == 0, proc.stderr
    assert tmux_findings(proc) == []
    assert "collector-failed" not in proc.stdout


def test_where_shows_the_global_environment_of_this_terminals_server(home: Path, servers: Servers) -> None:
    token = personal_access_token()
    sock = servers.start(CODEX_ACCESS_TOKEN=token)
    proc = authdoctor(home, servers, "where", "--json", "CODEX_ACCESS_TOKEN", TMUX=f"{sock},{servers.pids[sock]},0")
    assert proc.returncode == 0, proc.stderr
    assert token not in proc.stdout and token not in proc.stderr
    [var] = json.loads(proc.stdout)["variables"]
    [origin] = [o for o in var["origins"] if o["family"] == "tmux"]
    assert origin["path"] == "tmux global environment" and origin["blocker"] == "tmux-server" and origin["status"] == "wins"


def test_fix_removes_it_from_the_server_and_undo_puts_it_back(home: Path, servers: Servers) -> None:
    token = personal_access_token()
    sock = servers.start(CODEX_ACCESS_TOKEN=token)

    fixed = authdoctor(home, servers, "fix", ID, "--yes")
    assert fixed.returncode == 0, fixed.stderr + fixed.stdout
    assert token not in fixed.stdout + fixed.stderr
    assert "CODEX_ACCESS_TOKEN=" not in servers.run(sock, "show-environment", "-g")
    assert tmux_findings(authdoctor(home, servers, "check", "--json")) == []

    undone = authdoctor(home, servers, "undo", "--yes")
    assert undone.returncode == 0, undone.stderr + undone.stdout
    assert f"CODEX_ACCESS_TOKEN={token}" in servers.run(sock, "show-environment", "-g").splitlines()
    journal = home / ".local" / "state" / "authdoctor"
    texts = [p.read_bytes() for p in journal.rglob("*") if p.is_file() and p.suffix == ".json"] if journal.exists() else []
    assert all(token.encode() not in t for t in texts)
