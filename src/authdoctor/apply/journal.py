"""The journal: one private folder per fix, holding the backups and a record of every change.

Layout (all 0700 folders, 0600 files)::

    <state dir>/authdoctor/journal/
        20261120T120000Z-1a2b/
            entry.json      what was done, in order: paths, hashes, sizes, modes (never contents)
            0.bak, 1.bak    the bytes each change replaced, so undo can put them back exactly

A record is written *before* its change is made (status ``backed-up``) and
updated after (``written``), and ``entry.json`` is itself replaced atomically,
so after a crash at any moment the journal says enough for ``undo`` to find
every file in either its old or its new state.

Entry states: ``pending`` (in progress, or the process died), ``applied``,
``partial`` (stopped midway by an error), ``undone``, ``empty`` (nothing to do).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeGuard

from authdoctor.apply.atomic import fsync_dir, write_atomic
from authdoctor.errors import AuthdoctorError

if TYPE_CHECKING:
    from authdoctor.host import Host

STATES = frozenset({"pending", "applied", "partial", "undone", "empty"})
# States that ``latest`` (and so a bare ``authdoctor undo``) considers.
UNDOABLE_STATES = frozenset({"applied", "undone", "pending", "partial"})
ENTRY_FILE = "entry.json"
FORMAT_VERSION = 1
LIST_HINT = "`authdoctor undo --list` shows the journal"

_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")
_BACKUP_RE = re.compile(r"^(\d+)\.bak$")
# A corrupt journal must not make us read a huge file into memory.
_MAX_ENTRY_BYTES = 8 * 1024 * 1024


def journal_root(host: Host) -> Path:
    """Where the journal lives: the per-user state directory, or the equivalent inside ``--home``."""
    return _state_dir(host) / "authdoctor" / "journal"


def _state_dir(host: Host) -> Path:
    env = host.env
    # Outside a --home run the environment describes host.home; with --home it
    # describes the real user, whose state directory must not hold another home's journal.
    own_home = (env.get("HOME") or env.get("USERPROFILE")) == str(host.home)
    if host.is_windows:
        import ntpath

        local = env.get("LOCALAPPDATA", "")
        if own_home and local and ntpath.isabs(local):
            return Path(local)
        return host.home / "AppData" / "Local"
    if host.platform == "darwin":
        return host.home / "Library" / "Application Support"
    xdg = env.get("XDG_STATE_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    if xdg and Path(xdg).is_absolute() and env.get("HOME") == str(host.home):
        return Path(xdg)
    return host.home / ".local" / "state"


class EntrySummary(NamedTuple):
    """One line of ``authdoctor undo --list``.  ``problem`` is set when the entry cannot be read."""

    id: str
    created: str
    state: str
    cures: tuple[str, ...]
    paths: tuple[str, ...]
    problem: str | None = None


def record_path(record: dict[str, Any]) -> str:
    """What a record changed, for people: a file path, or ``HKCU\\Environment\\NAME``."""
    if record.get("kind") == "registry":
        return f"{record.get('hive')}\\{record.get('key')}\\{record.get('name')}"
    return str(record.get("path", "?"))


class Entry:
    """A mutable handle on one entry folder; every mutation rewrites ``entry.json`` atomically."""

    __slots__ = ("command", "created", "cures", "id", "path", "records", "seq", "state", "tool_version")

    def __init__(
        self,
        path: Path,
        *,
        state: str,
        created: str,
        cures: tuple[str, ...],
        records: list[dict[str, Any]],
        command: str = "fix",
        tool_version: str = "",
        seq: int = 0,
    ) -> None:
        self.id = path.name
        self.path = path
        self.state = state
        self.created = created
        self.cures = cures
        self.records = records
        self.command = command
        self.tool_version = tool_version
        self.seq = seq

    # --- reading ------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> Entry:
        """Read an entry folder.  Raises ValueError (saying what is wrong, never quoting the file) or OSError."""
        with (path / ENTRY_FILE).open("rb") as fh:
            raw = fh.read(_MAX_ENTRY_BYTES + 1)
        if len(raw) > _MAX_ENTRY_BYTES:
            raise ValueError(f"{ENTRY_FILE} is too large to be a journal entry")
        try:
            doc = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            # Only the position: the message of a decode error can quote the text.
            where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise ValueError(f"{ENTRY_FILE} is not valid JSON{where}") from None
        if not isinstance(doc, dict):
            raise ValueError(f"{ENTRY_FILE} is not a JSON object")
        if doc.get("version") != FORMAT_VERSION:
            raise ValueError(f"{ENTRY_FILE} has an unknown format version")
        state = doc.get("state")
        if state not in STATES:
            raise ValueError(f"{ENTRY_FILE} has an unknown state")
        created = doc.get("created")
        cures = doc.get("cures")
        records = doc.get("records")
        if not isinstance(created, str) or not _str_list(cures) or not isinstance(records, list):
            raise ValueError(f"{ENTRY_FILE} is missing fields")
        if not all(isinstance(r, dict) for r in records):
            raise ValueError(f"{ENTRY_FILE} has a malformed record")
        seq = doc.get("seq", 0)
        return cls(
            path,
            state=str(state),
            created=created,
            cures=tuple(cures),
            records=records,
            command=str(doc.get("command", "fix")),
            tool_version=str(doc.get("tool_version", "")),
            seq=seq if isinstance(seq, int) else 0,
        )

    def summary(self) -> EntrySummary:
        return EntrySummary(self.id, self.created, self.state, self.cures, tuple(record_path(r) for r in self.records))

    def backup_path(self, name: str) -> Path:
        """The backup file ``name`` of this entry; ValueError for anything that is not ``<n>.bak``."""
        if not _BACKUP_RE.match(name):
            raise ValueError("not a backup file name")
        return self.path / name

    def read_backup(self, name: str) -> bytes:
        return self.backup_path(name).read_bytes()

    # --- writing ------------------------------------------------------------

    def save_backup(self, data: bytes) -> str:
        """Store ``data`` as the next ``<n>.bak`` (0600, flushed to disk) and return its name."""
        n = self._next_backup_number()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
        while True:
            name = f"{n}.bak"
            try:
                fd = os.open(self.path / name, flags, 0o600)
                break
            except FileExistsError:
                n += 1
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            # A half-written backup is worse than none: undo would trust it.
            (self.path / name).unlink(missing_ok=True)
            raise
        fsync_dir(self.path)
        return name

    def add(self, record: dict[str, Any]) -> int:
        self.records.append(dict(record))
        try:
            self._save()
        except BaseException:
            self.records.pop()
            raise
        return len(self.records) - 1

    def update(self, index: int, **fields: Any) -> None:
        old = dict(self.records[index])
        self.records[index].update(fields)
        try:
            self._save()
        except BaseException:
            self.records[index] = old
            raise

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown journal state {state!r}")
        old, self.state = self.state, state
        try:
            self._save()
        except BaseException:
            self.state = old
            raise

    def discard(self) -> None:
        """Remove an entry that recorded nothing (a refusal before the first change).  Only such entries."""
        if self.records:
            raise ValueError("an entry with records is history and is never removed")
        for child in self.path.iterdir():
            child.unlink()
        self.path.rmdir()
        fsync_dir(self.path.parent)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "id": self.id,
            "seq": self.seq,
            "created": self.created,
            "tool_version": self.tool_version,
            "command": self.command,
            "state": self.state,
            "cures": list(self.cures),
            "records": self.records,
        }

    def _save(self) -> None:
        data = json.dumps(self.to_json(), indent=2, sort_keys=False).encode("utf-8") + b"\n"
        write_atomic(self.path / ENTRY_FILE, data, mode=0o600)

    def _next_backup_number(self) -> int:
        numbers = [int(m.group(1)) for p in self.path.iterdir() if (m := _BACKUP_RE.match(p.name))]
        return max(numbers, default=-1) + 1


class Journal:
    """All entries under one root (see :func:`journal_root`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def begin(self, *, cures: Sequence[str], now: datetime, command: str = "fix") -> Entry:
        """Open a new entry (state ``pending``), creating the private journal folders if needed."""
        self._ensure_private(self.root.parent)
        self._ensure_private(self.root)
        when = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        stamp = when.strftime("%Y%m%dT%H%M%SZ")
        # Entries made within one second (tests, scripts) are still ordered by seq.
        seq = max((s.seq for s in self._loaded()), default=0) + 1
        while True:
            path = self.root / f"{stamp}-{os.urandom(2).hex()}"
            try:
                path.mkdir(mode=0o700)
                break
            except FileExistsError:
                continue
        entry = Entry(
            path,
            state="pending",
            created=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            cures=tuple(cures),
            records=[],
            command=command,
            tool_version=_tool_version(),
            seq=seq,
        )
        try:
            _private(path)
            entry._save()
            fsync_dir(self.root)
        except BaseException:
            # An entry folder without a readable entry.json would only clutter `undo --list`.
            with contextlib.suppress(Exception):
                entry.discard()
            raise
        return entry

    def entries(self) -> list[EntrySummary]:
        """Every entry, newest first.  Never raises: an entry that cannot be read says why in ``problem``."""
        out: list[tuple[tuple[str, int, str], EntrySummary]] = []
        for path in self._entry_dirs():
            try:
                entry = Entry.load(path)
            except FileNotFoundError:
                out.append((_order(path.name, 0), _broken(path, f"{ENTRY_FILE} is missing")))
            except OSError as exc:
                out.append((_order(path.name, 0), _broken(path, f"{ENTRY_FILE} cannot be read ({exc.strerror or type(exc).__name__})")))
            except ValueError as exc:
                out.append((_order(path.name, 0), _broken(path, str(exc))))
            else:
                out.append((_order(entry.id, entry.seq), entry.summary()))
        out.sort(key=lambda pair: pair[0], reverse=True)
        return [summary for _, summary in out]

    def get(self, entry_id: str) -> Entry:
        if not _ID_RE.match(entry_id):
            # Not echoed: whatever was typed is not an entry id and could be anything.
            raise AuthdoctorError("that is not a journal entry id (they look like 20261120T120000Z-1a2b)", hint=LIST_HINT)
        path = self.root / entry_id
        if not path.is_dir():
            raise AuthdoctorError(f"there is no journal entry {entry_id} in {self.root}", hint=LIST_HINT)
        try:
            return Entry.load(path)
        except FileNotFoundError:
            raise AuthdoctorError(f"journal entry {entry_id} has no {ENTRY_FILE}", hint=LIST_HINT) from None
        except OSError as exc:
            raise AuthdoctorError(
                f"journal entry {entry_id} cannot be read ({exc.strerror or type(exc).__name__})", hint=LIST_HINT
            ) from None
        except ValueError as exc:
            raise AuthdoctorError(f"journal entry {entry_id} is damaged: {exc}", hint=LIST_HINT) from None

    def latest(self) -> Entry | None:
        """The newest entry that did (or tried to do) something; ``empty`` and unreadable entries are skipped."""
        for summary in self.entries():
            if summary.problem is None and summary.state in UNDOABLE_STATES:
                return Entry.load(self.root / summary.id)
        return None

    # --- helpers ------------------------------------------------------------

    def _entry_dirs(self) -> list[Path]:
        try:
            children = list(self.root.iterdir())
        except OSError:
            return []
        return [p for p in children if _ID_RE.match(p.name) and p.is_dir()]

    def _loaded(self) -> list[Entry]:
        out = []
        for path in self._entry_dirs():
            try:
                out.append(Entry.load(path))
            except (OSError, ValueError):
                continue
        return out

    @staticmethod
    def _ensure_private(path: Path) -> None:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        _private(path)


def _private(path: Path) -> None:
    # mkdir's mode is filtered by the umask, and an existing folder may have been
    # made by something else: backups must not be readable by anyone but the owner.
    if os.name == "nt":
        return  # POSIX bits mean nothing there; the profile folder's ACL is private already
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o700)


def _order(entry_id: str, seq: int) -> tuple[str, int, str]:
    return (entry_id.split("-", 1)[0], seq, entry_id)


def _broken(path: Path, problem: str) -> EntrySummary:
    stamp = path.name.split("-", 1)[0]
    created = f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"
    return EntrySummary(path.name, created, "unknown", (), (), problem)


def _str_list(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _tool_version() -> str:
    from authdoctor import __version__

    return __version__
