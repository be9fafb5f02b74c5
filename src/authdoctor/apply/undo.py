"""Put a journal entry back: every file byte for byte with its old mode, every moved file or folder where it was,
every keyring entry with its exact secret.

Everything is checked before anything is written: a file changed after the
fix (the person edited it, or a new ``codex login`` wrote one) makes undo
refuse as a whole, because overwriting it would lose that work.  Undo is
safe to run twice (the second run sees ``undone`` and does nothing) and
safe to re-run after a crash (each record is marked ``restored`` as it is
put back).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from authdoctor._hash import sha256_hex
from authdoctor.apply.atomic import fsync_dir, write_atomic
from authdoctor.apply.journal import LIST_HINT, record_path
from authdoctor.errors import AuthdoctorError

if TYPE_CHECKING:
    from authdoctor.apply.journal import Entry, Journal
    from authdoctor.apply.registry_writer import RegistryWriter
    from authdoctor.apply.tmux_writer import TmuxWriter
    from authdoctor.host.keyring import KeyringWriter
    from authdoctor.plan.model import TmuxTarget

_MAX_FILE_BYTES = 16 * 1024 * 1024


class Undone(NamedTuple):
    entry_id: str
    restored: tuple[str, ...]  # what was put back (paths, or HKCU\Environment\NAME), in the order it was
    already: bool  # the entry had been undone before: nothing was done


class UndoRefused(AuthdoctorError):
    """Undo would overwrite something; ``problems`` holds every reason, the message only the first."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        message, hint = problems[0]
        more = len(problems) - 1
        if more:
            message = f"{message} (and {more} more problem{'s' if more > 1 else ''})"
        super().__init__(message, hint=hint)
        self.problems = tuple(p for p, _ in problems)


class _Problem(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def undo(
    journal: Journal,
    entry_id: str | None = None,
    *,
    registry: RegistryWriter | None = None,
    keyring: KeyringWriter | None = None,
    tmux: TmuxWriter | None = None,
) -> Undone:
    """Undo entry ``entry_id`` (default: the latest one).  Raises AuthdoctorError and writes nothing when it cannot."""
    entry = journal.get(entry_id) if entry_id is not None else journal.latest()
    if entry is None:
        raise AuthdoctorError("nothing to undo: the journal holds no fix that changed anything", hint=LIST_HINT)
    if entry.state == "undone":
        return Undone(entry.id, (), already=True)
    if entry.state == "empty":
        return Undone(entry.id, (), already=False)

    # Phase 1: decide for every record, writing nothing.
    todo: list[int] = []
    problems: list[tuple[str, str]] = []
    for index, record in enumerate(entry.records):
        try:
            if _needs_restore(entry, record, registry, keyring, tmux):
                todo.append(index)
        except _Problem as problem:
            problems.append((problem.message, problem.hint))
    if problems:
        raise UndoRefused(problems)

    # Phase 2: newest change first, so a file changed twice ends at its oldest bytes.
    restored: list[str] = []
    registry_changed = False
    for index in reversed(todo):
        record = entry.records[index]
        kind = record["kind"]
        if kind == "edit":
            _restore_edit(entry, record)
        elif kind == "move":
            _restore_move(record)
        elif kind == "move-folder":
            _restore_folder(record)
        elif kind == "keyring":
            assert keyring is not None  # checked in phase 1
            _restore_keyring(entry, record, keyring)
        elif kind == "tmux":
            assert tmux is not None  # checked in phase 1
            _restore_tmux(entry, record, tmux)
        else:
            assert registry is not None  # checked in phase 1
            data, value_kind = _registry_backup(entry, record)
            registry.set(record["hive"], record["key"], record["name"], data, value_kind)
            registry_changed = True
        entry.update(index, status="restored")
        restored.append(record_path(record))
    if registry_changed and registry is not None:
        registry.broadcast()
    entry.set_state("undone")
    return Undone(entry.id, tuple(restored), already=False)


# --- phase 1: checks ---------------------------------------------------------------------------------


def _needs_restore(
    entry: Entry, record: dict[str, Any], registry: RegistryWriter | None, keyring: KeyringWriter | None, tmux: TmuxWriter | None = None
) -> bool:
    """True when ``record`` must be put back, False when there is nothing to do; _Problem when it must not be touched."""
    status = record.get("status")
    if status == "restored":
        return False
    if status not in ("written", "backed-up"):
        raise _Problem(f"journal entry {entry.id} has a record authdoctor does not understand", LIST_HINT)
    kind = record.get("kind")
    if kind == "edit":
        return _check_edit(entry, record)
    if kind == "move":
        return _check_move(entry, record)
    if kind == "registry":
        return _check_registry(entry, record, registry)
    if kind == "keyring":
        return _check_keyring(entry, record, keyring)
    if kind == "move-folder":
        return _check_folder(record)
    if kind == "tmux":
        return _check_tmux(entry, record, tmux)
    raise _Problem(f"journal entry {entry.id} has a record of an unknown kind", LIST_HINT)


def _backup_bytes(entry: Entry, record: dict[str, Any]) -> bytes:
    shown = record_path(record)
    try:
        path = entry.backup_path(str(record.get("backup")))
        data = path.read_bytes()
    except (OSError, ValueError):
        raise _Problem(
            f"the backup of {shown} in journal entry {entry.id} is missing",
            f"authdoctor cannot restore {shown} without it; look in {entry.path}",
        ) from None
    if sha256_hex(data) != record.get("before_sha256"):
        raise _Problem(
            f"the backup {path} of {shown} does not match what the journal recorded",
            "authdoctor will not restore from a damaged backup; compare it by hand",
        )
    return data


def _check_edit(entry: Entry, record: dict[str, Any]) -> bool:
    _backup_bytes(entry, record)  # refuses early when the backup is missing or damaged
    path, target = str(record["path"]), Path(record["target"])
    backup_file = entry.backup_path(record["backup"])
    by_hand = f"the version from before the fix is in {backup_file}; compare it with {target} and copy back what you need by hand"
    if target.is_symlink():
        raise _Problem(f"{target} was replaced by a symbolic link after the fix; authdoctor will not overwrite it", by_hand)
    current = _read(target)
    if current is None:
        raise _Problem(f"{path} was deleted or cannot be read since the fix; authdoctor will not recreate it", by_hand)
    digest = sha256_hex(current)
    if digest == record["after_sha256"]:
        return True
    if digest == record["before_sha256"]:
        # The fix never reached the file (a crash before the rename), or it was put back by hand.
        return False
    raise _Problem(f"{path} changed after the fix; authdoctor will not overwrite your edits", by_hand)


def _check_move(entry: Entry, record: dict[str, Any]) -> bool:
    path, dest = Path(record["path"]), Path(record["dest"])
    if os.path.lexists(path):
        current = _read(path)
        if not os.path.lexists(dest) and current is not None and sha256_hex(current) == record["before_sha256"]:
            return False  # the move never happened
        raise _Problem(
            f"{path} exists again since the fix (a new `codex login` writes one); authdoctor will not overwrite it",
            f"the file authdoctor moved aside is {dest}; to go back to it, move {path} out of the way and run `authdoctor undo` again",
        )
    moved = _read(dest)
    if moved is None or sha256_hex(moved) != record["before_sha256"]:
        raise _Problem(
            f"{dest}, where authdoctor moved {path}, is gone or changed; authdoctor will not guess",
            f"a copy of the original is in {_backup_location(entry, record)}",
        )
    return True


def _check_registry(entry: Entry, record: dict[str, Any], registry: RegistryWriter | None) -> bool:
    where = f"{record['hive']}\\{record['key']}"
    name = record["name"]
    if registry is None:
        raise _Problem(
            f"authdoctor cannot change the Windows registry here, so it cannot put {name} back into {where}",
            "run `authdoctor undo` on the Windows machine itself",
        )
    data, kind = _registry_backup(entry, record)
    try:
        current = registry.get(record["hive"], record["key"], name)
    except AuthdoctorError as exc:
        raise _Problem(exc.message, exc.hint) from None
    except OSError as exc:
        raise _Problem(f"{where} cannot be read ({exc.strerror or type(exc).__name__})", "try again, or set the value by hand") from None
    if current is None:
        return True
    if current == (data, kind):
        return False  # the delete never happened
    raise _Problem(
        f"{where} has {name} again since the fix; authdoctor will not overwrite it",
        f"the old value is in {_backup_location(entry, record)}",
    )


def _check_keyring(entry: Entry, record: dict[str, Any], keyring: KeyringWriter | None) -> bool:
    from authdoctor.host.keyring import KeyringError

    service, account = str(record["service"]), str(record["account"])
    what = f"the {service!r} keyring entry for {account}"
    if keyring is None:
        raise _Problem(
            f"authdoctor cannot reach the OS keyring from here, so it cannot put back {what}",
            "run `authdoctor undo` on that machine, in the session that has the keyring",
        )
    data = _backup_bytes(entry, record)  # refuses early when the backup is missing or damaged
    try:
        current = keyring.get(service, account)
    except KeyringError as exc:
        raise _Problem(exc.message, exc.hint or "try again once the keyring is unlocked") from None
    if current is None:
        return True
    if current == data:
        return False  # the delete never happened (a crash before it), or it was put back already
    raise _Problem(
        f"the {keyring.backend} has a new entry for {account} since the fix (a new `codex login` writes one); "
        "authdoctor will not overwrite it",
        f"the old entry is saved in {_backup_location(entry, record)}; to go back to it, remove the new entry "
        "(authdoctor never revokes a login itself) and run `authdoctor undo` again",
    )


def _check_folder(record: dict[str, Any]) -> bool:
    path, dest = Path(record["path"]), Path(record["dest"])
    ours = (record.get("ino"), record.get("dev"))
    here, there = _identity(path), _identity(dest)
    if here is not None:
        if there is None and here == ours:
            return False  # the rename never happened
        raise _Problem(
            f"{path} exists again since the fix; authdoctor will not overwrite it",
            f"the folder authdoctor moved aside is {dest}; to go back to it, move {path} out of the way and run `authdoctor undo` again",
        )
    if there != ours:
        raise _Problem(
            f"{dest}, where authdoctor moved {path}, is gone or was replaced; authdoctor will not guess",
            f"look for the folder by hand; authdoctor only ever renamed it to {dest.name}",
        )
    return True


def _identity(path: Path) -> tuple[int, int] | None:
    """``(inode, device)`` of a real folder at ``path`` (not following a link); (-1, -1) for anything else there; None when nothing is."""
    import stat

    try:
        st = path.lstat()
    except OSError:
        return None
    return (st.st_ino, st.st_dev) if stat.S_ISDIR(st.st_mode) else (-1, -1)


def _backup_location(entry: Entry, record: dict[str, Any]) -> str:
    try:
        return str(entry.backup_path(str(record.get("backup"))))
    except ValueError:
        return str(entry.path)


def _registry_backup(entry: Entry, record: dict[str, Any]) -> tuple[str, str]:
    data = _backup_bytes(entry, record).decode("utf-8", "surrogatepass")
    return data, str(record["value_kind"])


# --- phase 2: restores ---------------------------------------------------------------------------------


def _restore_edit(entry: Entry, record: dict[str, Any]) -> None:
    data = entry.read_backup(record["backup"])
    uid, gid = (None, None) if os.name == "nt" else (record.get("uid"), record.get("gid"))
    write_atomic(Path(record["target"]), data, mode=int(record["mode"]), uid=uid, gid=gid)


def _restore_move(record: dict[str, Any]) -> None:
    path, dest = Path(record["path"]), Path(record["dest"])
    # Checked in phase 1 already; again right before, since a rename would silently replace a new file.
    if os.path.lexists(path):
        raise AuthdoctorError(
            f"{path} appeared while authdoctor was undoing; authdoctor will not overwrite it",
            hint=f"the file authdoctor moved aside is still {dest}",
        )
    dest.rename(path)
    fsync_dir(path.parent)


def _restore_folder(record: dict[str, Any]) -> None:
    path, dest = Path(record["path"]), Path(record["dest"])
    # A rename would silently replace an empty folder made since phase 1: look again right before.
    if os.path.lexists(path):
        raise AuthdoctorError(
            f"{path} appeared while authdoctor was undoing; authdoctor will not overwrite it",
            hint=f"the folder authdoctor moved aside is still {dest}",
        )
    dest.rename(path)
    fsync_dir(path.parent)


def _restore_keyring(entry: Entry, record: dict[str, Any], keyring: KeyringWriter) -> None:
    service, account = str(record["service"]), str(record["account"])
    data = _backup_bytes(entry, record)
    # Checked in phase 1; again right before, since setting would replace an entry a new `codex login` just wrote.
    current = keyring.get(service, account)
    if current is not None and current != data:
        raise AuthdoctorError(
            f"the {keyring.backend} got a new entry for {account} while authdoctor was undoing; authdoctor will not overwrite it",
            hint=f"the old entry is saved in {_backup_location(entry, record)}",
        )
    if current is None:
        keyring.set(service, account, data)


def _tmux_target(record: dict[str, Any]) -> TmuxTarget:
    from authdoctor.plan.model import TmuxTarget

    session = record.get("session")
    return TmuxTarget(
        str(record["program"]),
        Path(record["socket"]),
        str(session) if session else None,
        str(record["name"]),
        str(record.get("session_name") or ""),
    )


def _check_tmux(entry: Entry, record: dict[str, Any], tmux: TmuxWriter | None) -> bool:
    target = _tmux_target(record)
    if tmux is None:
        raise _Problem(
            f"authdoctor cannot reach tmux from here, so it cannot put back {target.words()}", "run `authdoctor undo` on that machine"
        )
    data = _backup_bytes(entry, record)
    try:
        current = tmux.get(target)
    except AuthdoctorError:
        # The server has exited: its environment went with it, and no pane can get the old value any more.
        return False
    if current is None:
        return True
    if current == data:
        return False
    raise _Problem(
        f"{target.words()} was set to a new value after the fix; authdoctor will not overwrite it",
        f"the old value is saved in {_backup_location(entry, record)}",
    )


def _restore_tmux(entry: Entry, record: dict[str, Any], tmux: TmuxWriter) -> None:
    target = _tmux_target(record)
    data = _backup_bytes(entry, record)
    if tmux.get(target) is None:
        tmux.set(target, data)


def _read(path: Path) -> bytes | None:
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_FILE_BYTES + 1)
    except OSError:
        return None
    return None if len(data) > _MAX_FILE_BYTES else data
