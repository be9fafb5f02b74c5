"""`authdoctor check` with proxies, CA bundles and headless markers, run as a person runs it (a subprocess, clean environment).

The proxies are real sockets on free loopback ports seen through the real
/proc (or a connect elsewhere); nothing talks to the network.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from authdoctor.sandbox import chatgpt_auth, write_auth, write_private
from tests.conftest import clean_env, load_json
from tests.conftest import run_authdoctor as run


@contextlib.contextmanager
def stopped() -> Iterator[int]:
    """A loopback port bound but not listening: a proxy that is not running."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    (h / ".codex").mkdir(parents=True)
    return h


def logged_in(home: Path) -> None:
    write_auth(home / ".codex", chatgpt_auth(datetime.now(UTC)))


def by_id(report: dict[str, Any], finding_id: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["id"] == finding_id]


def test_stopped_proxy_from_dotenv(home: Path) -> None:
    logged_in(home)
    with stopped() as port:
        write_private(home / ".codex" / ".env", f"HTTPS_PROXY=http://127.0.0.1:{port}\n")
        proc = run(["check", "--json"], clean_env(home, DISPLAY=":0"))
    assert proc.returncode == 0, proc.stderr  # a warning
    (f,) = by_id(load_json(proc.stdout), "proxy-misconfigured")
    assert f["severity"] == "warning"
    assert f"port {port}" in f["title"] and f"127.0.0.1 port {port}" in f["detail"]
    assert f["origins"] == [
        {"path": str(home / ".codex" / ".env"), "line": 1, "context": "dotenv", "active": True, "text": "HTTPS_PROXY=<redacted>"}
    ]


def test_missing_ca_bundle_is_an_error(home: Path, tmp_path: Path) -> None:
    logged_in(home)
    proc = run(["check", "--json"], clean_env(home, CODEX_CA_CERTIFICATE=str(tmp_path / "corp-ca.pem"), DISPLAY=":0"))
    assert proc.returncode == 1, proc.stderr
    (f,) = by_id(load_json(proc.stdout), "ca-bundle-missing")
    assert f["severity"] == "error" and "does not exist" in f["detail"]
    assert f["fix"]["summary"].startswith("Point CODEX_CA_CERTIFICATE at a readable PEM file")


def test_headless_sign_in_over_ssh(home: Path) -> None:
    env = clean_env(home, SSH_CONNECTION="203.0.113.5 51234 198.51.100.7 22", USER="alice")
    report = load_json(run(["check", "--json"], env).stdout)
    (f,) = by_id(report, "headless-login")
    assert f["severity"] == "info" and "ssh -L 1455:localhost:1455 alice@198.51.100.7" in f["fix"]["summary"]
    assert by_id(report, "not-logged-in")


def test_text_report(home: Path) -> None:
    logged_in(home)
    with stopped() as port:
        proc = run(["check", "--no-color"], clean_env(home, HTTPS_PROXY=f"http://127.0.0.1:{port}", DISPLAY=":0"))
    assert f"Codex's proxy on port {port} is not running" in proc.stdout
    assert "unset HTTPS_PROXY" in proc.stdout


def test_no_proxy_password_or_token_leaks(home: Path) -> None:
    """Plant a password and a token-shaped value in every proxy variable, in the environment and in .env."""
    password = "Pw" + os.urandom(10).hex()
    token = "sk-proj-" + os.urandom(24).hex()
    with stopped() as port:
        names = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
        env = clean_env(home, SSH_TTY="/dev/pts/1")
        for i, name in enumerate(names):
            env[name] = f"http://user:{password}@127.0.0.1:{port}" if i % 2 == 0 else token
        # NO_PROXY and a CA path name places, not credentials, and findings show them; a token pasted there stays hidden.
        env.update(NO_PROXY=f"{token},.openai.com", no_proxy=token)
        write_private(
            home / ".codex" / ".env",
            f"HTTPS_PROXY=socks5h://{token}:{password}@localhost:{port}\nall_proxy={token}\nNO_PROXY={token}\n"
            f"SSL_CERT_FILE=/nowhere/{token}.pem\n",
        )
        outputs = [run(args, env) for args in (["check", "--json"], ["check", "--no-color"], ["check", "--verbose", "--no-color"])]
    ids = {f["id"] for f in load_json(outputs[0].stdout)["findings"]}
    assert {"proxy-misconfigured", "ca-bundle-missing"} <= ids
    for proc in outputs:
        assert proc.returncode in (0, 1), proc.stderr
        for text in (proc.stdout, proc.stderr):
            assert password not in text
            assert token not in text
            assert token[8:30] not in text


def test_places_are_shown_not_redacted(home: Path) -> None:
    """A CA file, CODEX_HOME and a password-less proxy are what the findings are about: they must be readable."""
    logged_in(home)
    env = clean_env(home, SSL_CERT_FILE="/nowhere/corp-bundle.pem", NO_PROXY="localhost", DISPLAY=":0")
    text = run(["check", "--no-color"], env).stdout
    assert "/nowhere/corp-bundle.pem" in text
    assert "<redacted>" not in text.replace("=<redacted>", "")
