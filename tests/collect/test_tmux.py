"""Every tmux server of this user: real tmux servers on private sockets, never the developer's."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authdoctor.collect.origins.provenance import tmux_settings
from authdoctor.collect.tmux import RUNNING, STALE, UNREADABLE, WATCHED, TmuxEvidence, TmuxServer, collect_tmux, read_server
from authdoctor.collect.tmux_sockets import may_find_server
from authdoctor.host import Host
from authdoctor.sandbox import personal_access_token
from tests.tmuxtools import Servers, tmux_servers

TOKEN_VAR = "CODEX_ACCESS_TOKEN"


@pytest.fixture
def servers() -> Iterator[Servers]:
    with tmux_servers() as s:
        yield s


def host_for(servers: Servers, home: Path, **env: str) -> Host:
    """A Host that looks for tmux servers only under the test's TMUX_TMPDIR."""
    base = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TMUX_TMPDIR": str(servers.tmpdir), **env}
    return Host(env=base, home=home, uid=os.getuid(), proc=None)


def tmux_of(host: Host) -> TmuxEvidence:
    ev = collect_tmux(host)
    assert ev is not None
    return ev


def only(ev: TmuxEvidence, socket: Path) -> TmuxServer:
    [server] = [s for s in ev.servers if s.socket == socket]
    return server


def values(server: TmuxServer) -> dict[tuple[str, str | None], str | None]:
    """(name, session name or None for global) -> value (None: removed from new panes)."""
    return {(v.name, v.session.name if v.session else None): v.value.reveal() if v.value is not None else None for v in server.variables}


# --- what one server hands out ------------------------------------------------------


def test_global_environment_from_the_shell_that_started_the_server(servers: Servers, tmp_path: Path) -> None:
    token = personal_access_token()
    sock = servers.start(CODEX_ACCESS_TOKEN=token, HTTPS_PROXY="http://proxy.example:3128", EDITOR="vim")
    before = datetime.now(UTC)
    ev = tmux_of(host_for(servers, tmp_path))
    server = only(ev, sock)
    assert server.state == RUNNING and server.problem is None
    assert server.pid == servers.pids[sock]
    assert server.started is not None and before - timedelta(minutes=5) < server.started <= before + timedelta(seconds=1)
    assert [s.name for s in server.sessions] == ["t1"] and server.sessions[0].id.startswith("$")
    assert not server.current
    # Only watched variables; EDITOR, PATH, HOME are not kept.
    assert values(server) == {(TOKEN_VAR, None): token, ("HTTPS_PROXY", None): "http://proxy.example:3128"}
    assert token not in repr(ev)
    assert ev.program.endswith("tmux")


def test_session_variables_and_removals(servers: Servers, tmp_path: Path) -> None:
    sock = servers.start(session="work", OPENAI_API_KEY="sk-global-0000000000")
    servers.run(sock, "new-session", "-d", "-s", "other", "sleep 600")
    servers.run(sock, "set-environment", "-t", "work", "CODEX_API_KEY", "sk-session-1111111111")
    servers.run(sock, "set-environment", "-t", "other", "-r", "OPENAI_API_KEY")
    servers.run(sock, "set-environment", "-g", "-r", "HTTPS_PROXY")
    servers.run(sock, "set-environment", "-g", "CODEX_HOME", "/srv/codex")
    servers.run(sock, "set-environment", "-gu", "CODEX_HOME")  # -u deletes the entry: nothing left to report
    server = only(tmux_of(host_for(servers, tmp_path)), sock)
    assert sorted(s.name for s in server.sessions) == ["other", "work"]
    assert values(server) == {
        ("OPENAI_API_KEY", None): "sk-global-0000000000",
        ("HTTPS_PROXY", None): None,
        ("CODEX_API_KEY", "work"): "sk-session-1111111111",
        ("OPENAI_API_KEY", "other"): None,
    }
    scoped = [v for v in server.variables if v.session is not None]
    assert {v.scope for v in scoped} == {"session"} and all(v.session and v.session.id.startswith("$") for v in scoped)
    assert server.global_variables()[0].scope == "global"


@pytest.mark.parametrize(
    "value",
    [
        "value with spaces",
        "line one\nline two\nOPENAI_API_KEY=not-a-second-variable",
        'a=b=c "quoted" $HOME `cmd` back\\slash',
        'ends with a quote"',
        "trailing newline\n",
        "tab\tcontrol\x01escape\x1b é, and a byte that is not UTF-8: \udcff",
        "",
    ],
    ids=["spaces", "newlines", "shell-specials", "end-quote", "trailing-newline", "controls-and-bytes", "empty"],
)
def test_values_are_read_exactly(servers: Servers, tmp_path: Path, value: str) -> None:
    sock = servers.start()
    servers.run(sock, "set-environment", "-g", TOKEN_VAR, value)
    servers.run(sock, "set-environment", "-g", "SSL_CERT_FILE", "/etc/ssl/after.pem")
    server = only(tmux_of(host_for(servers, tmp_path)), sock)
    # The value is taken whole: nothing in it reads as another variable.
    assert values(server) == {(TOKEN_VAR, None): value, ("SSL_CERT_FILE", None): "/etc/ssl/after.pem"}


def test_two_servers_and_a_stale_socket(servers: Servers, tmp_path: Path) -> None:
    one = servers.start("one", CODEX_ACCESS_TOKEN="at-one-0000000000000")
    two = servers.start("two", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    dead = servers.start("dead", CODEX_ACCESS_TOKEN="at-dead-000000000000")
    servers.kill_hard(dead)
    ev = tmux_of(host_for(servers, tmp_path))
    assert [s.socket for s in ev.servers] == [dead, one, two]
    assert [s.socket for s in ev.running()] == [one, two]
    assert values(only(ev, one)) == {(TOKEN_VAR, None): "at-one-0000000000000"}
    assert values(only(ev, two)) == {("OPENAI_BASE_URL", None): "http://127.0.0.1:9/v1"}
    gone = only(ev, dead)
    # A dead server is not an error: it simply runs no more.
    assert gone.state == STALE and gone.variables == () and gone.problem is not None and "left over" in gone.problem
    # Asking did not start a new server on the stale socket.
    time.sleep(0.1)
    assert only(tmux_of(host_for(servers, tmp_path)), dead).state == STALE


def test_only_stale_sockets_means_no_server(servers: Servers, tmp_path: Path) -> None:
    dead = servers.start("dead", CODEX_ACCESS_TOKEN="at-dead-000000000000")
    servers.kill_hard(dead)
    assert collect_tmux(host_for(servers, tmp_path)) is None


def test_may_find_server_is_false_only_when_collecting_would_find_nothing(servers: Servers, tmp_path: Path) -> None:
    # It decides whether the check gives the collector a thread: a wrong False would hide a server.
    host = host_for(servers, tmp_path)
    assert not may_find_server(host) and collect_tmux(host) is None  # no socket folder yet
    dead = servers.start("dead", CODEX_ACCESS_TOKEN="at-dead-000000000000")
    servers.kill_hard(dead)
    assert dead.exists() and not may_find_server(host) and collect_tmux(host) is None
    assert may_find_server(host_for(servers, tmp_path, TMUX=f"{dead},1,0"))  # $TMUX: always asked
    live = servers.start("live", CODEX_ACCESS_TOKEN="at-live-000000000000")
    assert may_find_server(host) and collect_tmux(host) is not None
    assert not may_find_server(host._replace(uid=None)) and not may_find_server(host._replace(platform="win32"))
    assert live.exists()


def test_may_find_server_when_the_folder_cannot_be_listed(tmp_path: Path) -> None:
    (tmp_path / f"tmux-{os.getuid()}").write_text("a file where tmux's folder should be")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "TMUX_TMPDIR": str(tmp_path)}
    assert may_find_server(Host(env=env, home=tmp_path, uid=os.getuid(), proc=None))  # collect_tmux says the folder cannot be listed


def test_the_server_this_terminal_runs_in(servers: Servers, tmp_path: Path) -> None:
    # Started with -S outside the socket folder: only $TMUX leads to it.
    elsewhere = servers.tmpdir / "custom.sock"
    sock = servers.start(socket=elsewhere, CODEX_ACCESS_TOKEN="at-here-000000000000")
    listed = servers.start("default")
    host = host_for(servers, tmp_path, TMUX=f"{sock},{servers.pids[sock]},0")
    ev = tmux_of(host)
    assert [(s.socket, s.current) for s in ev.servers] == [(listed, False), (sock, True)]
    # Inside the socket folder, $TMUX marks that server current.
    ev = tmux_of(host_for(servers, tmp_path, TMUX=f"{listed},{servers.pids[listed]},0"))
    assert [(s.socket, s.current) for s in ev.servers] == [(listed, True)]


def test_a_server_that_does_not_answer_is_unreadable_not_absent(servers: Servers, tmp_path: Path) -> None:
    sock = servers.start(CODEX_ACCESS_TOKEN="at-stopped-0000000000")
    os.kill(servers.pids[sock], signal.SIGSTOP)
    try:
        started = time.monotonic()
        ev = tmux_of(host_for(servers, tmp_path))
        took = time.monotonic() - started
    finally:
        os.kill(servers.pids[sock], signal.SIGCONT)
    server = only(ev, sock)
    assert server.state == UNREADABLE and server.variables == ()
    assert server.problem is not None and "did not answer within 1 s" in server.problem
    assert took < 4


# --- when there is nothing to look at -------------------------------------------------------


def recording_tmux(folder: Path) -> tuple[Path, Path]:
    """A tmux stand-in that records each call: proves when nothing runs."""
    folder.mkdir()
    log = folder / "calls"
    script = folder / "tmux"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexit 1\n')
    script.chmod(0o755)
    return folder, log


def test_no_socket_folder_runs_nothing(tmp_path: Path) -> None:
    bin_dir, log = recording_tmux(tmp_path / "bin")
    host = Host(env={"HOME": str(tmp_path), "PATH": str(bin_dir), "TMUX_TMPDIR": str(tmp_path)}, home=tmp_path, uid=os.getuid(), proc=None)
    assert collect_tmux(host) is None
    (tmp_path / f"tmux-{os.getuid()}").mkdir()
    (tmp_path / f"tmux-{os.getuid()}" / "not-a-socket").write_text("")
    assert collect_tmux(host) is None
    assert not log.exists()


def test_no_tmux_program_means_none(servers: Servers, tmp_path: Path) -> None:
    servers.start()
    assert collect_tmux(host_for(servers, tmp_path, PATH=str(tmp_path))) is None


def test_windows_and_unknown_uid_mean_none(servers: Servers, tmp_path: Path) -> None:
    servers.start()
    host = host_for(servers, tmp_path)
    assert collect_tmux(host._replace(uid=None)) is None
    assert collect_tmux(host._replace(platform="win32")) is None


def test_an_unlistable_socket_folder_is_said_plainly(tmp_path: Path) -> None:
    need_folder = tmp_path / f"tmux-{os.getuid()}"
    need_folder.write_text("a file where tmux's folder should be")
    host = Host(
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "TMUX_TMPDIR": str(tmp_path)}, home=tmp_path, uid=os.getuid(), proc=None
    )
    if collect_tmux(host._replace(env={**host.env, "PATH": str(tmp_path)})) is not None:
        pytest.fail("without a tmux program there is nothing to ask")
    ev = collect_tmux(host)
    if ev is None:
        pytest.skip("tmux is not installed")
    assert ev.servers == () and ev.problem is not None and "cannot be listed" in ev.problem


def test_the_client_never_sees_our_credentials(tmp_path: Path) -> None:
    """The tmux client hands its environment to the server: it gets a minimal one."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "env"
    (bin_dir / "tmux").write_text(f"#!/bin/sh\nenv > {seen}\n")
    (bin_dir / "tmux").chmod(0o755)
    socket = tmp_path / "sock"
    token = personal_access_token()
    host = Host(
        env={"HOME": str(tmp_path), "PATH": f"{bin_dir}:/usr/bin:/bin", "TMUX": f"{socket},1,0", TOKEN_VAR: token, "LANG": "C.UTF-8"},
        home=tmp_path,
        uid=os.getuid(),
        proc=None,
    )
    tmux_settings(host, frozenset({TOKEN_VAR}))
    names = {line.partition("=")[0] for line in seen.read_text().splitlines()}
    assert TOKEN_VAR not in names and "TMUX" not in names
    assert token not in seen.read_text()


# --- what real servers rarely say: a stand-in prints it -----------------------------------------------


def stand_in(folder: Path, stdout: str, stderr: str = "", status: int = 0) -> str:
    """A tmux that prints the same answer to every call, through the same interface as the real one."""
    folder.mkdir(exist_ok=True)
    (folder / "out").write_text(stdout)
    (folder / "err").write_text(stderr)
    script = folder / "tmux"
    script.write_text(f"#!/bin/sh\ncat {folder / 'out'}\ncat {folder / 'err'} >&2\nexit {status}\n")
    script.chmod(0o755)
    return str(script)


def test_a_server_of_another_tmux_version_is_unreadable(tmp_path: Path) -> None:
    """After an upgrade the new client cannot talk to the old server: say so, do not call it dead."""
    program = stand_in(tmp_path / "bin", "", "protocol version mismatch (client 8, server 7)\n", 1)
    host = Host(env={"HOME": str(tmp_path)}, home=tmp_path, uid=os.getuid(), proc=None)
    server = read_server(host, program, tmp_path / "sock", WATCHED)
    assert server.state == UNREADABLE and server.problem == "tmux said: protocol version mismatch (client 8, server 7)"


def test_session_answers_are_never_misfiled_as_global(tmp_path: Path) -> None:
    # Both calls get the first call's answer: the global marker in the second one must not count.
    answer = (
        "authdoctor:server 4242 1700000000\n"
        "authdoctor:session $0 work\n"
        "authdoctor:environment global\n"
        'CODEX_HOME="/srv/codex"; export CODEX_HOME;\n'
        "authdoctor:environment $9\n"
        'OPENAI_API_KEY="sk-not-asked-about-000"; export OPENAI_API_KEY;\n'
    )
    program = stand_in(tmp_path / "bin", answer)
    host = Host(env={"HOME": str(tmp_path)}, home=tmp_path, uid=os.getuid(), proc=None)
    server = read_server(host, program, tmp_path / "sock", WATCHED)
    assert server.pid == 4242 and server.started == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert values(server) == {("CODEX_HOME", None): "/srv/codex"}


# --- authdoctor where / origins: the server this terminal runs in -------------------------------


def test_tmux_settings_reads_the_current_server(servers: Servers, tmp_path: Path) -> None:
    token = personal_access_token()
    sock = servers.start(CODEX_ACCESS_TOKEN=token)
    servers.run(sock, "set-environment", "-g", "-r", "OPENAI_API_KEY")
    servers.run(sock, "set-environment", "-t", "t1", "CODEX_API_KEY", "sk-session-only-000000")
    host = host_for(servers, tmp_path, TMUX=f"{sock},{servers.pids[sock]},0")
    settings, notes = tmux_settings(host, frozenset({TOKEN_VAR, "OPENAI_API_KEY", "CODEX_API_KEY"}))
    assert notes == []
    # The global environment only: a session's entries reach only that session's panes.
    assert [(s.var, s.action, s.blocker) for s in settings] == [(TOKEN_VAR, "export", "tmux-server"), ("OPENAI_API_KEY", "unset", None)]
    assert settings[0].value is not None and settings[0].value.reveal() == token
    assert token not in repr(settings)


def test_tmux_settings_says_when_the_server_is_gone(servers: Servers, tmp_path: Path) -> None:
    sock = servers.start()
    pid = servers.pids[sock]
    servers.kill_hard(sock)
    settings, [note] = tmux_settings(host_for(servers, tmp_path, TMUX=f"{sock},{pid},0"), frozenset({TOKEN_VAR}))
    assert settings == [] and note.kind == "missing" and "left over" in note.message
    settings, [note] = tmux_settings(host_for(servers, tmp_path, TMUX=f"{sock},{pid},0", PATH=str(tmp_path)), frozenset({TOKEN_VAR}))
    assert note.kind == "unreadable" and "no `tmux` program" in note.message
