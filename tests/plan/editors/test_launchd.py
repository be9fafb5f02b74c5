"""The LaunchAgent editor: plistlib in, plistlib out, the same format, the pair gone.

Agents are written with plistlib into a temporary Mac-like root, scanned by the
launchd scanner, edited, and scanned again: the variable is gone from the
launchd session (or from the job), everything else in the plist is the same.
"""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Any

from authdoctor.collect.origins import launchd as L
from authdoctor.collect.origins.contexts import LAUNCHD_GUI
from authdoctor.collect.origins.model import Setting, winner
from authdoctor.host import Host
from authdoctor.plan.editors.base import EditContext, EditorResult
from authdoctor.plan.editors.launchd import EDITOR
from authdoctor.plan.model import apply_edits
from authdoctor.sandbox import api_key, personal_access_token

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER})
CTX = EditContext("2026-11-21")


class Mac:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "root"
        self.home = self.root / "Users" / "dev"
        self.home.mkdir(parents=True)

    def host(self) -> Host:
        return Host(env={"HOME": "/Users/dev"}, home=self.home, root=self.root, platform="darwin", proc=None)

    def agent(self, name: str, plist: dict[str, Any], *, system: bool = False, binary: bool = False) -> Path:
        folder = self.root / "Library/LaunchAgents" if system else self.home / "Library/LaunchAgents"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.plist"
        path.write_bytes(plistlib.dumps(plist, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML))
        return path

    def scan(self, probe: L.FakeLaunchctl | None = None) -> list[Setting]:
        result = L.LaunchdSource(probe or L.FakeLaunchctl()).scan(self.host(), NAMES)
        return [s for t in result.trails for s in t.settings]


def remove(mac: Mac, path: Path, names: tuple[str, ...] = (NAME,)) -> tuple[Any, EditorResult]:
    data = path.read_bytes()
    given = [s for s in mac.scan() if s.path == path and s.var in names]
    assert given
    result = EDITOR.edit(data, given, CTX)
    after = apply_edits(data, result.edits)
    path.write_bytes(after)
    return plistlib.loads(after), result


def session_value(mac: Mac, var: str) -> str | None:
    result = L.LaunchdSource(L.FakeLaunchctl()).scan(mac.host(), NAMES)
    gui = next((t.settings for t in result.trails if t.context == LAUNCHD_GUI), ())
    w = winner(gui, var)
    return w.value.reveal() if w is not None and w.value is not None else None


def test_pair_removed_xml_stays_xml(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    token, key = personal_access_token(), api_key()
    plist = {
        "Label": "com.me.env",
        "ProgramArguments": ["/bin/launchctl", "setenv", "A", "1", NAME, token, OTHER, key],
        "RunAtLoad": True,
        "StandardErrorPath": "/tmp/env.err",
    }
    path = mac.agent("com.me.env", plist)
    after, result = remove(mac, path)
    assert result.refused == ()
    assert path.read_bytes().startswith(b"<?xml")
    assert after == {**plist, "ProgramArguments": ["/bin/launchctl", "setenv", "A", "1", OTHER, key]}
    assert list(after) == list(plist)  # key order kept
    assert session_value(mac, NAME) is None
    assert session_value(mac, OTHER) == key


def test_binary_stays_binary_and_env_wrapper(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    token, key = personal_access_token(), api_key()
    plist = {"Label": "b", "ProgramArguments": ["/usr/bin/env", "-i", "launchctl", "setenv", NAME, token, OTHER, key], "RunAtLoad": True}
    path = mac.agent("b", plist, binary=True)
    after, result = remove(mac, path)
    assert result.refused == ()
    assert path.read_bytes().startswith(b"bplist")
    assert after["ProgramArguments"] == ["/usr/bin/env", "-i", "launchctl", "setenv", OTHER, key]
    assert session_value(mac, NAME) is None and session_value(mac, OTHER) == key


def test_plain_sh_c_script(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    token, key = personal_access_token(), api_key()
    plist = {"Label": "s", "ProgramArguments": ["/bin/sh", "-c", f"launchctl setenv {NAME} '{token}' {OTHER} {key}"]}
    path = mac.agent("s", plist)
    after, result = remove(mac, path)
    assert result.refused == ()
    assert after["ProgramArguments"] == ["/bin/sh", "-c", f"launchctl setenv {OTHER} {key}"]
    assert session_value(mac, NAME) is None and session_value(mac, OTHER) == key


def test_job_environment_variables(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    token, key = personal_access_token(), api_key()
    path = mac.agent("j", {"Label": "j", "Program": "/usr/local/bin/codex-helper", "EnvironmentVariables": {NAME: token, OTHER: key}})
    after, _result = remove(mac, path)
    assert after == {"Label": "j", "Program": "/usr/local/bin/codex-helper", "EnvironmentVariables": {OTHER: key}}
    after, _result = remove(mac, path, (OTHER,))
    assert after == {"Label": "j", "Program": "/usr/local/bin/codex-helper"}
    assert [s for s in mac.scan() if s.path == path] == []


def test_agent_that_only_sets_it_is_left_to_the_person(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    token = personal_access_token()
    path = mac.agent("only", {"Label": "only", "ProgramArguments": ["/bin/launchctl", "setenv", NAME, token], "RunAtLoad": True})
    before = path.read_bytes()
    _after, result = remove(mac, path)
    assert result.edits == () and path.read_bytes() == before
    [r] = result.refused
    assert r.reason == "whole-agent"
    assert f"launchctl bootout gui/$(id -u) {path}" in r.detail and token not in r.detail


def test_refusals(tmp_path: Path) -> None:
    mac = Mac(tmp_path)
    token = personal_access_token()
    system = mac.agent("sys", {"Label": "sys", "ProgramArguments": ["/bin/launchctl", "setenv", NAME, token, "A", "1"]}, system=True)
    script = mac.agent(
        "script", {"Label": "script", "ProgramArguments": ["/bin/sh", "-c", f"launchctl setenv {NAME} $(cat ~/.t); echo {token}"]}
    )
    live = [s for s in mac.scan(L.FakeLaunchctl({NAME: token})) if s.blocker == "live-session"]
    reasons: list[str] = []
    for path, mine in ((system, [s for s in mac.scan() if s.path == system]), (script, [s for s in mac.scan() if s.path == script])):
        result = EDITOR.edit(path.read_bytes(), mine, CTX)
        assert result.edits == ()
        reasons += [r.reason for r in result.refused]
        assert all(token not in r.detail for r in result.refused)
    result = EDITOR.edit(b"", live, CTX)
    reasons += [r.reason for r in result.refused]
    bad = EDITOR.edit(b"<plist>not really", [s._replace(path=script, blocker="plist") for s in live], CTX)
    reasons += [r.reason for r in bad.refused]
    assert reasons == ["system-file", "shell-script", "live-session", "parse-error"]
