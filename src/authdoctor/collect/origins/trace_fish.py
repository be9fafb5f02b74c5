"""The dynamic trace for fish: run the real fish on its real start-up files and watch what it sets.

``trace.py`` does this for bash and zsh with xtrace and a file:line ``PS4``.
fish 3.6 has neither: its only trace is ``fish_trace``, which prints every
command it runs, after expansion, prefixed by one ``-`` per nesting level and
a ``>``::

    > source /usr/share/fish/config.fish        fish's own start-up
    ---> source /home/me/.config/fish/conf.d/a.fish
    -----> set -gx CODEX_ACCESS_TOKEN tok
    > source /home/me/.config/fish/config.fish
    --> setit                                   a function call
    ----> set -gx OPENAI_API_KEY …              its body: two levels deeper

What we rely on (all checked against fish 3.6):

- ``fish --debug-output=FILE`` sends the trace to FILE instead of stderr.  We
  point it at a pipe of our own (``/dev/fd/N``), so what start-up files print
  on stderr never mixes with the trace: printing cannot fake a record (stderr
  goes to /dev/null).  Each record is one line: fish escapes every argument
  (``\\n``, ``\\Xhh`` for bytes that are not UTF-8, ``'…'`` for spaces), so
  only lines of the shape ``-*> …`` are read, and nothing after our own
  command begins.
- ``fish -l -i -c CMD`` reads the same files as a terminal's login shell
  (``status is-login`` and ``is-interactive`` are both true) and shows no
  prompt, so nothing interactive runs.
- Nesting: the contents of a ``source``d file come 2 levels below the
  ``source`` record (fish's own ``> source`` of its config files included),
  an ``eval``'s 1 below, a function body 2 below its call, a block's body
  (``if``/``for``/``switch``/``begin``) 1 below its head; a command
  substitution runs 1 level below, *before* the command that uses it.  An
  autoloaded function shows as a ``source`` of its file just before the call.
- ``exit`` in a start-up file (or a function it calls) ends that file only:
  fish goes on with the rest of its start-up, in a terminal too.  ``exec PROG``
  is never traced (the shell is gone before it could be): a start-up that ends
  without our report is searched for the ``exec`` after the last line run.

fish gives no line numbers, so each record that matters is placed by matching
it against the statements of its file, read with the static fish reader's
tokenizer (``_fishlang``): the same command word, the same literal words up
to the first one that expands, the same block level, searched from the last
statement matched onwards (so a loop or a repeated line finds the right one).
Code that no file holds is placed where a person can act on it: what ``eval``
runs on the eval line (blocker ``eval``), a ``source (… | psub)`` or ``… |
source`` on that line (``generated``), and the body of a function defined in a
system file (``export``, ``setenv``, anything under /usr/share/fish) on the line
that calls it.  A function defined in one of the person's own files (config.fish,
``~/.config/fish/functions``) is placed in its body, like ``trace.py`` does.

Universal variables (``fish_variables``) are in effect before any file runs;
they are read before fish starts (fish may rewrite the file) and listed first,
as settings of that file, exactly as ``fish.py`` names them.  As there, the
per-variable layer that decides what children get (an exported global, or else
the universal variable) is listed last, so :func:`~.model.winner` is right.

The command fish finally runs stops the trace (``set -e fish_trace``) and
writes, with builtins only and between markers holding a random nonce, the
exported value of each watched variable as a child process would get it
(including fish's quirk where an unexported global does not hide an exported
universal variable).  Where our reading disagrees, that value wins and a
``trace-mismatch`` note says so.

Secrets: the trace prints every value.  Records are read one at a time and
dropped; values of watched variables go straight into :class:`Secret`;
``Setting.text`` is always redacted.  The words of a ``source``/``eval``/call
record are kept, sealed, only while what it started is running (to place it
later); the last record only until the next one arrives (to say where a hang
happened).

Known limits: ``fish_trace`` is exported, so a fish *child* process a start-up
file runs traces itself to its own stderr (which is /dev/null unless that file
redirects it, e.g. into a log); fish does not trace event handlers
(``--on-variable``), so what they set, and anything set after a start-up file
turns ``fish_trace`` off, is seen only in the final values (placed at the home
folder, line 0, with a note).  ``read`` is placed on its line, its value comes
from the final values.
"""

from __future__ import annotations

import os
import re
import shutil
from bisect import bisect_left
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, cast

from authdoctor.collect.origins import _fishlang as FL
from authdoctor.collect.origins import trace as _trace
from authdoctor.collect.origins._textfile import read_text, xdg_config_home, xdg_data_home
from authdoctor.collect.origins.model import EXPORT, SET, UNSET, OriginScan, ScanNote, Setting, Trail, winner
from authdoctor.secret import Secret

if TYPE_CHECKING:
    import threading

    from authdoctor.collect.origins._fishlang import _Word
    from authdoctor.host import Host

SOURCE_NAME = _trace.SOURCE_NAME
FAMILY = _trace.FAMILY
LOGIN_INTERACTIVE = _trace.LOGIN_INTERACTIVE
INTERACTIVE = _trace.INTERACTIVE
LOGIN = _trace.LOGIN
MODES = _trace.MODES
DEFAULT_TIMEOUT = _trace.DEFAULT_TIMEOUT
_FLAGS = {LOGIN_INTERACTIVE: ("-l", "-i"), INTERACTIVE: ("-i",), LOGIN: ("-l",)}

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INDEXED = re.compile(r"([A-Za-z0-9_]+)\[(.*)\]\Z", re.DOTALL)
_SIMPLE_INDEX = re.compile(r"-?[0-9]+\Z")
# Files whose contents a program produced: psub's temporary files and pipes.
_GENERATED_RE = re.compile(r"/dev/fd/\d+|/proc/(?:self|\d+)/fd/\d+|/dev/stdin|.*/\.psub\.[^/]+(?:/[^/]*)?\Z")
_GLOBAL, _UNIVERSAL = "global", "universal"
# Functions fish ships that only wrap `set -gx`: their call line is the statement itself.
_SETTERS = frozenset({"export", "setenv"})
# Words before a command that fish does not trace (and/or/not decorate; command/builtin choose).
_DECORATORS = frozenset({"and", "or", "not", "!", "builtin", "command", "time"})
_BLOCKS = frozenset({"if", "while", "for", "switch", "function", "begin"})
# How far after the last line run an `exec` may be and still explain the end of the shell.
_EXEC_LOOKAHEAD = 64
# The end of the start-up: the first command of ours (depth 1), which also stops the trace.
_DONE = b"set -e fish_trace"
# Commands read beyond their first word (besides calls of functions defined so far).
_HANDLED = frozenset({b"source", b".", b"eval", b"function", b"set", b"read", b"exit"})

# `set`'s options, as the static reader knows them.
_SET_SHORT = FL._SET_SHORT
_SET_LONG = FL._SET_LONG
# `read` options that take a value (the prompt, a delimiter …): that word is not a variable name.
_READ_SHORT_VALUE = frozenset("pPRcnd")
_READ_LONG_VALUE = frozenset({"prompt", "prompt-str", "right-prompt", "command", "nchars", "delimiter"})


# --- public API ----------------------------------------------------------------------


def trace_fish(host: Host, shell: str, mode: str, names: frozenset[str], timeout: float = DEFAULT_TIMEOUT) -> OriginScan:
    """Start fish (a name or a path) in ``mode`` on the host's start-up files and trace it with ``fish_trace``."""
    if mode not in MODES:
        raise ValueError(f"unknown trace mode {mode!r}; expected one of {', '.join(MODES)}")
    kind = Path(shell).name
    if kind != "fish":
        raise ValueError(f"cannot trace {kind!r} with the fish tracer")
    watched = frozenset(n for n in names if _NAME_RE.match(n))
    context = f"fish {mode} shell (traced)"
    if not watched:
        return OriginScan(SOURCE_NAME, (Trail(context, ()),))
    env = _trace.trace_env(host, kind, shell)
    path = shell if os.sep in shell else shutil.which(shell, path=env.get("PATH") or os.defpath)
    if not path or host.stat(Path(path)) is None:
        note = ScanNote(Path(shell), "missing", "fish is not installed here (not found on PATH), so its start-up was not traced")
        return OriginScan(SOURCE_NAME, (Trail(context, ()),), (note,))
    plan = _plan(path, mode, watched, env, os.urandom(4).hex())
    return _execute(host, plan, watched, timeout, context)


def _plan(path: str, mode: str, names: frozenset[str], env: dict[str, str], nonce: str) -> _trace._Plan:
    """The fish command line: trace to our pipe (``{fd}``, filled in by ``trace._run``), then report."""
    loop = " ".join(sorted(names))
    out = ">&{fd}"
    # `set -qgx`: an exported global is what children get.  Otherwise an exported
    # universal variable is, even under an unexported global of the same name
    # (fish's export quirk): drop the global to read the universal value.
    command = (
        "set -e fish_trace; "
        f"printf '\\x1e%sR' {nonce} {out}; "
        f"for __authdoctor_n in {loop}; "
        f"if set -qgx $__authdoctor_n; printf '%s\\0%s\\0' $__authdoctor_n \"$$__authdoctor_n\" {out}; "
        "else if set -qUx $__authdoctor_n; set -qg $__authdoctor_n; and set -eg $__authdoctor_n; "
        f"printf '%s\\0%s\\0' $__authdoctor_n \"$$__authdoctor_n\" {out}; end; end; "
        f"printf '\\x1e%sE\\n' {nonce} {out}"
    )
    argv = (path, "--debug-output=/dev/fd/{fd}", *_FLAGS[mode], "-c", command)
    return _trace._Plan("fish", argv, {**env, "fish_trace": "1"}, b"\x1e" + nonce.encode(), False, _trace._TRACE_FD_MIN)


def _execute(host: Host, plan: _trace._Plan, names: frozenset[str], timeout: float, context: str) -> OriginScan:
    reader = _FishReader(host, names, plan.start)
    reader.start_prefetch()
    # trace._run only calls feed() and sets pid: any reader with both will do.
    outcome = _trace._run(plan, host, timeout, cast("_trace._TraceReader", reader))
    reader.close()
    notes = reader.notes(outcome, timeout)
    return OriginScan(SOURCE_NAME, (Trail(context, tuple(reader.settings), tuple(reader.files)),), tuple(notes))


# --- reading fish's escaping ---------------------------------------------------------

_BACKSLASH = {ord("n"): 10, ord("t"): 9, ord("b"): 8, ord("r"): 13, ord("e"): 27, ord("a"): 7, ord("f"): 12, ord("v"): 11}
_HEX = frozenset(b"0123456789abcdefABCDEF")


def _words(text: bytes) -> list[str]:
    """Split one traced command into its arguments, undoing fish's ``escape_string``.

    fish quotes an argument with '…' only when nothing inside needs a
    backslash; otherwise it escapes: ``\\n \\t \\b \\r \\e``, ``\\cX`` (control
    characters), ``\\xHH`` (characters), ``\\XHH`` (bytes that are not UTF-8),
    and a backslash before any other character stands for that character.
    """
    words: list[str] = []
    cur = bytearray()
    in_word = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == 0x20:
            if in_word:
                words.append(cur.decode("utf-8", "surrogateescape"))
                cur, in_word = bytearray(), False
            i += 1
            continue
        in_word = True
        if c == 0x27:  # '
            j = text.find(b"'", i + 1)
            j = n if j < 0 else j
            cur += text[i + 1 : j]
            i = j + 1
        elif c == 0x5C and i + 1 < n:  # backslash
            e = text[i + 1]
            i += 2
            if e in _BACKSLASH:
                cur.append(_BACKSLASH[e])
            elif e == 0x63 and i < n:  # \cX
                cur.append(text[i] & 0x1F)
                i += 1
            elif e in (0x78, 0x58, 0x75, 0x55):  # \xHH \XHH \uHHHH \UHHHHHHHH
                width = {0x78: 2, 0x58: 2, 0x75: 4, 0x55: 8}[e]
                j = i
                while j < n and j < i + width and text[j] in _HEX:
                    j += 1
                if j == i:
                    cur.append(e)
                    continue
                code = int(text[i:j], 16)
                i = j
                if e == 0x58 or (e == 0x78 and code > 0x7F):
                    cur.append(code & 0xFF)  # a raw byte
                else:
                    cur += chr(min(code, 0x10FFFF)).encode("utf-8", "surrogatepass")
            else:
                cur.append(e)
        else:
            cur.append(c)
            i += 1
    if in_word:
        words.append(cur.decode("utf-8", "surrogateescape"))
    return words


class _Sealed:
    """Words of a record, kept only while what it started runs; never printed."""

    __slots__ = ("words",)

    def __init__(self, words: list[str]) -> None:
        self.words = words

    def __repr__(self) -> str:
        return "<sealed trace record>"


# --- the statements of a file --------------------------------------------------------


class _Stmt(NamedTuple):
    line: int  # 1-based line the statement starts on
    level: int  # open blocks around it (in a function: counted from inside the function)
    owner: int  # index of the `function` statement whose body holds it, or -1
    head: str  # the command fish traces ("" for block keywords and expanded command words)
    words: tuple[_Word, ...]  # from the command word on, without decorators and redirections


class _FileIndex:
    """A file's statements, as fish traces them, to place a record on its line."""

    def __init__(self, stmts: list[_Stmt], functions: dict[str, int]) -> None:
        self.stmts = stmts
        self.functions = functions
        self.by_head: dict[str, list[int]] = {}
        for k, st in enumerate(stmts):
            if st.head:
                self.by_head.setdefault(st.head, []).append(k)

    @classmethod
    def build(cls, text: str, line_of: _LineOf) -> _FileIndex:
        stmts: list[_Stmt] = []
        functions: dict[str, int] = {}
        blocks: list[tuple[str, int]] = []  # (keyword, statement index)
        for st in FL.tokenize(text):
            words = _strip(list(st.words))
            if not words:
                continue
            words = [words[0], *FL._arguments(words)]
            first = words[0].text if words[0].literal and not words[0].quoted else ""
            owner = next((k for kw, k in reversed(blocks) if kw == "function"), -1)
            inner = next((i for i in range(len(blocks) - 1, -1, -1) if blocks[i][0] == "function"), -1)
            level = len(blocks) - inner - 1
            head = first
            if first == "end":
                if blocks:
                    blocks.pop()
                level = max(0, level - 1)
                head = ""
            elif first in ("if", "while"):
                blocks.append((first, len(stmts)))
                words = _strip(words[1:])
                head = words[0].text if words and words[0].literal else ""
            elif first == "else":
                level = max(0, level - 1)
                is_if = len(words) > 1 and words[1].text == "if"
                words = _strip(words[2:]) if is_if else []
                head = words[0].text if words and words[0].literal else ""
            elif first == "function":
                if len(words) > 1 and words[1].literal:
                    functions.setdefault(words[1].text, len(stmts))
                blocks.append((first, len(stmts)))
            elif first in _BLOCKS:
                blocks.append((first, len(stmts)))
                head = ""
            elif first == "case":
                level = max(0, level - 1)
                head = ""
            stmts.append(_Stmt(line_of(st.start), level, owner, head, tuple(words)))
        return cls(stmts, functions)

    def match(self, owner: int, words: list[str], level: int, cursor: int) -> int | None:
        """The statement that ran ``words`` (a traced command) at ``level``, searched from ``cursor`` on, then from the top.

        Best: the same block level and every word literal and equal; then the
        same level with equal words up to the first that expands; then either
        at any level (a construct whose nesting we misjudge still gets a line).
        """
        candidates = self.by_head.get(words[0]) if words else None
        if not candidates:
            return None
        start = bisect_left(candidates, cursor)
        best: list[int | None] = [None, None, None, None]
        for k in (*candidates[start:], *candidates[:start]):
            st = self.stmts[k]
            if st.owner != owner:
                continue
            same = _compare(st.words, words)
            if not same:
                continue
            rank = (0 if st.level == level else 2) + (0 if same == 2 else 1)
            if rank == 0:
                return k
            if best[rank] is None:
                best[rank] = k
        return next((k for k in best if k is not None), None)

    def exec_after(self, owner: int, cursor: int) -> _Stmt | None:
        """The first ``exec PROG`` statement at or after ``cursor`` in the same body."""
        seen = 0
        for st in self.stmts[cursor:]:
            if st.owner != owner:
                continue
            if st.head == "exec" and len(st.words) > 1:
                return st
            seen += 1
            if seen > _EXEC_LOOKAHEAD:
                break
        return None


if TYPE_CHECKING:
    from collections.abc import Callable

    _LineOf = Callable[[int], int]


def _strip(words: list[_Word]) -> list[_Word]:
    while words and words[0].literal and not words[0].quoted and words[0].text in _DECORATORS:
        words = words[1:]
    return words


def _compare(stmt: tuple[_Word, ...], words: list[str]) -> int:
    """2: every word literal and equal; 1: equal up to the first word that expands; 0: different."""
    for i, w in enumerate(stmt):
        if not w.literal:
            return 1
        if i >= len(words) or w.text != words[i]:
            return 0
    return 2 if len(stmt) == len(words) else 0


# --- the reader ----------------------------------------------------------------------


class _Place(NamedTuple):
    path: Path
    line: int  # 0: not known
    blocker: str | None
    chain: tuple[Path, ...] = ()
    via: str | None = None  # placed on the call of this function
    text: str | None = None  # the call's own statement, redacted (export/setenv)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


class _Frame:
    """A file being sourced, an eval running, or a function call: where the records below it come from."""

    __slots__ = ("base", "cursor", "file", "fn", "generated", "init", "kind", "locals", "open_depth", "site", "site_words")

    def __init__(self, kind: str, open_depth: int, file: Path | None, *, fn: str | None = None, generated: bool = False) -> None:
        self.kind = kind  # "file" | "eval" | "call"
        self.open_depth = open_depth  # depth of the record that started it; records deeper belong to it
        # Depth of its own top-level statements (see the module docstring).
        self.base = open_depth + 1 if kind == "eval" else open_depth + 2
        self.file = file  # for a call: the file the function was defined in
        self.fn = fn
        self.generated = generated
        self.init = False  # fish's own /usr/share/fish/config.fish: not part of a chain
        self.cursor = 0  # statement index to search from
        self.locals: dict[str, int] = {}  # watched names made local here, with the depth they were declared at
        self.site: _Place | None = None
        self.site_words: _Sealed | None = None


class _Var(NamedTuple):
    exported: bool
    items: tuple[str, ...] | None  # None: not known (computed)
    path: bool  # a path variable: exported joined with ':'


class _Event(NamedTuple):
    seq: int
    layer: str
    setting: Setting


class _FishReader:
    """Turns the ``fish_trace`` stream into settings, one record (line) at a time."""

    def __init__(self, host: Host, names: frozenset[str], start: bytes) -> None:
        self.host = host
        self.names = names
        self.pid = 0  # set by trace._run
        self._report_start = start + b"R"
        self._report_end = start + b"E"
        self._watch = re.compile(b"|".join(re.escape(n.encode()) for n in sorted(names, key=len, reverse=True)))
        self._buf = bytearray()
        self._skipping = False  # inside a record too long to matter
        self._report: bytearray | None = None
        self.complete = False  # our final report arrived
        self.done = False  # the start-up is over (our command began)
        self.final: dict[str, Secret] = {}
        self.files: list[Path] = []
        self.settings: list[Setting] = []
        self._notes: list[ScanNote] = []
        self._frames: tuple[_Frame, ...] = ()
        self._functions: dict[bytes, Path | None] = {}  # function name (as traced) -> the file defining it
        self._vars: dict[tuple[str, str], _Var] = {}
        self._events: list[_Event] = []
        self._indexes: dict[Path, _FileIndex | None] = {}
        self._seen_files: set[Path] = set()
        self._last: tuple[int, bytes, tuple[_Frame, ...]] | None = None
        self._opened: _Frame | None = None  # the frame the last record opened, if any
        self._init_seen = False
        self._prefetcher: threading.Thread | None = None
        self._universal = xdg_config_home(host) / "fish" / "fish_variables"
        self._load_universal()

    # -- universal variables ------------------------------------------------------

    def _load_universal(self) -> None:
        """fish loads ``fish_variables`` before any file runs: read it now, before fish may rewrite it."""
        scratch: list[ScanNote] = []
        ev = FL.Evaluator(self.host, self.names, scratch)
        ev.load_universal(self._universal)
        if ev.files:
            self._add_file(self._universal)
        for e in ev.events:
            s = e.setting._replace(family=FAMILY)
            value = s.value.reveal() if s.value is not None else None
            path_var = s.var.endswith("PATH")
            items = None if value is None else tuple(value.split(":") if path_var and value else [value])
            self._vars[(s.var, _UNIVERSAL)] = _Var(s.exported, items, path_var)
            self._events.append(_Event(len(self._events), _UNIVERSAL, s))

    # -- the byte stream ------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.complete:
            return
        buf = self._buf
        buf += data
        if self._report is None:
            r = buf.find(self._report_start)
            if self._skipping:
                nl = buf.find(b"\n")
                if nl >= 0 and (r < 0 or nl < r):
                    del buf[: nl + 1]
                    self._skipping = False
                    r = buf.find(self._report_start)
                elif r < 0:
                    del buf[: max(0, len(buf) - len(self._report_start))]
                    return
                else:
                    del buf[:r]
                    self._skipping = False
                    r = 0
            stop = r if r >= 0 else buf.rfind(b"\n") + 1
            if stop > 0:
                self._lines(bytes(buf[:stop]))
                del buf[:stop]
            if r >= 0:
                del buf[: len(self._report_start)]
                self._report = bytearray()
            elif len(buf) > _trace.MAX_RECORD_BYTES:
                # One command longer than any credential assignment: keep its depth, drop its text.
                self._lines(bytes(buf[:64].split(b" ", 1)[0]) + b" ")
                buf.clear()
                self._skipping = True
        if self._report is not None:
            self._report += buf
            buf.clear()
            e = self._report.find(self._report_end)
            if e >= 0:
                self._result(bytes(self._report[:e]))
                self._report = None
                self.complete = True

    def start_prefetch(self) -> None:
        """Read the person's start-up files that name a watched variable while fish is busy with its own.

        fish runs config.fish last, so read then, its tokenizing would come
        after fish has exited and add to the trace's time.  The thread runs
        while the main one waits for the pipe.
        """
        import threading

        self._prefetcher = threading.Thread(target=self._prefetch, name="authdoctor-fish-prefetch", daemon=True)
        self._prefetcher.start()

    def _prefetch(self) -> None:
        config = xdg_config_home(self.host) / "fish"
        try:
            snippets = sorted(p for p in self.host.list_dir(config / "conf.d") if p.name.endswith(".fish"))
        except OSError:
            snippets = []
        needles = [n.encode() for n in self.names]
        for path in (*snippets, config / "config.fish"):
            try:
                data = self.host.read_bytes(path)
            except (OSError, ValueError):
                continue
            if any(n in data for n in needles):
                self._indexes[path] = self._build(path)

    def close(self) -> None:
        self._join()
        if not self.complete and self._report is None and self._buf and not self._skipping:
            self._lines(bytes(self._buf))
        self._buf = bytearray()
        self._report = None

    def _lines(self, chunk: bytes) -> None:
        """Every record closes the frames it is not inside; only a few are read further (the hot loop)."""
        if self.done:
            return
        functions = self._functions
        last: tuple[int, bytes, int, tuple[_Frame, ...]] | None = None
        for line in chunk.split(b"\n"):
            if not line or line[0] not in b"->":
                continue  # not a record: fish's own warnings
            gt = line.find(b">")
            if gt < 0 or line.count(b"-", 0, gt) != gt:
                continue
            depth = gt + 1
            frames = self._frames
            if frames and (frames[-1].open_depth >= depth or frames[-1].locals):
                frames = self._close(depth)
            sp = line.find(b" ", gt + 2)
            first = line[gt + 2 : sp] if sp >= 0 else line[gt + 2 :]
            if first in _HANDLED or first in functions or depth == 1:
                last = None
                self._record(depth, line[gt + 2 :], first, frames)
                if self.done:
                    return
            else:
                last = (depth, line, gt, frames)
        if last is not None:
            depth, line, gt, frames = last
            self._last, self._opened = (depth, line[gt + 2 :], frames), None

    def _close(self, depth: int) -> tuple[_Frame, ...]:
        """The frames still open at a record of ``depth``; the locals of blocks that ended are gone."""
        frames = self._frames
        k = len(frames)
        while k and frames[k - 1].open_depth >= depth:
            k -= 1
        frames = self._frames = frames[:k]
        if frames and frames[-1].locals:
            top = frames[-1]
            top.locals = {v: d for v, d in top.locals.items() if d <= depth}
        return frames

    # -- one record -----------------------------------------------------------------

    def _record(self, depth: int, text: bytes, first: bytes, frames: tuple[_Frame, ...]) -> None:
        if depth == 1:
            if text == _DONE:
                self.done = True
            elif first == b"source":
                self._last, self._opened = (depth, text, ()), None
                self._open_file(depth, _words(text), frames)
            return
        self._last, self._opened = (depth, text, frames), None
        if first in (b"source", b"."):
            self._open_file(depth, _words(text), frames)
        elif first == b"eval":
            self._open(_Frame("eval", depth, None), _words(text), frames)
        elif first == b"function":
            parts = text.split(b" ", 2)
            if len(parts) > 1:
                self._functions[parts[1]] = self._file_of(frames[-1] if frames else None)
        elif first == b"set":
            if self._watch.search(text):
                self._set(_words(text), depth, frames)
        elif first == b"read":
            if self._watch.search(text):
                self._read(_words(text), depth, frames)
        elif first == b"exit":
            self._exit(_words(text), depth, frames)
        elif first in self._functions:
            frame = _Frame("call", depth, self._functions[first], fn=_words(first)[0])
            self._open(frame, _words(text), frames)

    def _file_of(self, frame: _Frame | None) -> Path | None:
        """The file whose text holds what ``frame`` runs (None: code no file holds)."""
        if frame is None or frame.kind == "eval" or frame.generated:
            return None
        return frame.file

    def _open(self, frame: _Frame, words: list[str], frames: tuple[_Frame, ...]) -> None:
        frame.site_words = _Sealed(words)
        self._frames = (*frames, frame)
        self._opened = frame

    def _open_file(self, depth: int, words: list[str], frames: tuple[_Frame, ...]) -> None:
        target = words[1] if len(words) > 1 else "-"
        generated = target == "-" or bool(_GENERATED_RE.match(target))
        path = None if target == "-" else self._abs(target)
        frame = _Frame("file", depth, path, generated=generated)
        if path is not None and not generated:
            self._add_file(path)
        if depth == 1:
            # fish sources its own config.fish first, then /etc/fish and the person's:
            # the first one is not part of any chain (it only runs conf.d).
            frame.init, self._init_seen = not self._init_seen, True
            self._frames, self._opened = (frame,), frame
            return
        self._open(frame, words, frames)

    def _abs(self, name: str) -> Path:
        # fish runs in the home folder (trace._run starts it there).
        return Path(name) if name.startswith("/") else self.host.home / name

    def _add_file(self, path: Path) -> None:
        if path not in self._seen_files:
            self._seen_files.add(path)
            self.files.append(path)

    # -- where a record belongs ----------------------------------------------------

    def _mine(self, path: Path) -> bool:
        """A file the person owns and edits (not fish's or the system's)."""
        for base in (self.host.home, xdg_config_home(self.host), xdg_data_home(self.host)):
            try:
                path.relative_to(base)
            except ValueError:
                continue
            return True
        return False

    def _join(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.join()
            self._prefetcher = None

    def _index(self, path: Path) -> _FileIndex | None:
        self._join()
        if path not in self._indexes:
            self._indexes[path] = self._build(path)
        return self._indexes[path]

    def _build(self, path: Path) -> _FileIndex | None:
        tf = read_text(self.host, path, [])
        if tf is None:
            return None
        try:
            return _FileIndex.build(tf.text, tf.line_of)
        except FL._ParseError:
            return None  # fish refuses such a file too: nothing in it ran

    def _place(self, frames: tuple[_Frame, ...], words: list[str], depth: int) -> _Place:
        """The line a person can act on for a record at ``depth`` with these words."""
        if not frames:
            return _Place(self.host.home, 0, None)
        f = frames[-1]
        if f.kind == "eval":
            return self._site(frames)._replace(blocker="eval")
        if f.kind == "file" and (f.generated or f.file is None):
            site = self._site(frames)
            return site._replace(blocker=site.blocker or "generated")
        if f.kind == "call" and (f.file is None or not self._mine(f.file)):
            return self._call_site(frames)
        assert f.file is not None
        line = self._line(f, words, depth)
        if line == 0 and f.kind == "call":
            return self._call_site(frames)
        chain = tuple(dict.fromkeys(p.file for p in frames[:-1] if p.kind == "file" and p.file and not p.generated and not p.init))
        chain = tuple(p for p in chain if p != f.file)
        return _Place(f.file, line, None if self._mine(f.file) else "system-file", chain)

    def _call_site(self, frames: tuple[_Frame, ...]) -> _Place:
        f = frames[-1]
        site = self._site(frames)
        if f.fn in _SETTERS:
            return site._replace(via=f.fn)
        return site._replace(via=f.fn, blocker=site.blocker or "generated")

    def _site(self, frames: tuple[_Frame, ...]) -> _Place:
        """Where the record that opened the innermost frame ran (resolved once, then its words are dropped)."""
        f = frames[-1]
        if f.site is None:
            words = f.site_words.words if f.site_words is not None else []
            site = self._place(frames[:-1], words, f.open_depth)
            if f.kind == "call" and f.fn in _SETTERS and words:
                site = site._replace(text=_setter_text(words))
            f.site, f.site_words = site, None
        return f.site

    def _line(self, f: _Frame, words: list[str], depth: int) -> int:
        assert f.file is not None
        index = self._index(f.file)
        if index is None or not words:
            return 0
        owner = -1
        if f.kind == "call":
            found = index.functions.get(f.fn or "")
            if found is None:
                return 0
            owner = found
            if f.cursor == 0:
                f.cursor = found + 1
        k = index.match(owner, words, depth - f.base, f.cursor)
        if k is None:
            return 0
        f.cursor = k + 1
        return index.stmts[k].line

    # -- set ------------------------------------------------------------------------

    def _visible_local(self, frames: tuple[_Frame, ...], name: str) -> bool:
        for f in reversed(frames):
            if name in f.locals:
                return True
            if f.kind == "call":
                return False  # a function does not see its caller's locals
        return False

    def _set(self, words: list[str], depth: int, frames: tuple[_Frame, ...]) -> None:
        flags: set[str] = set()
        options: list[str] = []
        i = 1
        while i < len(words):
            w = words[i]
            if w == "--":
                options.append(w)
                i += 1
                break
            if not w.startswith("-") or w == "-":
                break
            if w.startswith("--"):
                if w[2:] not in _SET_LONG:
                    return  # fish refuses an unknown option: nothing changes
                flags.add(w[2:])
            else:
                for ch in w[1:]:
                    if ch not in _SET_SHORT:
                        return
                    flags.add(_SET_SHORT[ch])
            options.append(w)
            i += 1
        if flags & {"query", "names", "show", "help"}:
            return
        args = words[i:]
        if not args:
            return
        prefix = "set " + "".join(f"{o} " for o in options)
        explicit = _UNIVERSAL if "universal" in flags else _GLOBAL if "global" in flags else None
        local = bool(flags & {"local", "function"})
        if "erase" in flags:
            for arg in args:
                m = _INDEXED.match(arg)
                name = m.group(1) if m else arg
                if name not in self.names:
                    continue
                layer = self._layer(frames, name, explicit, local, creating=False)
                if layer is None:
                    self._drop_local(frames, name)
                    continue
                if m:
                    prev = self._vars[(name, layer)]
                    self._assign(frames, words, depth, name, layer, prev._replace(items=None), f"{prefix}{name}[…]")
                else:
                    self._erase(frames, words, depth, name, layer, f"{prefix}{name}")
            return
        m = _INDEXED.match(args[0])
        name = m.group(1) if m else args[0]
        if name not in self.names:
            return
        values = tuple(args[1:])
        layer = self._layer(frames, name, explicit, local, creating=True)
        if layer is None:
            if frames and (local or not self._visible_local(frames, name)):
                frames[-1].locals.setdefault(name, depth)
            return
        old = self._vars.get((name, layer))
        exported = True if "export" in flags else False if "unexport" in flags else bool(old and old.exported)
        path_var = True if "path" in flags else False if "unpath" in flags else old.path if old else name.endswith("PATH")
        items: tuple[str, ...] | None = values
        if m:
            items = _index_assign(old.items if old else (), m.group(2), values) if old is None or old.items is not None else None
        elif flags & {"append", "prepend"}:
            before = old.items if old else ()
            items = None if before is None else (*before, *values) if "append" in flags else (*values, *before)
        index = f"[{m.group(2)}]" if m and _SIMPLE_INDEX.match(m.group(2)) else "[…]" if m else ""
        text = f"{prefix}{name}{index}{' <redacted>' if values else ''}"
        self._assign(frames, words, depth, name, layer, _Var(exported, items, path_var), text)

    def _read(self, words: list[str], depth: int, frames: tuple[_Frame, ...]) -> None:
        """``read [-g|-U|-l|-x|-u …] NAME…``: sets NAME to what it reads, a value the trace never shows."""
        flags: set[str] = set()
        options: list[str] = []
        targets: list[str] = []
        i = 1
        while i < len(words):
            w = words[i]
            i += 1
            if w == "--":
                targets.extend(words[i:])
                break
            if w.startswith("--"):
                long, eq, _ = w[2:].partition("=")
                if long in _READ_LONG_VALUE and not eq:
                    i += 1  # its value is the next word
                elif long in _SET_LONG:
                    flags.add(long)
                options.append(f"--{long}")
            elif w.startswith("-") and len(w) > 1:
                kept = w
                for j, ch in enumerate(w[1:], 1):
                    if ch in _READ_SHORT_VALUE:
                        # `-pPROMPT` holds its value; a bare `-p` takes the next word.
                        kept = w[: j + 1]
                        i += 1 if j == len(w) - 1 else 0
                        break
                    if ch in "gUlfxu":
                        flags.add(_SET_SHORT[ch])
                options.append(kept)
            else:
                targets.append(w)
        explicit = _UNIVERSAL if "universal" in flags else _GLOBAL if "global" in flags else None
        local = bool(flags & {"local", "function"})
        prefix = "read " + "".join(f"{o} " for o in options)
        for name in targets:
            if name not in self.names:
                continue
            layer = self._layer(frames, name, explicit, local, creating=True)
            if layer is None:
                if frames and (local or not self._visible_local(frames, name)):
                    frames[-1].locals.setdefault(name, depth)
                continue
            old = self._vars.get((name, layer))
            exported = True if "export" in flags else False if "unexport" in flags else bool(old and old.exported)
            path_var = old.path if old else name.endswith("PATH")
            self._assign(frames, words, depth, name, layer, _Var(exported, None, path_var), f"{prefix}{name}")

    def _drop_local(self, frames: tuple[_Frame, ...], name: str) -> None:
        for f in reversed(frames):
            if f.locals.pop(name, None) is not None or f.kind == "call":
                return

    def _layer(self, frames: tuple[_Frame, ...], name: str, explicit: str | None, local: bool, *, creating: bool) -> str | None:
        """Which layer a `set` changes (None: a local variable, gone when its block or function ends)."""
        if local:
            return None
        if explicit is not None:
            if not creating and (name, explicit) not in self._vars:
                return None  # erasing what is not there changes nothing
            return explicit
        if self._visible_local(frames, name):
            return None
        for layer in (_GLOBAL, _UNIVERSAL):
            if (name, layer) in self._vars:
                return layer
        if not creating or any(f.kind == "call" for f in frames):
            return None  # a new variable in a function is the function's own
        return _GLOBAL

    def _assign(self, frames: tuple[_Frame, ...], words: list[str], depth: int, name: str, layer: str, var: _Var, text: str) -> None:
        self._vars[(name, layer)] = var
        value = None if var.items is None else Secret((":" if var.path else " ").join(var.items))
        self._emit(frames, words, depth, name, layer, EXPORT if var.exported else SET, var.exported, value, text)

    def _erase(self, frames: tuple[_Frame, ...], words: list[str], depth: int, name: str, layer: str, text: str) -> None:
        self._vars.pop((name, layer), None)
        self._emit(frames, words, depth, name, layer, UNSET, False, None, text)

    def _emit(
        self,
        frames: tuple[_Frame, ...],
        words: list[str],
        depth: int,
        name: str,
        layer: str,
        action: str,
        exported: bool,
        value: Secret | None,
        text: str,
    ) -> None:
        place = self._place(frames, words, depth)
        if place.blocker == "eval":
            text = f"(eval) {text}"
        elif place.text is not None:
            text = place.text
        elif place.via is not None:
            text = f"{place.via} … (runs `{text}`)"
        if layer == _UNIVERSAL and "-U" not in text and "--universal" not in text:
            text += "  (changes the universal variable)"
        setting = Setting(
            var=name,
            action=action,
            exported=exported,
            value=value,
            path=place.path,
            line=place.line,
            text=text,
            family=FAMILY,
            chain=place.chain,
            conditional=False,  # it ran
            editable=place.blocker is None,
            blocker=place.blocker,
        )
        self._events.append(_Event(len(self._events), layer, setting))

    # -- exit / exec ------------------------------------------------------------------

    def _exit(self, words: list[str], depth: int, frames: tuple[_Frame, ...]) -> None:
        place = self._place(frames, words, depth)
        script = next((f.file for f in reversed(frames) if f.kind == "file" and f.file and not f.generated), place.path)
        status = f", status {words[1]}" if len(words) > 1 and words[1].lstrip("-").isdigit() else ""
        at = f"at line {place.line} " if place.line and place.path == script else f"at {place.where} " if place.line else ""
        msg = (
            f"start-up file {script} stops {at}(`exit`{status}): the rest of that file never runs "
            "(fish goes on with the rest of its start-up)"
        )
        self._notes.append(ScanNote(script, "exit", msg))

    def _stopped(self, returncode: int | None, where: _Place | None) -> ScanNote:
        """fish ended before our final command ran: an `exec`, a crash, or a kill."""
        if where is None:
            return ScanNote(self.host.home, "exit", f"fish ended (status {returncode}) before running any start-up line")
        found = self._exec_after_last()
        at = where.where
        if found is not None:
            path, st = found
            target = st.words[1].text if st.words[1].literal else None
            prog = _trace._program(target, self.host)
            shown = f"`{prog}`" if prog else "another program"
            msg = (
                f"start-up file {path} replaces the shell with {shown} at line {st.line} (`exec`): "
                f"the rest of the fish start-up never runs (last line run: {at})"
            )
            return ScanNote(path, "exec", msg)
        if returncode is not None and returncode < 0:
            msg = f"fish was killed by signal {-returncode} while running start-up file {where.path} (last line run: {at})"
            return ScanNote(where.path, "crash", msg)
        msg = f"fish stopped with status {returncode} while running start-up file {where.path} (last line run: {at})"
        return ScanNote(where.path, "exit", msg)

    def _exec_after_last(self) -> tuple[Path, _Stmt] | None:
        """The `exec PROG` statement that comes right after the last line run (fish never traces an exec that works)."""
        frame = self._opened if self._opened is not None else (self._frames[-1] if self._frames else None)
        if frame is None or frame.kind == "eval" or frame.generated or frame.file is None:
            return None
        index = self._index(frame.file)
        if index is None:
            return None
        owner = -1
        if frame.kind == "call":
            found = index.functions.get(frame.fn or "")
            if found is None:
                return None
            owner = found
        st = index.exec_after(owner, frame.cursor)
        return (frame.file, st) if st is not None else None

    # -- the final report -------------------------------------------------------------

    def _result(self, data: bytes) -> None:
        parts = data.split(b"\0")
        for raw_name, raw_value in zip(parts[0::2], parts[1::2], strict=False):
            var = raw_name.decode("utf-8", "replace")
            if var in self.names:
                self.final[var] = Secret(raw_value.decode("utf-8", "surrogateescape"))

    # -- notes and the settings in order ------------------------------------------------

    def notes(self, outcome: _trace._Outcome, timeout: float) -> list[ScanNote]:
        self.settings = self._ordered()
        if outcome.error:
            return [ScanNote(Path("fish"), "crash", f"{outcome.error}; its start-up files were not traced")]
        notes = list(self._notes)
        where: _Place | None = None
        if self._last is not None:
            depth, text, frames = self._last
            self._last = None
            opened = self._opened
            if depth == 1 and opened is not None and opened.file is not None:
                where = _Place(opened.file, 0, None)  # fish had just begun this file
            else:
                where = self._place(frames, _words(text), depth)
        at = where.where if where else "the start"
        limit = _trace.limit_note(outcome, self.complete, where.path if where else None, at, "fish", timeout, self.host.home)
        if limit is not None:
            notes.append(limit)
        elif not self.complete:
            if self.done:
                msg = f"fish ran its start-up but its final report did not arrive (status {outcome.returncode})"
                notes.append(ScanNote(self.host.home, "crash", msg))
            else:
                notes.append(self._stopped(outcome.returncode, where))
        if self.complete:
            notes.extend(self._reconcile())
        self._frames, self._opened = (), None
        return notes

    def _ordered(self) -> list[Setting]:
        """Per variable, list last the layer whose value children get (see ``fish.py``)."""

        def rank(e: _Event) -> int:
            g = self._vars.get((e.setting.var, _GLOBAL))
            deciding = _GLOBAL if g is not None and g.exported else _UNIVERSAL
            return 1 if e.layer == deciding else 0

        return [e.setting for e in sorted(self._events, key=lambda e: (rank(e), e.seq))]

    def _reconcile(self) -> list[ScanNote]:
        """Check the traced settings against the final values fish reported; the final values win."""
        notes: list[ScanNote] = []
        settings = self.settings
        for name in sorted(self.names):
            won = winner(settings, name)
            final = self.final.get(name)
            if won is None and final is None:
                continue
            mine = [i for i, s in enumerate(settings) if s.var == name]
            if won is not None and final is not None:
                if won.value == final:
                    continue
                i = max(i for i in mine if settings[i] is won)
                settings[i] = won._replace(value=final)
                if won.value is None:
                    continue  # a value we could not compute (an index, an append to the unknown): now known
                msg = f"the trace shows {name} set at {won.where}, but a new fish shell ends up with a different value"
                notes.append(ScanNote(won.path, "trace-mismatch", msg))
            elif final is not None:
                # Attribute it to the universal variable when there is one, else to the last place that touched it.
                universal = [settings[i] for i in mine if settings[i].path == self._universal]
                last = universal[-1] if universal else settings[mine[-1]] if mine else None
                path, line = (last.path, last.line) if last else (self.host.home, 0)
                text = f"{name}=<redacted>  (exported at the end of the fish start-up; the trace does not show which line sets it)"
                settings.append(Setting(name, EXPORT, True, final, path, line, text, FAMILY, editable=False, blocker="generated"))
                msg = (
                    f"a new fish shell ends up with {name} exported, but the trace does not show which line sets it "
                    "(an event handler, or code run with the trace off); the static scan may know"
                )
                notes.append(ScanNote(path, "trace-mismatch", msg))
            elif won is not None:
                text = f"set -e {name}  (not exported at the end of the fish start-up; the trace does not show where)"
                settings.append(Setting(name, UNSET, False, None, won.path, 0, text, FAMILY, editable=False, blocker="generated"))
                msg = (
                    f"the trace shows {name} exported at {won.where}, but a new fish shell ends up without it "
                    "(removed in a way the trace does not show)"
                )
                notes.append(ScanNote(won.path, "trace-mismatch", msg))
        return notes


# --- small helpers -------------------------------------------------------------------


def _setter_text(words: list[str]) -> str:
    """``export A=1 X=v`` / ``setenv X v`` with every value redacted."""
    if words[0] == "setenv":
        return f"setenv {words[1]} <redacted>" if len(words) > 1 else "setenv"
    shown = [f"{w.partition('=')[0]}=<redacted>" if "=" in w else w for w in words[1:] if _NAME_RE.match(w.partition("=")[0])]
    return " ".join(["export", *shown])


def _index_assign(items: tuple[str, ...] | None, index: str, values: tuple[str, ...]) -> tuple[str, ...] | None:
    """``set X[i] v``: the new list, when the index is a plain number and the list is known."""
    if items is None or not _SIMPLE_INDEX.match(index) or len(values) != 1:
        return None
    i = int(index)
    n = len(items)
    i = i - 1 if i > 0 else n + i
    if i < 0:
        return None
    out = list(items) + [""] * max(0, i + 1 - n)
    out[i] = values[0]
    return tuple(out)
