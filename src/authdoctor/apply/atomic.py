"""Replace a file's contents atomically: readers see the old bytes or the new ones, never a mix.

The new bytes go to a temporary file in the same folder (a rename is only
atomic within one file system), which is flushed to disk, given the original
mode and owner, and renamed over the target; then the folder itself is
flushed so the rename survives a power cut.  Whatever fails before the
rename removes the temporary file and leaves the target untouched.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# Every temporary file authdoctor creates has this in its name, so a leftover
# (after a power cut) is recognisable.  Never derived from file contents.
TEMP_MARK = "authdoctor-tmp"

# Keep the temporary name well under the usual 255-byte limit whatever the target is called.
_MAX_NAME_PART = 100


def write_atomic(target: Path, data: bytes, *, mode: int, uid: int | None = None, gid: int | None = None) -> None:
    """Make ``target`` hold exactly ``data`` with permission bits ``mode``, atomically.

    ``target`` must be the real file, not a symlink (callers resolve links so
    that the link stays a link); a symlink raises ValueError.  ``uid``/``gid``
    restore an owner; without root that may be refused, which is ignored
    because the file then belongs to us, as it would had we edited it.
    """
    if target.is_symlink():
        raise ValueError(f"{target} is a symbolic link; write to the file it points to")
    folder = target.parent
    tmp, fd = _create_temp(folder, target.name)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
            # Owner first: chown clears the setuid and setgid bits, so the mode must come after it.
            _chown(fd, uid, gid)
            _chmod(fd, tmp, mode & 0o7777)
        finally:
            os.close(fd)
        tmp.replace(target)
    except BaseException:
        _remove_quietly(tmp)
        raise
    fsync_dir(folder)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename, a new file) to disk, where the platform allows it.

    Best effort: it runs after the change is made, so failing here must not
    make the caller believe the change did not happen.
    """
    if os.name == "nt":
        return  # Windows cannot open a directory as a file; NTFS journals renames itself.
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # e.g. EINVAL on file systems that do not support it
    finally:
        os.close(fd)


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of our temporary files (for tests and clean-up)."""
    return name.startswith(".") and TEMP_MARK in name


def _create_temp(folder: Path, base: str) -> tuple[Path, int]:
    # O_EXCL with a random part, like mkstemp, without importing tempfile.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        name = f".{base[:_MAX_NAME_PART]}.{TEMP_MARK}-{os.urandom(4).hex()}"
        path = folder / name
        try:
            # 0600 until the final mode is set: the new contents are never readable by others in between.
            return path, os.open(path, flags, 0o600)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file in {folder}")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _chown(fd: int, uid: int | None, gid: int | None) -> None:
    if (uid is None and gid is None) or not hasattr(os, "fchown"):
        return
    st = os.fstat(fd)
    want_uid = uid if uid is not None and uid != st.st_uid else -1
    want_gid = gid if gid is not None and gid != st.st_gid else -1
    if want_uid == -1 and want_gid == -1:
        return
    try:
        os.fchown(fd, want_uid, want_gid)
    except PermissionError:
        # Only root can give a file away; for anyone else the file stays theirs.
        # Root being refused is a real problem (e.g. a root-squashed NFS mount).
        if os.geteuid() == 0:
            raise


def _chmod(fd: int, tmp: Path, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows: only the read-only flag exists
        tmp.chmod(mode)


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
