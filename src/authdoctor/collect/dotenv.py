"""Read ``$CODEX_HOME/.env``, which Codex loads with dotenvy at start-up.

Codex exports every key except those starting with ``CODEX_``, *overriding* the
value inherited from the shell -- unlike most ``.env`` loaders.

The parser below follows dotenvy 0.15.7 (``iter.rs`` and ``parse.rs``) as
Codex drives it: ``dotenvy::from_path_iter(path)`` iterated with
``.flatten()``, so a line dotenvy cannot parse is skipped silently and the
lines after it still apply.  That matters for a few quirks worth knowing:

* the iterator never strips a UTF-8 byte-order mark (only ``load()`` does), so
  with a BOM the first line is unparsable and skipped;
* a line that is not UTF-8 is skipped on its own, not the whole file;
* quoted values may span lines; an unquoted value ends at whitespace, and
  anything after that whitespace other than a ``#`` comment spoils the line;
* ``$NAME`` and ``${NAME}`` are substituted (outside single quotes) from the
  environment Codex inherited plus the keys exported so far, then from keys
  seen earlier in the file; ``$NAME`` stops at the first non-alphanumeric
  character, so ``$MY_KEY`` is ``$MY`` followed by ``_KEY``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum, auto
from pathlib import Path
from typing import NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.collect.evidence import DotenvEntry, DotenvEvidence, Problem
from authdoctor.host import Host
from authdoctor.secret import Secret

_BOM = "\ufeff"
# Rust's char::is_whitespace (the Unicode White_Space property); Python's
# str.isspace() differs on a few control characters.
_WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_MAX_LISTED = 10


def collect_dotenv(host: Host, codex_home: Path) -> DotenvEvidence:
    path = codex_home / K.DOTENV_FILENAME
    st = host.stat(path)
    if st is None:
        return DotenvEvidence(path=path, exists=False)
    try:
        data = host.read_bytes(path)
    except IsADirectoryError:
        return DotenvEvidence(path, True, Problem("not-a-file", "it is a directory"))
    except (OSError, ValueError) as exc:
        if isinstance(exc, PermissionError):
            reason = "permission denied"
        elif isinstance(exc, OSError):
            reason = exc.strerror or type(exc).__name__
        else:
            reason = str(exc)
        return DotenvEvidence(path, True, Problem("unreadable", f"it cannot be read ({reason})"))
    parsed = parse_dotenv(path, data, host.env)
    entries = tuple(e._replace(differs_from_shell=e.applies and host.getenv(e.key) != e.value.reveal()) for e in parsed.entries)
    return parsed._replace(entries=entries)


# --- dotenvy's line splitter (iter.rs ``QuotedLines``) -----------------------


class _State(Enum):
    COMPLETE = auto()
    ESCAPE = auto()
    STRONG_OPEN = auto()
    STRONG_OPEN_ESCAPE = auto()
    WEAK_OPEN = auto()
    WEAK_OPEN_ESCAPE = auto()
    COMMENT = auto()
    WHITESPACE = auto()


def _eval_end_state(state: _State, chunk: str) -> tuple[int, _State]:
    """The state after ``chunk``; for a comment, also where it starts."""
    for pos, c in enumerate(chunk):
        if state is _State.WHITESPACE:
            if c == "#":
                return pos, _State.COMMENT
            state = {"\\": _State.ESCAPE, '"': _State.WEAK_OPEN, "'": _State.STRONG_OPEN}.get(c, _State.COMPLETE)
        elif state is _State.ESCAPE:
            state = _State.COMPLETE
        elif state is _State.COMPLETE:
            if c in _WS and c not in "\n\r":
                state = _State.WHITESPACE
            else:
                state = {"\\": _State.ESCAPE, '"': _State.WEAK_OPEN, "'": _State.STRONG_OPEN}.get(c, _State.COMPLETE)
        elif state is _State.WEAK_OPEN:
            state = {"\\": _State.WEAK_OPEN_ESCAPE, '"': _State.COMPLETE}.get(c, _State.WEAK_OPEN)
        elif state is _State.WEAK_OPEN_ESCAPE:
            state = _State.WEAK_OPEN
        elif state is _State.STRONG_OPEN:
            state = {"\\": _State.STRONG_OPEN_ESCAPE, "'": _State.COMPLETE}.get(c, _State.STRONG_OPEN)
        elif state is _State.STRONG_OPEN_ESCAPE:
            state = _State.STRONG_OPEN
    return len(chunk), state


class _Logical(NamedTuple):
    line: int  # 1-based number of its first physical line
    text: str | None  # None: dotenvy returns an error for it
    reason: str = ""


def _physical_lines(data: bytes) -> list[bytes]:
    """Like repeated ``BufRead::read_line``: split after each ``\\n`` only."""
    parts = data.split(b"\n")
    lines = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _logical_lines(data: bytes) -> Iterator[_Logical]:
    physical = _physical_lines(data)
    i = 0
    while i < len(physical):
        start = i + 1
        buf = ""
        state = _State.COMPLETE
        while True:
            if i >= len(physical):
                # End of file in the middle of a logical line.
                if state in (_State.WHITESPACE, _State.ESCAPE):
                    why = "the last line ends in a space or a backslash without a newline after it"
                else:
                    why = "a quoted value is never closed"
                yield _Logical(start, None, why)
                return
            chunk = physical[i]
            i += 1
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError:
                # read_line fails and drops what it had gathered; the next
                # call starts afresh on the following line.
                yield _Logical(i, None, "it is not UTF-8 text")
                if start != i:
                    yield _Logical(start, None, "a quoted value runs into a line that is not UTF-8")
                break
            buf_pos = len(buf)
            buf += text
            if buf.lstrip(_WS).startswith("#"):
                yield _Logical(start, "")
                break
            pos, state = _eval_end_state(state, buf[buf_pos:])
            if state is _State.COMPLETE:
                if buf.endswith("\n"):
                    buf = buf[:-1]
                    if buf.endswith("\r"):
                        buf = buf[:-1]
                yield _Logical(start, buf)
                break
            if state is _State.COMMENT:
                yield _Logical(start, buf[: buf_pos + pos])
                break


# --- dotenvy's line parser (parse.rs ``LineParser`` and ``parse_value``) --------


class _LineError(Exception):
    """dotenvy's ``Error::LineParse``.  Carries no content."""


def _parse_key(s: str) -> tuple[str, str]:
    if not s or not (s[0] == "_" or (s[0].isascii() and s[0].isalpha())):
        raise _LineError
    end = 0
    while end < len(s) and (s[end] in "_." or (s[end].isascii() and s[end].isalnum())):
        end += 1
    return s[:end], s[end:]


def _expect_equal(s: str) -> str:
    if not s.startswith("="):
        raise _LineError
    return s[1:]


class _Substitutions:
    """Where ``$NAME`` comes from: the live environment first, then earlier keys of the file."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.live: dict[str, str] = dict(env)
        self.seen: dict[str, str | None] = {}

    def lookup(self, name: str) -> str:
        if name and name in self.live:
            return self.live[name]
        return self.seen.get(name) or ""


def _parse_value(value: str, subs: _Substitutions) -> str:
    strong = weak = escaped = expecting_end = False
    out: list[str] = []
    mode = "none"  # "none" | "block" ($NAME) | "braced" (${NAME})
    name: list[str] = []
    for c in value:
        if expecting_end:
            if c in " \t":
                continue
            if c == "#":
                break
            raise _LineError
        if escaped:
            if c in "\\'\"$ ":
                out.append(c)
            elif c == "n":
                out.append("\n")
            else:
                raise _LineError
            escaped = False
        elif strong:
            if c == "'":
                strong = False
            else:
                out.append(c)
        elif mode != "none":
            if c.isalnum():
                name.append(c)
            elif mode == "block":
                if c == "{" and not name:
                    mode = "braced"
                else:
                    out.append(subs.lookup("".join(name)))
                    name.clear()
                    if c == "$":
                        mode = "block"
                    else:
                        # dotenvy appends this character literally, even a
                        # closing quote: `"$FOO"` is therefore an error.
                        mode = "none"
                        out.append(c)
            elif c == "}":
                mode = "none"
                out.append(subs.lookup("".join(name)))
                name.clear()
            else:
                name.append(c)
        elif c == "$":
            mode = "block"
        elif weak:
            if c == '"':
                weak = False
            elif c == "\\":
                escaped = True
            else:
                out.append(c)
        elif c == "'":
            strong = True
        elif c == '"':
            weak = True
        elif c == "\\":
            escaped = True
        elif c in " \t":
            expecting_end = True
        else:
            out.append(c)
    if mode == "braced" or strong or weak:
        raise _LineError
    out.append(subs.lookup("".join(name)))
    return "".join(out)


def _parse_line(line: str, subs: _Substitutions) -> tuple[str, str] | None:
    s = line.rstrip(_WS).lstrip(_WS)
    if not s or s.startswith("#"):
        return None
    key, s = _parse_key(s)
    s = s.lstrip(_WS)
    if key == "export" and not s.startswith("="):
        # `export` is either a prefix or a key of its own.
        key, s = _parse_key(s)
        s = s.lstrip(_WS)
    s = _expect_equal(s).lstrip(_WS)
    if not s or s.startswith("#"):
        subs.seen[key] = None
        return key, ""
    value = _parse_value(s, subs)
    subs.seen[key] = value
    return key, value


def parse_dotenv(path: Path, data: bytes, env: Mapping[str, str] | None = None) -> DotenvEvidence:
    """Parse ``.env`` bytes as Codex does.  ``env`` is the inherited environment, for ``$NAME``.

    Problem messages name line numbers and reasons, never content.
    """
    subs = _Substitutions(env or {})
    entries: list[DotenvEntry] = []
    bad: list[tuple[int, str]] = []
    for logical in _logical_lines(data):
        if logical.text is None:
            bad.append((logical.line, logical.reason))
            continue
        try:
            parsed = _parse_line(logical.text, subs)
        except _LineError:
            rest = logical.text.removeprefix(_BOM).strip(_WS)
            if logical.line == 1 and logical.text.startswith(_BOM):
                if rest and not rest.startswith("#"):
                    bad.append((1, "it starts with a UTF-8 byte-order mark (BOM)"))
            else:
                bad.append((logical.line, "it is not KEY=VALUE" if "=" not in logical.text else "its value cannot be parsed"))
            continue
        if parsed is None:
            continue
        key, value = parsed
        applies = K.dotenv_key_applies(key)
        if applies:
            # Codex exports each key before the next line is parsed.
            subs.live[key] = value
        entries.append(DotenvEntry(key=key, value=Secret(value), line=logical.line, applies=applies))
    problem = Problem("unparsable", _describe_bad(sorted(bad))) if bad else None
    return DotenvEvidence(path, True, problem, tuple(entries))


def _describe_bad(bad: list[tuple[int, str]]) -> str:
    shown = "; ".join(f"line {n}: {why}" for n, why in bad[:_MAX_LISTED])
    more = f"; and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
    what = "this line" if len(bad) == 1 else "these lines"
    return f"Codex skips {what} ({shown}{more})"
