"""The KEY=value editor: environment.d, ~/.pam_environment and $CODEX_HOME/.env.

Each case writes the file, lets the family's scanner find the settings, hands
them to the editor, compares the edited bytes with the expected ones and scans
again: the variable is gone and every other entry is still there.  The
environment.d result is also read by systemd's real generator where it is
installed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from authdoctor.collect.origins import codex_dotenv as C
from authdoctor.collect.origins import system as S
from authdoctor.collect.origins.model import UNSET, Setting, winner
from authdoctor.host import Host
from authdoctor.plan.editors.base import EditContext, EditorResult
from authdoctor.plan.editors.keyvalue import EDITOR
from authdoctor.plan.model import apply_edits
from authdoctor.sandbox import api_key, personal_access_token, write_private
from tests.conftest import IN_CI, Machine

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
STAMP = "2026-11-21"
CTX = EditContext(STAMP)
GENERATOR = Path("/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator")


def tag(*names: str) -> bytes:
    return b"  # disabled by authdoctor " + STAMP.encode() + b" (" + ", ".join(names).encode() + b")"


class Linux:
    """A root folder standing in for the machine, so /etc is ours too."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "root"
        self.home = self.root / "home" / "dev"
        self.home.mkdir(parents=True)

    def host(self) -> Host:
        return Host(env={"HOME": "/home/dev"}, home=self.home, root=self.root, platform="linux", proc=None)


def system_settings(linux: Linux, path: Path, names: frozenset[str]) -> list[Setting]:
    seen: dict[tuple[object, ...], Setting] = {}
    for trail in S.SystemEnvironmentSource().scan(linux.host(), names).trails:
        for s in trail.settings:
            if s.path == path and s.action != UNSET:
                seen.setdefault((s.span, s.var), s)
    return sorted(seen.values(), key=lambda s: s.span)


def edit(data: bytes, settings: list[Setting], path: Path) -> tuple[bytes, EditorResult]:
    result = EDITOR.edit(data, settings, CTX)
    after = apply_edits(data, result.edits)
    path.write_bytes(after)
    return after, result


def winners(linux: Linux, names: frozenset[str], context_prefix: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for trail in S.SystemEnvironmentSource().scan(linux.host(), names).trails:
        if trail.context.startswith(context_prefix):
            for n in names:
                w = winner(trail.settings, n)
                out[n] = w.value.reveal() if w is not None and w.value is not None else None
    return out


# --- environment.d -----------------------------------------------------------------------------


def test_environment_d_single_and_multi_line(tmp_path: Path) -> None:
    linux = Linux(tmp_path)
    token, key = personal_access_token(), api_key()
    data = (
        b"# caf\xe9\r\n"
        + f"{NAME}={token}\r\n{OTHER}={key}\r\n".encode()
        + f'  {NAME}="{token}\\\nstill the value\n\nend"\nAFTER=1\n'.encode()
    )
    path = write_private(linux.home / ".config/environment.d/50-codex.conf", data, 0o644)
    given = system_settings(linux, path, frozenset({NAME}))
    assert [s.blocker for s in given] == [None, "multi-line"]
    after, result = edit(data, given, path)
    assert result.refused == ()
    assert after == (
        b"# caf\xe9\r\n"
        + f"# {NAME}={token}".encode()
        + tag(NAME)
        + f"\r\n{OTHER}={key}\r\n".encode()
        + f'  # {NAME}="{token}\\'.encode()
        + tag(NAME)
        + b'\n# still the value\n\n# end"\nAFTER=1\n'
    )
    got = winners(linux, frozenset({NAME, OTHER, "AFTER"}), "")
    assert got[NAME] is None and got[OTHER] == key and got["AFTER"] == "1"


@pytest.mark.shell
def test_environment_d_with_the_real_generator(tmp_path: Path) -> None:
    if not GENERATOR.exists():
        if IN_CI:
            pytest.fail("systemd's environment.d generator is required on CI")
        pytest.skip("systemd's environment.d generator is not installed")
    linux = Linux(tmp_path)
    token, key = personal_access_token(), api_key()
    data = f"{NAME}={token}\n{OTHER}='{key}'\n{NAME}='{token}\nline two'\nZ_LAST=ok\n".encode()
    path = write_private(linux.home / ".config/environment.d/50-codex.conf", data, 0o644)
    edit(data, system_settings(linux, path, frozenset({NAME})), path)
    proc = subprocess.run(
        [str(GENERATOR)],
        env={"HOME": str(linux.home), "XDG_CONFIG_HOME": str(linux.home / ".config")},
        capture_output=True,
        timeout=20,
        check=True,
    )
    lines = proc.stdout.decode().splitlines()
    assert not [ln for ln in lines if ln.startswith(f"{NAME}=")]
    assert f"{OTHER}={key}" in lines and "Z_LAST=ok" in lines


# --- pam ----------------------------------------------------------------------------------------


def test_pam_environment_forms(tmp_path: Path) -> None:
    linux = Linux(tmp_path)
    token, key = personal_access_token(), api_key()
    data = (
        f"{NAME} DEFAULT={token}\n{OTHER}\tOVERRIDE={key}\n{NAME} DEFAULT=a OVERRIDE={token}\n{NAME}={token}\n{NAME} DEFAULT=\\\n{token}\n"
    ).encode()
    path = write_private(linux.home / ".pam_environment", data, 0o644)
    given = system_settings(linux, path, frozenset({NAME}))
    assert [s.blocker for s in given] == [None, None, None, "multi-line"]
    after, result = edit(data, given, path)
    assert result.refused == ()
    assert after == (
        f"# {NAME} DEFAULT={token}".encode()
        + tag(NAME)
        + f"\n{OTHER}\tOVERRIDE={key}\n# {NAME} DEFAULT=a OVERRIDE={token}".encode()
        + tag(NAME)
        + f"\n# {NAME}={token}".encode()
        + tag(NAME)
        + f"\n# {NAME} DEFAULT=\\".encode()
        + tag(NAME)
        + f"\n# {token}\n".encode()
    )
    got = winners(linux, frozenset({NAME, OTHER}), "")
    assert got[NAME] is None and got[OTHER] == key


def test_etc_environment_is_refused(tmp_path: Path) -> None:
    linux = Linux(tmp_path)
    token = personal_access_token()
    data = f"{NAME}={token}\n".encode()
    path = write_private(linux.root / "etc/environment", data, 0o644)
    [s] = system_settings(linux, path, frozenset({NAME}))
    result = EDITOR.edit(data, [s], CTX)
    assert result.edits == () and [r.reason for r in result.refused] == ["system-file"]


def test_multi_line_system_files_are_refused_too(tmp_path: Path) -> None:
    """The scanner says "multi-line" before "system-file"; the editor still refuses /etc and /usr/lib files."""
    linux = Linux(tmp_path)
    token = personal_access_token()
    env_data = f"{NAME}=\\\n{token}\n".encode()
    env = write_private(linux.root / "etc/environment", env_data, 0o644)
    conf_data = f"{NAME}='{token}\nmore'\n".encode()
    conf = write_private(linux.root / "usr/lib/environment.d/50-vendor.conf", conf_data, 0o644)
    for path, data in ((env, env_data), (conf, conf_data)):
        [s] = system_settings(linux, path, frozenset({NAME}))
        assert s.blocker == "multi-line"
        result = EDITOR.edit(data, [s], CTX)
        assert result.edits == () and [r.reason for r in result.refused] == ["system-file"]


# --- $CODEX_HOME/.env ------------------------------------------------------------------------------

DOTENV_NAMES = frozenset({"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG"})


def dotenv_settings(machine: Machine, names: frozenset[str] = frozenset({OTHER})) -> list[Setting]:
    [trail] = C.CodexDotenvSource().scan(machine.host(), DOTENV_NAMES).trails
    return [s for s in trail.settings if s.var in names]


def dotenv_values(machine: Machine) -> dict[str, str | None]:
    [trail] = C.CodexDotenvSource().scan(machine.host(), DOTENV_NAMES).trails
    out: dict[str, str | None] = {}
    for n in DOTENV_NAMES:
        w = winner(trail.settings, n)
        out[n] = w.value.reveal() if w is not None and w.value is not None else None
    return out


def test_dotenv_forms_crlf_and_foreign_bytes(machine: Machine) -> None:
    key = api_key()
    data = (
        b"# caf\xe9 \xff\r\n"
        + f"export OPENAI_API_KEY='{key}'\r\n".encode()
        + b"OPENAI_BASE_URL=https://proxy.example\r\n"
        + f'  OPENAI_API_KEY="{key}" # again\r\n'.encode()
    )
    path = machine.write_dotenv(data)
    after, result = edit(data, dotenv_settings(machine), path)
    assert result.refused == ()
    assert after == (
        b"# caf\xe9 \xff\r\n"
        + f"# export OPENAI_API_KEY='{key}'".encode()
        + tag(OTHER)
        + b"\r\nOPENAI_BASE_URL=https://proxy.example\r\n"
        + f'  # OPENAI_API_KEY="{key}" # again'.encode()
        + tag(OTHER)
        + b"\r\n"
    )
    got = dotenv_values(machine)
    assert got[OTHER] is None and got["OPENAI_BASE_URL"] == "https://proxy.example"


def test_dotenv_multi_line_value(machine: Machine) -> None:
    key = api_key()
    data = f"OPENAI_ORG=org-1\nOPENAI_API_KEY='{key}\n# not a comment: inside the value\n\nend'\nOPENAI_BASE_URL=u\n".encode()
    path = machine.write_dotenv(data)
    [s] = dotenv_settings(machine)
    assert s.blocker == "multi-line"
    after, result = edit(data, [s], path)
    assert result.refused == ()
    assert after == (
        f"OPENAI_ORG=org-1\n# OPENAI_API_KEY='{key}".encode()
        + tag(OTHER)
        + b"\n# # not a comment: inside the value\n\n# end'\nOPENAI_BASE_URL=u\n"
    )
    got = dotenv_values(machine)
    assert got == {"OPENAI_API_KEY": None, "OPENAI_ORG": "org-1", "OPENAI_BASE_URL": "u"}


def test_dotenv_refusals(machine: Machine) -> None:
    key = api_key()
    # A later line uses the value: removing it would change OPENAI_BASE_URL.
    data = f"OPENAI_API_KEY={key}\nOPENAI_BASE_URL=https://x/${{OPENAI_API_KEY}}\n".encode()
    machine.write_dotenv(data)
    [s] = dotenv_settings(machine)
    result = EDITOR.edit(data, [s], CTX)
    assert result.edits == () and [r.reason for r in result.refused] == ["would-break"]
    # Outside the home (scanner blocker), a span that does not start its line.
    refused = EDITOR.edit(data, [s._replace(blocker="outside-home", editable=False), s._replace(span=(3, 9))], CTX).refused
    assert [r.reason for r in refused] == ["outside-home", "unknown-span"]
    for r in (*result.refused, *refused):
        assert key not in r.detail
