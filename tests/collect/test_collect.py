"""collect(): every gatherer runs, and one that breaks is recorded while the rest go on."""

from __future__ import annotations

import os
from pathlib import Path

from authdoctor.codex import knowledge as K
from authdoctor.collect import collect
from authdoctor.collect.evidence import AuthFileEvidence, GathererFailure
from authdoctor.host import MAX_STATE_FILE_BYTES, Host
from authdoctor.sandbox import api_key, chatgpt_auth
from authdoctor.secret import REDACTED, Secret
from tests.conftest import FIXED_NOW, Machine


class ExplodingHost(Host):
    """A Host whose read of one file fails in a way no collector expects."""

    def read_bytes(self, path: Path, limit: int = MAX_STATE_FILE_BYTES) -> bytes:
        if path.name == self.env.get("EXPLODE_ON"):
            raise RuntimeError(f"disk on fire while reading {path.name} ({self.env.get('LEAKY', '')})")
        return super().read_bytes(path, limit)


def _exploding(machine: Machine, name: str, leaky: str = "") -> Host:
    h = machine.host()
    return ExplodingHost(
        env={**h.env, "EXPLODE_ON": name, "LEAKY": leaky}, home=h.home, platform=h.platform, uid=h.uid, clock=h.clock, keyring=h.keyring
    )


def test_a_clean_machine(machine: Machine) -> None:
    ev = machine.evidence()
    assert ev.failures == ()
    assert ev.now == FIXED_NOW
    assert ev.platform == "linux"
    assert ev.home == machine.home
    assert ev.codex_home.path == machine.home / ".codex"
    assert not ev.auth_file.exists
    assert not ev.config.exists
    assert not ev.dotenv.exists
    assert not ev.keyring.probed
    assert ev.env == {}
    assert ev.default_home_auth is None


def test_failing_auth_gatherer_is_recorded_and_the_run_goes_on(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('cli_auth_credentials_store = "auto"\n')
    machine.write_dotenv("OPENAI_BASE_URL=https://proxy.example\n")
    ev = collect(_exploding(machine, K.AUTH_FILENAME))
    assert ev.failures == (GathererFailure("auth.json", "RuntimeError: disk on fire while reading auth.json ()"),)
    assert ev.auth_file == AuthFileEvidence(machine.codex_home / "auth.json", False)
    # Everything after it was still gathered.
    assert ev.config.store_mode == K.STORE_AUTO
    assert ev.keyring.probed
    assert ev.env["OPENAI_BASE_URL"].source == "dotenv"


def test_each_file_gatherer_fails_alone(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))
    machine.write_config('cli_auth_credentials_store = "file"\n')
    machine.write_dotenv("OPENAI_BASE_URL=https://proxy.example\n")
    for name, gatherer in ((K.CONFIG_FILENAME, "config.toml"), (K.DOTENV_FILENAME, ".env")):
        ev = collect(_exploding(machine, name))
        assert [f.gatherer for f in ev.failures] == [gatherer]
        assert ev.auth_file.login is not None


def test_failure_message_is_scrubbed(machine: Machine) -> None:
    key = api_key()
    Secret(key)  # seen once, as every credential authdoctor reads is
    machine.write_auth(chatgpt_auth(machine.now))
    ev = collect(_exploding(machine, K.AUTH_FILENAME, leaky=key))
    (failure,) = ev.failures
    assert key not in failure.message
    assert REDACTED in failure.message


def test_failing_codex_home_resolution_is_recorded(machine: Machine, tmp_path: Path) -> None:
    class BrokenHome(Host):
        def stat(self, path: Path, *, follow: bool = True) -> os.stat_result | None:
            raise RuntimeError("stat exploded")

    h = machine.host()
    custom = str(tmp_path / "custom")
    ev = collect(BrokenHome(env={**h.env, "CODEX_HOME": custom}, home=h.home, clock=h.clock, keyring=h.keyring))
    assert "CODEX_HOME" in [f.gatherer for f in ev.failures]
    assert ev.codex_home.from_env
    assert ev.codex_home.problem == "unreadable"
    assert str(ev.codex_home.path) == custom


def test_default_home_login_is_read_when_codex_home_points_elsewhere(machine: Machine, tmp_path: Path) -> None:
    machine.write_auth(chatgpt_auth(machine.now))  # in ~/.codex
    other = tmp_path / "other"
    other.mkdir()
    machine.env["CODEX_HOME"] = str(other)
    ev = machine.evidence()
    assert not ev.auth_file.exists
    assert ev.default_home_auth is not None
    assert ev.default_home_auth.login is not None
    assert ev.default_home_auth.login.resolved_mode == K.MODE_CHATGPT


def test_codex_install_is_found_on_path(machine: Machine, tmp_path: Path) -> None:
    pkg = tmp_path / "lib" / "node_modules" / "@openai" / "codex"
    (pkg / "bin").mkdir(parents=True)
    (pkg / "package.json").write_text('{"name": "@openai/codex", "version": "0.169.0"}')
    (pkg / "bin" / "codex.js").write_text("#!/usr/bin/env node\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "codex").symlink_to(pkg / "bin" / "codex.js")
    machine.env["PATH"] = f"{tmp_path / 'empty'}::{bindir}"
    ev = machine.evidence()
    assert ev.codex_path == bindir / "codex"
    assert ev.codex_version == "0.169.0"


def test_codex_install_of_another_package_has_no_version(machine: Machine, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "codex").write_text("#!/bin/sh\n")
    (tmp_path / "package.json").write_text('{"name": "something-else", "version": "9"}')
    machine.env["PATH"] = str(bindir)
    ev = machine.evidence()
    assert ev.codex_path == bindir / "codex"
    assert ev.codex_version is None


def test_background_gatherer_hands_back_its_value_its_error_or_a_timeout() -> None:
    import threading

    import pytest

    from authdoctor.collect import Background

    assert Background(lambda: 42).result(5) == 42

    def broken() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        Background(broken).result(5)
    gate = threading.Event()
    slow = Background(lambda: gate.wait(10))
    with pytest.raises(TimeoutError, match="skipped so the check does not hang"):
        slow.result(0.05)
    gate.set()
