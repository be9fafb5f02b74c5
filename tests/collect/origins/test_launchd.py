"""launchd: LaunchAgents/LaunchDaemons plists (written with plistlib) and the live session through a fake probe."""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Any

import pytest

from authdoctor.collect.origins import launchd as L
from authdoctor.collect.origins.contexts import LAUNCHD_GUI
from authdoctor.collect.origins.model import EXPORT, UNSET, OriginScan, Setting, winner
from authdoctor.host import Host, RunResult
from authdoctor.sandbox import api_key, personal_access_token

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER})


class Mac:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "root"
        self.home = self.root / "Users" / "dev"
        self.home.mkdir(parents=True)

    def host(self) -> Host:
        return Host(env={"HOME": "/Users/dev"}, home=self.home, root=self.root, platform="darwin")

    def agent(self, name: str, plist: dict[str, Any], *, where: str = "user", binary: bool = False) -> Path:
        folder = {"user": self.home / "Library/LaunchAgents", "agents": self.root / "Library/LaunchAgents"}.get(
            where, self.root / "Library/LaunchDaemons"
        )
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.plist"
        path.write_bytes(plistlib.dumps(plist, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML))
        return path


def scan(mac: Mac, probe: L.FakeLaunchctl | None = None) -> OriginScan:
    return L.LaunchdSource(probe or L.FakeLaunchctl()).scan(mac.host(), NAMES)


def gui(result: OriginScan) -> tuple[Setting, ...]:
    return next((t.settings for t in result.trails if t.context == LAUNCHD_GUI), ())


def test_program_arguments_setenv(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    token = personal_access_token()
    path = mac.agent(
        "com.me.codex-env", {"Label": "com.me.codex-env", "ProgramArguments": ["/bin/launchctl", "setenv", NAME, token], "RunAtLoad": True}
    )
    result = scan(mac)
    [s] = gui(result)
    assert (s.var, s.action, s.path, s.family, s.editable, s.blocker) == (NAME, EXPORT, path, "launchd", False, "plist")
    assert s.value is not None and s.value.reveal() == token
    assert s.text == f"launchctl setenv {NAME} <redacted>"
    assert s.line > 0 and f"<string>{NAME}</string>" in path.read_text().splitlines()[s.line - 1]
    assert result.trails[0].files == (path,)


def test_shell_wrapped_setenv_and_several_pairs(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    key = api_key()
    script = f"launchctl setenv {OTHER} '{key}' EDITOR vim; /bin/launchctl setenv {NAME} \"$(cat ~/.tok)\" && echo done"
    mac.agent("env", {"Label": "env", "ProgramArguments": ["/bin/sh", "-c", script]})
    settings = {s.var: s for s in gui(scan(mac))}
    other = settings[OTHER].value
    assert other is not None and other.reveal() == key
    assert settings[NAME].value is None  # computed at login
    for s in settings.values():
        assert key not in s.text


def test_unsetenv_and_order(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    mac.agent("a-set", {"Label": "a", "ProgramArguments": ["launchctl", "setenv", NAME, "x"]})
    mac.agent("b-unset", {"Label": "b", "ProgramArguments": ["zsh", "-lc", f"launchctl unsetenv {NAME}"]})
    settings = gui(scan(mac))
    assert [s.action for s in settings] == [EXPORT, UNSET]


def test_environment_variables_apply_only_to_that_job(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    token = personal_access_token()
    path = mac.agent(
        "com.openai.codex-helper",
        {"Label": "com.openai.codex-helper", "Program": "/usr/local/bin/codex", "EnvironmentVariables": {NAME: token, "OTHER_THING": "1"}},
    )
    result = scan(mac)
    assert gui(result) == ()
    [job] = [t for t in result.trails if t.context == "launchd job com.openai.codex-helper"]
    [s] = job.settings
    assert s.path == path and s.value is not None and s.value.reveal() == token
    assert "only for the launchd job com.openai.codex-helper" in s.text and token not in s.text


def test_binary_plist_disabled_job_and_daemon(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    mac.agent("bin", {"Label": "bin", "ProgramArguments": ["/bin/launchctl", "setenv", NAME, "b"], "Disabled": True}, binary=True)
    mac.agent("daemon", {"Label": "daemon", "ProgramArguments": ["/bin/launchctl", "setenv", OTHER, "d"]}, where="daemons")
    mac.agent("system-agent", {"Label": "sys", "ProgramArguments": ["/bin/launchctl", "setenv", OTHER, "s"]}, where="agents")
    settings = {(s.var, s.path.parent.name): s for s in gui(scan(mac))}
    binary = settings[(NAME, "LaunchAgents")]
    assert binary.line == 0 and binary.conditional and "disabled" in binary.text
    daemon = settings[(OTHER, "LaunchDaemons")]
    assert daemon.conditional and daemon.blocker == "system-file" and "LaunchDaemon" in daemon.text
    assert not settings[(OTHER, "LaunchAgents")].conditional


def test_live_value_is_last_and_wins(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    token = personal_access_token()
    mac.agent("set", {"Label": "set", "ProgramArguments": ["/bin/launchctl", "setenv", NAME, "from-plist"]})
    probe = L.FakeLaunchctl({NAME: token})
    settings = gui(scan(mac, probe))
    win = winner(settings, NAME)
    assert win is not None and win.path == L.LIVE_PATH and win.line == 0 and win.value is not None and win.value.reveal() == token
    assert "launchctl unsetenv" in win.text and token not in win.text
    assert sorted(probe.asked) == sorted(NAMES)


def test_live_only(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    [s] = gui(scan(mac, L.FakeLaunchctl({OTHER: "k"})))
    assert s.var == OTHER and s.blocker == "live-session"


def test_probe_error_is_a_note(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    result = scan(mac, L.FakeLaunchctl(error="`launchctl getenv X` did not answer"))
    assert [n.kind for n in result.notes] == ["unreadable"]


def test_no_probe_off_mac_or_for_images(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    # No probe given: the real one is used only on a live Mac; this Host is an image (root set).
    assert L.LaunchdSource().scan(mac.host(), NAMES) == OriginScan("launchd")


def test_bad_plist_and_irrelevant_plists(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    folder = mac.home / "Library/LaunchAgents"
    folder.mkdir(parents=True)
    (folder / "broken.plist").write_text(f"<plist><dict><key>{NAME}</key>")
    mac.agent("other", {"Label": "other", "ProgramArguments": ["/usr/bin/true"]})
    result = scan(mac)
    assert gui(result) == ()
    assert [n.kind for n in result.notes] == ["parse-error"]


class FakeHost:
    """Enough of a Host for RealLaunchctl: records the argv, returns a canned result."""

    def __init__(self, result: RunResult) -> None:
        self.result = result
        self.argv: list[str] = []

    def run(self, argv: list[str], *, timeout: float) -> RunResult:
        self.argv = list(argv)
        assert timeout <= 5
        return self.result


@pytest.mark.parametrize(
    ("result", "value", "error"),
    [
        (RunResult(0, b"tok\n", b""), "tok", False),
        (RunResult(0, b"", b""), None, False),
        (RunResult(None, b"", b"", timed_out=True), None, True),
        (RunResult(None, b"", b"", error="no launchctl"), None, True),
    ],
)
def test_real_launchctl_reading(result: RunResult, value: str | None, error: bool) -> None:
    host = FakeHost(result)
    got = L.RealLaunchctl().getenv(host, NAME)  # type: ignore[arg-type]
    assert host.argv == ["/bin/launchctl", "getenv", NAME]
    assert (got.value.reveal() if got.value else None) == value
    assert (got.error is not None) == error


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/bin/launchctl", "setenv", "A", "1"], [("setenv", "A", "1")]),
        (["launchctl", "setenv", "A", "1", "B", "2"], [("setenv", "A", "1"), ("setenv", "B", "2")]),
        (["/bin/bash", "-c", "launchctl setenv A 'x y'"], [("setenv", "A", "x y")]),
        (["/bin/sh", "-c", "X=1 launchctl setenv A $HOME"], [("setenv", "A", None)]),
        (["/bin/sh", "-c", "echo 'launchctl setenv A 1'"], []),
        (["/bin/sh", "-c", "echo launchctl setenv A 1"], []),
        (["/bin/sh", "-c", "exec /bin/launchctl setenv A 1"], [("setenv", "A", "1")]),
        (["/usr/bin/env", "launchctl", "unsetenv", "A"], [("unsetenv", "A", None)]),
        (["/bin/sh", "-c", "launchctl setenv A 'unclosed"], []),
        (["/usr/bin/true"], []),
        ([], []),
    ],
)
def test_setenv_calls(argv: list[str], expected: list[tuple[str, str, str | None]]) -> None:
    assert L.setenv_calls(argv) == expected
