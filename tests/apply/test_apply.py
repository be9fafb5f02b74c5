"""apply_plan: the happy path, every refusal (which writes nothing), symlinks, moves and races."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from authdoctor._hash import sha256_hex
from authdoctor.apply import apply as A
from authdoctor.apply.apply import Applied, ApplyRefused, apply_plan, preflight
from authdoctor.apply.atomic import write_atomic
from authdoctor.apply.undo import undo
from authdoctor.errors import AuthdoctorError
from authdoctor.plan.model import FileChange, MoveAside
from tests.apply import (
    CURE,
    FIXED_NOW,
    VAR,
    all_text,
    comment_out_change,
    make_secret,
    new_journal,
    plan_of,
    temp_files,
    write_startup,
)

posix_only = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX modes")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_nothing_written(tmp_path: Path, files: dict[Path, bytes]) -> None:
    for path, data in files.items():
        assert path.read_bytes() == data
    journal = new_journal(tmp_path)
    assert journal.entries() == []
    assert not journal.root.exists() or list(journal.root.iterdir()) == []
    assert temp_files(*{p.parent for p in files}) == []


# --- success --------------------------------------------------------------------------------------------------


def test_success_path(tmp_path: Path) -> None:
    secret = make_secret()
    rc = write_startup(tmp_path / "home" / ".bashrc", secret, mode=0o640)
    change = comment_out_change(rc)
    journal = new_journal(tmp_path)

    result = apply_plan(plan_of(change), journal, now=FIXED_NOW)

    assert isinstance(result, Applied)
    assert result.done == (change,)
    assert rc.read_bytes() == change.after
    assert secret.encode() not in rc.read_bytes()
    assert b"alias ll='ls -l'" in rc.read_bytes()
    if not sys.platform.startswith("win"):
        assert mode_of(rc) == 0o640
    entry = journal.get(result.entry_id)
    assert result.journal_path == entry.path
    assert entry.state == "applied"
    assert entry.cures == (CURE,)
    (record,) = entry.records
    assert entry.read_backup(record["backup"]) == change.before
    assert record["backup"] == "0.bak"
    assert record == {
        "kind": "edit",
        "path": str(rc),
        "target": str(rc.resolve()),
        "backup": "0.bak",
        "mode": 0o640 if not sys.platform.startswith("win") else record["mode"],
        "uid": record["uid"],
        "gid": record["gid"],
        "before_sha256": sha256_hex(change.before),
        "after_sha256": sha256_hex(change.after),
        "size_before": len(change.before),
        "size_after": len(change.after),
        "status": "written",
        "family": "bash",
        "removes": [VAR],
        "lines": [2],
        "cures": [CURE],
    }
    assert record["uid"] == rc.stat().st_uid
    assert temp_files(rc.parent) == []
    # The secret is in the backup only: not in a file name, not in entry.json.
    assert secret not in all_text(journal.root.parent)


def test_two_files_and_undo(tmp_path: Path) -> None:
    a = write_startup(tmp_path / ".bashrc", make_secret())
    b = write_startup(tmp_path / ".zshrc", make_secret(), newline=b"\r\n")
    ca, cb = comment_out_change(a), comment_out_change(b)
    journal = new_journal(tmp_path)
    result = apply_plan(plan_of(ca, cb), journal, now=FIXED_NOW)
    assert (a.read_bytes(), b.read_bytes()) == (ca.after, cb.after)
    assert b.read_bytes().count(b"\r\n") == cb.before.count(b"\r\n")
    assert [r["backup"] for r in journal.get(result.entry_id).records] == ["0.bak", "1.bak"]
    done = undo(journal)
    assert done.restored == (str(b), str(a))
    assert (a.read_bytes(), b.read_bytes()) == (ca.before, cb.before)


def test_empty_plan_records_an_empty_entry(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    result = apply_plan(plan_of(), journal, now=FIXED_NOW)
    assert result.done == ()
    assert journal.get(result.entry_id).state == "empty"
    assert journal.latest() is None


# --- refusals: nothing written, no entry left -------------------------------------------------------------------


def test_refuses_file_changed_since_read(tmp_path: Path) -> None:
    secret = make_secret()
    rc = write_startup(tmp_path / ".bashrc", secret)
    change = comment_out_change(rc)
    rc.write_bytes(rc.read_bytes() + b"# edited meanwhile\n")
    expected = rc.read_bytes()
    with pytest.raises(AuthdoctorError) as info:
        apply_plan(plan_of(change), new_journal(tmp_path), now=FIXED_NOW)
    assert info.value.message == f"{rc} changed since authdoctor read it; run `authdoctor fix` again"
    assert "nothing was changed" in info.value.hint
    assert secret not in str(info.value)
    assert_nothing_written(tmp_path, {rc: expected})


def test_refuses_read_only_file(tmp_path: Path) -> None:
    # No write bit at all is refused even for root, who could write it anyway.
    rc = write_startup(tmp_path / ".bashrc", make_secret(), mode=0o444)
    before = rc.read_bytes()
    try:
        with pytest.raises(ApplyRefused) as info:
            apply_plan(plan_of(comment_out_change(rc)), new_journal(tmp_path), now=FIXED_NOW)
        assert info.value.message == (
            f"{rc} is read-only (mode 0444); authdoctor will not change permissions: make it writable or edit it by hand"
        )
        assert_nothing_written(tmp_path, {rc: before})
        assert mode_of(rc) == 0o444
    finally:
        rc.chmod(0o644)


@posix_only
def test_refuses_file_not_writable_by_us(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret(), mode=0o644)
    before = rc.read_bytes()
    real_access = os.access
    # Stand in for "not root, not the owner": the mode has a write bit, but not for us.
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == rc else real_access(p, m))
    with pytest.raises(ApplyRefused, match=r"is not writable by you \(mode 0644\)"):
        apply_plan(plan_of(comment_out_change(rc)), new_journal(tmp_path), now=FIXED_NOW)
    monkeypatch.undo()
    assert_nothing_written(tmp_path, {rc: before})


@posix_only
@pytest.mark.skipif(IS_ROOT, reason="root ignores file modes")
def test_refuses_read_only_file_as_a_normal_user(tmp_path: Path) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret(), mode=0o444)
    try:
        assert preflight(plan_of(comment_out_change(rc)))
    finally:
        rc.chmod(0o644)


@posix_only
def test_refuses_read_only_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rc = write_startup(home / ".bashrc", make_secret())
    before = rc.read_bytes()
    home.chmod(0o555)
    try:
        with pytest.raises(ApplyRefused) as info:
            apply_plan(plan_of(comment_out_change(rc)), new_journal(tmp_path), now=FIXED_NOW)
        assert info.value.message.startswith(f"the folder {home} is read-only (mode 0555)")
        assert "make the folder writable or edit the file by hand" in info.value.message
    finally:
        home.chmod(0o755)
    assert_nothing_written(tmp_path, {rc: before})


def test_refuses_missing_file(tmp_path: Path) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret())
    change = comment_out_change(rc)
    rc.unlink()
    with pytest.raises(ApplyRefused, match="no longer exists; run `authdoctor fix` again"):
        apply_plan(plan_of(change), new_journal(tmp_path), now=FIXED_NOW)
    assert not rc.exists()
    assert new_journal(tmp_path).entries() == []


@posix_only
def test_refuses_hard_linked_file(tmp_path: Path) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret())
    os.link(rc, tmp_path / "bashrc.copy")
    with pytest.raises(ApplyRefused, match="has 2 hard links"):
        apply_plan(plan_of(comment_out_change(rc)), new_journal(tmp_path), now=FIXED_NOW)


def test_refuses_a_target_that_is_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / ".bashrc"
    folder.mkdir()
    change = FileChange(folder, folder, b"", (), "bash", (VAR,), (1,), (CURE,))
    assert preflight(plan_of(change)) == [f"{folder} is not a regular file; authdoctor only edits regular files: edit it by hand"]


def test_all_problems_are_counted_and_nothing_is_written(tmp_path: Path) -> None:
    good = write_startup(tmp_path / ".profile", make_secret())
    changed = write_startup(tmp_path / ".bashrc", make_secret())
    missing = write_startup(tmp_path / ".zshrc", make_secret())
    good_change = comment_out_change(good)
    plan = plan_of(good_change, comment_out_change(changed), comment_out_change(missing))
    changed.write_bytes(b"# rewritten\n")
    missing.unlink()
    with pytest.raises(ApplyRefused) as info:
        apply_plan(plan, new_journal(tmp_path), now=FIXED_NOW)
    assert len(info.value.problems) == 2
    assert info.value.message == f"{changed} changed since authdoctor read it; run `authdoctor fix` again (and 1 more problem)"
    assert good.read_bytes() == good_change.before
    assert new_journal(tmp_path).entries() == []


def test_refuses_the_same_file_twice(tmp_path: Path) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret())
    problems = preflight(plan_of(comment_out_change(rc), comment_out_change(rc)))
    assert problems == [f"the plan changes {rc.resolve()} twice; run `authdoctor fix` again"]


def test_race_on_first_change_leaves_no_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret())
    change = comment_out_change(rc)
    rc.write_bytes(b"# changed after preflight\n")
    monkeypatch.setattr(A, "preflight", lambda plan, **_writers: [])
    journal = new_journal(tmp_path)
    with pytest.raises(AuthdoctorError, match="changed since authdoctor read it") as info:
        apply_plan(plan_of(change), journal, now=FIXED_NOW)
    assert "nothing was changed" in info.value.hint
    assert rc.read_bytes() == b"# changed after preflight\n"
    assert journal.entries() == []


def test_race_on_second_change_stops_partial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_startup(tmp_path / ".bashrc", make_secret())
    b = write_startup(tmp_path / ".zshrc", make_secret())
    ca, cb = comment_out_change(a), comment_out_change(b)
    real_write = write_atomic

    def write_then_someone_edits_b(target: Path, data: bytes, *, mode: int, uid: int | None = None, gid: int | None = None) -> None:
        real_write(target, data, mode=mode, uid=uid, gid=gid)
        if target == a.resolve():
            b.write_bytes(b"# edited by someone else\n")

    monkeypatch.setattr(A, "write_atomic", write_then_someone_edits_b)
    journal = new_journal(tmp_path)
    with pytest.raises(AuthdoctorError, match=f"{b} changed since authdoctor read it") as info:
        apply_plan(plan_of(ca, cb), journal, now=FIXED_NOW)
    assert "authdoctor undo" in info.value.hint
    entry = journal.latest()
    assert entry is not None and entry.state == "partial"
    assert [r["status"] for r in entry.records] == ["written"]
    assert a.read_bytes() == ca.after
    monkeypatch.undo()
    undo(journal)
    assert a.read_bytes() == ca.before
    assert b.read_bytes() == b"# edited by someone else\n"


# --- symlinks -----------------------------------------------------------------------------------------------------


def test_symlinked_dotfile_edits_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    real = write_startup(tmp_path / "dotfiles" / "bashrc", make_secret(), mode=0o600)
    link = tmp_path / "home" / ".bashrc"
    link.parent.mkdir()
    try:
        link.symlink_to(real)
    except OSError:
        pytest.skip("symlinks not available")
    change = comment_out_change(link, target=real)
    journal = new_journal(tmp_path)
    apply_plan(plan_of(change), journal, now=FIXED_NOW)
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert real.read_bytes() == change.after
    assert temp_files(real.parent, link.parent) == []
    entry = journal.latest()
    assert entry is not None
    assert entry.records[0]["path"] == str(link)
    assert entry.records[0]["target"] == str(real)

    undo(journal)
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert real.read_bytes() == change.before
    if not sys.platform.startswith("win"):
        assert mode_of(real) == 0o600


def test_preflight_refuses_a_symlink_given_as_target(tmp_path: Path) -> None:
    real = write_startup(tmp_path / "bashrc", make_secret())
    link = tmp_path / ".bashrc"
    try:
        link.symlink_to(real)
    except OSError:
        pytest.skip("symlinks not available")
    change = comment_out_change(link, target=link)
    assert preflight(plan_of(change)) == [f"{link} is a symbolic link, not the file it points to; run `authdoctor fix` again"]


# --- MoveAside ------------------------------------------------------------------------------------------------------


def _auth(tmp_path: Path) -> tuple[Path, MoveAside]:
    codex = tmp_path / ".codex"
    codex.mkdir()
    auth = codex / "auth.json"
    auth.write_text('{"OPENAI_API_KEY": "' + make_secret() + '"}')
    auth.chmod(0o600)
    move = MoveAside(auth, codex / "auth.json.authdoctor-20261120T120000Z", auth.read_bytes(), (CURE,), "run `codex login`")
    return auth, move


def test_move_aside_and_undo(tmp_path: Path) -> None:
    auth, move = _auth(tmp_path)
    journal = new_journal(tmp_path)
    apply_plan(plan_of(move), journal, now=FIXED_NOW)
    assert not auth.exists()
    assert move.dest.read_bytes() == move.before
    if not sys.platform.startswith("win"):
        assert mode_of(move.dest) == 0o600
    entry = journal.latest()
    assert entry is not None
    (record,) = entry.records
    assert {k: record[k] for k in ("kind", "path", "dest", "status")} == {
        "kind": "move",
        "path": str(auth),
        "dest": str(move.dest),
        "status": "written",
    }
    assert record["before_sha256"] == sha256_hex(move.before)
    assert entry.read_backup(record["backup"]) == move.before

    done = undo(journal)
    assert done.restored == (str(auth),)
    assert auth.read_bytes() == move.before
    assert not move.dest.exists()
    if not sys.platform.startswith("win"):
        assert mode_of(auth) == 0o600


def test_undo_of_a_move_refuses_when_a_new_file_appeared(tmp_path: Path) -> None:
    auth, move = _auth(tmp_path)
    journal = new_journal(tmp_path)
    apply_plan(plan_of(move), journal, now=FIXED_NOW)
    auth.write_text('{"tokens": "from a new codex login"}')
    with pytest.raises(AuthdoctorError) as info:
        undo(journal)
    assert info.value.message == (f"{auth} exists again since the fix (a new `codex login` writes one); authdoctor will not overwrite it")
    assert str(move.dest) in info.value.hint
    assert auth.read_text() == '{"tokens": "from a new codex login"}'
    assert move.dest.read_bytes() == move.before
    entry = journal.latest()
    assert entry is not None and entry.state == "applied"


def test_move_refused_when_destination_exists(tmp_path: Path) -> None:
    auth, move = _auth(tmp_path)
    move.dest.write_text("older move")
    with pytest.raises(ApplyRefused, match="already exists"):
        apply_plan(plan_of(move), new_journal(tmp_path), now=FIXED_NOW)
    assert auth.read_bytes() == move.before
    assert move.dest.read_text() == "older move"


def test_move_refused_when_auth_changed(tmp_path: Path) -> None:
    auth, move = _auth(tmp_path)
    auth.write_text("{}")
    assert preflight(plan_of(move)) == [f"{auth} changed since authdoctor read it; run `authdoctor fix` again"]


def test_move_refused_when_gone(tmp_path: Path) -> None:
    auth, move = _auth(tmp_path)
    auth.unlink()
    assert preflight(plan_of(move)) == [f"{auth} no longer exists; run `authdoctor fix` again"]


def test_apply_journals_no_secret(tmp_path: Path) -> None:
    secret = make_secret()
    rc = write_startup(tmp_path / ".bashrc", secret)
    auth = tmp_path / "auth.json"
    auth.write_text('{"OPENAI_API_KEY": "' + secret + '"}')
    move = MoveAside(auth, tmp_path / "auth.json.authdoctor-x", auth.read_bytes(), (CURE,), "run `codex login`")
    journal = new_journal(tmp_path)
    result = apply_plan(plan_of(comment_out_change(rc), move), journal, now=FIXED_NOW)
    assert secret not in all_text(journal.root.parent)
    assert secret not in repr(result.entry_id) + str(result.journal_path)
