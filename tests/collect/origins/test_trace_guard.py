"""zsh traces to stderr: a start-up file that redirects it (`exec 2>file`) must not receive secrets."""

from __future__ import annotations

import shutil

import pytest

from authdoctor.collect.origins.trace import ShellTraceSource
from authdoctor.sandbox import personal_access_token
from tests.conftest import IN_CI, Machine


@pytest.mark.parametrize("line", ["exec 2>>$HOME/zsh.log", "exec &>/dev/null", "  exec 3>&1 2>$HOME/err"])
def test_zsh_with_redirected_stderr_is_not_traced(machine: Machine, line: str) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        if IN_CI:
            pytest.fail("zsh is required on CI")
        pytest.skip("zsh is not installed")
    token = personal_access_token()
    (machine.home / ".zshrc").write_text(f"{line}\nexport CODEX_ACCESS_TOKEN={token}\n")
    machine.env["SHELL"] = zsh
    scan = ShellTraceSource().scan(machine.host(), frozenset({"CODEX_ACCESS_TOKEN"}))
    assert scan.trails == ()
    [note] = scan.notes
    assert note.kind == "not-traced"
    # Nothing ran, so nothing was written anywhere.
    assert sorted(p.name for p in machine.home.iterdir()) == [".zshrc"]


def test_a_comment_mentioning_exec_does_not_stop_the_trace(machine: Machine) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed")
    (machine.home / ".zshrc").write_text("# exec 2>/dev/null is a bad idea\nexport CODEX_ACCESS_TOKEN=x\n")
    machine.env["SHELL"] = zsh
    scan = ShellTraceSource().scan(machine.host(), frozenset({"CODEX_ACCESS_TOKEN"}))
    assert scan.trails and scan.trails[0].settings
