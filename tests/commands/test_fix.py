"""``authdoctor fix`` in process: consent, dry runs, refusals and manual steps -- each writes nothing it should not."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from authdoctor.apply.journal import journal_root
from authdoctor.commands.fix import exit_code, fix
from authdoctor.errors import AuthdoctorError, ExitCode
from authdoctor.report.fix_report import APPLIED, DECLINED, DRY_RUN, MANUAL_ONLY, NOT_A_TERMINAL, NOTHING, outcome_json
from authdoctor.sandbox import agent_identity_jwt, chatgpt_auth
from tests.conftest import FIXED_NOW, Machine, clean_env

VAR = "CODEX_ACCESS_TOKEN"


def args(*findings: str, yes: bool = False, dry_run: bool = False, no_exec: bool = True, as_json: bool = True) -> argparse.Namespace:
    return argparse.Namespace(
        findings=list(findings), yes=yes, dry_run=dry_run, no_exec=no_exec, json=as_json, no_color=True, ascii=True, verbose=False
    )


def stale_token() -> str:
    return agent_identity_jwt(FIXED_NOW, expires_in=-timedelta(days=300))


def seed(machine: Machine, zshrc: str) -> tuple[Path, str]:
    token = stale_token()
    machine.write_auth(chatgpt_auth(FIXED_NOW))
    machine.env["SHELL"] = "/bin/zsh"
    path = machine.home / ".zshrc"
    path.write_text(zshrc.format(token=token))
    path.chmod(0o640)
    return path, token


def journal_entries(machine: Machine) -> list[Path]:
    root = journal_root(machine.host())
    return sorted(root.iterdir()) if root.is_dir() else []


def test_yes_applies_and_reports_json(machine: Machine) -> None:
    path, token = seed(machine, "export EDITOR=vim\nexport CODEX_ACCESS_TOKEN={token}\n")
    outcome = fix(machine.host(), args(yes=True))
    assert outcome.status == APPLIED
    assert path.read_text() == (
        "export EDITOR=vim\n# export CODEX_ACCESS_TOKEN=" + token + "  # disabled by authdoctor 2026-11-20 (CODEX_ACCESS_TOKEN)\n"
    )
    assert path.stat().st_mode & 0o777 == 0o640
    body = outcome_json(outcome)
    assert body["status"] == "applied" and body["applied"][0]["lines"] == [2]
    assert body["verification"]["remaining_findings"] == []
    assert token not in json.dumps(body)
    assert exit_code(outcome) == ExitCode.OK
    assert len(journal_entries(machine)) == 1


def test_dry_run_and_no_terminal_write_nothing(machine: Machine) -> None:
    path, _ = seed(machine, "export CODEX_ACCESS_TOKEN={token}\n")
    before = path.read_bytes()
    assert fix(machine.host(), args(dry_run=True)).status == DRY_RUN
    assert fix(machine.host(), args(), ask=None).status == NOT_A_TERMINAL
    assert fix(machine.host(), args(), ask=lambda _q: False).status == DECLINED
    assert path.read_bytes() == before
    assert journal_entries(machine) == []


def test_nothing_to_fix(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(FIXED_NOW))
    outcome = fix(machine.host(), args(yes=True))
    assert outcome.status == NOTHING and exit_code(outcome) == ExitCode.OK


def test_unknown_or_unfixable_finding_is_a_clear_error(machine: Machine) -> None:
    seed(machine, "export CODEX_ACCESS_TOKEN={token}\n")
    with pytest.raises(AuthdoctorError, match="no finding not-a-finding") as caught:
        fix(machine.host(), args("not-a-finding", yes=True))
    assert "access-token-overrides-login" in caught.value.hint


def test_file_changed_while_asking_is_refused(machine: Machine) -> None:
    path, _ = seed(machine, "export CODEX_ACCESS_TOKEN={token}\n")

    def edit_meanwhile(_question: str) -> bool:
        with path.open("a") as fh:
            fh.write("alias ll='ls -l'\n")
        return True

    with pytest.raises(AuthdoctorError, match="changed since authdoctor read it"):
        fix(machine.host(), args(), ask=edit_meanwhile)
    edited = path.read_text()
    assert edited.endswith("alias ll='ls -l'\n") and "# export" not in edited
    assert journal_entries(machine) == []


def test_read_only_file_is_refused(machine: Machine) -> None:
    path, _ = seed(machine, "export CODEX_ACCESS_TOKEN={token}\n")
    path.chmod(0o444)
    before = path.read_bytes()
    with pytest.raises(AuthdoctorError, match="read-only"):
        fix(machine.host(), args(yes=True))
    assert path.read_bytes() == before and path.stat().st_mode & 0o777 == 0o444
    assert journal_entries(machine) == []


def test_foreign_block_becomes_a_manual_step(machine: Machine) -> None:
    path, _ = seed(
        machine,
        "# >>> conda initialize >>>\n# !! Contents within this block are managed by 'conda init' !!\n"
        "export CODEX_ACCESS_TOKEN={token}\n# <<< conda initialize <<<\n",
    )
    before = path.read_bytes()
    outcome = fix(machine.host(), args(yes=True))
    assert outcome.status == MANUAL_ONLY
    [step] = outcome.plan.manual
    assert step.reason == "foreign-block:conda" and step.line == 3 and step.path == path
    assert path.read_bytes() == before
    assert exit_code(outcome) == ExitCode.FINDINGS


def test_eval_line_becomes_a_manual_step_with_the_trace(machine: Machine) -> None:
    token = stale_token()
    machine.write_auth(chatgpt_auth(FIXED_NOW))
    machine.env["SHELL"] = "/bin/bash"
    machine.env[VAR] = token  # this terminal ran the eval
    (machine.home / ".gen").write_text(f"echo export CODEX_ACCESS_TOKEN={token}\n")
    rc = machine.home / ".bashrc"
    rc.write_text('eval "$(sh ~/.gen)"\n')
    (machine.home / ".bash_profile").write_text(". ~/.bashrc\n")
    before = rc.read_bytes()
    outcome = fix(machine.host(), args(yes=True, no_exec=False))
    assert outcome.status == MANUAL_ONLY, outcome
    assert {s.reason for s in outcome.plan.manual} == {"eval"}
    assert rc.read_bytes() == before
    assert token not in json.dumps(outcome_json(outcome))


def test_auth_file_broken_is_moved_aside_and_back(machine: Machine) -> None:
    machine.write_auth(b'{"tokens": ')
    auth = machine.codex_home / "auth.json"
    before = auth.read_bytes()
    outcome = fix(machine.host(), args(yes=True))
    assert outcome.status == APPLIED
    assert not auth.exists()
    [aside] = [p for p in machine.codex_home.iterdir() if p.name.startswith("auth.json.authdoctor-")]
    assert aside.read_bytes() == before
    from authdoctor.apply.journal import Journal
    from authdoctor.apply.undo import undo

    undo(Journal(journal_root(machine.host())))
    assert auth.read_bytes() == before and not aside.exists()


def test_cli_without_terminal_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    from authdoctor.sandbox import write_auth

    write_auth(home / ".codex", chatgpt_auth(FIXED_NOW))
    token = stale_token()
    rc = home / ".zshrc"
    rc.write_text(f"export CODEX_ACCESS_TOKEN={token}\n")
    env = clean_env(home, SHELL="/bin/zsh", CODEX_ACCESS_TOKEN=token)
    proc = subprocess.run(
        [sys.executable, "-m", "authdoctor", "fix", "--no-exec"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == ExitCode.FINDINGS, proc.stderr
    assert "not a terminal" in proc.stdout and "--yes" in proc.stdout
    assert "-export CODEX_ACCESS_TOKEN=<redacted>" in proc.stdout
    assert token not in proc.stdout + proc.stderr
    assert rc.read_text() == f"export CODEX_ACCESS_TOKEN={token}\n"
    assert not (home / ".local").exists()
    assert os.listdir(home / ".codex") == ["auth.json"]
