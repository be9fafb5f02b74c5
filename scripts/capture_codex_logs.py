#!/usr/bin/env python3
"""Capture real Codex log lines for the test fixtures.

Runs the real Codex CLI (``AUTHDOCTOR_CODEX`` or ``codex`` on PATH) offline on a
throwaway home whose ChatGPT access token has expired, so Codex refreshes at
start-up.  ``CODEX_REFRESH_TOKEN_URL_OVERRIDE`` points the refresh at a fake
auth server on loopback that answers the way the real one does for each case
(401 with ``refresh_token_reused`` …, a 500, or nothing listening).  Every line
Codex writes is real; only the answers of the auth server are staged.

    python scripts/capture_codex_logs.py tests/fixtures/codex-0.169.0

Writes ``<case>.log`` (what ``codex exec`` logged: the ``tracing`` format of
``codex-tui.log`` and ``daemon.stderr.log``) with the throwaway paths replaced
by ``$HOME``.  Tokens are random and unsigned; no real credential is involved.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from authdoctor.sandbox import chatgpt_auth  # noqa: E402

# case -> (HTTP status, backend error code or None).  None status: no server.
CASES: dict[str, tuple[int | None, str | None]] = {
    "refresh-reused": (401, "refresh_token_reused"),
    "refresh-expired": (401, "refresh_token_expired"),
    "refresh-invalidated": (401, "refresh_token_invalidated"),
    "refresh-unknown-401": (401, "something_new"),
    "refresh-server-500": (500, None),
    "refresh-unreachable": (None, None),
}


def _serve(status: int, code: str | None) -> tuple[http.server.HTTPServer, int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length") or 0))
            error: dict[str, object] = {"message": "staged by capture_codex_logs", "type": "invalid_request_error"}
            if code:
                error["code"] = code
            body = json.dumps({"error": error}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def capture(codex: str, case: str, out_dir: Path) -> Path:
    status, code = CASES[case]
    work = Path(tempfile.mkdtemp(prefix="authdoctor-capture-"))
    try:
        home = work / "home"
        (home / ".codex").mkdir(parents=True)
        now = datetime.now(UTC)
        auth = chatgpt_auth(now, access_expires_in=timedelta(days=-2), last_refresh_ago=timedelta(days=20))
        (home / ".codex" / "auth.json").write_text(json.dumps(auth))
        server = None
        if status is None:
            port = _free_port()
        else:
            server, port = _serve(status, code)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "CODEX_REFRESH_TOKEN_URL_OVERRIDE": f"http://127.0.0.1:{port}/oauth/token",
        }
        try:
            proc = subprocess.run(
                [codex, "exec", "--skip-git-repo-check", "say hi"],
                env=env,
                cwd=work,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=8,
                check=False,
            )
            err = proc.stderr
        except subprocess.TimeoutExpired as exc:
            err = exc.stderr or b""
        finally:
            if server is not None:
                server.shutdown()
        text = err.decode("utf-8", "replace").replace(str(work), "$WORK").replace(str(home), "$HOME")
        text = re.sub(r"rt_[A-Za-z0-9_-]{10,}", "rt_<redacted>", text)
        lines = [line for line in text.splitlines() if re.match(r"\d{4}-\d\d-\d\dT", line)]
        target = out_dir / f"{case}.log"
        target.write_text("\n".join(lines) + "\n")
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0] if argv else "tests/fixtures/codex-0.169.0")
    out_dir.mkdir(parents=True, exist_ok=True)
    codex = os.environ.get("AUTHDOCTOR_CODEX") or shutil.which("codex")
    if not codex:
        print("capture_codex_logs: no codex binary (set AUTHDOCTOR_CODEX)", file=sys.stderr)
        return 2
    for case in CASES:
        print(capture(codex, case, out_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
