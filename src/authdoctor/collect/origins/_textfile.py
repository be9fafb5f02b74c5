"""Reading a start-up or configuration file for an origin source, without ever failing the scan.

Shared by the non-POSIX sources (fish, PowerShell, PAM/systemd, editors,
direnv).  A file that cannot be read becomes a :class:`ScanNote` and the scan
goes on; text that is not UTF-8 is still read (byte for byte, through
``surrogateescape``) because shells read bytes, not text.  Byte offsets are kept
so a fixer can edit exactly the statement it was shown.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import Path
from typing import TYPE_CHECKING, AnyStr, Generic, NamedTuple

from authdoctor.collect.origins.model import ScanNote

if TYPE_CHECKING:
    from authdoctor.host import Host

# Start-up files are small; a huge one is not worth reading line by line.
MAX_CONFIG_BYTES = 4 * 1024 * 1024

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


class LazyRegex(Generic[AnyStr]):
    """A pattern compiled on first use.

    Every origin source is imported on every check, and most find nothing to
    read; compiling their patterns up front (about 1 ms each with IGNORECASE)
    would tax every run for files that do not exist.
    """

    __slots__ = ("_compiled", "_flags", "_pattern")

    def __init__(self, pattern: AnyStr, flags: int = 0) -> None:
        self._pattern: AnyStr = pattern
        self._flags = flags
        self._compiled: re.Pattern[AnyStr] | None = None

    def __call__(self) -> re.Pattern[AnyStr]:
        if self._compiled is None:
            self._compiled = re.compile(self._pattern, self._flags)
        return self._compiled


class TextFile(NamedTuple):
    """A decoded file and what is needed to map a character index back to bytes and lines."""

    path: Path
    text: str
    encoding: str  # "utf-8" | "utf-16-le" | "utf-16-be"
    bom: int  # bytes of byte-order mark before the text
    line_starts: tuple[int, ...]  # character index where each line starts (index 0 is line 1)

    def line_of(self, index: int) -> int:
        """1-based line number of the character at ``index``."""
        return bisect_right(self.line_starts, index)

    def byte_offset(self, index: int) -> int:
        """Byte offset in the file of the character at ``index`` (asked for a few statements, so not cached)."""
        return self.bom + _encoded_len(self.text[:index], self.encoding)

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.byte_offset(start), self.byte_offset(end)

    def line_text(self, line: int) -> str:
        """The text of one 1-based line, without its line ending."""
        if line < 1 or line > len(self.line_starts):
            return ""
        start = self.line_starts[line - 1]
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")


def _encoded_len(text: str, encoding: str) -> int:
    if not text:
        return 0
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogateescape"))
    return len(text.encode(encoding, "surrogatepass"))


def decode(path: Path, data: bytes, *, utf16: bool = False) -> tuple[TextFile, bool]:
    """Decode ``data``; the flag says whether it was valid in its encoding.

    Without ``utf16`` a UTF-16 byte-order mark is not honoured: shells and
    pam_env read bytes, so such a file is garbage to them too.
    """
    encoding, bom = "utf-8", 0
    for mark, enc in _BOMS:
        if data.startswith(mark) and (enc == "utf-8" or utf16):
            encoding, bom = enc, len(mark)
            break
    body = data[bom:]
    ok = True
    if encoding == "utf-8":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, ok = body.decode("utf-8", "surrogateescape"), False
    else:
        if len(body) % 2:
            body, ok = body[:-1], False
        text = body.decode(encoding, "surrogatepass")
    starts = [0]
    find = text.find
    i = find("\n")
    while i != -1:
        starts.append(i + 1)
        i = find("\n", i + 1)
    if starts[-1] == len(text) and len(starts) > 1:
        starts.pop()
    return TextFile(path, text, encoding, bom, tuple(starts)), ok


def read_text(
    host: Host,
    path: Path,
    notes: list[ScanNote],
    *,
    missing: str | None = None,
    utf16: bool = False,
    limit: int = MAX_CONFIG_BYTES,
) -> TextFile | None:
    """Read and decode ``path``; on failure add a note and return None.

    ``missing`` is the note's message when the file does not exist (None: a
    missing file is normal and not worth a note).
    """
    data = read_raw(host, path, notes, missing=missing, limit=limit)
    if data is None:
        return None
    tf, ok = decode(path, data, utf16=utf16)
    if not ok:
        notes.append(ScanNote(path, "not-utf8", f"{path} is not valid {tf.encoding.upper()} text; it was read byte for byte"))
    return tf


def read_raw(host: Host, path: Path, notes: list[ScanNote], *, missing: str | None = None, limit: int = MAX_CONFIG_BYTES) -> bytes | None:
    st = host.stat(path)
    if st is None:
        if missing is not None:
            notes.append(ScanNote(path, "missing", missing))
        return None
    try:
        return host.read_bytes(path, limit=limit)
    except IsADirectoryError:
        notes.append(ScanNote(path, "unreadable", f"{path} is a directory, not a file"))
    except PermissionError:
        notes.append(ScanNote(path, "unreadable", f"{path} cannot be read (permission denied), so it was not checked"))
    except ValueError:
        notes.append(ScanNote(path, "too-large", f"{path} is larger than {limit // (1024 * 1024)} MiB and was not checked"))
    except OSError as exc:
        notes.append(ScanNote(path, "unreadable", f"{path} cannot be read ({exc.strerror or type(exc).__name__}), so it was not checked"))
    return None


def list_dir(host: Host, directory: Path, suffix: str, notes: list[ScanNote]) -> list[Path]:
    """Entries of ``directory`` ending in ``suffix`` (unsorted); nothing when it does not exist."""
    st = host.stat(directory)
    if st is None:
        return []
    try:
        return [p for p in host.list_dir(directory) if p.name.endswith(suffix)]
    except NotADirectoryError:
        return []
    except OSError as exc:
        notes.append(ScanNote(directory, "unreadable", f"the folder {directory} cannot be listed ({exc.strerror or type(exc).__name__})"))
        return []


def is_regular(host: Host, path: Path) -> bool:
    """A readable-looking regular file (following symlinks); a symlink to /dev/null masks a file."""
    import stat

    st = host.stat(path)
    return st is not None and stat.S_ISREG(st.st_mode)


def xdg_config_home(host: Host) -> Path:
    raw = host.env.get("XDG_CONFIG_HOME")
    # The XDG spec ignores relative values; so do fish and systemd.
    if raw and Path(raw).is_absolute():
        return host.path(raw)
    return host.home / ".config"


def xdg_data_home(host: Host) -> Path:
    raw = host.env.get("XDG_DATA_HOME")
    if raw and Path(raw).is_absolute():
        return host.path(raw)
    return host.home / ".local" / "share"


def under_home(host: Host, path: Path) -> bool:
    try:
        path.relative_to(host.home)
    except ValueError:
        return False
    return True
