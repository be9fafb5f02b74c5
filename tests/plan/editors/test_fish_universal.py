"""The fish_variables editor: the variable's line goes, every other byte stays; checked with the real fish.

fish itself writes the file (``set -Ux``) where fish is installed, so the test
edits exactly what fish produces, then asks fish whether the universal
variable is still there (``set -q``), both in a new shell and in one that was
already running when the file changed.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from authdoctor.collect.origins import fish as F
from authdoctor.collect.origins.model import Setting
from authdoctor.host import Host
from authdoctor.plan.editors.base import EditContext
from authdoctor.plan.editors.fish_universal import EDITOR
from authdoctor.plan.model import apply_edits
from authdoctor.sandbox import api_key, personal_access_token, write_private
from tests.conftest import IN_CI

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER})
CTX = EditContext("2026-11-21")
FISH = shutil.which("fish")
HEADER = b"# This file contains fish universal variable definitions.\n# VERSION: 3.0\n"


def need_fish() -> str:
    if FISH is None:
        if IN_CI:
            pytest.fail("fish is required on CI")
        pytest.skip("fish is not installed")
    return FISH


def env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "dumb"}


def fish(home: Path, script: str) -> str:
    proc = subprocess.run([need_fish(), "-c", script], env=env(home), stdin=subprocess.DEVNULL, capture_output=True, timeout=20, check=True)
    return proc.stdout.decode()


def universal_settings(home: Path) -> list[Setting]:
    host = Host(env={"HOME": str(home)}, home=home, proc=None, platform="linux")
    seen: dict[tuple[object, ...], Setting] = {}
    for trail in F.FishSource().scan(host, NAMES).trails:
        for s in trail.settings:
            if s.family == "fish-universal":
                seen.setdefault((s.span, s.var), s)
    return sorted(seen.values(), key=lambda s: s.span)


def remove(home: Path, names: tuple[str, ...] = (NAME,)) -> tuple[bytes, bytes]:
    path = home / ".config/fish/fish_variables"
    data = path.read_bytes()
    given = [s for s in universal_settings(home) if s.var in names]
    result = EDITOR.edit(data, given, CTX)
    assert result.refused == ()
    after = apply_edits(data, result.edits)
    path.write_bytes(after)
    return data, after


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    (h / ".config/fish").mkdir(parents=True)
    return h


@pytest.mark.shell
def test_fish_written_file_loses_only_that_line(home: Path) -> None:
    token, key = personal_access_token(), api_key()
    fish(home, f"set -Ux {NAME} {token}; set -Ux {OTHER} {key}; set -U fish_greeting hi; set -Ux LIST a 'b c'")
    before, after = remove(home)
    lines = before.splitlines(keepends=True)
    assert after == b"".join(ln for ln in lines if not ln.startswith(f"SETUVAR --export {NAME}:".encode()))
    assert after.startswith(HEADER)
    assert fish(home, f"set -q {NAME}; echo $status; set -q {OTHER}; echo $status; echo $LIST") == "1\n0\na b c\n"
    assert fish(home, f"printenv {OTHER}") == key + "\n"
    assert [s.var for s in universal_settings(home)] == [OTHER]


@pytest.mark.shell
def test_a_running_fish_drops_it_and_does_not_write_it_back(home: Path, tmp_path: Path) -> None:
    token = personal_access_token()
    fish(home, f"set -Ux {NAME} {token}; set -U keep 1")
    go = tmp_path / "go"
    script = f"set -q {NAME}; echo $status; while not test -e {go}; sleep 0.05; end; set -U touched 1; set -q {NAME}; echo $status"
    running = subprocess.Popen([need_fish(), "-c", script], env=env(home), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        assert running.stdout is not None
        assert running.stdout.readline() == b"0\n"  # it has the variable now
        remove(home)
        time.sleep(0.05)
        go.touch()
        out, _ = running.communicate(timeout=20)
    finally:
        if running.poll() is None:
            running.kill()
    assert out == b"1\n"
    text = (home / ".config/fish/fish_variables").read_bytes()
    assert NAME.encode() not in text and b"SETUVAR touched:1" in text and b"SETUVAR keep:1" in text


def test_crlf_old_format_and_foreign_bytes(home: Path) -> None:
    token = personal_access_token()
    data = HEADER.replace(b"\n", b"\r\n") + b"SETUVAR caf\xe9:\xff\r\n" + f"SET_EXPORT {NAME}:{token}\r\nSETUVAR {OTHER}:x\r\n".encode()
    write_private(home / ".config/fish/fish_variables", data, 0o644)
    _before, after = remove(home)
    assert after == HEADER.replace(b"\n", b"\r\n") + b"SETUVAR caf\xe9:\xff\r\n" + f"SETUVAR {OTHER}:x\r\n".encode()


def test_last_line_without_newline_and_both_forms(home: Path) -> None:
    token = personal_access_token()
    data = HEADER + f"SETUVAR {NAME}:{token}\nSETUVAR A:1\nSETUVAR --export {NAME}:{token}".encode()
    write_private(home / ".config/fish/fish_variables", data, 0o644)
    _before, after = remove(home)
    assert after == HEADER + b"SETUVAR A:1\n"


def test_refusals(home: Path) -> None:
    token = personal_access_token()
    data = HEADER + f"SETUVAR --export {NAME}:{token}\nSETUVAR {OTHER}:x\n".encode()
    write_private(home / ".config/fish/fish_variables", data, 0o644)
    mine, other = sorted(universal_settings(home), key=lambda s: s.var)
    assert (mine.blocker, mine.editable) == ("fish-universal", False)  # what the scanner says; this editor takes it
    result = EDITOR.edit(
        data,
        [mine._replace(blocker="system-file"), mine._replace(span=(0, 10)), other._replace(var=NAME)],
        CTX,
    )
    assert result.edits == ()
    assert [r.reason for r in result.refused] == ["system-file", "unknown-span", "unknown-span"]
    assert all(token not in r.detail for r in result.refused)
