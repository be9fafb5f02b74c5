"""The PowerShell editor: exact output bytes for UTF-8 and UTF-16 profiles (pwsh is not installed here).

Each case writes a profile into a temporary home, lets the PowerShell scanner
find the settings, hands them to the editor, and scans the edited profile
again: the variable is gone, the others are still there, and the bytes the
editor did not touch -- byte-order mark, CRLF, foreign bytes -- are the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from authdoctor.collect.origins import powershell as P
from authdoctor.collect.origins.contexts import WINDOWS
from authdoctor.collect.origins.model import UNSET, Setting, winner
from authdoctor.host import Host
from authdoctor.plan.editors.base import EditContext, EditorResult
from authdoctor.plan.editors.powershell import EDITOR
from authdoctor.plan.model import apply_edits
from authdoctor.sandbox import api_key, personal_access_token, write_private

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER})
STAMP = "2026-11-21"
CTX = EditContext(STAMP)
TAG = f"  # disabled by authdoctor {STAMP} ({NAME})"


def linux_host(tmp_path: Path) -> Host:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return Host(env={"HOME": str(home)}, home=home, platform="linux", proc=None)


def windows_host(tmp_path: Path) -> Host:
    home = tmp_path / "Users" / "dev"
    home.mkdir(parents=True, exist_ok=True)
    env = {"USERPROFILE": str(home), "ProgramFiles": str(tmp_path / "Program Files"), "SystemRoot": str(tmp_path / "Windows")}
    return Host(env=env, home=home, platform="win32", proc=None)


def profile(host: Host) -> Path:
    if host.is_windows:
        return host.home / "Documents" / "PowerShell" / "Microsoft.PowerShell_profile.ps1"
    return host.home / ".config" / "powershell" / "Microsoft.PowerShell_profile.ps1"


def settings_in(host: Host, path: Path) -> list[Setting]:
    seen: dict[tuple[object, ...], Setting] = {}
    for trail in P.PowerShellSource().scan(host, NAMES).trails:
        for s in trail.settings:
            if s.path == path:
                seen.setdefault((s.span, s.var), s)
    return sorted(seen.values(), key=lambda s: s.span)


def remove(host: Host, data: bytes, names: tuple[str, ...] = (NAME,)) -> tuple[bytes, EditorResult]:
    path = write_private(profile(host), data, 0o644)
    given = [s for s in settings_in(host, path) if s.var in names and s.action != UNSET]
    assert given
    result = EDITOR.edit(data, given, CTX)
    after = apply_edits(data, result.edits)
    path.write_bytes(after)
    return after, result


def value_now(host: Host, var: str, context: str = P.PWSH) -> str | None:
    trail = next((t for t in P.PowerShellSource().scan(host, NAMES).trails if t.context == context), None)
    found = winner(trail.settings, var) if trail is not None else None
    return found.value.reveal() if found is not None and found.value is not None else None


def test_the_three_forms_and_a_block(tmp_path: Path) -> None:
    host = linux_host(tmp_path)
    token, key = personal_access_token(), api_key()
    text = (
        f"$env:{NAME} = '{token}'\n"
        f"Set-Item -Path env:{NAME} -Value '{token}'  # from the wiki\n"
        f"[Environment]::SetEnvironmentVariable('{NAME}', '{token}');\n"
        f'$env:{OTHER} = "{key}"\n'
        "if ($IsLinux) {\n"
        f"    $env:{NAME} = '{token}'\n"
        "}\n"
    )
    after, result = remove(host, text.encode())
    assert result.refused == ()
    assert after.decode() == (
        f"# $env:{NAME} = '{token}'{TAG}\n"
        f"# Set-Item -Path env:{NAME} -Value '{token}'  # from the wiki{TAG}\n"
        f"# [Environment]::SetEnvironmentVariable('{NAME}', '{token}');{TAG}\n"
        f'$env:{OTHER} = "{key}"\n'
        "if ($IsLinux) {\n"
        f"    # $env:{NAME} = '{token}'{TAG}\n"
        "}\n"
    )
    assert value_now(host, NAME) is None
    assert value_now(host, OTHER) == key


@pytest.mark.parametrize("encoding,bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-8", b"\xef\xbb\xbf")])
def test_bom_profiles_round_trip(tmp_path: Path, encoding: str, bom: bytes) -> None:
    """Windows PowerShell 5.1 writes UTF-16 LE with a BOM and CRLF; the edit stays in that encoding."""
    host = linux_host(tmp_path)
    token, key = personal_access_token(), api_key()
    text = f"# Profil für Ünïcode ✓\r\n$env:{NAME} = '{token}'\r\n$env:{OTHER} = '{key}'\r\n"
    data = bom + text.encode(encoding)
    after, result = remove(host, data)
    assert result.refused == ()
    assert after.startswith(bom)
    assert after == bom + f"# Profil für Ünïcode ✓\r\n# $env:{NAME} = '{token}'{TAG}\r\n$env:{OTHER} = '{key}'\r\n".encode(encoding)
    for edit in result.edits:
        assert (edit.start % 2 == 0 and edit.end % 2 == 0) or encoding == "utf-8"
    assert value_now(host, NAME) is None
    assert value_now(host, OTHER) == key


def test_foreign_bytes_in_a_utf8_profile_survive(tmp_path: Path) -> None:
    host = linux_host(tmp_path)
    token = personal_access_token()
    data = b"# caf\xe9 \xff\n" + f"$env:{NAME} = '{token}'\n# \xe2\x9c\x93 done\n".encode()
    after, _result = remove(host, data)
    assert after == b"# caf\xe9 \xff\n" + f"# $env:{NAME} = '{token}'{TAG}\n# \xe2\x9c\x93 done\n".encode()


def test_user_scope_on_windows_comments_the_line(tmp_path: Path) -> None:
    """The line goes; the value already in HKCU\\Environment is the registry scanner's (and RegistryDelete's) business."""
    host = windows_host(tmp_path)
    token = personal_access_token()
    data = f"[Environment]::SetEnvironmentVariable('{NAME}', '{token}', 'User')\r\n".encode()
    path = write_private(profile(host), data, 0o644)
    [s] = settings_in(host, path)
    assert "registry" in s.text
    result = EDITOR.edit(data, [s], CTX)
    after = apply_edits(data, result.edits)
    assert after == f"# [Environment]::SetEnvironmentVariable('{NAME}', '{token}', 'User'){TAG}\r\n".encode()
    path.write_bytes(after)
    assert value_now(host, NAME, WINDOWS) is None


def test_refusals(tmp_path: Path) -> None:
    host = linux_host(tmp_path)
    token = personal_access_token()
    text = (
        f"$env:{NAME} = 'a'; $env:{OTHER} = 'b'\n"  # shared-line (scanner)
        f"$env:{NAME} = `\n    '{token}'\n"  # multi-line (scanner)
        f"if ($x) {{ $env:{NAME} = '{token}' }}\n"  # shared-line (scanner)
        f"$env:{NAME} = '{token}' <# a block comment\n that goes on #>\n"  # a `#` in front would uncomment the next line
    )
    _after, result = remove(host, text.encode())
    assert result.edits == ()
    assert sorted(r.reason for r in result.refused) == ["multi-line", "shared-line", "shared-line", "shared-line"]
    assert all(token not in r.detail for r in result.refused)


def test_wrong_span_is_refused(tmp_path: Path) -> None:
    host = linux_host(tmp_path)
    token = personal_access_token()
    data = f"$env:{NAME} = '{token}'\n".encode()
    path = write_private(profile(host), data, 0o644)
    [s] = settings_in(host, path)
    result = EDITOR.edit(data, [s._replace(span=(s.span[0] + 1, s.span[1]))], CTX)
    assert result.edits == () and [r.reason for r in result.refused] == ["unknown-span"]
    odd = b"\xff\xfe" + data.decode().encode("utf-16-le") + b"\x00"
    result = EDITOR.edit(odd, [s], CTX)
    assert result.edits == () and [r.reason for r in result.refused] == ["parse-error"]
