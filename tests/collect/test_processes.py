"""Running Codex processes: real stand-in processes on the real /proc, each with a planted environment."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authdoctor.collect import processes as P
from authdoctor.collect.processes import CodexProcess, codex_processes, daemon_pid, refreshers
from authdoctor.host import Host
from tests.proctools import EXEC, IDE_APP_SERVER, MANAGED_DAEMON, PID_UPDATE_LOOP, TUI, env_for, linux_only, real_proc_host, stand_ins


def _ours(found: tuple[CodexProcess, ...] | None, *pids: int) -> dict[int, CodexProcess]:
    """Only the stand-ins this test started: the machine may run real Codex processes too."""
    assert found is not None
    return {p.pid: p for p in found if p.pid in pids}


@linux_only
def test_each_role_and_its_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    custom = tmp_path / "custom-home"
    custom.mkdir(parents=True)
    home.mkdir()
    with stand_ins(tmp_path) as stand:
        tui = stand.start(TUI, env=env_for(home))
        prompt = stand.start(("-m", "gpt-5", "fix the failing test"), env=env_for(home))
        daemon = stand.start(MANAGED_DAEMON, env=env_for(home))
        loop = stand.start(PID_UPDATE_LOOP, env=env_for(home))
        exe = stand.start(EXEC, env=env_for(home, custom))
        ide = stand.start(IDE_APP_SERVER, env=env_for(home, custom))
        mcp = stand.start(("mcp-server",), env=env_for(home))
        login = stand.start(("login", "--device-auth"), env=env_for(home))
        found = _ours(codex_processes(real_proc_host(home)), tui, prompt, daemon, loop, exe, ide, mcp, login)
    roles = {pid: p.role for pid, p in found.items()}
    assert roles == {
        tui: P.TUI,
        prompt: P.TUI,
        daemon: P.MANAGED_DAEMON,
        loop: P.PID_UPDATE_LOOP,
        exe: P.EXEC,
        ide: P.APP_SERVER,
        mcp: P.MCP_SERVER,
        login: P.LOGIN,
    }
    assert found[tui].codex_home == home / ".codex"
    assert found[exe].codex_home == custom.resolve()
    assert found[ide].codex_home == custom.resolve()
    assert all(p.environ_readable and p.program == "codex" and p.uid == os.getuid() for p in found.values())
    now = datetime.now(UTC)
    assert all(p.started is not None and abs(p.started - now) < timedelta(minutes=5) for p in found.values())


@linux_only
def test_holds_names_the_watched_variables_never_their_values(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    value = "sk-stand-in-" + os.urandom(8).hex()
    with stand_ins(tmp_path) as stand:
        holding = stand.start(EXEC, env=env_for(home, CODEX_API_KEY=value, OPENAI_BASE_URL="http://127.0.0.1:9"))
        clean = stand.start(EXEC, env=env_for(home))
        found = _ours(codex_processes(real_proc_host(home)), holding, clean)
        only = _ours(codex_processes(real_proc_host(home), watch=["CODEX_API_KEY"]), holding)
    assert found[holding].holds == {"CODEX_API_KEY", "OPENAI_BASE_URL"}
    assert found[clean].holds == frozenset()
    assert only[holding].holds == {"CODEX_API_KEY"}
    assert value not in repr(found)


@linux_only
def test_relative_codex_home_is_relative_to_the_process_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    (work / "rel-home").mkdir(parents=True)
    home.mkdir()
    with stand_ins(tmp_path) as stand:
        pid = stand.start(EXEC, env=env_for(home, "rel-home"), cwd=work)
        found = _ours(codex_processes(real_proc_host(home)), pid)
    assert found[pid].codex_home == (work / "rel-home").resolve()


@linux_only
def test_other_processes_are_ignored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with stand_ins(tmp_path) as stand:
        not_codex = stand.start(EXEC, env=env_for(home), name="codexx")
        shell = stand.start(EXEC, env=env_for(home), name="sh")
        tool = stand.start(("use", "work"), env=env_for(home), name="codex-switcher")
        wrapper = stand.start_script("node", tmp_path / "codex.js", ("exec", "hi"), env=env_for(home))
        other_script = stand.start_script("node", tmp_path / "server.js", (), env=env_for(home))
        found = _ours(codex_processes(real_proc_host(home)), not_codex, shell, tool, wrapper, other_script)
    assert set(found) == {tool, wrapper}
    # A `codex-*` tool is named (it may hold variables) but never counts as a refresher; nor does the node wrapper.
    assert found[tool].role == P.OTHER and not found[tool].refreshes
    assert found[wrapper].role == P.LAUNCHER and not found[wrapper].refreshes


@linux_only
def test_a_process_that_renamed_itself_is_known_by_its_executable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with stand_ins(tmp_path) as stand:
        pid = stand.start(MANAGED_DAEMON, env=env_for(home), rename="tokio-main")
        found = _ours(codex_processes(real_proc_host(home)), pid)
    assert found[pid].role == P.MANAGED_DAEMON and found[pid].program == "codex"


@linux_only
def test_the_daemon_named_in_daemon_pid_is_registered(tmp_path: Path) -> None:
    home = tmp_path / "home"
    codex_home = home / ".codex"
    (codex_home / "app-server-daemon").mkdir(parents=True)
    with stand_ins(tmp_path) as stand:
        daemon = stand.start(MANAGED_DAEMON, env=env_for(home))
        stray = stand.start(MANAGED_DAEMON, env=env_for(home))
        record = {"pid": daemon, "processStartTime": 123456}
        (codex_home / "app-server-daemon" / "daemon.pid").write_text(json.dumps(record))
        found = _ours(codex_processes(real_proc_host(home)), daemon, stray)
    assert found[daemon].registered is True
    assert found[stray].registered is False
    assert daemon_pid(real_proc_host(home), codex_home) == daemon


def test_no_process_table_means_cannot_see(tmp_path: Path) -> None:
    host = Host(env={"HOME": str(tmp_path)}, home=tmp_path, proc=None)
    assert codex_processes(host) is None


def test_an_unreadable_process_table_means_cannot_see(tmp_path: Path) -> None:
    host = Host(env={"HOME": str(tmp_path)}, home=tmp_path, proc=tmp_path / "no-proc")
    assert codex_processes(host) is None


@pytest.mark.parametrize(
    ("args", "role"),
    [
        ((), P.TUI),
        (("fix the tests",), P.TUI),
        (("-c", 'model="o3"', "--", "exec"), P.TUI),
        (("--full-auto", "resume", "--last"), P.TUI),
        (("-c", "x=1", "exec", "--json", "go"), P.EXEC),
        (("e", "go"), P.EXEC),
        (("review",), P.EXEC),
        (("-p", "exec", "fix it"), P.TUI),  # a profile named "exec" is not the subcommand
        (MANAGED_DAEMON, P.MANAGED_DAEMON),
        (PID_UPDATE_LOOP, P.PID_UPDATE_LOOP),
        (("app-server", "daemon", "stop"), P.OTHER),
        (("app-server", "--listen", "ws://127.0.0.1:4500"), P.APP_SERVER),
        (("mcp-server",), P.MCP_SERVER),
        (("logout",), P.OTHER),
        (("mcp", "list"), P.OTHER),
    ],
)
def test_command_lines_of_each_role(args: tuple[str, ...], role: str) -> None:
    """The command-line reading alone (the tests above run it on real processes)."""
    assert P._role("codex", ["/usr/local/bin/codex", *args]) == role


def test_native_binary_names_of_the_npm_package() -> None:
    assert P._role("codex-x86_64-un", ["/x/codex-x86_64-unknown-linux-musl", "exec", "go"]) == P.EXEC
    assert P._role("codex-app-serve", ["/x/codex-app-server", "--managed-daemon"]) == P.MANAGED_DAEMON
    assert P._role("node", ["node", "/usr/lib/node_modules/@openai/codex/bin/codex.js"]) == P.LAUNCHER
    assert P._role("node", ["node", "/srv/app.js"]) is None


def test_refreshers_count_tuis_only_without_a_daemon() -> None:
    home = Path("/h/.codex")
    other = Path("/h/.codex-work")

    def proc(pid: int, role: str, where: Path = home) -> CodexProcess:
        return CodexProcess(pid, role, where)

    served = [proc(1, P.TUI), proc(2, P.TUI), proc(3, P.MANAGED_DAEMON), proc(4, P.PID_UPDATE_LOOP)]
    assert [p.pid for p in refreshers(served, home)] == [3]
    alone = [proc(1, P.TUI), proc(2, P.TUI), proc(5, P.EXEC, other)]
    assert [p.pid for p in refreshers(alone, home)] == [1, 2]
    assert [p.pid for p in refreshers(alone, other)] == [5]
    unknown = [CodexProcess(9, P.EXEC, None, environ_readable=False)]
    assert refreshers(unknown, home) == ()
