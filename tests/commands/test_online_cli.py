"""``authdoctor check --online`` end to end: the real command in a subprocess, against loopback servers.

The environment is written from scratch (``clean_env``); ``AUTHDOCTOR_ONLINE_TARGETS``
points the Codex host names at a local TLS server whose certificate comes from a
throwaway CA, trusted through ``CODEX_CA_CERTIFICATE``.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import clean_env, load_json
from tests.nettools import ConnectProxy, Pki, TlsServer

HOSTS = ("auth.openai.com", "chatgpt.com", "api.openai.com")


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authdoctor", "check", "--no-exec", "--no-color", *args],
        env=clean_env(home, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def targets(server: TlsServer) -> str:
    return ",".join(f"{h}={server.address}" for h in HOSTS)


def by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in data["findings"]}


def test_online_json_and_clock_skew(home: Path, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    with TlsServer(pki.server_context(), date=datetime.now(UTC) + timedelta(minutes=10)) as server:
        done = run(home, "--online", "--json", AUTHDOCTOR_ONLINE_TARGETS=targets(server), CODEX_CA_CERTIFICATE=str(pki.ca_file))
    assert done.returncode in (0, 1), done.stderr
    data = load_json(done.stdout)
    online = data["online"]
    assert [t["host"] for t in online] == list(HOSTS)
    for t in online:
        assert t["stages"] == ["dns", "tcp", "tls", "http"], t
        assert t["address"] == server.address and t["via"] is None and t["ca_bundle"] == "CODEX_CA_CERTIFICATE"
        assert t["tls_verified"] is True and "Corp Proxy CA" in t["tls_issuer"]
        assert t["http_status"] == 200 and t["error"] is None and t["failed_stage"] is None
        assert 590 <= t["skew_seconds"] <= 610
        assert t["server_date"].endswith("Z")
    found = by_id(data)
    assert found["clock-skew"]["severity"] == "warning"
    assert "sudo timedatectl set-ntp true" in found["clock-skew"]["fix"]["commands"]
    assert "network-failure" not in found
    for _, headers in server.requests:
        assert not {"authorization", "cookie"} & set(headers)


def test_online_text_block(home: Path, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    with TlsServer(pki.server_context(), date=datetime.now(UTC)) as server, ConnectProxy() as proxy:
        done = run(
            home,
            "--online",
            AUTHDOCTOR_ONLINE_TARGETS=targets(server),
            CODEX_CA_CERTIFICATE=str(pki.ca_file),
            HTTPS_PROXY=f"http://{proxy.address}",
        )
    assert done.returncode in (0, 1), done.stderr
    assert "\nOnline check (--online)\n" in done.stdout
    text = " ".join(done.stdout.split())  # the report wraps at 88 columns
    assert f"auth.openai.com (at {server.address}) through HTTPS_PROXY ({proxy.address}): HTTP 200" in text
    assert (
        f"Opened TLS connections to auth.openai.com, chatgpt.com, api.openai.com through HTTPS_PROXY ({proxy.address}) "
        "(the proxy resolving the names), trusting the system's certificates plus CODEX_CA_CERTIFICATE" in text
    )
    assert "no credential was sent" in text
    assert "clock-skew" not in text


def test_online_failures_are_one_network_failure(home: Path, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    with TlsServer(pki.server_context(), date=datetime.now(UTC)) as server:
        done = run(home, "--online", "--json", AUTHDOCTOR_ONLINE_TARGETS=targets(server))
    data = load_json(done.stdout)
    assert all(t["error_kind"] == "tls-untrusted" and t["tls_verified"] is False for t in data["online"])
    finding = by_id(data)["network-failure"]
    assert "TLS interception by 'Corp Proxy CA" in finding["fix"]["summary"]
    assert [o["context"] for o in finding["origins"]] == ["online"] * 3


def test_without_online_nothing_changes(home: Path) -> None:
    done = run(home, "--json")
    assert load_json(done.stdout)["online"] is None
    text = run(home).stdout
    assert "Online check" not in text


@pytest.mark.parametrize("as_json", [True, False])
def test_proxy_password_never_printed(home: Path, tmp_path: Path, as_json: bool) -> None:
    """A password planted in the proxy URL reaches the proxy and nothing else: not the text, not the JSON."""
    password = "Pl4nted-Pr0xy-Passw0rd"
    pki = Pki(tmp_path)
    args = ["--online", "--verbose", *(["--json"] if as_json else [])]
    with TlsServer(pki.server_context(), date=datetime.now(UTC)) as server, ConnectProxy(credentials=("alice", password)) as ok:
        good = run(
            home,
            *args,
            AUTHDOCTOR_ONLINE_TARGETS=targets(server),
            CODEX_CA_CERTIFICATE=str(pki.ca_file),
            HTTPS_PROXY=f"http://alice:{password}@{ok.address}",
        )
    with ConnectProxy(credentials=("alice", "another-one")) as refusing:
        bad = run(
            home,
            *args,
            AUTHDOCTOR_ONLINE_TARGETS=f"auth.openai.com={server.address}",
            https_proxy=f"http://alice:{password}@{refusing.address}",
        )
    for done in (good, bad):
        assert done.returncode in (0, 1), done.stderr
        for stream in (done.stdout, done.stderr):
            assert password not in stream
            assert "alice" not in stream
            assert "QWxpY2" not in stream  # base64 of "alice:", the start of the Proxy-Authorization value
    if as_json:
        good_online = load_json(good.stdout)["online"]
        assert all(t["via"] == {"variable": "HTTPS_PROXY", "scheme": "http", "proxy": ok.address} for t in good_online)
        assert all(t["stages"] == ["tcp", "proxy", "tls", "http"] for t in good_online)
        bad_online = load_json(bad.stdout)["online"]
        assert bad_online[0]["error_kind"] == "proxy-auth"
    else:
        assert "rejected the user name and password in the proxy URL" in " ".join(bad.stdout.split())
