"""apply/undo of a keyring entry moved into the journal (KeyringAside) and a folder moved aside (FolderAside)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from authdoctor.apply.apply import ApplyRefused, apply_plan, keyring_accounts, preflight
from authdoctor.apply.journal import Entry
from authdoctor.apply.undo import undo
from authdoctor.errors import AuthdoctorError
from authdoctor.host.keyring import SERVICE, FakeKeyringWriter
from authdoctor.plan.model import FolderAside, KeyringAside
from tests.apply import CURE, FIXED_NOW, all_text, make_secret, new_journal, plan_of

ACCOUNT = "cli|0123456789abcdef"
THEN = "run `codex login`"


def ring(secret: bytes) -> tuple[FakeKeyringWriter, KeyringAside]:
    return FakeKeyringWriter({(SERVICE, ACCOUNT): secret}), KeyringAside(SERVICE, ACCOUNT, (CURE,), THEN)


def folder_aside(tmp_path: Path, *, files: dict[str, bytes] | None = None) -> FolderAside:
    folder = tmp_path / "config" / "codex"
    for name, data in (files or {"auth.json": b'{"OPENAI_API_KEY": "' + make_secret().encode() + b'"}'}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    st = folder.lstat()
    return FolderAside(folder, folder.with_name("codex.authdoctor-2026-11-20"), st.st_ino, st.st_dev, ("auth.json",), (CURE,), THEN)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- KeyringAside -------------------------------------------------------------------------------------------------


def test_keyring_entry_goes_into_a_private_backup(tmp_path: Path) -> None:
    secret = ('{"tokens":{"refresh_token":"' + make_secret() + '"}}').encode()
    store, change = ring(secret)
    journal = new_journal(tmp_path)
    result = apply_plan(plan_of(change), journal, now=FIXED_NOW, keyring=store)
    assert store.items == {}
    assert [op for op, _, _ in store.log] == ["get", "get", "delete"]  # preflight, apply, delete
    entry = journal.latest()
    assert entry is not None
    [record] = entry.records
    assert record["status"] == "written" and record["size_before"] == len(secret)
    assert entry.read_backup(record["backup"]) == secret
    if not sys.platform.startswith("win"):
        assert stat.S_IMODE(entry.backup_path(record["backup"]).stat().st_mode) == 0o600
    assert secret.decode() not in all_text(journal.root.parent) + repr(result) + repr(change)

    done = undo(journal, keyring=store)
    assert done.restored == (f"keyring: {SERVICE} / {ACCOUNT}",)
    assert store.items == {(SERVICE, ACCOUNT): secret}
    assert undo(journal, keyring=store).already


def test_chunked_entry_moves_every_chunk(tmp_path: Path) -> None:
    parts = [b"CODEX_CHUNKED:3:" + b"a" * 10, b"b" * 10, b"c" * 5]
    store = FakeKeyringWriter({(SERVICE, ACCOUNT): parts[0], (SERVICE, f"{ACCOUNT}:1"): parts[1], (SERVICE, f"{ACCOUNT}:2"): parts[2]})
    store.items[(SERVICE, "cli|someone-else")] = b"kept"
    journal = new_journal(tmp_path)
    apply_plan(plan_of(KeyringAside(SERVICE, ACCOUNT, (CURE,), THEN)), journal, now=FIXED_NOW, keyring=store)
    assert store.items == {(SERVICE, "cli|someone-else"): b"kept"}
    entry = journal.latest()
    assert entry is not None and [r["account"] for r in entry.records] == [ACCOUNT, f"{ACCOUNT}:1", f"{ACCOUNT}:2"]
    undo(journal, keyring=store)
    assert store.items[(SERVICE, f"{ACCOUNT}:2")] == parts[2] and store.items[(SERVICE, ACCOUNT)] == parts[0]
    assert len(store.items) == 4


@pytest.mark.parametrize(
    ("first", "accounts"),
    [
        (b'{"auth_mode":"chatgpt"}', [ACCOUNT]),
        (b"CODEX_CHUNKED:2:xx", [ACCOUNT, f"{ACCOUNT}:1"]),
        (b"CODEX_CHUNKED:1:xx", [ACCOUNT]),
        (b"CODEX_CHUNKED:x:xx", [ACCOUNT]),
        (b"CODEX_CHUNKED:99999:xx", [ACCOUNT]),
        (b"CODEX_CHUNKED:3", [ACCOUNT]),
    ],
)
def test_keyring_accounts(first: bytes, accounts: list[str]) -> None:
    assert keyring_accounts(ACCOUNT, first) == accounts


def test_preflight_without_a_keyring_or_an_entry(tmp_path: Path) -> None:
    _, change = ring(b"x")
    [problem] = preflight(plan_of(change), keyring=None)
    assert "cannot reach the OS keyring" in problem and ACCOUNT in problem
    assert preflight(plan_of(change), keyring=FakeKeyringWriter()) == [
        f"the fake keyring no longer has the 'Codex Auth' keyring entry for {ACCOUNT}; run `authdoctor fix` again"
    ]
    with pytest.raises(ApplyRefused):
        apply_plan(plan_of(change), new_journal(tmp_path), now=FIXED_NOW, keyring=None)
    assert new_journal(tmp_path).entries() == []


def test_a_failed_delete_stops_partial_and_undo_restores_nothing_needed(tmp_path: Path) -> None:
    secret = make_secret().encode()
    store, change = ring(secret)
    store.failing.add("delete")
    journal = new_journal(tmp_path)
    with pytest.raises(AuthdoctorError, match="refused to delete"):
        apply_plan(plan_of(change), journal, now=FIXED_NOW, keyring=store)
    entry = journal.latest()
    assert entry is not None and entry.state == "partial" and entry.records[0]["status"] == "backed-up"
    store.failing.clear()
    assert undo(journal, keyring=store).restored == ()  # the entry is still there, identical
    assert store.items == {(SERVICE, ACCOUNT): secret}


def test_undo_refuses_a_damaged_keyring_backup(tmp_path: Path) -> None:
    store, change = ring(make_secret().encode())
    journal = new_journal(tmp_path)
    apply_plan(plan_of(change), journal, now=FIXED_NOW, keyring=store)
    entry = journal.latest()
    assert entry is not None
    entry.backup_path(entry.records[0]["backup"]).write_bytes(b"tampered")
    with pytest.raises(AuthdoctorError, match="does not match"):
        undo(journal, keyring=store)
    assert store.items == {}


# --- FolderAside --------------------------------------------------------------------------------------------------


def test_folder_moved_aside_and_back(tmp_path: Path) -> None:
    change = folder_aside(tmp_path, files={"auth.json": b"{}", "sub/x.bin": b"\0"})
    before = snapshot(change.path)
    mode = stat.S_IMODE(change.path.stat().st_mode)
    journal = new_journal(tmp_path)
    apply_plan(plan_of(change), journal, now=FIXED_NOW)
    assert not change.path.exists() and snapshot(change.dest) == before
    entry = journal.latest()
    assert entry is not None
    [record] = entry.records
    assert {k: record[k] for k in ("kind", "path", "dest", "ino", "status")} == {
        "kind": "move-folder",
        "path": str(change.path),
        "dest": str(change.dest),
        "ino": change.ino,
        "status": "written",
    }
    assert undo(journal).restored == (str(change.path),)
    assert snapshot(change.path) == before and not change.dest.exists()
    assert stat.S_IMODE(change.path.stat().st_mode) == mode


def test_folder_refused_when_the_destination_exists(tmp_path: Path) -> None:
    change = folder_aside(tmp_path)
    change.dest.mkdir()  # an empty folder: a plain rename would silently replace it
    with pytest.raises(ApplyRefused, match="already exists"):
        apply_plan(plan_of(change), new_journal(tmp_path), now=FIXED_NOW)
    assert change.path.is_dir() and list(change.dest.iterdir()) == []


def test_folder_refused_when_replaced_since_planning(tmp_path: Path) -> None:
    change = folder_aside(tmp_path)
    os.rename(change.path, tmp_path / "elsewhere")
    change.path.mkdir()
    assert preflight(plan_of(change)) == [f"{change.path} was replaced since authdoctor looked at it; run `authdoctor fix` again"]


def test_folder_undo_refuses_when_a_new_folder_appeared(tmp_path: Path) -> None:
    change = folder_aside(tmp_path)
    journal = new_journal(tmp_path)
    apply_plan(plan_of(change), journal, now=FIXED_NOW)
    change.path.mkdir()
    with pytest.raises(AuthdoctorError, match="exists again since the fix") as info:
        undo(journal)
    assert str(change.dest) in info.value.hint
    assert change.dest.is_dir()


def test_folder_undo_refuses_when_the_moved_folder_is_gone(tmp_path: Path) -> None:
    change = folder_aside(tmp_path)
    journal = new_journal(tmp_path)
    apply_plan(plan_of(change), journal, now=FIXED_NOW)
    os.rename(change.dest, tmp_path / "moved-by-hand")
    with pytest.raises(AuthdoctorError, match="is gone or was replaced"):
        undo(journal)
    assert not change.path.exists()


def test_crash_after_the_rename_before_the_record_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    change = folder_aside(tmp_path)
    before = snapshot(change.path)
    journal = new_journal(tmp_path)

    def die(self: Entry, index: int, **fields: Any) -> None:
        raise RuntimeError("killed after the rename")

    monkeypatch.setattr(Entry, "update", die)
    with pytest.raises(RuntimeError):
        apply_plan(plan_of(change), journal, now=FIXED_NOW)
    monkeypatch.undo()
    entry = journal.latest()
    assert entry is not None and entry.records[0]["status"] == "backed-up"
    assert not change.path.exists()
    undo(journal)
    assert snapshot(change.path) == before


def test_crash_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    change = folder_aside(tmp_path)
    journal = new_journal(tmp_path)

    def die(self: Path, target: Any) -> Path:
        raise RuntimeError("killed before the rename")

    monkeypatch.setattr(Path, "rename", die)
    with pytest.raises(RuntimeError):
        apply_plan(plan_of(change), journal, now=FIXED_NOW)
    monkeypatch.undo()
    assert change.path.is_dir() and not change.dest.exists()
    assert undo(journal).restored == ()
    assert change.path.is_dir()
