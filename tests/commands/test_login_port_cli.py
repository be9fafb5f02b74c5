"""`authdoctor check` as a person runs it, with real listeners on free ports (AUTHDOCTOR_LOGIN_PORTS) on the real /proc."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from authdoctor.diagnose.rules.login_port_busy import RULE
from authdoctor.sandbox import chatgpt_auth, write_auth
from tests.conftest import clean_env, load_json
from tests.conftest import run_authdoctor as run
from tests.porttools import children, free_port
from tests.proctools import linux_only

ID = "login-port-busy"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A healthy ChatGPT login, so the port is the only thing to report."""
    h = tmp_path / "home"
    (h / ".codex").mkdir(parents=True)
    write_auth(h / ".codex", chatgpt_auth(datetime.now(UTC)))
    return h


def _mine(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["id"] == ID]


@linux_only
def test_a_stopped_login_on_the_first_port(home: Path, tmp_path: Path) -> None:
    fallback = free_port()
    with children(tmp_path) as kids:
        login = kids.start("codex", ("login",))
        login.stop()
        env = clean_env(home, AUTHDOCTOR_LOGIN_PORTS=f"{login.port},{fallback}")
        proc = run(["check", "--json", "--no-exec"], env)
        strict = run(["check", "--strict", "--no-exec"], env)
    # A warning: the browser login still works on the fallback port.
    assert proc.returncode == 0, proc.stderr
    (f,) = _mine(load_json(proc.stdout))
    assert f["severity"] == "warning"
    assert (
        f["title"]
        == f"Port {login.port} is taken by a stopped `codex login` (pid {login.pid}): `codex login` has to fall back to {fallback}"
    )
    assert f["fix"]["commands"] == [f"kill {login.pid}", f"kill -CONT {login.pid}", "codex login --device-auth"]
    assert f["origins"] == [
        {
            "path": f"/proc/{login.pid}",
            "line": None,
            "context": "listener",
            "active": True,
            "text": f"127.0.0.1:{login.port} held by a stopped `codex login` (pid {login.pid})",
        }
    ]
    # --strict counts warnings; the text report names the holder.
    assert strict.returncode == 1
    assert f"stopped `codex login` (pid {login.pid})" in strict.stdout


@linux_only
def test_free_ports_pass(home: Path) -> None:
    env = clean_env(home, AUTHDOCTOR_LOGIN_PORTS=f"{free_port()},{free_port()}")
    proc = run(["check", "--json", "--no-exec"], env)
    assert proc.returncode == 0, proc.stderr
    assert _mine(load_json(proc.stdout)) == []
    text = run(["check", "--verbose", "--no-exec", "--no-color"], env)
    assert RULE.passed in text.stdout


def test_an_image_under_root_claims_nothing_about_ports(home: Path, tmp_path: Path) -> None:
    """--root: an image runs nothing, so neither a finding nor a passed check about its ports."""
    image = tmp_path / "image"
    (image / "home").mkdir(parents=True)
    env = clean_env(home)
    text = run(["check", "--root", str(image), "--verbose", "--no-exec", "--no-color"], env)
    assert text.returncode in (0, 1), text.stderr
    assert RULE.passed not in text.stdout
    report = run(["check", "--root", str(image), "--json", "--no-exec"], env)
    assert _mine(load_json(report.stdout)) == []
