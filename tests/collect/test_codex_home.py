"""CODEX_HOME resolved as Codex's find_codex_home does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from authdoctor.collect.codex_home import collect_codex_home
from authdoctor.collect.evidence import CodexHomeEvidence
from authdoctor.host import Host
from tests.conftest import Machine


def test_unset_means_dot_codex_even_when_missing(machine: Machine) -> None:
    ev = collect_codex_home(machine.host())
    default = machine.home / ".codex"
    assert ev == CodexHomeEvidence(path=default, from_env=False, env_value=None, exists=False, default_path=default)


def test_unset_with_an_existing_dot_codex(machine: Machine) -> None:
    (machine.home / ".codex").mkdir()
    ev = collect_codex_home(machine.host())
    assert ev.exists
    assert ev.problem is None
    assert not ev.from_env


def test_empty_string_counts_as_unset(machine: Machine) -> None:  # oracle
    machine.env["CODEX_HOME"] = ""
    ev = collect_codex_home(machine.host())
    assert not ev.from_env
    assert ev.path == machine.home / ".codex"


def test_existing_directory_is_canonicalised(machine: Machine, tmp_path: Path) -> None:
    target = tmp_path / "state" / "codex"
    target.mkdir(parents=True)
    machine.env["CODEX_HOME"] = str(tmp_path / "state" / ".." / "state" / "codex")
    ev = collect_codex_home(machine.host())
    assert ev.from_env
    assert ev.exists
    assert ev.problem is None
    assert ev.path == target.resolve()
    assert ev.env_value == machine.env["CODEX_HOME"]
    assert ev.default_path == machine.home / ".codex"


def test_symlinked_directory_resolves(machine: Machine, tmp_path: Path) -> None:
    real = tmp_path / "real-codex"
    real.mkdir()
    link = tmp_path / "link-codex"
    link.symlink_to(real)
    machine.env["CODEX_HOME"] = str(link)
    ev = collect_codex_home(machine.host())
    assert ev.path == real.resolve()
    assert ev.exists


def test_missing_path(machine: Machine, tmp_path: Path) -> None:
    machine.env["CODEX_HOME"] = str(tmp_path / "nope")
    ev = collect_codex_home(machine.host())
    assert ev.problem == "missing"
    assert not ev.exists
    assert ev.path == tmp_path / "nope"


@pytest.mark.parametrize("value", ["   ", "~/.codex"])
def test_value_is_used_verbatim(machine: Machine, value: str) -> None:  # oracle: no trimming, no ~ expansion
    machine.env["CODEX_HOME"] = value
    assert collect_codex_home(machine.host()).problem == "missing"


def test_dangling_symlink_is_missing(machine: Machine, tmp_path: Path) -> None:  # oracle: "does not exist"
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "gone")
    machine.env["CODEX_HOME"] = str(link)
    assert collect_codex_home(machine.host()).problem == "missing"


def test_regular_file_is_not_a_directory(machine: Machine, tmp_path: Path) -> None:
    f = tmp_path / "codex-home-file"
    f.write_text("")
    machine.env["CODEX_HOME"] = str(f)
    ev = collect_codex_home(machine.host())
    assert ev.problem == "not-a-directory"
    assert ev.path == f


def test_relative_path_resolves_against_our_working_directory(machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Codex resolves a relative CODEX_HOME against its cwd (oracle rows 5e/5e2).  The Host has no cwd of
    # its own, so authdoctor's process cwd stands in: right when run from the shell that starts Codex.
    (tmp_path / "work" / "rel").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    machine.env["CODEX_HOME"] = "rel"
    ev = collect_codex_home(machine.host())
    assert ev.exists
    assert ev.path == (tmp_path / "work" / "rel").resolve()
    assert ev.path.is_absolute()
    machine.env["CODEX_HOME"] = "missing-rel"
    ev = collect_codex_home(machine.host())
    assert ev.problem == "missing"
    assert ev.path == (tmp_path / "work" / "missing-rel")


def test_absolute_value_is_read_inside_root(tmp_path: Path) -> None:
    root = tmp_path / "image"
    (root / "srv" / "codex").mkdir(parents=True)
    (root / "home" / "u").mkdir(parents=True)
    host = Host(env={"CODEX_HOME": "/srv/codex"}, home=root / "home" / "u", root=root)
    ev = collect_codex_home(host)
    assert ev.exists
    assert ev.path == (root / "srv" / "codex").resolve()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can search any directory")
def test_unsearchable_parent(machine: Machine, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    (locked / "codex").mkdir(parents=True)
    locked.chmod(0)
    try:
        machine.env["CODEX_HOME"] = str(locked / "codex")
        # Codex says "failed to read CODEX_HOME"; the Host cannot tell that from a missing path.
        assert collect_codex_home(machine.host()).problem == "missing"
    finally:
        locked.chmod(0o700)


def test_evidence_uses_the_resolved_home(machine: Machine, tmp_path: Path) -> None:
    custom = tmp_path / "custom"
    custom.mkdir()
    machine.env["CODEX_HOME"] = str(custom)
    machine.write_auth({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-test-key-value"})
    ev = machine.evidence()
    assert ev.auth_file.path == custom.resolve() / "auth.json"
    assert ev.auth_file.login is not None
    assert ev.default_home_auth is not None
    assert ev.default_home_auth.path == machine.home / ".codex" / "auth.json"
    assert not ev.default_home_auth.exists
