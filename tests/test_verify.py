"""Verification after a fix: fresh-shell snapshots, their comparison, and what running processes still hold."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from authdoctor.host import Host
from authdoctor.verify import Snapshot, compare, holders, shells_to_check, snapshots, unset_command

VAR = "CODEX_ACCESS_TOKEN"


def test_shells_to_check_follow_the_edited_families() -> None:
    assert shells_to_check({"zsh"}, "zsh") == ["zsh"]
    assert shells_to_check({"bash", "fish-universal"}, "zsh") == ["zsh", "bash", "fish"]
    assert shells_to_check({"vscode"}, "powershell") == []


def test_unset_command_per_shell() -> None:
    assert unset_command([VAR], "zsh") == f"unset {VAR}"
    assert unset_command([VAR, "X"], "fish") == f"set -e {VAR}; set -e X"
    assert unset_command([VAR], "pwsh") == f"Remove-Item Env:{VAR}"


def test_compare_names_what_is_gone_kept_and_changed() -> None:
    before = [Snapshot("zsh login shell", {VAR: "h1", "A": "a", "B": "b", "SHLVL": "1"})]
    after = [Snapshot("zsh login shell", {"A": "a", "B": "other", "SHLVL": "2"})]
    [v] = compare(before, after, [VAR])
    assert v.gone == (VAR,) and v.still_set == () and v.changed == ("B",) and v.kept == 1
    [broken] = compare([Snapshot("fish login shell", {}, "fish is not installed here")], [Snapshot("fish login shell", {})], [VAR])
    assert broken.problem == "fish is not installed here"


def test_snapshots_hash_values_and_never_keep_them(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    home = tmp_path / "home"
    home.mkdir()
    secret = "s3cret-" + os.urandom(8).hex()
    (home / ".bash_profile").write_text(f"export {VAR}={secret}\nexport KEEP=1\n")
    host = Host(env={"HOME": str(home), "PATH": os.defpath}, home=home, proc=None)
    [login, interactive] = snapshots(host, ["bash"])
    assert login.problem is None and VAR in login.values and "KEEP" in login.values
    assert secret not in repr(login) and all(len(v) == 64 for v in login.values.values())
    assert VAR not in interactive.values  # bash -i without -l does not read .bash_profile


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_holders_name_a_running_codex_that_holds_the_variable(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "codex"
    fake.parent.mkdir()
    shutil.copy(shutil.which("sleep") or "/bin/sleep", fake)
    env = {"PATH": os.defpath, VAR: "stale-" + os.urandom(6).hex()}
    proc = subprocess.Popen([str(fake), "30"], env=env)
    clean = subprocess.Popen([str(fake), "30"], env={"PATH": os.defpath})
    try:
        time.sleep(0.2)
        host = Host(env={"HOME": str(tmp_path), "TMUX_TMPDIR": str(tmp_path), "TMUX": f"{tmp_path}/gone,1,0"}, home=tmp_path)
        found = holders(host, [VAR])
        whats = [h.what for h in found]
        assert f"codex (pid {proc.pid})" in whats
        assert f"codex (pid {clean.pid})" not in whats
        assert not any("tmux" in h.what for h in found)  # no tmux server holds it
    finally:
        for p in (proc, clean):
            p.kill()
            p.wait()


def test_holders_name_a_tmux_server_that_still_holds_the_variable(tmp_path: Path) -> None:
    from tests.tmuxtools import tmux_servers

    with tmux_servers() as servers:
        sock = servers.start(CODEX_ACCESS_TOKEN="stale-" + os.urandom(6).hex())  # VAR
        servers.start("clean")
        host = Host(env={"HOME": str(tmp_path), "TMUX_TMPDIR": str(servers.tmpdir), "PATH": os.defpath}, home=tmp_path, uid=os.getuid())
        found = [h for h in holders(host, [VAR]) if "tmux" in h.what]
    assert [h.what for h in found] == [f"the tmux server at {sock}"]
    assert f"set-environment -g -u {VAR}" in found[0].how
