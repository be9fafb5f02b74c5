"""zsh and ksh trace to stderr: a start-up file that redirects it (`exec 2>file`) must not receive secrets.

The shell source runs the line trace only when reading and the probe disagree;
the ``disagree`` fixture makes every check disagree, so these tests reach the
point where the guard decides.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from authdoctor.collect.origins import confirm
from authdoctor.collect.origins.confirm import ConfirmedShellSource
from authdoctor.collect.origins.trace import stderr_redirect
from authdoctor.sandbox import personal_access_token
from tests.conftest import IN_CI, Machine

NAMES = frozenset({"CODEX_ACCESS_TOKEN"})


def shell_or_skip(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        if IN_CI:
            pytest.fail(f"{shell} is required on CI")
        pytest.skip(f"{shell} is not installed")
    return path


@pytest.fixture(autouse=True)
def disagree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(confirm, "_agrees", lambda *a: False)


def assert_not_traced(machine: Machine, shell: str, culprit: Path) -> None:
    machine.env["SHELL"] = shell_or_skip(shell)
    tokens = [
        line.split("=", 1)[1] for p in machine.home.rglob("*") if p.is_file() for line in p.read_text().splitlines() if "TOKEN=" in line
    ]
    scan = ConfirmedShellSource(modes=(confirm.LOGIN_INTERACTIVE,)).scan(machine.host(), NAMES)
    notes = [n for n in scan.notes if n.kind == "not-traced"]
    assert [(n.kind, n.path) for n in notes] == [("not-traced", culprit)]
    assert f"so {shell} was not traced line by line" in notes[0].message
    # Only the probe ran (it reports on stdout): whatever the start-up wrote to its own log holds no value.
    for p in machine.home.rglob("*"):
        if p.is_file():
            assert not any(tok in p.read_text(errors="replace") for tok in tokens if tok and p.name not in (".zshrc", ".kshrc"))


@pytest.mark.parametrize("line", ["exec 2>>$HOME/zsh.log", "exec &>/dev/null", "  exec 3>&1 2>$HOME/err"])
def test_zsh_with_redirected_stderr_is_not_traced(machine: Machine, line: str) -> None:
    token = personal_access_token()
    zshrc = machine.home / ".zshrc"
    zshrc.write_text(f"{line}\nexport CODEX_ACCESS_TOKEN={token}\n")
    assert_not_traced(machine, "zsh", zshrc)


def test_a_comment_mentioning_exec_does_not_stop_the_trace(machine: Machine) -> None:
    machine.env["SHELL"] = shell_or_skip("zsh")
    (machine.home / ".zshrc").write_text("# exec 2>/dev/null is a bad idea\nexport CODEX_ACCESS_TOKEN=x\n")
    scan = ConfirmedShellSource(modes=(confirm.LOGIN_INTERACTIVE,)).scan(machine.host(), NAMES)
    assert scan.trails and scan.trails[0].settings
    assert all(s.family == "trace" for s in scan.trails[0].settings)


def test_zsh_redirect_in_a_file_zshrc_sources(machine: Machine) -> None:
    quiet = machine.home / ".config" / "zsh" / "quiet.zsh"
    quiet.parent.mkdir(parents=True)
    quiet.write_text("exec 2>$HOME/.cache/zsh-errors\n")
    (machine.home / ".zshrc").write_text(f'source "$HOME/.config/zsh/quiet.zsh"\nexport CODEX_ACCESS_TOKEN={personal_access_token()}\n')
    assert_not_traced(machine, "zsh", quiet)


@pytest.mark.parametrize("line", ["exec 2>$HOME/ksh.log", "redirect 2>/dev/null", "exec >&$HOME/all.log"])
def test_ksh_with_redirected_stderr_in_kshrc_is_not_traced(machine: Machine, line: str) -> None:
    kshrc = machine.home / ".kshrc"
    kshrc.write_text(f"{line}\nexport CODEX_ACCESS_TOKEN={personal_access_token()}\n")
    assert_not_traced(machine, "ksh", kshrc)


def test_ksh_redirect_in_a_file_the_profile_sources(machine: Machine) -> None:
    quiet = machine.home / ".config" / "quiet.sh"
    quiet.parent.mkdir(parents=True)
    quiet.write_text("exec 2>/dev/null\n")
    (machine.home / ".profile").write_text(". ~/.config/quiet.sh\n")
    (machine.home / ".kshrc").write_text(f"export CODEX_ACCESS_TOKEN={personal_access_token()}\n")
    assert_not_traced(machine, "ksh", quiet)


def test_ksh_redirect_in_the_file_env_names(machine: Machine) -> None:
    rc = machine.home / ".config" / "ksh" / "rc"
    rc.parent.mkdir(parents=True)
    rc.write_text("exec 2>&-\nexec 2>$HOME/err\n")
    machine.env["ENV"] = "$HOME/.config/ksh/rc"
    assert_not_traced(machine, "ksh", rc)


def test_ksh_without_a_redirect_is_traced(machine: Machine) -> None:
    machine.env["SHELL"] = shell_or_skip("ksh")
    kshrc = machine.home / ".kshrc"
    kshrc.write_text("exec 3>/dev/null\nexport CODEX_ACCESS_TOKEN=x\n")
    scan = ConfirmedShellSource(modes=(confirm.LOGIN_INTERACTIVE,)).scan(machine.host(), NAMES)
    (trail,) = scan.trails
    assert all(s.family == "trace" for s in trail.settings)
    assert trail.context == "ksh login+interactive shell (traced)"
    assert [(s.path, s.line) for s in trail.settings] == [(kshrc, 2)]


def test_the_guard_checks_the_files_it_is_given(machine: Machine, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.sh"
    elsewhere.write_text("exec 2>/tmp/log\n")
    host = machine.host()
    # Nothing in the home sources it: only the caller knows it is read.
    assert stderr_redirect(host, "ksh") is None
    assert stderr_redirect(host, "ksh", [elsewhere]) == elsewhere
    assert stderr_redirect(host, "zsh", [elsewhere]) == elsewhere
    # bash traces to its own descriptor: a redirect of stderr cannot catch the trace.
    assert stderr_redirect(host, "bash", [elsewhere]) is None
