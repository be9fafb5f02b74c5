"""PowerShell profiles, from plain files (pwsh is not installed here).

Covers the three ways a profile sets a variable, unsetting, the traps
(comments, block comments, here-strings, strings), conditionals, the
profile order per platform, dot-sourcing, and the encodings Windows
PowerShell writes (UTF-8 with BOM, UTF-16 LE/BE with BOM, CRLF).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from authdoctor.collect.origins import powershell as P
from authdoctor.collect.origins.contexts import WINDOWS
from authdoctor.collect.origins.model import EXPORT, UNSET, OriginScan, Setting, winner
from authdoctor.host import Host
from authdoctor.sandbox import api_key, personal_access_token, write_private

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER})


def linux_host(tmp_path: Path, **env: str) -> Host:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return Host(env={"HOME": str(home), **env}, home=home, root=Path("/"), platform="linux")


def windows_host(tmp_path: Path) -> Host:
    home = tmp_path / "Users" / "dev"
    home.mkdir(parents=True, exist_ok=True)
    env = {"USERPROFILE": str(home), "ProgramFiles": str(tmp_path / "Program Files"), "SystemRoot": str(tmp_path / "Windows")}
    return Host(env=env, home=home, platform="win32")


def user_profile(host: Host, name: str = "Microsoft.PowerShell_profile.ps1") -> Path:
    if host.is_windows:
        return host.home / "Documents" / "PowerShell" / name
    return host.home / ".config" / "powershell" / name


def scan(host: Host) -> OriginScan:
    return P.PowerShellSource().scan(host, NAMES)


def settings_of(result: OriginScan, context: str = P.PWSH) -> tuple[Setting, ...]:
    return next((t.settings for t in result.trails if t.context == context), ())


def one(text: str) -> list[tuple[str, str, str | None]]:
    """(name, action, value) for each recognised operation of one statement."""
    return [(f.name, f.action, f.value.reveal() if f.value else None) for f in P.recognise(text)]


# --- recognising statements ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stmt", "expected"),
    [
        ("$env:CODEX_ACCESS_TOKEN = 'tok'", [(NAME, EXPORT, "tok")]),
        ('$Env:codex_access_token="t""k"', [("codex_access_token", EXPORT, 't"k')]),
        ("${env:OPENAI_API_KEY} = 'it''s'", [(OTHER, EXPORT, "it's")]),
        ('$env:X = "a`tb"', [("X", EXPORT, "a\tb")]),
        ('$env:X = "$HOME\\x"', [("X", EXPORT, None)]),
        ("$env:X = (Get-Content ~/.tok)", [("X", EXPORT, None)]),
        ("$env:X += ';more'", [("X", EXPORT, None)]),
        ("$env:X = $null", [("X", UNSET, None)]),
        ("$env:X = ''", [("X", UNSET, None)]),
        ("$env:X -eq 'a'", []),
        ("$env:X == 'a'", []),
        ("Set-Item env:X 'v'", [("X", EXPORT, "v")]),
        ('Set-Item -Path Env:\\X -Value "v"', [("X", EXPORT, "v")]),
        ("set-item -value 'v' -path env:X", [("X", EXPORT, "v")]),
        ("si env:X bare", [("X", EXPORT, "bare")]),
        ("Set-Item env:X $token", [("X", EXPORT, None)]),
        ("New-Item -Path Env: -Name X -Value 'v'", [("X", EXPORT, "v")]),
        ("New-Item -Path Env:X -Value 'v' -Force", [("X", EXPORT, "v")]),
        ("Remove-Item Env:X", [("X", UNSET, None)]),
        ("Remove-Item -Path Env:\\X -ErrorAction SilentlyContinue", [("X", UNSET, None)]),
        ("rm env:X", [("X", UNSET, None)]),
        ("Remove-Item C:\\temp\\x", []),
        ("Set-Item function:X { 1 }", []),
        ("[Environment]::SetEnvironmentVariable('X', 'v')", [("X", EXPORT, "v")]),
        ("[System.Environment]::SetEnvironmentVariable(\"X\", 'v', 'Process')", [("X", EXPORT, "v")]),
        ("[environment]::setenvironmentvariable('X', $v, 'User')", [("X", EXPORT, None)]),
        ("[Environment]::SetEnvironmentVariable('X', $null, [System.EnvironmentVariableTarget]::Machine)", [("X", UNSET, None)]),
        ("[Environment]::GetEnvironmentVariable('X', 'User')", []),
        ("Write-Host '$env:X = 1'", []),
    ],
)
def test_recognise(stmt: str, expected: list[tuple[str, str, str | None]]) -> None:
    assert one(stmt) == expected


def test_registry_targets_are_marked() -> None:
    [found] = P.recognise("[Environment]::SetEnvironmentVariable('X', 'v', 'User')")
    assert found.registry == "User"
    [found] = P.recognise("[Environment]::SetEnvironmentVariable('X', 'v', [EnvironmentVariableTarget]::Machine)")
    assert found.registry == "Machine"


def test_statements_skip_comments_strings_and_here_strings() -> None:
    text = (
        "# $env:A = 'no'\n"
        "<# block\n$env:A = 'no'\n#>\n"
        "$s = @\"\n$env:A = 'no'\n\"@\n"
        "$t = @'\n$env:A = 'no'\n'@\n"
        "Write-Host \"$env:A = 'no'; x\"\n"
        "$env:A = 'yes' # trailing comment\n"
    )
    found = [text[s.start : s.end] for s in P.statements(text)]
    assert found[-1] == "$env:A = 'yes'"
    assert sum(1 for f in found if f.startswith("$env:A")) == 1


def test_statements_blocks_and_chains() -> None:
    text = (
        "if ($x) { $env:A = '1' } else { $env:B = '2' }\n"
        "try { $env:C = '3' } finally { }\n"
        "function f {\n  $env:D = '4'\n}\n"
        "test-thing && $env:E = '5'\n"
        "$env:F = '6'; $env:G = '7'\n"
    )
    got = {text[s.start : s.end][5]: s.conditional for s in P.statements(text) if text[s.start : s.end].startswith("$env:")}
    assert got == {"A": True, "B": True, "C": False, "D": True, "E": True, "F": False, "G": False}


def test_backtick_continuation() -> None:
    text = "Set-Item -Path env:A `\r\n    -Value 'v'\r\n"
    [st] = P.statements(text)
    assert one(text[st.start : st.end]) == [("A", EXPORT, "v")]


# --- whole scans ----------------------------------------------------------------------------------------


def test_linux_profile_order_and_winner(tmp_path: Path) -> None:
    root = tmp_path / "root"
    home = root / "home" / "dev"
    home.mkdir(parents=True)
    host = Host(env={"HOME": "/home/dev"}, home=home, root=root, platform="linux")
    all_users = write_private(root / "opt/microsoft/powershell/7/profile.ps1", f"$env:{NAME} = 'a'\n", 0o644)
    all_hosts = write_private(home / ".config/powershell/profile.ps1", f"$env:{NAME} = 'b'\n", 0o644)
    current = write_private(home / ".config/powershell/Microsoft.PowerShell_profile.ps1", f"$env:{NAME} = 'c'\n", 0o644)
    result = scan(host)
    [trail] = result.trails
    assert trail.context == P.PWSH
    assert trail.files == (all_users, all_hosts, current)
    assert [s.value.reveal() for s in trail.settings if s.value] == ["a", "b", "c"]
    win = winner(trail.settings, NAME)
    assert win is not None and win.path == current and win.line == 1 and win.editable
    assert trail.settings[0].blocker == "system-file"


def test_xdg_config_home(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    host = linux_host(tmp_path, XDG_CONFIG_HOME=str(xdg))
    write_private(user_profile(host), f"$env:{NAME} = 'ignored'\n", 0o644)
    p = write_private(xdg / "powershell" / "profile.ps1", f"$env:{NAME} = 'used'\n", 0o644)
    [s] = settings_of(scan(host))
    assert s.path == p


def test_names_are_case_sensitive_outside_windows(tmp_path: Path) -> None:
    host = linux_host(tmp_path)
    write_private(user_profile(host), "$env:codex_access_token = 'x'\n", 0o644)
    assert settings_of(scan(host)) == ()


def test_windows_profiles_both_programs_and_registry_context(tmp_path: Path) -> None:
    host = windows_host(tmp_path)
    token = personal_access_token()
    pwsh_all = write_private(tmp_path / "Program Files/PowerShell/7/profile.ps1", f"$ENV:Codex_Access_Token = '{token}'\n", 0o644)
    ps5 = write_private(
        host.home / "Documents/WindowsPowerShell/Microsoft.PowerShell_profile.ps1",
        f"[Environment]::SetEnvironmentVariable('{NAME}', '{token}', 'User')\r\nRemove-Item Env:{OTHER}\r\n",
        0o644,
    )
    result = scan(host)
    contexts = [t.context for t in result.trails]
    assert contexts == [P.PWSH, P.WINDOWS_POWERSHELL, WINDOWS]
    [s] = settings_of(result, P.PWSH)
    assert s.var == NAME and s.path == pwsh_all and s.value is not None and s.value.reveal() == token
    [unset] = settings_of(result, P.WINDOWS_POWERSHELL)
    assert unset.action == UNSET and unset.var == OTHER
    [reg] = settings_of(result, WINDOWS)
    assert reg.path == ps5 and reg.line == 1 and "HKCU\\Environment" in reg.text
    for t in result.trails:
        for x in t.settings:
            assert token not in x.text


def test_onedrive_documents(tmp_path: Path) -> None:
    host = windows_host(tmp_path)
    onedrive = tmp_path / "OneDrive"
    host = host._replace(env={**host.env, "OneDrive": str(onedrive)})
    p = write_private(onedrive / "Documents/PowerShell/profile.ps1", f"Set-Item env:{NAME} 'x'\n", 0o644)
    [s] = settings_of(scan(host))
    assert s.path == p


def test_registry_target_outside_windows_is_ignored(tmp_path: Path) -> None:
    host = linux_host(tmp_path)
    write_private(user_profile(host), f"[Environment]::SetEnvironmentVariable('{NAME}', 'x', 'User')\n", 0o644)
    result = scan(host)
    assert settings_of(result) == ()
    assert [n.kind for n in result.notes] == ["ignored"]


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")],
)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_encodings(tmp_path: Path, encoding: str, bom: bytes, newline: str) -> None:
    host = linux_host(tmp_path)
    token = api_key()
    lines = ["# profile — café", "Import-Module posh-git", f"$env:{NAME} = '{token}'", "$env:EDITOR = 'code'"]
    data = bom + newline.join(lines).encode(encoding) + newline.encode(encoding)
    p = write_private(user_profile(host), data, 0o644)
    [s] = settings_of(scan(host))
    assert s.line == 3 and s.value is not None and s.value.reveal() == token
    assert p.read_bytes()[s.span[0] : s.span[1]].decode(encoding) == f"$env:{NAME} = '{token}'"
    assert token not in s.text


def test_dot_sourcing_and_conditionals(tmp_path: Path) -> None:
    host = linux_host(tmp_path)
    prof = write_private(
        user_profile(host), "if (Test-Path $PSScriptRoot/secrets.ps1) { . $PSScriptRoot/secrets.ps1 }\n. ~/nope.ps1\n. $x\n", 0o644
    )
    secrets = write_private(prof.parent / "secrets.ps1", f"$env:{NAME} = 'x'\n", 0o644)
    result = scan(host)
    [s] = settings_of(result)
    assert s.path == secrets and s.chain == (prof,) and s.conditional
    assert sorted(n.kind for n in result.notes) == ["missing", "not-followed"]


def test_dot_source_cycle(tmp_path: Path) -> None:
    host = linux_host(tmp_path)
    prof = write_private(user_profile(host), ". $PSScriptRoot/a.ps1\n", 0o644)
    write_private(prof.parent / "a.ps1", ". $PSScriptRoot/a.ps1\n", 0o644)
    assert [n.kind for n in scan(host).notes] == ["cycle"]


def test_blockers(tmp_path: Path) -> None:
    host = linux_host(tmp_path)
    write_private(user_profile(host), f"$env:{NAME} = 'a'; $env:{OTHER} = 'b'\nSet-Item -Path env:{NAME} `\n  -Value 'c'\n", 0o644)
    settings = settings_of(scan(host))
    assert [s.blocker for s in settings] == ["shared-line", "shared-line", "multi-line"]
    assert winner(settings, NAME) is not None


def test_unreadable_and_missing(tmp_path: Path) -> None:
    host = linux_host(tmp_path)
    user_profile(host).mkdir(parents=True)
    result = scan(host)
    assert result.trails == ()
    assert [n.kind for n in result.notes] == ["unreadable"]


def test_garbage_never_crashes() -> None:
    for text in ["'", '"', "@'", '@"\n', "$(", "{{{", "}}}", "`", "<#", "[Environment]::SetEnvironmentVariable(", "Set-Item -Path"]:
        for st in P.statements(text):
            P.recognise(text[st.start : st.end])


def test_documents_moved_by_the_registry_come_first(tmp_path: Path) -> None:
    """Explorer's "Personal" shell folder (REG_EXPAND_SZ) is where PowerShell looks; the usual place still counts."""
    from authdoctor.collect.origins.registry import SHELL_FOLDERS_KEY, FakeRegistry

    host = windows_host(tmp_path)
    moved = tmp_path / "D" / "Docs"
    reg = FakeRegistry(other={SHELL_FOLDERS_KEY: {"Personal": ("%UserProfile%/../../D/Docs", "REG_EXPAND_SZ")}})
    usual = write_private(host.home / "Documents/PowerShell/profile.ps1", f"$env:{NAME} = 'old'\n", 0o644)
    real = write_private(moved / "PowerShell/profile.ps1", f"$env:{NAME} = 'new'\n", 0o644)
    result = P.PowerShellSource(reader=reg).scan(host, NAMES)
    settings = settings_of(result, P.PWSH)
    assert {s.path.resolve() for s in settings} == {real.resolve(), usual.resolve()}
    assert settings[0].path.resolve() == real.resolve()  # read first: the same-scope file PowerShell really runs
    assert reg.opened == [SHELL_FOLDERS_KEY]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%USERPROFILE%\\Docs", "C:\\Users\\me\\Docs"),
        ("%userprofile%\\%Missing%\\x", "C:\\Users\\me\\%Missing%\\x"),
        ("100%", "100%"),
        ("%%", "%%"),
    ],
)
def test_expand_like_windows(text: str, expected: str) -> None:
    from authdoctor.collect.origins.registry import expand

    assert expand(text, {"UserProfile": "C:\\Users\\me"}) == expected


def test_no_registry_or_a_missing_key_keeps_the_usual_places(tmp_path: Path) -> None:
    from authdoctor.collect.origins.registry import FakeRegistry

    host = windows_host(tmp_path)
    p = write_private(host.home / "Documents/PowerShell/profile.ps1", f"$env:{NAME} = 'x'\n", 0o644)
    for reader in (FakeRegistry(), FakeRegistry(denied=frozenset({"HKCU"})), None):
        [s] = settings_of(P.PowerShellSource(reader=reader).scan(host, NAMES), P.PWSH)
        assert s.path == p
