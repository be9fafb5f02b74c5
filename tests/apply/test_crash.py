"""Crash simulation: whatever step dies, every file is old or new (never partial, never missing) and undo restores it.

Four named crash points from the design, then an exhaustive sweep: every
file-system operation of a fix (and of an undo) is made to fail in turn,
either once (an exception the code sees) or for good (the process dying:
nothing after it reaches the disk).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from authdoctor.apply import apply as A
from authdoctor.apply.apply import apply_plan
from authdoctor.apply.journal import Entry, Journal
from authdoctor.apply.undo import undo
from authdoctor.plan.model import MoveAside, Plan
from tests.apply import CURE, FIXED_NOW, comment_out_change, make_secret, new_journal, plan_of, temp_files, write_startup


class Crash(Exception):
    """The simulated failure; deliberately not an OSError, so nothing can mistake it for an expected one."""


class Scene(NamedTuple):
    home: Path
    journal: Journal
    plan: Plan
    files: dict[Path, tuple[bytes, bytes, int]]  # path -> (old bytes, new bytes, mode)
    auth: Path
    auth_dest: Path
    auth_bytes: bytes


def make_scene(root: Path, *, with_move: bool = True) -> Scene:
    home = root / "home"
    a = write_startup(home / ".bashrc", make_secret(), mode=0o640)
    b = write_startup(home / ".config" / "fish" / "config.fish", make_secret(), mode=0o600, newline=b"\r\n")
    ca, cb = comment_out_change(a), comment_out_change(b)
    auth = home / ".codex" / "auth.json"
    auth.parent.mkdir()
    auth.write_bytes(b'{"OPENAI_API_KEY": "' + make_secret().encode() + b'"}')
    auth.chmod(0o600)
    dest = auth.with_name("auth.json.authdoctor-20261120T120000Z")
    move = MoveAside(auth, dest, auth.read_bytes(), (CURE,), "run `codex login`")
    changes = (ca, cb, move) if with_move else (ca, cb)
    files = {a: (ca.before, ca.after, 0o640), b: (cb.before, cb.after, 0o600)}
    return Scene(home, new_journal(root), plan_of(*changes), files, auth, dest, move.before)


def folders(scene: Scene) -> list[Path]:
    return sorted({p.parent for p in scene.files} | {scene.auth.parent})


def assert_each_old_or_new(scene: Scene) -> None:
    for path, (old, new, _) in scene.files.items():
        assert path.exists(), f"{path} is missing"
        assert path.read_bytes() in (old, new), f"{path} is neither the old nor the new bytes"
    auth_there, dest_there = scene.auth.exists(), scene.auth_dest.exists()
    assert auth_there != dest_there, "auth.json must be in exactly one place"
    assert (scene.auth if auth_there else scene.auth_dest).read_bytes() == scene.auth_bytes
    assert temp_files(*folders(scene)) == []


def assert_all_old(scene: Scene) -> None:
    for path, (old, _, mode) in scene.files.items():
        assert path.read_bytes() == old
        if not sys.platform.startswith("win"):
            assert stat.S_IMODE(path.stat().st_mode) == mode
    assert scene.auth.read_bytes() == scene.auth_bytes
    assert not scene.auth_dest.exists()
    assert temp_files(*folders(scene)) == []


def assert_journal_after_crash(scene: Scene) -> None:
    summaries = scene.journal.entries()
    assert len(summaries) <= 1
    if summaries:
        assert summaries[0].problem is None
        if summaries[0].state == "applied":
            # Only a crash after the last write (flushing the folder) can leave this.
            assert all(path.read_bytes() == new for path, (_, new, _) in scene.files.items())
        else:
            assert summaries[0].state in ("partial", "pending")
    else:
        # No entry means nothing was changed.
        assert_all_old(scene)


def undo_and_check(scene: Scene) -> None:
    if scene.journal.latest() is None:
        assert_all_old(scene)
        return
    undo(scene.journal)
    assert_all_old(scene)
    latest = scene.journal.latest()
    assert latest is not None and latest.state == "undone"


# --- the four named crash points ------------------------------------------------------------------------------


def test_crash_after_backup_before_replace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = make_scene(tmp_path)

    def die(*args: Any, **kwargs: Any) -> None:
        raise Crash("after backup, before replace")

    monkeypatch.setattr(A, "write_atomic", die)
    with pytest.raises(Crash):
        apply_plan(scene.plan, scene.journal, now=FIXED_NOW)
    monkeypatch.undo()
    assert_each_old_or_new(scene)
    assert_journal_after_crash(scene)
    entry = scene.journal.latest()
    assert entry is not None and entry.state == "partial"
    assert [r["status"] for r in entry.records] == ["backed-up"]
    undo_and_check(scene)


def test_crash_inside_write_atomic_before_replace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = make_scene(tmp_path)
    real_replace = os.replace
    victim = next(iter(scene.files)).resolve()

    def replace(src: Any, dst: Any) -> None:
        if Path(dst) == victim:
            raise Crash("inside write_atomic, before os.replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Crash):
        apply_plan(scene.plan, scene.journal, now=FIXED_NOW)
    monkeypatch.undo()
    assert_each_old_or_new(scene)
    assert_journal_after_crash(scene)
    assert victim.read_bytes() == scene.files[victim][0]
    undo_and_check(scene)


def test_crash_after_replace_before_status_update(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = make_scene(tmp_path)

    def die(self: Entry, index: int, **fields: Any) -> None:
        raise Crash("after replace, before the status update")

    monkeypatch.setattr(Entry, "update", die)
    with pytest.raises(Crash):
        apply_plan(scene.plan, scene.journal, now=FIXED_NOW)
    monkeypatch.undo()
    assert_each_old_or_new(scene)
    assert_journal_after_crash(scene)
    first = next(iter(scene.files))
    assert first.read_bytes() == scene.files[first][1]  # written, though the journal says only "backed-up"
    entry = scene.journal.latest()
    assert entry is not None and [r["status"] for r in entry.records] == ["backed-up"]
    undo_and_check(scene)


def test_crash_between_two_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = make_scene(tmp_path, with_move=False)
    real_save = Entry.save_backup
    calls: list[int] = []

    def save_backup(self: Entry, data: bytes) -> str:
        calls.append(1)
        if len(calls) == 2:
            raise Crash("between the two files")
        return real_save(self, data)

    monkeypatch.setattr(Entry, "save_backup", save_backup)
    with pytest.raises(Crash):
        apply_plan(scene.plan, scene.journal, now=FIXED_NOW)
    monkeypatch.undo()
    assert_each_old_or_new(scene)
    assert_journal_after_crash(scene)
    first, second = scene.files
    assert first.read_bytes() == scene.files[first][1]
    assert second.read_bytes() == scene.files[second][0]
    entry = scene.journal.latest()
    assert entry is not None and entry.state == "partial"
    assert [r["status"] for r in entry.records] == ["written"]
    undo_and_check(scene)


def test_process_death_leaves_pending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The process dies after the first file: not even the "partial" state reaches the disk.
    scene = make_scene(tmp_path, with_move=False)
    dead: list[bool] = []
    real_update = Entry.update
    real_set_state = Entry.set_state

    def update(self: Entry, index: int, **fields: Any) -> None:
        if dead:
            raise Crash("dead")
        real_update(self, index, **fields)
        dead.append(True)
        raise Crash("killed")

    def set_state(self: Entry, state: str) -> None:
        if dead:
            raise Crash("dead")
        real_set_state(self, state)

    monkeypatch.setattr(Entry, "update", update)
    monkeypatch.setattr(Entry, "set_state", set_state)
    with pytest.raises(Crash):
        apply_plan(scene.plan, scene.journal, now=FIXED_NOW)
    monkeypatch.undo()
    assert_each_old_or_new(scene)
    entry = scene.journal.latest()
    assert entry is not None and entry.state == "pending"
    undo_and_check(scene)


# --- exhaustive sweep ---------------------------------------------------------------------------------------------

# Every call that changes something on disk goes through one of these.
_OPS = ("open", "write", "fsync", "replace", "rename", "mkdir", "fchmod", "chmod", "fchown")


class Injector:
    """Counts disk operations and fails the ``at``-th; ``hard`` fails every one after it too (a dead process)."""

    def __init__(self, at: int | None, *, hard: bool) -> None:
        self.at = at
        self.hard = hard
        self.count = 0
        self.crashed = False

    def wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def op(*args: Any, **kwargs: Any) -> Any:
            if self.crashed and self.hard:
                raise Crash("the process is dead")
            self.count += 1
            if self.count == self.at:
                self.crashed = True
                raise Crash(f"operation {self.count}")
            return real(*args, **kwargs)

        return op


@contextmanager
def injected(at: int | None, *, hard: bool) -> Iterator[Injector]:
    injector = Injector(at, hard=hard)
    with pytest.MonkeyPatch.context() as mp:
        for name in _OPS:
            if hasattr(os, name):
                mp.setattr(os, name, injector.wrap(getattr(os, name)))
        yield injector


def count_ops(tmp_path: Path, action: Callable[[Scene], object], setup: Callable[[Scene], object] | None = None) -> int:
    scene = make_scene(tmp_path / "count")
    if setup:
        setup(scene)
    with injected(None, hard=False) as injector:
        action(scene)
    return injector.count


def apply_scene(scene: Scene) -> object:
    return apply_plan(scene.plan, scene.journal, now=FIXED_NOW)


def undo_scene(scene: Scene) -> object:
    return undo(scene.journal)


@pytest.mark.parametrize("hard", [False, True], ids=["exception", "process-death"])
def test_every_crash_point_of_apply(tmp_path: Path, hard: bool) -> None:
    total = count_ops(tmp_path, apply_scene)
    assert total > 20
    for at in range(1, total + 1):
        scene = make_scene(tmp_path / f"at{at}")
        with injected(at, hard=hard), pytest.raises(Crash):
            apply_scene(scene)
        assert_each_old_or_new(scene)
        assert_journal_after_crash(scene)
        undo_and_check(scene)


@pytest.mark.parametrize("hard", [False, True], ids=["exception", "process-death"])
def test_every_crash_point_of_undo(tmp_path: Path, hard: bool) -> None:
    total = count_ops(tmp_path, undo_scene, setup=apply_scene)
    assert total > 10
    for at in range(1, total + 1):
        scene = make_scene(tmp_path / f"at{at}")
        apply_scene(scene)
        with injected(at, hard=hard), pytest.raises(Crash):
            undo_scene(scene)
        assert_each_old_or_new(scene)
        # Undo again, as the person would after the crash.
        undo_and_check(scene)
