"""The journal: where it lives, private modes, ordering, damaged entries, backups, and no secret in names or JSON."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from authdoctor.apply import journal as J
from authdoctor.apply.journal import Entry, journal_root
from authdoctor.errors import AuthdoctorError
from authdoctor.host import Host
from tests.apply import FIXED_NOW, all_text, later, make_secret, new_journal

posix_only = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX modes")
ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- journal_root -----------------------------------------------------------------------------------------


def test_root_linux_default(tmp_path: Path) -> None:
    host = Host(env={"HOME": str(tmp_path)}, home=tmp_path, platform="linux")
    assert journal_root(host) == tmp_path / ".local" / "state" / "authdoctor" / "journal"


def test_root_linux_xdg_state_home(tmp_path: Path) -> None:
    state = tmp_path / "xdg-state"
    host = Host(env={"HOME": str(tmp_path), "XDG_STATE_HOME": str(state)}, home=tmp_path, platform="linux")
    assert journal_root(host) == state / "authdoctor" / "journal"


def test_root_relative_xdg_is_ignored(tmp_path: Path) -> None:
    host = Host(env={"HOME": str(tmp_path), "XDG_STATE_HOME": "relative/state"}, home=tmp_path, platform="linux")
    assert journal_root(host) == tmp_path / ".local" / "state" / "authdoctor" / "journal"


def test_root_xdg_of_another_home_is_ignored(tmp_path: Path) -> None:
    # HOME describes someone else's home: their XDG_STATE_HOME is not this home's.
    other = tmp_path / "real-user"
    home = tmp_path / "diagnosed"
    host = Host(env={"HOME": str(other), "XDG_STATE_HOME": str(other / ".state")}, home=home, platform="linux")
    assert journal_root(host) == home / ".local" / "state" / "authdoctor" / "journal"


def test_root_macos(tmp_path: Path) -> None:
    host = Host(env={"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "x")}, home=tmp_path, platform="darwin")
    assert journal_root(host) == tmp_path / "Library" / "Application Support" / "authdoctor" / "journal"


def test_root_windows_localappdata() -> None:
    home = Path("C:\\Users\\dev")
    local = "C:\\Users\\dev\\AppData\\Local"
    host = Host(env={"USERPROFILE": str(home), "LOCALAPPDATA": local}, home=home, platform="win32")
    assert journal_root(host) == Path(local) / "authdoctor" / "journal"


def test_root_windows_other_home(tmp_path: Path) -> None:
    host = Host(
        env={"USERPROFILE": "C:\\Users\\someone", "LOCALAPPDATA": "C:\\Users\\someone\\AppData\\Local"}, home=tmp_path, platform="win32"
    )
    assert journal_root(host) == tmp_path / "AppData" / "Local" / "authdoctor" / "journal"


# --- begin --------------------------------------------------------------------------------------------------


@posix_only
def test_begin_makes_private_folders_and_files(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        journal = new_journal(tmp_path)
        entry = journal.begin(cures=("a", "b"), now=FIXED_NOW)
    finally:
        os.umask(old)
    assert mode_of(journal.root) == 0o700
    assert mode_of(journal.root.parent) == 0o700
    assert mode_of(entry.path) == 0o700
    assert mode_of(entry.path / "entry.json") == 0o600
    assert ID_RE.match(entry.id)
    assert entry.id.startswith("20261120T120000Z-")
    assert entry.state == "pending"
    doc = json.loads((entry.path / "entry.json").read_text())
    assert doc == {
        "version": 1,
        "id": entry.id,
        "seq": 1,
        "created": "2026-11-20T12:00:00Z",
        "tool_version": doc["tool_version"],
        "command": "fix",
        "state": "pending",
        "cures": ["a", "b"],
        "records": [],
    }
    assert doc["tool_version"]


@posix_only
def test_begin_tightens_an_existing_open_folder(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    journal.root.mkdir(parents=True)
    journal.root.chmod(0o755)
    journal.root.parent.chmod(0o775)
    journal.begin(cures=(), now=FIXED_NOW)
    assert mode_of(journal.root) == 0o700
    assert mode_of(journal.root.parent) == 0o700


def test_begin_converts_the_clock_to_utc(tmp_path: Path) -> None:
    from datetime import timedelta, timezone

    journal = new_journal(tmp_path)
    entry = journal.begin(cures=(), now=FIXED_NOW.astimezone(timezone(timedelta(hours=2))), command="demo")
    assert entry.id.startswith("20261120T120000Z-")
    assert entry.created == "2026-11-20T12:00:00Z"
    assert entry.command == "demo"


# --- entries / get / latest ---------------------------------------------------------------------------------


def test_entries_newest_first(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    first = journal.begin(cures=("one",), now=later(0))
    third = journal.begin(cures=("three",), now=later(60))
    second = journal.begin(cures=("two",), now=later(30))
    # Two in the same second still come out in the order they were made.
    fourth = journal.begin(cures=("four",), now=later(60))
    ids = [s.id for s in journal.entries()]
    assert ids == [fourth.id, third.id, second.id, first.id]
    assert [s.cures for s in journal.entries()] == [("four",), ("three",), ("two",), ("one",)]


def test_entries_empty_and_missing_root(tmp_path: Path) -> None:
    assert new_journal(tmp_path).entries() == []
    assert new_journal(tmp_path).latest() is None


def test_entries_lists_paths(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    entry = journal.begin(cures=(), now=FIXED_NOW)
    entry.add({"kind": "edit", "path": "/home/u/.bashrc", "status": "written"})
    entry.add({"kind": "registry", "hive": "HKCU", "key": "Environment", "name": "X", "status": "written"})
    (summary,) = journal.entries()
    assert summary.paths == ("/home/u/.bashrc", "HKCU\\Environment\\X")
    assert summary.problem is None


def test_malformed_entry_is_listed_with_a_problem(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    good = journal.begin(cures=("ok",), now=later(0))
    secret = make_secret()
    bad = journal.root / "20261120T120500Z-abcd"
    bad.mkdir()
    (bad / "entry.json").write_text('{"version": 1, "state": "applied", ' + secret)
    no_json = journal.root / "20261120T121000Z-0000"
    no_json.mkdir()
    wrong_state = journal.root / "20261120T121500Z-1111"
    wrong_state.mkdir()
    (wrong_state / "entry.json").write_text(json.dumps({"version": 1, "state": secret, "created": "x", "cures": [], "records": []}))
    (journal.root / "not-an-entry").mkdir()

    summaries = journal.entries()
    assert [s.id for s in summaries] == [wrong_state.name, no_json.name, bad.name, good.id]
    problems = {s.id: s.problem for s in summaries}
    assert problems[good.id] is None
    assert "not valid JSON" in str(problems[bad.name])
    assert problems[no_json.name] == "entry.json is missing"
    assert "unknown state" in str(problems[wrong_state.name])
    assert secret not in repr(summaries)
    assert summaries[1].created == "2026-11-20T12:10:00Z"
    assert summaries[1].state == "unknown"
    # latest() skips what it cannot read.
    latest = journal.latest()
    assert latest is not None and latest.id == good.id


def test_latest_skips_empty_entries(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    applied = journal.begin(cures=(), now=later(0))
    applied.set_state("applied")
    journal.begin(cures=(), now=later(10)).set_state("empty")
    latest = journal.latest()
    assert latest is not None and latest.id == applied.id
    for state in ("undone", "partial", "pending"):
        e = journal.begin(cures=(), now=later(20))
        e.set_state(state)
        latest = journal.latest()
        assert latest is not None and latest.id == e.id and latest.state == state


def test_get_round_trips(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    entry = journal.begin(cures=("c",), now=FIXED_NOW)
    i = entry.add({"kind": "edit", "path": "/p", "status": "backed-up"})
    entry.update(i, status="written")
    entry.set_state("applied")
    again = journal.get(entry.id)
    assert (again.id, again.state, again.cures, again.created) == (entry.id, "applied", ("c",), "2026-11-20T12:00:00Z")
    assert again.records == [{"kind": "edit", "path": "/p", "status": "written"}]
    assert again.path == entry.path


def test_get_missing_entry(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    with pytest.raises(AuthdoctorError) as info:
        journal.get("20261120T120000Z-ffff")
    assert "20261120T120000Z-ffff" in info.value.message
    assert "`authdoctor undo --list` shows the journal" in info.value.hint


@pytest.mark.parametrize("bad", ["../../etc", "", "20261120T120000Z-ffff/..", "sk-" + "x" * 10])
def test_get_bad_id_is_not_echoed(tmp_path: Path, bad: str) -> None:
    journal = new_journal(tmp_path)
    with pytest.raises(AuthdoctorError) as info:
        journal.get(bad)
    assert bad == "" or bad not in str(info.value)
    assert "undo --list" in info.value.hint


def test_get_damaged_entry(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    entry = journal.begin(cures=(), now=FIXED_NOW)
    (entry.path / "entry.json").write_text("[]")
    with pytest.raises(AuthdoctorError, match="damaged"):
        journal.get(entry.id)


def test_set_state_rejects_unknown(tmp_path: Path) -> None:
    entry = new_journal(tmp_path).begin(cures=(), now=FIXED_NOW)
    with pytest.raises(ValueError):
        entry.set_state("done")
    assert Entry.load(entry.path).state == "pending"


def test_failed_save_leaves_memory_and_disk_agreeing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = new_journal(tmp_path).begin(cures=(), now=FIXED_NOW)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(J, "write_atomic", full)
    with pytest.raises(OSError):
        entry.add({"kind": "edit"})
    with pytest.raises(OSError):
        entry.set_state("applied")
    assert entry.records == []
    assert entry.state == "pending"


# --- backups ---------------------------------------------------------------------------------------------------


@posix_only
def test_backups_are_numbered_private_and_nameless(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    entry = journal.begin(cures=(), now=FIXED_NOW)
    secret = make_secret()
    first = entry.save_backup(f"export TOKEN={secret}\n".encode())
    second = entry.save_backup(b"")
    assert (first, second) == ("0.bak", "1.bak")
    assert mode_of(entry.path / first) == 0o600
    assert entry.read_backup(first) == f"export TOKEN={secret}\n".encode()
    assert entry.read_backup(second) == b""
    entry.add({"kind": "edit", "path": "/home/u/.bashrc", "backup": first, "status": "backed-up"})
    # Neither a file name nor entry.json holds the secret; only the backup's contents do.
    assert secret not in all_text(journal.root.parent)


def test_backup_numbers_continue_after_reload(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    entry = journal.begin(cures=(), now=FIXED_NOW)
    entry.save_backup(b"a")
    assert journal.get(entry.id).save_backup(b"b") == "1.bak"


@pytest.mark.parametrize("name", ["../entry.json", "entry.json", "0.bak/..", "/etc/passwd", "x.bak"])
def test_read_backup_only_reads_backups(tmp_path: Path, name: str) -> None:
    entry = new_journal(tmp_path).begin(cures=(), now=FIXED_NOW)
    with pytest.raises(ValueError):
        entry.read_backup(name)


def test_discard_only_when_nothing_recorded(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    entry = journal.begin(cures=(), now=FIXED_NOW)
    entry.discard()
    assert journal.entries() == []
    kept = journal.begin(cures=(), now=FIXED_NOW)
    kept.add({"kind": "edit", "status": "backed-up"})
    with pytest.raises(ValueError):
        kept.discard()
    assert [s.id for s in journal.entries()] == [kept.id]
