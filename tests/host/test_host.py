"""The Host seam: files, limits and subprocesses."""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

import authdoctor.host as host_module
from authdoctor.errors import AuthdoctorError
from authdoctor.host import MAX_STATE_FILE_BYTES, Host


def _host(tmp_path: Path, **env: str) -> Host:
    return Host(env={"PATH": "/usr/bin:/bin", **env}, home=tmp_path)


# --- files -------------------------------------------------------------------------------


def test_read_bytes_within_the_limit(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x" * 100)
    assert _host(tmp_path).read_bytes(f, limit=100) == b"x" * 100


@pytest.mark.parametrize(
    ("limit", "words"),
    [(10, "10 bytes"), (4096, "4 KiB"), (1000, "1000 bytes"), (MAX_STATE_FILE_BYTES, "16 MiB"), (4 * 1024 * 1024, "4 MiB")],
)
def test_read_bytes_over_the_limit(tmp_path: Path, limit: int, words: str) -> None:
    f = tmp_path / "f"
    with f.open("wb") as fh:
        fh.truncate(limit + 1)
    with pytest.raises(ValueError, match=f"larger than {words}, which no real Codex file is"):
        _host(tmp_path).read_bytes(f, limit=limit)


def test_read_bytes_reads_no_more_than_it_needs(tmp_path: Path) -> None:
    # /dev/zero never ends: only the limit stops the read.
    with pytest.raises(ValueError, match="1 KiB"):
        _host(tmp_path).read_bytes(Path("/dev/zero"), limit=1024)


def test_read_bytes_raises_os_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _host(tmp_path).read_bytes(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        _host(tmp_path).read_bytes(tmp_path)


def test_stat_never_raises(tmp_path: Path) -> None:
    host = _host(tmp_path)
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "gone")
    assert host.stat(link) is None
    assert host.stat(link, follow=False) is not None
    assert host.stat(tmp_path / "a\0b") is None
    assert host.stat(tmp_path / "missing" / "x") is None


def test_realpath(tmp_path: Path) -> None:
    host = _host(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert host.realpath(tmp_path / "link") == (tmp_path / "real").resolve()
    assert host.realpath(tmp_path / "missing") == tmp_path / "missing"
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert host.realpath(loop) == loop


def test_path_maps_into_root(tmp_path: Path) -> None:
    host = Host(env={}, home=tmp_path, root=tmp_path / "image")
    assert host.path("/etc/passwd") == tmp_path / "image" / "etc" / "passwd"
    assert host.path("relative/x") == Path("relative/x")
    assert _host(tmp_path).path("/etc/passwd") == Path("/etc/passwd")


def test_environment_clock_and_platform(tmp_path: Path) -> None:
    when = datetime(2030, 1, 1, tzinfo=UTC)
    host = Host(env={"A": "1"}, home=tmp_path, platform="win32", clock=lambda: when)
    assert host.getenv("A") == "1"
    assert host.getenv("B") is None
    assert host.now() == when
    assert host.is_windows
    assert not _host(tmp_path).is_windows


def test_from_system_rejects_bad_directories(tmp_path: Path) -> None:
    with pytest.raises(AuthdoctorError, match="--home"):
        Host.from_system(home=str(tmp_path / "missing"))
    with pytest.raises(AuthdoctorError, match="--root"):
        Host.from_system(root=str(tmp_path / "missing"))


def test_from_system_with_root_has_no_live_environment(tmp_path: Path) -> None:
    (tmp_path / "home" / "u").mkdir(parents=True)
    host = Host.from_system(home=str(tmp_path / "home" / "u"), root=str(tmp_path))
    assert host.env == {"HOME": str((tmp_path / "home" / "u").resolve())}
    assert host.root == tmp_path.resolve()


# --- subprocesses --------------------------------------------------------------------------------


def test_run_captures_output_and_exit_code(tmp_path: Path) -> None:
    res = _host(tmp_path).run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=5)
    assert (res.returncode, res.stdout, res.stderr, res.timed_out, res.error) == (3, b"out\n", b"err\n", False, None)


def test_run_uses_the_host_environment_and_cwd(tmp_path: Path) -> None:
    host = _host(tmp_path, ONLY_HERE="yes")
    res = host.run(["sh", "-c", 'echo "$ONLY_HERE:$(pwd)"'], timeout=5, cwd=tmp_path)
    assert res.stdout.decode().strip() == f"yes:{tmp_path}"
    res = host.run(["sh", "-c", 'echo "${ONLY_HERE:-unset}"'], timeout=5, env={"PATH": "/usr/bin:/bin"})
    assert res.stdout == b"unset\n"


def test_run_timeout_kills_a_hanging_child(tmp_path: Path) -> None:
    start = time.monotonic()
    res = _host(tmp_path).run(["sleep", "30"], timeout=0.5)
    assert time.monotonic() - start < 3
    assert res.timed_out
    assert res.returncode is None


def _alive(pid: int) -> bool:
    """Running or sleeping; a killed process may linger as a zombie until its new parent reaps it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see process states")
def test_run_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild.pid"
    start = time.monotonic()
    res = _host(tmp_path).run(["sh", "-c", f"sleep 30 & echo $! > {marker}; wait"], timeout=0.5)
    assert time.monotonic() - start < 3
    assert res.timed_out
    pid = int(marker.read_text())
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.02)
    else:
        pytest.fail("the grandchild outlived the timeout")


def test_run_does_not_wait_for_an_escaped_descendant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A descendant in its own session keeps our pipes open after the group is killed;
    # before the drain timeout, run() waited for it (4 s here, forever for a daemon).
    monkeypatch.setattr(host_module, "_DRAIN_TIMEOUT", 0.2)
    start = time.monotonic()
    res = _host(tmp_path).run(
        [sys.executable, "-c", "import os, time\nif os.fork() == 0:\n    os.setsid(); time.sleep(4)\nelse:\n    time.sleep(30)"],
        timeout=0.5,
    )
    assert time.monotonic() - start < 3
    assert res.timed_out


def test_run_keeps_output_read_before_a_timeout(tmp_path: Path) -> None:
    res = _host(tmp_path).run(["sh", "-c", "echo early; echo e >&2; sleep 30"], timeout=0.5)
    assert res.timed_out
    assert (res.stdout, res.stderr) == (b"early\n", b"e\n")


def test_run_times_out_a_child_that_closes_its_pipes_and_stays(tmp_path: Path) -> None:
    """Reading ends at end of file; the wait for the exit still honours the timeout."""
    start = time.monotonic()
    res = _host(tmp_path).run(["sh", "-c", "echo bye; exec >&- 2>&-; sleep 30"], timeout=0.5)
    assert time.monotonic() - start < 3
    assert res.timed_out
    assert res.stdout == b"bye\n"


def test_run_reads_large_output_on_both_streams(tmp_path: Path) -> None:
    script = "import sys\nfor i in range(2000):\n    sys.stdout.write('o' * 100 + '\\n'); sys.stderr.write('e' * 100 + '\\n')"
    res = _host(tmp_path).run([sys.executable, "-c", script], timeout=20)
    assert (res.returncode, len(res.stdout), len(res.stderr)) == (0, 202000, 202000)


def test_run_without_pidfd_uses_popen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "pidfd_open", raising=False)
    res = _host(tmp_path).run(["sh", "-c", "echo out; exit 4"], timeout=5)
    assert (res.returncode, res.stdout) == (4, b"out\n")


def test_run_closes_stdin(tmp_path: Path) -> None:
    start = time.monotonic()
    res = _host(tmp_path).run(["sh", "-c", "if read line; then echo got; else echo eof; fi"], timeout=5)
    assert time.monotonic() - start < 3
    assert res.stdout == b"eof\n"


def test_run_has_no_terminal(tmp_path: Path) -> None:
    res = _host(tmp_path).run(["sh", "-c", "tty || true"], timeout=5)
    assert b"not a tty" in res.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/nonexistent/program"], "could not start /nonexistent/program: No such file or directory"),
        (["definitely-not-a-program-xyz"], "could not start definitely-not-a-program-xyz"),
        ([], "no program to run"),
        (["sh", "-c", "echo \0"], "contains a NUL byte"),
    ],
)
def test_run_reports_start_failures_without_raising(tmp_path: Path, argv: list[str], message: str) -> None:
    res = _host(tmp_path).run(argv, timeout=5)
    assert res.returncode is None
    assert not res.timed_out
    assert res.error is not None
    assert message in res.error


def test_run_reports_a_non_executable_file(tmp_path: Path) -> None:
    f = tmp_path / "script"
    f.write_text("#!/bin/sh\necho hi\n")
    res = _host(tmp_path).run([str(f)], timeout=5)
    assert res.error is not None
    assert "Permission denied" in res.error


def test_run_with_a_nul_in_the_environment(tmp_path: Path) -> None:
    secret_like = "value-with\0nul"
    res = _host(tmp_path).run(["true"], timeout=5, env={"X": secret_like})
    assert res.error is not None
    assert secret_like not in res.error


def test_home_override_drops_the_real_users_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With --home, XDG_STATE_HOME and friends still describe the real user; a fix's journal
    # (and fish's config) must come from the home under repair instead.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "real-state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "real-config"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "real-local"))
    other = tmp_path / "other"
    other.mkdir()
    host = Host.from_system(home=str(other))
    assert host.env["HOME"] == str(other.resolve())
    assert "XDG_STATE_HOME" not in host.env and "XDG_CONFIG_HOME" not in host.env and "LOCALAPPDATA" not in host.env
    from authdoctor.apply.journal import journal_root

    assert journal_root(host) == other.resolve() / ".local" / "state" / "authdoctor" / "journal"
