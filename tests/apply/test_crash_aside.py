"""Crash simulation for the dead-login changes: a keyring entry moved into the journal and a legacy folder moved aside.

As in test_crash.py, every disk operation of a fix (and of an undo) is made to
fail in turn, once or for good (the process dying); the fake keyring's get,
set and delete count as operations too.  Whatever step dies, the folder is in
exactly one of its two places, the keyring entry is either still there or
safe in the journal, and undo puts everything back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

from authdoctor.apply.apply import apply_plan
from authdoctor.apply.journal import Journal
from authdoctor.apply.undo import undo
from authdoctor.host.keyring import SERVICE, FakeKeyringWriter
from authdoctor.plan.model import FolderAside, KeyringAside, MoveAside, Plan
from tests.apply import CURE, FIXED_NOW, make_secret, new_journal, plan_of, temp_files
from tests.apply.test_crash import Crash, Injector, injected

ACCOUNT = "cli|0123456789abcdef"
THEN = "run `codex login`"


class Scene(NamedTuple):
    journal: Journal
    plan: Plan
    store: FakeKeyringWriter
    secret: bytes
    folder: Path
    folder_dest: Path
    folder_files: dict[str, bytes]
    auth: Path
    auth_dest: Path
    auth_bytes: bytes


def make_scene(root: Path) -> Scene:
    home = root / "home"
    folder = home / ".config" / "codex"
    files = {"auth.json": b'{"OPENAI_API_KEY": "' + make_secret().encode() + b'"}', "cache/blob": b"\0\1\2"}
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    st = folder.lstat()
    folder_dest = folder.with_name("codex.authdoctor-2026-11-20")
    auth = home / ".codex" / "auth.json"
    auth.parent.mkdir(parents=True)
    auth.write_bytes(b'{"tokens": "' + make_secret().encode() + b'"}')
    auth_dest = auth.with_name("auth.json.authdoctor-2026-11-20")
    secret = ('{"tokens":{"refresh_token":"' + make_secret() + '"}}').encode()
    store = FakeKeyringWriter({(SERVICE, ACCOUNT): secret})
    plan = plan_of(
        KeyringAside(SERVICE, ACCOUNT, (CURE,), THEN),
        MoveAside(auth, auth_dest, auth.read_bytes(), (CURE,), THEN),
        FolderAside(folder, folder_dest, st.st_ino, st.st_dev, ("auth.json",), (CURE,), THEN),
    )
    return Scene(new_journal(root), plan, store, secret, folder, folder_dest, files, auth, auth_dest, auth.read_bytes())


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def journal_holds_secret(scene: Scene) -> bool:
    entry = scene.journal.latest()
    if entry is None:
        return False
    return any(r.get("kind") == "keyring" and entry.read_backup(r["backup"]) == scene.secret for r in entry.records)


def assert_each_old_or_new(scene: Scene) -> None:
    here, there = scene.folder.exists(), scene.folder_dest.exists()
    assert here != there, "the folder must be in exactly one place"
    assert files_of(scene.folder if here else scene.folder_dest) == scene.folder_files
    assert scene.auth.exists() != scene.auth_dest.exists()
    assert (scene.auth if scene.auth.exists() else scene.auth_dest).read_bytes() == scene.auth_bytes
    current = scene.store.items.get((SERVICE, ACCOUNT))
    if current is None:
        assert journal_holds_secret(scene), "the keyring entry is gone, so the journal must hold it"
    else:
        assert current == scene.secret
    assert temp_files(scene.folder.parent, scene.auth.parent) == []


def assert_all_old(scene: Scene) -> None:
    assert files_of(scene.folder) == scene.folder_files and not scene.folder_dest.exists()
    assert scene.auth.read_bytes() == scene.auth_bytes and not scene.auth_dest.exists()
    assert scene.store.items == {(SERVICE, ACCOUNT): scene.secret}


def undo_and_check(scene: Scene) -> None:
    if scene.journal.latest() is None:
        assert_all_old(scene)
        return
    undo(scene.journal, keyring=scene.store)
    assert_all_old(scene)
    latest = scene.journal.latest()
    assert latest is not None and latest.state == "undone"


@contextmanager
def injected_all(scene: Scene, at: int | None, *, hard: bool) -> Iterator[Injector]:
    """Disk operations and the keyring's operations, counted together."""
    with injected(at, hard=hard) as injector, pytest.MonkeyPatch.context() as mp:
        for name in ("get", "set", "delete"):
            mp.setattr(scene.store, name, injector.wrap(getattr(scene.store, name)))
        yield injector


def apply_scene(scene: Scene) -> object:
    return apply_plan(scene.plan, scene.journal, now=FIXED_NOW, keyring=scene.store)


def undo_scene(scene: Scene) -> object:
    return undo(scene.journal, keyring=scene.store)


def count_ops(tmp_path: Path, action: Callable[[Scene], object], setup: Callable[[Scene], object] | None = None) -> int:
    scene = make_scene(tmp_path / "count")
    if setup:
        setup(scene)
    with injected_all(scene, None, hard=False) as injector:
        action(scene)
    return injector.count


@pytest.mark.parametrize("hard", [False, True], ids=["exception", "process-death"])
def test_every_crash_point_of_apply(tmp_path: Path, hard: bool) -> None:
    total = count_ops(tmp_path, apply_scene)
    assert total > 15
    for at in range(1, total + 1):
        scene = make_scene(tmp_path / f"at{at}")
        with injected_all(scene, at, hard=hard), pytest.raises(Crash):
            apply_scene(scene)
        assert_each_old_or_new(scene)
        undo_and_check(scene)


@pytest.mark.parametrize("hard", [False, True], ids=["exception", "process-death"])
def test_every_crash_point_of_undo(tmp_path: Path, hard: bool) -> None:
    total = count_ops(tmp_path, undo_scene, setup=apply_scene)
    assert total > 5
    for at in range(1, total + 1):
        scene = make_scene(tmp_path / f"at{at}")
        apply_scene(scene)
        with injected_all(scene, at, hard=hard), pytest.raises(Crash):
            undo_scene(scene)
        assert_each_old_or_new(scene)
        undo_and_check(scene)
