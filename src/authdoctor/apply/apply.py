"""Carry out a plan: check everything, then back up, record and change one thing at a time.

The order for each change is what makes a crash harmless: the old bytes are
saved and the record written (status ``backed-up``) *before* the file is
replaced, and the record is marked ``written`` after.  ``undo`` copes with a
record stuck at ``backed-up`` by looking at which bytes the file holds.

The same order holds for a keyring entry (its secret is saved as a private
``<n>.bak`` before the entry is deleted; the record holds only the service,
the account and a hash) and for a folder moved aside (recorded, with its inode,
before the rename).
"""

from __future__ import annotations

import contextlib
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor._hash import sha256_hex
from authdoctor.apply.atomic import fsync_dir, write_atomic
from authdoctor.errors import AuthdoctorError
from authdoctor.plan.model import Change, FileChange, FolderAside, KeyringAside, MoveAside, Plan, RegistryDelete, TmuxUnset

if TYPE_CHECKING:
    from authdoctor.apply.journal import Entry, Journal
    from authdoctor.apply.registry_writer import RegistryWriter
    from authdoctor.apply.tmux_writer import TmuxWriter
    from authdoctor.host.keyring import KeyringWriter

AGAIN = "run `authdoctor fix` again"
# Start-up files are small; a plan's file is read in full to compare it.
_MAX_FILE_BYTES = 16 * 1024 * 1024


class Applied(NamedTuple):
    entry_id: str
    done: tuple[Change, ...]
    journal_path: Path  # the entry's folder


class ApplyRefused(AuthdoctorError):
    """The plan cannot be applied; ``problems`` holds every reason, the message only the first."""

    def __init__(self, problems: list[str]) -> None:
        first = problems[0]
        more = len(problems) - 1
        if more:
            first = f"{first.rstrip('.')} (and {more} more problem{'s' if more > 1 else ''})"
        super().__init__(first, hint=f"nothing was changed; once that is sorted out, {AGAIN}")
        self.problems = tuple(problems)


# --- preflight ----------------------------------------------------------------------------------------


def preflight(
    plan: Plan, *, registry: RegistryWriter | None = None, keyring: KeyringWriter | None = None, tmux: TmuxWriter | None = None
) -> list[str]:
    """Every reason ``plan`` cannot be applied now, each a full sentence with the path and the remedy; [] when it can."""
    problems: list[str] = []
    seen: set[Path] = set()
    for change in plan.changes:
        if isinstance(change, FileChange):
            if change.target in seen:
                problems.append(f"the plan changes {change.target} twice; {AGAIN}")
                continue
            seen.add(change.target)
            problems.extend(_check_file_change(change))
        elif isinstance(change, MoveAside):
            problems.extend(_check_move(change))
        elif isinstance(change, KeyringAside):
            problems.extend(_check_keyring(change, keyring))
        elif isinstance(change, FolderAside):
            problems.extend(_check_folder_move(change))
        elif isinstance(change, TmuxUnset):
            problems.extend(_check_tmux(change, tmux))
        else:
            problems.extend(_check_registry(change, registry))
    return problems


def _shown(change: FileChange) -> str:
    return str(change.path) if change.path == change.target else f"{change.path} (really {change.target})"


def _check_file_change(change: FileChange) -> list[str]:
    target = change.target
    try:
        st = target.lstat()
    except FileNotFoundError:
        return [f"{_shown(change)} no longer exists; {AGAIN}"]
    except OSError as exc:
        return [f"{_shown(change)} cannot be examined ({_why(exc)}); {AGAIN} once it can"]
    if stat.S_ISLNK(st.st_mode):
        return [f"{target} is a symbolic link, not the file it points to; {AGAIN}"]
    if not stat.S_ISREG(st.st_mode):
        return [f"{_shown(change)} is not a regular file; authdoctor only edits regular files: edit it by hand"]
    current = _read(target)
    if isinstance(current, str):
        return [f"{_shown(change)} cannot be read ({current}); {AGAIN} once it can"]
    if current != change.before:
        return [f"{_shown(change)} changed since authdoctor read it; {AGAIN}"]
    problems = _check_writable(target, st)
    problems.extend(_check_folder(target.parent, f"writes the new {target.name} next to it and renames it into place"))
    return problems


def _check_writable(target: Path, st: os.stat_result) -> list[str]:
    mode = stat.S_IMODE(st.st_mode)
    # No write bit at all is a choice someone made (root could still write it): respect it.
    if not mode & 0o222:
        return [f"{target} is read-only (mode {mode:04o}); authdoctor will not change permissions: make it writable or edit it by hand"]
    if not os.access(target, os.W_OK):
        return [
            f"{target} is not writable by you (mode {mode:04o}); authdoctor will not change permissions: "
            "make it writable or edit it by hand"
        ]
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    if euid is not None and euid != 0 and st.st_uid != euid:
        # Replacing it would make us its owner; only root can give it back.
        return [f"{target} belongs to another user (uid {st.st_uid}); rewriting it would change its owner: edit it by hand"]
    if st.st_nlink > 1:
        # Replacing one name of a hard-linked file leaves the other names with the old contents.
        return [f"{target} has {st.st_nlink} hard links; rewriting it would leave the other links unchanged: edit it by hand"]
    return []


def _check_folder(folder: Path, why: str) -> list[str]:
    try:
        mode = stat.S_IMODE(folder.stat().st_mode)
    except OSError as exc:
        return [f"the folder {folder} cannot be examined ({_why(exc)}); {AGAIN} once it can"]
    if not mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK):
        return [
            f"the folder {folder} is read-only (mode {mode:04o}) and authdoctor {why}; "
            "authdoctor will not change permissions: make the folder writable or edit the file by hand"
        ]
    return []


def _check_move(change: MoveAside) -> list[str]:
    path = change.path
    if not os.path.lexists(path):
        return [f"{path} no longer exists; {AGAIN}"]
    current = _read(path)
    if isinstance(current, str):
        return [f"{path} cannot be read ({current}); {AGAIN} once it can"]
    if current != change.before:
        return [f"{path} changed since authdoctor read it; {AGAIN}"]
    if change.dest.parent != path.parent:
        return [f"{path} would be moved to another folder ({change.dest.parent}); {AGAIN}"]
    if os.path.lexists(change.dest):
        return [f"{change.dest} already exists, so {path} cannot be moved there; move or delete {change.dest}, then {AGAIN}"]
    return _check_folder(path.parent, f"renames {path.name} to {change.dest.name} there")


def _keyring_words(change: KeyringAside) -> str:
    return f"the {change.service!r} keyring entry for {change.account}"


def _check_keyring(change: KeyringAside, keyring: KeyringWriter | None) -> list[str]:
    from authdoctor.host.keyring import KeyringError

    if keyring is None:
        return [
            f"authdoctor cannot reach the OS keyring from here, so it cannot move {_keyring_words(change)} aside; "
            "delete that entry by hand (Keychain Access, Credential Manager or Seahorse), then run `codex login`"
        ]
    try:
        found = keyring.get(change.service, change.account)
    except KeyringError as exc:
        return [exc.message]
    if found is None:
        return [f"the {keyring.backend} no longer has {_keyring_words(change)}; {AGAIN}"]
    return []


def _check_folder_move(change: FolderAside) -> list[str]:
    path = change.path
    try:
        st = path.lstat()
    except FileNotFoundError:
        return [f"{path} no longer exists; {AGAIN}"]
    except OSError as exc:
        return [f"{path} cannot be examined ({_why(exc)}); {AGAIN} once it can"]
    if not stat.S_ISDIR(st.st_mode) or (st.st_ino, st.st_dev) != (change.ino, change.dev):
        return [f"{path} was replaced since authdoctor looked at it; {AGAIN}"]
    if change.dest.parent != path.parent:
        return [f"{path} would be moved to another folder ({change.dest.parent}); {AGAIN}"]
    if os.path.lexists(change.dest):
        return [f"{change.dest} already exists, so {path} cannot be moved there; move or delete {change.dest}, then {AGAIN}"]
    return _check_folder(path.parent, f"renames {path.name} to {change.dest.name} there")


def _check_registry(change: RegistryDelete, registry: RegistryWriter | None) -> list[str]:
    where = f"{change.hive}\\{change.key}"
    if registry is None:
        return [f"authdoctor cannot change the Windows registry here; remove {change.name} from {where} by hand"]
    try:
        found = registry.get(change.hive, change.key, change.name)
    except AuthdoctorError as exc:
        return [exc.message]
    except OSError as exc:
        return [f"{where} cannot be read ({_why(exc)}); remove {change.name} from it by hand"]
    if found is None:
        return [f"{where} no longer has {change.name}; {AGAIN}"]
    return []


# --- apply --------------------------------------------------------------------------------------------


def apply_plan(
    plan: Plan,
    journal: Journal,
    *,
    now: datetime,
    registry: RegistryWriter | None = None,
    keyring: KeyringWriter | None = None,
    tmux: TmuxWriter | None = None,
) -> Applied:
    """Apply every change of ``plan`` in order, journaled; refuse the whole plan (writing nothing) when preflight fails."""
    problems = preflight(plan, registry=registry, keyring=keyring, tmux=tmux)
    if problems:
        raise ApplyRefused(problems)
    entry = journal.begin(cures=plan.cures, now=now)
    if not plan.changes:
        entry.set_state("empty")
        return Applied(entry.id, (), entry.path)
    done: list[Change] = []
    try:
        for change in plan.changes:
            if isinstance(change, FileChange):
                _apply_file(entry, change)
            elif isinstance(change, MoveAside):
                _apply_move(entry, change)
            elif isinstance(change, KeyringAside):
                _apply_keyring(entry, change, keyring)
            elif isinstance(change, FolderAside):
                _apply_folder(entry, change)
            elif isinstance(change, TmuxUnset):
                _apply_tmux(entry, change, tmux)
            else:
                _apply_registry(entry, change, registry)
            done.append(change)
    except BaseException:
        _stopped(entry)
        raise
    entry.set_state("applied")
    return Applied(entry.id, tuple(done), entry.path)


def _stopped(entry: Entry) -> None:
    """After an error: an entry that recorded nothing goes away; otherwise it says ``partial`` for undo."""
    # The original error is the one to report; if this fails too, undo copes with "pending".
    with contextlib.suppress(Exception):
        if entry.records:
            entry.set_state("partial")
        else:
            entry.discard()


def _apply_file(entry: Entry, change: FileChange) -> None:
    target = change.target
    current = _read(target)
    if isinstance(current, str):
        raise AuthdoctorError(f"{_shown(change)} cannot be read ({current}); {AGAIN} once it can", hint=_partial_hint(entry))
    if current != change.before:
        # Between preflight and now someone (an editor, another shell) wrote it.
        raise AuthdoctorError(f"{_shown(change)} changed since authdoctor read it; {AGAIN}", hint=_partial_hint(entry))
    st = target.stat()
    after = change.after
    backup = entry.save_backup(change.before)
    index = entry.add(
        {
            "kind": "edit",
            "path": str(change.path),
            "target": str(target),
            "backup": backup,
            "mode": stat.S_IMODE(st.st_mode),
            "uid": st.st_uid,
            "gid": st.st_gid,
            "before_sha256": sha256_hex(change.before),
            "after_sha256": sha256_hex(after),
            "size_before": len(change.before),
            "size_after": len(after),
            "status": "backed-up",
            "family": change.family,
            "removes": list(change.removes),
            "lines": list(change.lines),
            "cures": list(change.cures),
        }
    )
    write_atomic(target, after, mode=stat.S_IMODE(st.st_mode), uid=_owner(st.st_uid), gid=_owner(st.st_gid))
    entry.update(index, status="written")


def _apply_move(entry: Entry, change: MoveAside) -> None:
    current = _read(change.path)
    if current != change.before:
        raise AuthdoctorError(f"{change.path} changed since authdoctor read it; {AGAIN}", hint=_partial_hint(entry))
    if os.path.lexists(change.dest):
        raise AuthdoctorError(f"{change.dest} appeared while authdoctor was working; {AGAIN}", hint=_partial_hint(entry))
    # The renamed file is the real backup; this copy covers someone deleting it.
    backup = entry.save_backup(change.before)
    index = entry.add(
        {
            "kind": "move",
            "path": str(change.path),
            "dest": str(change.dest),
            "before_sha256": sha256_hex(change.before),
            "size_before": len(change.before),
            "backup": backup,
            "status": "backed-up",
            "cures": list(change.cures),
        }
    )
    change.path.rename(change.dest)
    fsync_dir(change.path.parent)
    entry.update(index, status="written")


# Codex builds that split a long value over several entries mark the first one so
# (keyring-store ``CODEX_CHUNKED:{n}:{chunk 0}``; chunk i is under ``{account}:{i}``).
CHUNKED_PREFIX = b"CODEX_CHUNKED:"
_MAX_CHUNKS = 64


def keyring_accounts(account: str, first: bytes) -> list[str]:
    """Every account a Codex login occupies, given the main entry's value: itself, plus its chunks if it was split."""
    if not first.startswith(CHUNKED_PREFIX):
        return [account]
    count, sep, _ = first[len(CHUNKED_PREFIX) :].partition(b":")
    if not sep or not count.isdigit() or not 1 <= int(count) <= _MAX_CHUNKS:
        return [account]
    return [account] + [f"{account}:{i}" for i in range(1, int(count))]


def _apply_keyring(entry: Entry, change: KeyringAside, keyring: KeyringWriter | None) -> None:
    if keyring is None:  # preflight refuses this; kept for callers that skip it
        raise AuthdoctorError(f"authdoctor cannot reach the OS keyring from here; delete {_keyring_words(change)} by hand")
    first = keyring.get(change.service, change.account)
    if first is None:
        raise AuthdoctorError(f"the {keyring.backend} no longer has {_keyring_words(change)}; {AGAIN}", hint=_partial_hint(entry))
    for account in keyring_accounts(change.account, first):
        secret = first if account == change.account else keyring.get(change.service, account)
        if secret is None:
            continue  # a missing chunk: nothing to keep, nothing to delete
        # The journal keeps the only copy: it goes to a private backup before the entry is deleted.
        backup = entry.save_backup(secret)
        index = entry.add(
            {
                "kind": "keyring",
                "path": f"keyring: {change.service} / {account}",  # for listings; not a file
                "service": change.service,
                "account": account,
                "backend": keyring.backend,
                "before_sha256": sha256_hex(secret),
                "fingerprint": f"sha256:{sha256_hex(secret)[:8]}",
                "size_before": len(secret),
                "backup": backup,
                "status": "backed-up",
                "cures": list(change.cures),
            }
        )
        keyring.delete(change.service, account)
        entry.update(index, status="written")


def _check_tmux(change: TmuxUnset, tmux: TmuxWriter | None) -> list[str]:
    what = change.target.words()
    if tmux is None:
        return [f"authdoctor cannot reach tmux from here, so it cannot remove {what}; run `{change.target.unset_command()}`"]
    try:
        current = tmux.get(change.target)
    except AuthdoctorError as exc:
        return [f"{exc.message}; {AGAIN}"]
    if current is None:
        return [f"the tmux server no longer has {what}; {AGAIN}"]
    if sha256_hex(current) != change.sha256:
        return [f"{what} changed since authdoctor read it; {AGAIN}"]
    return []


def _apply_tmux(entry: Entry, change: TmuxUnset, tmux: TmuxWriter | None) -> None:
    problems = _check_tmux(change, tmux)
    if problems or tmux is None:
        raise AuthdoctorError(problems[0] if problems else "tmux cannot be reached", hint=_partial_hint(entry))
    value = tmux.get(change.target) or b""
    t = change.target
    # The journal keeps the only copy of the value (new panes lose it): a private backup first.
    backup = entry.save_backup(value)
    index = entry.add(
        {
            "kind": "tmux",
            "path": f"tmux: {t.words()}",  # for listings; not a file
            "program": t.program,
            "socket": str(t.socket),
            "session": t.session,
            "session_name": t.session_name,
            "name": t.name,
            "before_sha256": sha256_hex(value),
            "backup": backup,
            "status": "backed-up",
            "cures": list(change.cures),
        }
    )
    tmux.unset(t)
    entry.update(index, status="written")


def _apply_folder(entry: Entry, change: FolderAside) -> None:
    problems = _check_folder_move(change)
    if problems:
        raise AuthdoctorError(problems[0], hint=_partial_hint(entry))
    index = entry.add(
        {
            "kind": "move-folder",
            "path": str(change.path),
            "dest": str(change.dest),
            "ino": change.ino,
            "dev": change.dev,
            "holds": list(change.holds),
            "status": "backed-up",
            "cures": list(change.cures),
        }
    )
    # One rename within one folder: atomic, and the renamed folder is the backup.
    change.path.rename(change.dest)
    fsync_dir(change.path.parent)
    entry.update(index, status="written")


def _apply_registry(entry: Entry, change: RegistryDelete, registry: RegistryWriter | None) -> None:
    if registry is None:  # preflight refuses this; kept for callers that skip it
        raise AuthdoctorError(f"authdoctor cannot change the Windows registry here; remove {change.name} by hand")
    found = registry.get(change.hive, change.key, change.name)
    if found is None:
        raise AuthdoctorError(f"{change.hive}\\{change.key} no longer has {change.name}; {AGAIN}", hint=_partial_hint(entry))
    data, kind = found
    raw = data.encode("utf-8", "surrogatepass")
    backup = entry.save_backup(raw)
    index = entry.add(
        {
            "kind": "registry",
            "path": f"{change.hive}\\{change.key}\\{change.name}",  # for listings; not a file
            "hive": change.hive,
            "key": change.key,
            "name": change.name,
            "value_kind": kind,
            "before_sha256": sha256_hex(raw),
            "backup": backup,
            "status": "backed-up",
            "removes": list(change.removes),
            "cures": list(change.cures),
        }
    )
    registry.delete(change.hive, change.key, change.name)
    entry.update(index, status="written")
    registry.broadcast()


# --- helpers ------------------------------------------------------------------------------------------


def _read(path: Path) -> bytes | str:
    """The file's bytes, or why they cannot be read (a short phrase, never contents)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        return _why(exc)
    if len(data) > _MAX_FILE_BYTES:
        return "it is too large to be a start-up file"
    return data


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _owner(value: int) -> int | None:
    # Windows reports 0 for both: there is no POSIX owner to restore.
    return None if os.name == "nt" else value


def _partial_hint(entry: Entry) -> str:
    if entry.records:
        return f"what was already changed is recorded in journal entry {entry.id}; `authdoctor undo` puts it back"
    return f"nothing was changed; {AGAIN}"
