"""The fish editor (config.fish, conf.d): exact output bytes, checked with the real fish.

Each case writes fish files into a temporary HOME, lets the fish scanner find
the settings, hands them to the editor and compares the edited bytes with the
expected ones; the edited file is scanned again (the variable is gone, the
others are still there) and, where fish is installed, parsed by ``fish -n``
and run by a real login shell.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

from authdoctor.collect.origins import fish as F
from authdoctor.collect.origins.model import UNSET, Setting, winner
from authdoctor.host import Host
from authdoctor.plan.editors.base import EditContext, EditorResult
from authdoctor.plan.editors.fish import EDITOR
from authdoctor.plan.model import apply_edits
from authdoctor.sandbox import api_key, personal_access_token, write_private
from tests.conftest import IN_CI

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER})
STAMP = "2026-11-21"
CTX = EditContext(STAMP)
FISH = shutil.which("fish")


def tag(*names: str) -> bytes:
    return b"  # disabled by authdoctor " + STAMP.encode() + b" (" + ", ".join(names).encode() + b")"


def need_fish() -> str:
    if FISH is None:
        if IN_CI:
            pytest.fail("fish is required on CI")
        pytest.skip("fish is not installed")
    return FISH


def host(home: Path) -> Host:
    return Host(env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, home=home, proc=None, platform="linux")


def settings_in(home: Path, path: Path) -> list[Setting]:
    seen: dict[tuple[object, ...], Setting] = {}
    for trail in F.FishSource().scan(host(home), NAMES).trails:
        for s in trail.settings:
            if s.path == path and s.family == "fish":
                seen.setdefault((s.span, s.var, s.action), s)
    return sorted(seen.values(), key=lambda s: s.span)


class Outcome(NamedTuple):
    before: bytes
    after: bytes
    result: EditorResult
    path: Path


def remove(home: Path, data: bytes, rel: str = ".config/fish/config.fish", names: tuple[str, ...] = (NAME,)) -> Outcome:
    path = write_private(home / rel, data, 0o644)
    given = [s for s in settings_in(home, path) if s.var in names and s.action != UNSET]
    result = EDITOR.edit(data, given, CTX)
    after = apply_edits(data, result.edits)
    path.write_bytes(after)
    return Outcome(data, after, result, path)


def exported(home: Path, var: str) -> str | None:
    """What our scanner says fish exports for ``var`` now."""
    trails = {t.context: t for t in F.FishSource().scan(host(home), NAMES).trails}
    trail = trails.get(F.LOGIN)
    found = winner(trail.settings, var) if trail is not None else None
    return found.value.reveal() if found is not None and found.value is not None else None


def fish_parses(path: Path) -> None:
    fish = need_fish()
    proc = subprocess.run([fish, "--no-execute", str(path)], capture_output=True, timeout=20, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


def real_fish(home: Path, var: str) -> str | None:
    """What a fresh fish login shell exports for ``var`` (None: not exported)."""
    fish = need_fish()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb", "LANG": "C.UTF-8"}
    proc = subprocess.run(
        [fish, "-lc", f"printf @@; printenv {var}; or printf '@@UNSET'"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=20,
        check=False,
    )
    out = proc.stdout.decode("utf-8", "replace").rpartition("@@")[2]
    return None if out == "UNSET" else out.removesuffix("\n")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


# --- what gets commented out ----------------------------------------------------------------


@pytest.mark.shell
def test_every_form_in_config_and_conf_d(home: Path) -> None:
    token, key = personal_access_token(), api_key()
    config = (
        f"set -gx {NAME} {token}\nset -x {OTHER} '{key}'\n    set -Ux {NAME} {token}   # once, to make it stick\nsetenv {NAME} {token};\n"
    ).encode()
    out = remove(home, config)
    assert out.after == (
        f"# set -gx {NAME} {token}".encode()
        + tag(NAME)
        + f"\nset -x {OTHER} '{key}'\n    # set -Ux {NAME} {token}   # once, to make it stick".encode()
        + tag(NAME)
        + f"\n# setenv {NAME} {token};".encode()
        + tag(NAME)
        + b"\n"
    )
    assert out.result.refused == ()
    snippet = remove(home, f"export {NAME}={token}\n".encode(), ".config/fish/conf.d/codex.fish")
    assert snippet.after == f"# export {NAME}={token}".encode() + tag(NAME) + b"\n"
    assert exported(home, NAME) is None
    assert exported(home, OTHER) == key
    if FISH is not None:
        fish_parses(out.path)
        fish_parses(snippet.path)
        assert real_fish(home, NAME) is None
        assert real_fish(home, OTHER) == key


@pytest.mark.shell
def test_inside_blocks_a_comment_is_enough(home: Path) -> None:
    token = personal_access_token()
    data = (
        "if status is-interactive\n"
        f"    set -gx {NAME} {token}\n"
        "end\n"
        "function codex-login\n"
        f"    set -gx {NAME} {token}\n"
        "end\n"
        "switch (uname)\n"
        "    case Linux\n"
        f"        set -gx {NAME} {token}\n"
        "end\n"
    ).encode()
    out = remove(home, data)
    assert out.result.refused == ()
    lines = out.after.split(b"\n")
    assert [ln.lstrip().startswith(b"# set -gx") for ln in lines].count(True) == 3  # -g: global even in a function
    assert exported(home, NAME) is None
    if FISH is not None:
        fish_parses(out.path)
        assert real_fish(home, NAME) is None


@pytest.mark.shell
def test_next_line_chained_keeps_the_status_with_true(home: Path) -> None:
    token = personal_access_token()
    data = f"set -gx {NAME} {token}\nor set -gx {OTHER} fallback\n".encode()
    out = remove(home, data)
    assert out.after == f"true # set -gx {NAME} {token}".encode() + tag(NAME) + f"\nor set -gx {OTHER} fallback\n".encode()
    if FISH is not None:
        fish_parses(out.path)
        # `set` succeeded, so `or` did not run; `true` keeps it that way.
        assert real_fish(home, OTHER) is None
        assert real_fish(home, NAME) is None


def test_crlf_and_foreign_bytes_survive(home: Path) -> None:
    token, key = personal_access_token(), api_key()
    data = b"# caf\xe9 \xff\r\n" + f"set -gx {NAME} {token}\r\nset -gx {OTHER} {key}\r\n".encode()
    out = remove(home, data)
    assert out.after == b"# caf\xe9 \xff\r\n" + f"# set -gx {NAME} {token}".encode() + tag(NAME) + f"\r\nset -gx {OTHER} {key}\r\n".encode()
    assert exported(home, NAME) is None


def test_utf8_before_the_statement_keeps_offsets(home: Path) -> None:
    token = personal_access_token()
    data = f"# für Codex ✓\nset -gx {NAME} {token}  # ünïcode\n".encode()
    out = remove(home, data)
    assert out.after == f"# für Codex ✓\n# set -gx {NAME} {token}  # ünïcode".encode() + tag(NAME) + b"\n"


# --- refusals ------------------------------------------------------------------------------


def test_refusals(home: Path) -> None:
    token = personal_access_token()
    data = (
        f"set -gx {NAME} {token}; set -gx {OTHER} x\n"  # shared-line (scanner)
        f"set -gx {NAME} \\\n    {token}\n"  # multi-line (scanner)
        f"export {NAME}={token} {OTHER}=x\n"  # multi-assign (scanner)
        f"if set -gx {NAME} {token}\n    echo ok\nend\n"  # the statement opens the block
        f"test -f ~/.codex/on\nand set -gx {NAME} {token}\nor echo no\n"  # guarded and chained
    ).encode()
    out = remove(home, data)
    assert out.result.edits == ()
    reasons = sorted(r.reason for r in out.result.refused)
    assert reasons == ["block-header", "chained", "multi-assign", "multi-line", "shared-line"]
    for r in out.result.refused:
        assert token not in r.detail


def test_blocked_setting_and_bad_span_are_refused(home: Path) -> None:
    token = personal_access_token()
    data = f"set -gx {NAME} {token}\n".encode()
    path = write_private(home / ".config/fish/config.fish", data, 0o644)
    [s] = settings_in(home, path)
    result = EDITOR.edit(data, [s._replace(blocker="system-file", editable=False), s._replace(span=(1, 5))], CTX)
    assert result.edits == ()
    assert [r.reason for r in result.refused] == ["system-file", "unknown-span"]


def test_tag_never_holds_the_value(home: Path) -> None:
    token = personal_access_token()
    out = remove(home, f"set -gx {NAME} {token}\n".encode())
    [edit] = out.result.edits
    assert token.encode() not in edit.new.partition(b"  # disabled by authdoctor")[2]
