"""undo: byte-identical restores, idempotence, refusals that write nothing, named entries."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authdoctor.apply.apply import apply_plan
from authdoctor.apply.undo import Undone, UndoRefused, undo
from authdoctor.errors import AuthdoctorError
from authdoctor.plan.model import Edit, FileChange
from tests.apply import CURE, FIXED_NOW, VAR, comment_out_change, later, make_secret, new_journal, plan_of, temp_files, write_startup

posix_only = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX modes")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_restores_bytes_and_mode(tmp_path: Path, mode: int) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret(), mode=mode, newline=b"\r\n")
    original = rc.read_bytes()
    journal = new_journal(tmp_path)
    applied = apply_plan(plan_of(comment_out_change(rc)), journal, now=FIXED_NOW)
    rc.chmod(0o600)  # undo puts the mode back too

    done = undo(journal)

    assert done == Undone(applied.entry_id, (str(rc),), already=False)
    assert rc.read_bytes() == original
    assert mode_of(rc) == mode
    assert journal.get(applied.entry_id).state == "undone"
    assert [r["status"] for r in journal.get(applied.entry_id).records] == ["restored"]
    assert temp_files(tmp_path) == []


@posix_only
@pytest.mark.skipif(not IS_ROOT, reason="only root can set another owner")
def test_restores_owner(tmp_path: Path) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret())
    os.chown(rc, 4242, 4343)
    journal = new_journal(tmp_path)
    apply_plan(plan_of(comment_out_change(rc)), journal, now=FIXED_NOW)
    assert (rc.stat().st_uid, rc.stat().st_gid) == (4242, 4343)
    os.chown(rc, 0, 0)
    undo(journal)
    assert (rc.stat().st_uid, rc.stat().st_gid) == (4242, 4343)


def test_twice_is_safe(tmp_path: Path) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret())
    original = rc.read_bytes()
    journal = new_journal(tmp_path)
    applied = apply_plan(plan_of(comment_out_change(rc)), journal, now=FIXED_NOW)
    undo(journal)
    # Someone edits the restored file; a second undo must not touch it.
    rc.write_bytes(original + b"# mine\n")
    before = snapshot(tmp_path)

    again = undo(journal)

    assert again == Undone(applied.entry_id, (), already=True)
    assert snapshot(tmp_path) == before
    named = undo(journal, applied.entry_id)
    assert named.already
    assert snapshot(tmp_path) == before


def test_refuses_when_file_changed_after_fix(tmp_path: Path) -> None:
    secret = make_secret()
    a = write_startup(tmp_path / ".bashrc", make_secret())
    b = write_startup(tmp_path / ".zshrc", secret)
    journal = new_journal(tmp_path)
    applied = apply_plan(plan_of(comment_out_change(a), comment_out_change(b)), journal, now=FIXED_NOW)
    b.write_bytes(b.read_bytes() + b"# added after the fix\n")
    before = snapshot(tmp_path)

    with pytest.raises(UndoRefused) as info:
        undo(journal)

    assert info.value.message == f"{b} changed after the fix; authdoctor will not overwrite your edits"
    entry = journal.get(applied.entry_id)
    assert str(entry.path / "1.bak") in info.value.hint
    assert secret not in str(info.value)
    # All checks come before any write: the unchanged .bashrc was not restored either.
    assert snapshot(tmp_path) == before
    assert entry.state == "applied"


def test_refuses_when_file_deleted_after_fix(tmp_path: Path) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret())
    journal = new_journal(tmp_path)
    apply_plan(plan_of(comment_out_change(rc)), journal, now=FIXED_NOW)
    rc.unlink()
    with pytest.raises(AuthdoctorError, match="will not recreate it"):
        undo(journal)
    assert not rc.exists()


def test_refuses_a_damaged_backup(tmp_path: Path) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret())
    journal = new_journal(tmp_path)
    applied = apply_plan(plan_of(comment_out_change(rc)), journal, now=FIXED_NOW)
    after = rc.read_bytes()
    (applied.journal_path / "0.bak").write_bytes(b"truncated")
    with pytest.raises(AuthdoctorError, match="does not match what the journal recorded"):
        undo(journal)
    (applied.journal_path / "0.bak").unlink()
    with pytest.raises(AuthdoctorError, match=r"backup of .* is missing"):
        undo(journal)
    assert rc.read_bytes() == after


def test_named_entry(tmp_path: Path) -> None:
    a = write_startup(tmp_path / ".bashrc", make_secret())
    b = write_startup(tmp_path / ".zshrc", make_secret())
    journal = new_journal(tmp_path)
    first = apply_plan(plan_of(comment_out_change(a)), journal, now=later(0))
    second = apply_plan(plan_of(comment_out_change(b)), journal, now=later(5))
    a_after, b_after = a.read_bytes(), b.read_bytes()

    done = undo(journal, first.entry_id)

    assert done.entry_id == first.entry_id
    assert done.restored == (str(a),)
    assert a.read_bytes() != a_after
    assert b.read_bytes() == b_after
    assert journal.get(second.entry_id).state == "applied"
    # The latest entry is still the second one.
    assert undo(journal).entry_id == second.entry_id


def test_latest_undone_entry_is_reported_as_already(tmp_path: Path) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret())
    journal = new_journal(tmp_path)
    apply_plan(plan_of(comment_out_change(rc)), journal, now=FIXED_NOW)
    undo(journal)
    assert undo(journal).already


def test_nothing_to_undo(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    with pytest.raises(AuthdoctorError) as info:
        undo(journal)
    assert info.value.message.startswith("nothing to undo")
    assert "undo --list" in info.value.hint
    apply_plan(plan_of(), journal, now=FIXED_NOW)  # an empty entry does not count
    with pytest.raises(AuthdoctorError, match="nothing to undo"):
        undo(journal)


def test_unknown_entry_id(tmp_path: Path) -> None:
    with pytest.raises(AuthdoctorError, match="no journal entry 20261120T120000Z-dead"):
        undo(new_journal(tmp_path), "20261120T120000Z-dead")


def test_file_already_restored_by_hand_is_left_alone(tmp_path: Path) -> None:
    rc = write_startup(tmp_path / ".bashrc", make_secret())
    change = comment_out_change(rc)
    journal = new_journal(tmp_path)
    apply_plan(plan_of(change), journal, now=FIXED_NOW)
    rc.write_bytes(change.before)
    before = rc.stat().st_mtime_ns
    done = undo(journal)
    assert done.restored == ()
    assert rc.stat().st_mtime_ns == before
    assert rc.read_bytes() == change.before


# --- property: any edit to any bytes comes back exactly -----------------------------------------------------------


@st.composite
def contents_and_edits(draw: st.DrawFn) -> tuple[bytes, tuple[Edit, ...]]:
    data = draw(st.binary(max_size=300))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    edits = tuple(Edit(cuts[i], cuts[i + 1], draw(st.binary(max_size=20))) for i in range(0, len(cuts) - 1, 2))
    return data, edits


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=contents_and_edits(), mode=st.sampled_from([0o600, 0o644, 0o640, 0o700]))
def test_apply_then_undo_is_identity(case: tuple[bytes, tuple[Edit, ...]], mode: int) -> None:
    data, edits = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rc = root / ".profile"
        rc.write_bytes(data)
        rc.chmod(mode)
        change = FileChange(rc, rc.resolve(), data, edits, "bash", (VAR,), (1,), (CURE,))
        journal = new_journal(root)
        apply_plan(plan_of(change), journal, now=FIXED_NOW)
        assert rc.read_bytes() == change.after
        undo(journal)
        assert rc.read_bytes() == data
        if not sys.platform.startswith("win"):
            assert mode_of(rc) == mode
        assert temp_files(root) == []
