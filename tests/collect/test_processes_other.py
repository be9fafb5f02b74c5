"""macOS and Windows process tables: the real commands' output formats, through fake programs on PATH.

The sysctl call that reads a Mac process's arguments and environment needs a
Mac; everything around it -- ``ps``, the ``KERN_PROCARGS2`` layout, the roles
and the variables -- runs here.
"""

from __future__ import annotations

import os
import struct
from datetime import UTC, datetime
from pathlib import Path

from authdoctor.collect.processes import APP_SERVER, EXEC, TUI, codex_processes
from authdoctor.collect.processes_other import (
    MAC_HIDDEN,
    UNKNOWN,
    WINDOWS_HIDDEN,
    darwin_processes,
    parse_procargs2,
    parse_ps,
    parse_tasklist,
)
from authdoctor.host import Host
from authdoctor.secret import Secret

PS_OUTPUT = """\
    1     0 Ss   Sat Nov 21 01:00:00 2026     /sbin/launchd
  501   501 S    Sat Nov 21 02:10:05 2026     /opt/homebrew/bin/codex
  502   501 T    Sat Nov 21 02:11:00 2026     /Applications/Codex.app/Contents/Resources/codex
  503   501 S    Sat Nov 21 02:12:00 2026     /Users/a/.vscode/extensions/openai.chatgpt-26.1.0/bin/darwin-arm64/codex
  504     0 S    Sat Nov 21 02:13:00 2026     /usr/local/bin/codex
  505   501 S    Sat Nov 21 02:14:00 2026     /usr/bin/python3 with spaces/in path
garbage line
"""


def procargs2(argv: list[str], environ: list[str], exec_path: str = "/opt/homebrew/bin/codex") -> bytes:
    body = exec_path.encode() + b"\0\0\0\0" + b"".join(a.encode() + b"\0" for a in argv)
    body += b"".join(e.encode() + b"\0" for e in environ) + b"\0"
    return struct.pack("=i", len(argv)) + body


def fake_program(bindir: Path, name: str, output: str, code: int = 0) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    data = bindir / f"{name}.out"
    data.write_text(output)
    script = bindir / name
    script.write_text(f"#!/bin/sh\n/bin/cat '{data}'\nexit {code}\n")
    script.chmod(0o755)


def mac_host(tmp_path: Path, ps_output: str = PS_OUTPUT, code: int = 0) -> Host:
    bindir = tmp_path / "bin"
    fake_program(bindir, "ps", ps_output, code)
    return Host(env={"HOME": str(tmp_path), "PATH": str(bindir)}, home=tmp_path, platform="darwin", proc=None, live=True)


def test_parse_ps_reads_fixed_width_start_times_and_paths_with_spaces() -> None:
    rows = {r.pid: r for r in parse_ps(PS_OUTPUT)}
    assert set(rows) == {1, 501, 502, 503, 504, 505}
    assert rows[502].stopped and not rows[501].stopped
    assert rows[505].executable == "/usr/bin/python3 with spaces/in path"
    local = datetime(2026, 11, 21, 2, 10, 5).astimezone(UTC)
    assert rows[501].started == local and rows[501].uid == 501


def test_parse_procargs2_splits_argv_from_the_environment() -> None:
    argv, environ = parse_procargs2(procargs2(["codex", "exec", "hi there"], ["HOME=/Users/a", "CODEX_API_KEY=x=y"])) or ([], [])
    assert argv == ["codex", "exec", "hi there"]
    assert environ == [b"HOME=/Users/a", b"CODEX_API_KEY=x=y"]
    assert parse_procargs2(b"") is None
    assert parse_procargs2(struct.pack("=i", 5) + b"/bin/x\0\0a\0") is None  # fewer strings than argc


def test_darwin_table_roles_homes_values_and_what_cannot_be_seen(tmp_path: Path) -> None:
    token = "at-mac-" + os.urandom(8).hex()
    table = {
        501: procargs2(["codex", "exec", "go"], ["HOME=/Users/a", f"CODEX_ACCESS_TOKEN={token}"]),
        502: procargs2(["codex", "app-server"], ["HOME=/Users/a", "CODEX_HOME=/Users/a/.codex-app"]),
        503: procargs2(["codex", "app-server"], ["HOME=/Users/a"]),
        504: None,  # another user's: the kernel refuses
    }
    found = {p.pid: p for p in darwin_processes(mac_host(tmp_path), ("CODEX_ACCESS_TOKEN",), procargs=table.get) or ()}
    assert set(found) == {501, 502, 503, 504}
    assert found[501].role == EXEC and found[501].value("CODEX_ACCESS_TOKEN") == Secret(token)
    assert found[501].codex_home == Path("/Users/a/.codex")
    assert found[502].role == APP_SERVER and found[502].via == "desktop app" and found[502].stopped
    assert found[502].codex_home == Path("/Users/a/.codex-app")
    assert found[503].via == "VS Code extension"
    assert not found[504].environ_readable and found[504].hidden == MAC_HIDDEN and found[504].role == TUI
    assert token not in repr(found)


def test_darwin_without_ps_cannot_see_rather_than_none_running(tmp_path: Path) -> None:
    assert darwin_processes(mac_host(tmp_path, "", code=1), ("CODEX_API_KEY",), procargs=lambda pid: None) is None
    missing = Host(env={"HOME": str(tmp_path), "PATH": str(tmp_path / "nothing")}, home=tmp_path, platform="darwin", proc=None, live=True)
    assert codex_processes(missing) is None


def test_only_a_live_machine_runs_the_commands(tmp_path: Path) -> None:
    # A test's Host, or an image under --root, must never list this machine's processes.
    host = mac_host(tmp_path)._replace(live=False)
    assert codex_processes(host) is None


TASKLIST_OUTPUT = """"codex.exe","4242","Console","1","52,120 K"\r
"codex.exe","77","Console","1","12,000 K"\r
"Codex.exe","88","Console","1","1,000 K"\r
"""


def test_windows_lists_codex_by_pid_and_says_the_environment_is_hidden(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    fake_program(bindir, "tasklist", TASKLIST_OUTPUT)
    host = Host(env={"HOME": str(tmp_path), "PATH": str(bindir)}, home=tmp_path, platform="win32", proc=None, live=True)
    found = codex_processes(host) or ()
    assert [p.pid for p in found] == [77, 88, 4242]
    assert all(p.role == UNKNOWN and p.hidden == WINDOWS_HIDDEN and not p.environ_readable for p in found)


def test_windows_no_tasks_and_garbage() -> None:
    assert parse_tasklist("INFO: No tasks are running which match the specified criteria.\r\n") == []
    assert parse_tasklist('"codex.exe","notapid"\n\x00\xff') == []
