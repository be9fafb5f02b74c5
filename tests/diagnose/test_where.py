"""Winners per context, from trails (pure: no files, no shells)."""

from __future__ import annotations

from pathlib import Path

from authdoctor.collect.origins.contexts import contexts_for, new_terminal_winner, user_shell
from authdoctor.collect.origins.model import EXPORT, SET, UNSET, OriginScan, Setting, Trail, winner
from authdoctor.diagnose.where import analyse
from authdoctor.secret import Secret

VAR = "CODEX_ACCESS_TOKEN"


def s(path: str, line: int, action: str = EXPORT, exported: bool = True, value: str = "v", family: str = "zsh") -> Setting:
    return Setting(VAR, action, exported, None if action == UNSET else Secret(value), Path(path), line, f"{VAR}=<redacted>", family)


def test_winner_rules() -> None:
    assert winner([s("/h/.zshenv", 1), s("/h/.zshrc", 2)], VAR) == s("/h/.zshrc", 2)
    assert winner([s("/h/.zshenv", 1), s("/h/.zshrc", 2, UNSET, False)], VAR) is None
    assert winner([s("/h/.zshrc", 2, SET, exported=False)], VAR) is None
    assert winner([s("/h/.zshrc", 2, SET, exported=False), s("/h/.zshrc", 3, EXPORT)], VAR) == s("/h/.zshrc", 3, EXPORT)


def test_contexts_per_platform_and_shell() -> None:
    assert user_shell({"SHELL": "/usr/bin/zsh"}, "linux") == "zsh"
    assert user_shell({}, "linux") == "bash"
    assert user_shell({"SHELL": "/bin/zsh"}, "win32") == "powershell"
    names = [c.name for c in contexts_for("zsh", "linux")]
    assert names == ["new login shell (zsh)", "new interactive shell (zsh)", "GUI apps (systemd session)"]
    assert [c.name for c in contexts_for("zsh", "darwin")][-1] == "GUI apps (launchd)"
    assert [c.name for c in contexts_for("powershell", "win32")][-1] == "Windows processes (Explorer)"
    assert contexts_for("dash", "linux")[0].trails == ("login sessions (PAM)", "sh login+interactive shell")


def scans() -> tuple[OriginScan, ...]:
    zshenv, zshrc = s("/h/.zshenv", 4, value="old"), s("/h/.zshrc", 3, value="new")
    return (
        OriginScan(
            "posix shells",
            (
                Trail("zsh login+interactive shell", (zshenv, zshrc)),
                Trail("zsh interactive shell", (zshenv, zshrc)),
            ),
        ),
        OriginScan("system", (Trail("login sessions (PAM)", (s("/etc/environment", 1, family="pam", value="pam"),)),)),
    )


def test_analyse_marks_winners_and_shadowed() -> None:
    [report] = analyse(scans(), [VAR], env={VAR: "new"}, shell="zsh", platform="linux")
    by_place = {r.setting.where: r for r in report.records}
    assert by_place["/h/.zshrc:3"].status == "wins"
    assert by_place["/h/.zshrc:3"].wins_in == ("new login shell (zsh)", "new interactive shell (zsh)")
    assert by_place["/h/.zshrc:3"].contexts == ("zsh login+interactive shell", "zsh interactive shell")
    assert by_place["/h/.zshenv:4"].status == "shadowed"
    verdicts = {v.name: v for v in report.verdicts}
    # GUI apps get only the PAM value.
    gui = verdicts["GUI apps (systemd session)"].winner
    assert gui is not None and gui.where == "/etc/environment:1"
    assert report.current is not None and report.current.reveal() == "new"


def test_traced_trail_beats_the_static_reading() -> None:
    traced = OriginScan("shell trace", (Trail("zsh login+interactive shell (traced)", (s("/h/.zshrc", 9, family="trace", value="t"),)),))
    all_scans = (*scans(), traced)
    won = new_terminal_winner(all_scans, VAR, {"SHELL": "/bin/zsh"}, "linux")
    assert won is not None and won.line == 9


def test_unset_later_and_no_origins() -> None:
    scan = OriginScan("p", (Trail("bash login+interactive shell", (s("/h/.profile", 1), s("/h/.bashrc", 5, UNSET, False))),))
    [report] = analyse((scan,), [VAR], env={}, shell="bash", platform="linux")
    statuses = {r.setting.where: r.status for r in report.records}
    assert statuses == {"/h/.profile:1": "unset-later", "/h/.bashrc:5": "unsets"}
    assert report.verdicts[0].winner is None
    [empty] = analyse((), ["OPENAI_API_KEY"], env={}, shell="bash", platform="linux")
    assert empty.records == () and not any(v.covered for v in empty.verdicts)
