"""The `401 Failed to refresh token` story end to end, with the real Codex CLI.

The real TUI starts on a throwaway home whose ChatGPT access token has expired,
so its app-server daemon refreshes at once.  ``CODEX_REFRESH_TOKEN_URL_OVERRIDE``
sends the refresh to a fake auth server on loopback that answers as the real
one does for a reused refresh token.  Everything Codex writes (the daemon's
stderr log, ``logs_2.sqlite``) is real.  Then authdoctor must find it: ``check``
reports refresh-failed from those logs, ``explain --file`` reads them, ``fix``
moves the dead login aside (the real ``codex login status`` says "Not logged
in") and ``undo`` puts it back byte for byte.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authdoctor.sandbox import chatgpt_auth, write_auth
from tests.commands.test_fix_e2e import codex_binary, need
from tests.conftest import clean_env

pytestmark = pytest.mark.oracle


class _Reused(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"error": {"code": "refresh_token_reused", "message": "staged"}}).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def auth_server() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Reused)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def _kill_daemons(codex_home: Path) -> None:
    """The TUI leaves a managed app-server daemon (and its updater) running: stop every process of this home."""
    needle = str(codex_home).encode()
    for _ in range(10):
        found = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if needle in cmdline:
                found = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.name), signal.SIGKILL)
        if not found:
            return
        time.sleep(0.2)


def _wait_for(path: Path, needle: bytes, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if needle in path.read_bytes():
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _authdoctor(env: dict[str, str], home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authdoctor", *args, "--home", str(home)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_real_codex_refresh_failure_is_found_fixed_and_undone(tmp_path: Path, auth_server: int) -> None:
    codex = codex_binary()
    if codex is None:
        pytest.skip("the real Codex CLI is not installed")
    script = need("script")
    home = tmp_path / "home"
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True)
    now = datetime.now(UTC)
    payload = chatgpt_auth(now, access_expires_in=timedelta(days=-2), last_refresh_ago=timedelta(days=20))
    auth = write_auth(codex_home, payload)
    stamp = (now - timedelta(minutes=1)).timestamp()
    os.utime(auth, (stamp, stamp))
    original = auth.read_bytes()
    env = clean_env(home, CODEX_REFRESH_TOKEN_URL_OVERRIDE=f"http://127.0.0.1:{auth_server}/oauth/token", TERM="xterm-256color")
    env["PATH"] = os.pathsep.join([str(Path(codex).parent), env["PATH"]])
    daemon_log = codex_home / "app-server-daemon" / "daemon.stderr.log"
    tui = subprocess.Popen(
        [script, "-qfc", f"{codex} hi", os.devnull],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert _wait_for(daemon_log, b"Failed to refresh token", 30), "the real Codex daemon never tried to refresh"
    finally:
        os.killpg(tui.pid, signal.SIGKILL)
        tui.wait(10)
        _kill_daemons(codex_home)

    env.pop("CODEX_REFRESH_TOKEN_URL_OVERRIDE")
    check = _authdoctor(env, home, "check", "--json", "--no-exec")
    assert check.returncode == 1, check.stderr
    report = json.loads(check.stdout)
    found = {f["id"]: f for f in report["findings"]}
    assert "refresh-failed" in found, found.keys()
    failed = found["refresh-failed"]
    assert "already used" in failed["title"]
    assert any(o["path"] == str(daemon_log) for o in failed["origins"])
    assert failed["fix"]["automatic"] is True
    assert payload["tokens"]["refresh_token"] not in check.stdout

    explained = _authdoctor(env, home, "explain", "--file", str(daemon_log), "--json", "--no-local")
    assert explained.returncode == 0, explained.stderr
    causes = json.loads(explained.stdout)["causes"]
    assert causes[0]["signature"] == "refresh-token-reused"

    fixed = _authdoctor(env, home, "fix", "--yes", "--no-exec")
    assert fixed.returncode in (0, 1), fixed.stderr
    assert not auth.exists()
    assert "codex login" in fixed.stdout
    status = subprocess.run([codex, "login", "status"], env=env, cwd=home, capture_output=True, text=True, timeout=60, check=False)
    assert "Not logged in" in status.stderr + status.stdout

    undone = _authdoctor(env, home, "undo", "--yes")
    assert undone.returncode == 0, undone.stderr
    assert auth.read_bytes() == original
