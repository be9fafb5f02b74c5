"""write_atomic: same mode and owner, exact bytes, nothing left behind on failure, never through a symlink."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from authdoctor.apply import atomic
from authdoctor.apply.atomic import TEMP_MARK, write_atomic
from tests.apply import make_secret, temp_files

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
posix_only = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX modes and owners")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o444])
def test_mode_and_contents(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "rc"
    target.write_bytes(b"old\n")
    write_atomic(target, b"new contents\n", mode=mode)
    assert target.read_bytes() == b"new contents\n"
    assert mode_of(target) == mode
    assert temp_files(tmp_path) == []


@posix_only
def test_mode_ignores_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        target = tmp_path / "rc"
        write_atomic(target, b"x", mode=0o755)
    finally:
        os.umask(old)
    assert mode_of(target) == 0o755


@posix_only
def test_setuid_bit_kept(tmp_path: Path) -> None:
    target = tmp_path / "tool"
    write_atomic(target, b"#!/bin/sh\n", mode=0o4755)
    assert mode_of(target) == 0o4755


@posix_only
@pytest.mark.skipif(not IS_ROOT, reason="only root can give a file away")
def test_owner_restored_before_mode_so_setuid_survives(tmp_path: Path) -> None:
    # chown clears setuid: the mode must be applied after the owner.
    target = tmp_path / "tool"
    target.write_bytes(b"old")
    write_atomic(target, b"new", mode=0o4755, uid=4242, gid=4343)
    st = target.stat()
    assert (st.st_uid, st.st_gid) == (4242, 4343)
    assert mode_of(target) == 0o4755


@posix_only
def test_chown_refusal_ignored_when_not_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", refuse)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    target = tmp_path / "rc"
    write_atomic(target, b"new", mode=0o600, uid=os.getuid() + 1, gid=None)
    assert target.read_bytes() == b"new"


@posix_only
def test_chown_refusal_is_an_error_for_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", refuse)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    target = tmp_path / "rc"
    target.write_bytes(b"old")
    with pytest.raises(PermissionError):
        write_atomic(target, b"new", mode=0o600, uid=os.getuid() + 1)
    assert target.read_bytes() == b"old"
    assert temp_files(tmp_path) == []


def test_same_owner_is_not_chowned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "fchown", lambda fd, uid, gid: calls.append((uid, gid)), raising=False)
    target = tmp_path / "rc"
    st = tmp_path.stat()
    write_atomic(target, b"x", mode=0o600, uid=os.getuid() if hasattr(os, "getuid") else None, gid=st.st_gid)
    assert calls == []


def test_crlf_and_binary_bytes_untouched(tmp_path: Path) -> None:
    data = b"line one\r\nline two\r\n\x00\xff\xfe caf\xc3\xa9\r\n"
    target = tmp_path / "profile.ps1"
    target.write_bytes(b"old")
    write_atomic(target, data, mode=0o644)
    assert target.read_bytes() == data


def test_empty_data(tmp_path: Path) -> None:
    target = tmp_path / "rc"
    target.write_bytes(b"something")
    write_atomic(target, b"", mode=0o644)
    assert target.read_bytes() == b""


def test_temp_file_is_hidden_marked_and_in_the_same_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = make_secret()
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append((os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    target = tmp_path / ".bashrc"
    write_atomic(target, f"export X={secret}\n".encode(), mode=0o600)
    assert len(seen) == 1
    src, dst = Path(seen[0][0]), Path(seen[0][1])
    assert dst == target
    assert src.parent == tmp_path
    assert src.name.startswith(".")
    assert TEMP_MARK in src.name
    assert secret not in src.name


@pytest.mark.parametrize("step", ["replace", "fsync", "write"])
def test_failure_removes_temp_and_leaves_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    target = tmp_path / "rc"
    target.write_bytes(b"original\n")
    target.chmod(0o640)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, step, boom)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b"replacement\n", mode=0o600)
    monkeypatch.undo()
    assert target.read_bytes() == b"original\n"
    if not sys.platform.startswith("win"):
        assert mode_of(target) == 0o640
    assert temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rc"]


def test_keyboard_interrupt_also_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "rc"
    target.write_bytes(b"original")

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new", mode=0o600)
    monkeypatch.undo()
    assert target.read_bytes() == b"original"
    assert temp_files(tmp_path) == []


def test_refuses_a_symlink_target(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "bashrc"
    real.parent.mkdir()
    real.write_bytes(b"real\n")
    link = tmp_path / ".bashrc"
    try:
        link.symlink_to(real)
    except OSError:
        pytest.skip("symlinks not available")
    with pytest.raises(ValueError, match="symbolic link"):
        write_atomic(link, b"new\n", mode=0o644)
    assert link.is_symlink()
    assert real.read_bytes() == b"real\n"
    assert temp_files(tmp_path) == []


def test_refuses_a_dangling_symlink(tmp_path: Path) -> None:
    link = tmp_path / ".bashrc"
    try:
        link.symlink_to(tmp_path / "missing")
    except OSError:
        pytest.skip("symlinks not available")
    with pytest.raises(ValueError):
        write_atomic(link, b"new\n", mode=0o644)
    assert not (tmp_path / "missing").exists()


def test_creates_a_missing_file(tmp_path: Path) -> None:
    target = tmp_path / "new"
    write_atomic(target, b"hello", mode=0o600)
    assert target.read_bytes() == b"hello"


def test_directory_is_flushed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[Path] = []
    monkeypatch.setattr(atomic, "fsync_dir", flushed.append)
    write_atomic(tmp_path / "rc", b"x", mode=0o600)
    assert flushed == [tmp_path]


def test_fsync_dir_tolerates_unsupported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def einval(fd: int) -> None:
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(os, "fsync", einval)
    atomic.fsync_dir(tmp_path)  # no exception
    atomic.fsync_dir(tmp_path / "missing")
