"""Where this terminal's value came from: process chain (fake /proc), tmux (fake tmux), direnv (real DIRENV_DIFF encoding)."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

from authdoctor.collect.origins.provenance import ProvenanceSource, describe_chain, direnv_settings, process_chain, tmux_settings
from authdoctor.sandbox import personal_access_token
from tests.conftest import Machine


def fake_proc(root: Path, procs: dict[str, tuple[str, str]]) -> Path:
    """procs: pid -> (name, ppid)."""
    proc = root / "proc"
    for pid, (name, ppid) in procs.items():
        (proc / pid).mkdir(parents=True)
        (proc / pid / "status").write_text(f"Name:\t{name}\nState:\tS (sleeping)\nPPid:\t{ppid}\n")
    return proc


def test_process_chain_names_tmux(machine: Machine) -> None:
    proc = fake_proc(
        machine.root, {"300": ("authdoctor", "200"), "200": ("zsh", "100"), "100": ("tmux: server", "1"), "1": ("systemd", "0")}
    )
    host = machine.host()._replace(proc=proc, pid="300")
    chain = process_chain(host)
    assert chain is not None
    assert [a.name for a in chain] == ["zsh", "tmux: server", "systemd"]
    text = describe_chain(chain)
    assert text.startswith("zsh (pid 200) ← tmux: server (pid 100)")
    assert "global environment" in text


def test_process_chain_unavailable(machine: Machine) -> None:
    assert process_chain(machine.host()._replace(proc=None)) is None
    assert "cannot be inspected" in describe_chain(None)


def test_tmux_global_environment(machine: Machine) -> None:
    token = personal_access_token()
    bin_dir = machine.root / "bin"
    bin_dir.mkdir()
    tmux = bin_dir / "tmux"
    tmux.write_text(f"#!/bin/sh\nprintf 'CODEX_ACCESS_TOKEN={token}\\n-OPENAI_API_KEY\\nEDITOR=vim\\n'\n")
    tmux.chmod(0o755)
    host = machine.host()._replace(env={**machine.env, "TMUX": "/tmp/tmux-0/default,1,0", "PATH": f"{bin_dir}:/usr/bin:/bin"})
    settings, notes = tmux_settings(host, frozenset({"CODEX_ACCESS_TOKEN", "OPENAI_API_KEY"}))
    assert notes == []
    assert [(s.var, s.action) for s in settings] == [("CODEX_ACCESS_TOKEN", "export"), ("OPENAI_API_KEY", "unset")]
    assert settings[0].value is not None and settings[0].value.reveal() == token
    assert token not in repr(settings)
    # Outside tmux nothing runs.
    assert tmux_settings(machine.host(), frozenset({"CODEX_ACCESS_TOKEN"})) == ([], [])


def test_direnv_diff(machine: Machine) -> None:
    token = personal_access_token()
    diff = base64.urlsafe_b64encode(zlib.compress(json.dumps({"p": {}, "n": {"CODEX_ACCESS_TOKEN": token, "X": "1"}}).encode())).decode()
    env = {**machine.env, "DIRENV_DIFF": diff.rstrip("="), "DIRENV_FILE": "/srv/project/.envrc"}
    [setting] = direnv_settings(machine.host()._replace(env=env), frozenset({"CODEX_ACCESS_TOKEN"}))
    assert setting.path == Path("/srv/project/.envrc") and setting.family == "direnv"
    scan = ProvenanceSource().scan(machine.host()._replace(env={**env, "DIRENV_DIFF": "not base64 !!"}), frozenset({"CODEX_ACCESS_TOKEN"}))
    assert scan.trails[0].settings == ()
