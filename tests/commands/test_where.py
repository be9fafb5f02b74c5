"""``authdoctor where`` end to end: real command, temporary homes, and the real shells as the referee."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from authdoctor.sandbox import personal_access_token
from tests.conftest import IN_CI, clean_env

VAR = "CODEX_ACCESS_TOKEN"


def need(shell: str) -> str:
    found = shutil.which(shell)
    if found is None:
        if IN_CI:
            pytest.fail(f"{shell} is required on CI")
        pytest.skip(f"{shell} is not installed")
    return found


def where(home: Path, *args: str, shell: str = "/bin/zsh", **extra: str) -> dict[str, Any]:
    env = clean_env(home, SHELL=shell, **extra)
    proc = subprocess.run(
        [sys.executable, "-m", "authdoctor", "where", "--json", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return data


def real_value(shell: str, home: Path, var: str) -> str | None:
    """What a brand-new terminal would hold: `$SHELL -lic 'printenv VAR'`."""
    mark = "__AUTHDOCTOR__"
    env = clean_env(home, SHELL=shell)
    proc = subprocess.run(
        [shell, "-lic", f"printf '%s' {mark}; printenv {var}; printf '%s' {mark}"],
        env=env,
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    parts = proc.stdout.split(mark)
    assert len(parts) == 3, proc.stdout + proc.stderr
    return parts[1].rstrip("\n") or None


def verdict(data: dict[str, Any], context_prefix: str) -> dict[str, Any] | None:
    [var] = data["variables"]
    [ctx] = [c for c in var["contexts"] if c["name"].startswith(context_prefix)]
    winner = ctx["winner"]
    assert winner is None or isinstance(winner, dict)
    return winner


@pytest.mark.parametrize(
    ("files", "expected_line"),
    [
        ({".zshrc": "export EDITOR=vim\nexport {var}={a}\n"}, (".zshrc", 2)),
        ({".zshenv": "export {var}={a}\n", ".zshrc": "export {var}={b}\n"}, (".zshrc", 1)),
        ({".zshenv": "export {var}={a}\n", ".zshrc": "unset {var}\n"}, None),
        ({".zshrc": '# export {var}={a}\ncat <<EOF\nexport {var}={b}\nEOF\necho "export {var}={a}"\n'}, None),
        ({".zprofile": "{var}={a}; export {var}\n"}, (".zprofile", 1)),
        ({".zshrc": "set -a\n. ~/.secrets\nset +a\n", ".secrets": "{var}={a}\n"}, (".secrets", 1)),
    ],
    ids=["zshrc", "zshrc-beats-zshenv", "unset-later", "traps", "assign-then-export", "set-a-secrets"],
)
def test_zsh_winner_agrees_with_the_real_shell(tmp_path: Path, files: dict[str, str], expected_line: tuple[str, int] | None) -> None:
    zsh = need("zsh")
    home = tmp_path / "home"
    home.mkdir()
    a, b = personal_access_token(), personal_access_token()
    for name, text in files.items():
        (home / name).write_text(text.format(var=VAR, a=a, b=b))
    data = where(home, VAR, "--no-exec", shell=zsh)
    winner = verdict(data, "new login shell")
    real = real_value(zsh, home, VAR)
    if expected_line is None:
        assert winner is None
        assert real is None
    else:
        assert winner == {"path": str(home / expected_line[0]), "line": expected_line[1]}
        assert real in (a, b)
        # (.zshenv may still win for a non-interactive `zsh -l`, which never reads .zshrc.)
        [origin] = [o for o in data["variables"][0]["origins"] if any(c.startswith("new login shell") for c in o["wins_in"])]
        assert origin["fingerprint"] is not None
    text = json.dumps(data)
    assert a not in text and b not in text


def test_bash_login_shell_and_debian_skel_chain(tmp_path: Path) -> None:
    bash = need("bash")
    home = tmp_path / "home"
    home.mkdir()
    token = personal_access_token()
    (home / ".profile").write_text('if [ -n "$BASH_VERSION" ]; then\n  if [ -f "$HOME/.bashrc" ]; then\n    . "$HOME/.bashrc"\n  fi\nfi\n')
    (home / ".bashrc").write_text(f"export {VAR}={token}\n")
    data = where(home, VAR, "--no-exec", shell=bash)
    assert verdict(data, "new login shell") == {"path": str(home / ".bashrc"), "line": 1}
    assert real_value(bash, home, VAR) == token
    [origin] = data["variables"][0]["origins"]
    assert origin["chain"] == [str(home / ".profile")]


def test_text_report_names_the_line_and_the_unexplained_terminal_value(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".zshrc").write_text(f"export {VAR}={personal_access_token()}\n")
    env = clean_env(home, SHELL="/bin/zsh", OPENAI_API_KEY=personal_access_token())
    proc = subprocess.run(
        [sys.executable, "-m", "authdoctor", "where", VAR, "OPENAI_API_KEY", "--no-exec"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "~/.zshrc:1" in proc.stdout
    assert "wins in new login shell (zsh)" in proc.stdout
    assert "OPENAI_API_KEY — set in this terminal" in proc.stdout
    assert "not explained by any start-up file" in proc.stdout


def test_bad_variable_name_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "authdoctor", "where", "$CODEX_ACCESS_TOKEN"],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "not a variable name" in proc.stderr
