"""bash, zsh, sh (dash) and ksh: which start-up files each kind of shell reads, and what they set.

One :class:`Trail` per kind of shell process ("zsh login+interactive shell",
…), each listing the settings of watched variables in the order that shell
evaluates them.  The orders follow bash(1) INVOCATION, zsh's STARTUP/SHUTDOWN
FILES, dash(1) and ksh93 as built by Debian, and were checked by running each
shell on a temporary home (see tests/collect/origins/test_posix_real_shells.py):

* bash login: ``/etc/profile``, then the first of ``~/.bash_profile``,
  ``~/.bash_login``, ``~/.profile``; non-interactive login shells then read
  ``$BASH_ENV`` too.  Interactive non-login: ``/etc/bash.bashrc`` (Debian's
  compile-time option; absent elsewhere) and ``~/.bashrc``.  Non-interactive:
  ``$BASH_ENV`` only.
* zsh: ``/etc/zsh/zshenv`` (``/etc/zshenv`` where there is no ``/etc/zsh``)
  and ``$ZDOTDIR/.zshenv``; login adds ``zprofile``; interactive ``zshrc``;
  login ``zlogin``.  ``ZDOTDIR`` set in ``.zshenv`` relocates the later files;
  ``setopt no_rcs`` / ``no_global_rcs`` skip them.
* sh (dash): login ``/etc/profile``, ``~/.profile``; interactive ``$ENV``
  (also when ``ENV`` is only assigned, not exported, in ``.profile``).
* ksh93: as sh, and interactive shells read ``/etc/ksh.kshrc`` and then
  ``${ENV-$HOME/.kshrc}``.

``source``/``.`` chains are followed with the paths a shell would compute
(``~``, ``$HOME``, ``${ZDOTDIR:-$HOME}``, relative to the home, globs in
``for f in …/*.sh``), with cycles, missing and unreadable files reported as
:class:`ScanNote` s.  Conditions the scan can decide for a context (``$PS1``,
``$-``, ``$BASH_VERSION``, ``[ -f file ]``) are decided: Debian's ``~/.profile``
reads ``~/.bashrc`` in bash and not in dash.  The rest are marked
``conditional``.

``Setting.path`` is the path the shell opened: a symlinked ``~/.zshrc`` stays
``~/.zshrc`` (that is what the person knows); ``Host.realpath`` gives the file
to edit, which is what a fixer must change.

Function bodies count where the function is called (in the same file), with
the call's conditions; a function that is never called sets nothing at
start-up.  ``Trail.files`` lists the files read, in order; for a file with
nothing of interest it also lists what that file may source (found without
parsing it), so it can name a file the shell skips for a condition.

Speed: most start-up files never mention a watched name.  A byte-level
pre-pass decides which files could matter (they mention a watched name, or
``set -a``, ``ZDOTDIR=``/``ENV=``, or source a file that could); only those are
parsed, so a home with nothing to find never imports tree-sitter.
"""

from __future__ import annotations

import posixpath
import re
import stat as stat_mod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.collect.origins import shell as sh
from authdoctor.collect.origins.model import EXPORT, SET, UNSET, OriginScan, ScanNote, Setting, Trail
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from authdoctor.host import Host

SOURCE_NAME = "posix shells"

# Statements that change how later statements act on watched variables, even
# in a file that never names one: (literals every match contains, pattern,
# matched on the lower-cased text).  A pattern is compiled (a quarter of a
# millisecond each) only for a file holding one of its literals.
_STATE_RES = (
    ((b"ENV=", b"ZDOTDIR="), rb"(?<![\w])(?:ZDOTDIR|ENV|BASH_ENV)=", False),
    ((b"allexport", b"all_export"), rb"all_?export", True),
    ((b"set ", b"set\t"), rb"\bset[ \t]+[-+][A-Za-z]*a", False),
    ((b"rcs",), rb"\b(?:no_?)?(?:global_?)?rcs\b", True),
)
# A conservative guess at ``. file`` / ``source file``: comments and strings
# match too, which only costs a parse.  Two patterns with literal prefixes are
# much faster than one with an alternation; each is compiled only for a file
# holding its literal.
_WORD = rb"((?:\"[^\"\n]*\"|'[^'\n]*'|[^\s;&|()<>'\"])+)"
_SOURCE_RES = (((b". ", b".\t"), rb"\.[ \t]+" + _WORD), ((b"source ", b"source\t"), rb"source[ \t]+" + _WORD))
_COMMAND_START = frozenset(b" \t\n;&|({`'\"\\")
_FOR = rb"\bfor[ \t]+([A-Za-z_]\w*)[ \t]+in[ \t]+([^;\n]*)"
_ASSIGN = rb"(?m)^[ \t]*(?:export[ \t]+)?([A-Za-z_]\w*)=(\"[^\"\n]*\"|'[^'\n]*'|[^\s;&|]*)"
# Source chains deeper than this are a runaway, not a configuration.
_MAX_DEPTH = 32


class PosixShellSource:
    """The OriginSource for bash, zsh, sh and ksh start-up files."""

    name = SOURCE_NAME

    def __init__(self, shells: tuple[str, ...] | None = None) -> None:
        # `check` follows only the user's own shell; `where` follows them all.
        self.shells = shells

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        return scan_posix(host, names, shells=self.shells)


class ShellContext(NamedTuple):
    """One kind of shell process: which shell, and whether it is a login and/or interactive shell."""

    name: str
    shell: str  # bash | zsh | sh | ksh
    login: bool
    interactive: bool
    bash_env_only: bool = False

    @property
    def family(self) -> str:
        return self.shell if self.shell in ("bash", "zsh") else "posix"


def contexts(host: Host) -> tuple[ShellContext, ...]:
    """Every kind of shell process the scan follows, each named as ``Trail.context``."""
    out: list[ShellContext] = []
    for shell in ("bash", "zsh", "sh", "ksh"):
        out.append(ShellContext(f"{shell} login shell", shell, True, False))
        out.append(ShellContext(f"{shell} interactive shell", shell, False, True))
        out.append(ShellContext(f"{shell} login+interactive shell", shell, True, True))
        if shell == "bash" and host.env.get("BASH_ENV"):
            out.append(ShellContext("bash non-interactive (BASH_ENV)", "bash", False, False, bash_env_only=True))
    return tuple(out)


def scan_posix(host: Host, names: frozenset[str], *, shells: tuple[str, ...] | None = None) -> OriginScan:
    """Every setting of ``names`` in POSIX shell start-up files, per kind of shell (or only ``shells``)."""
    if host.is_windows:
        return OriginScan(SOURCE_NAME)
    files = _Files(host, names)
    wanted = [c for c in contexts(host) if shells is None or c.shell in shells]
    trails = tuple(_Walk(files, ctx).run() for ctx in wanted)
    return OriginScan(SOURCE_NAME, trails, tuple(files.notes.values()))


# --- files, read once per scan --------------------------------------------------


class _Read(NamedTuple):
    data: bytes | None
    kind: str = ""  # when data is None: "missing" | "unreadable" | "too-large"
    reason: str = ""

    def __repr__(self) -> str:
        # The bytes may hold a token: a repr (a log line, a traceback) never shows them.
        size = "-" if self.data is None else f"{len(self.data)} bytes"
        return f"_Read({size}, {self.kind!r})"


class _Files:
    """Reads, pre-pass results and parses, shared by every context."""

    def __init__(self, host: Host, names: frozenset[str]) -> None:
        self.host = host
        self.names = names
        self.home = _logical(host, host.home)
        self.notes: dict[tuple[Path, str, str], ScanNote] = {}
        self._reads: dict[str, _Read] = {}
        self._parsed: dict[str, sh.Parsed | None] = {}
        self._relevant: dict[str, bool] = {}
        self._keys: dict[str, str] = {}
        self._paths: dict[str, Path] = {}
        self._exists: dict[str, bool] = {}
        self._candidates: dict[str, list[str]] = {}

    def path(self, logical: str) -> Path:
        got = self._paths.get(logical)
        if got is None:
            got = self._paths[logical] = self.host.path(logical)
        return got

    def note(self, logical: str, kind: str, message: str) -> None:
        path = self.path(logical)
        self.notes.setdefault((path, kind, message), ScanNote(path, kind, message))

    def exists(self, logical: str) -> bool:
        got = self._exists.get(logical)
        if got is None:
            got = self._exists[logical] = self.host.stat(self.path(logical)) is not None
        return got

    def is_dir(self, logical: str) -> bool:
        st = self.host.stat(self.path(logical))
        return st is not None and stat_mod.S_ISDIR(st.st_mode)

    def key(self, logical: str) -> str:
        """The file behind a path, so a cycle through a symlink is still a cycle."""
        if logical not in self._keys:
            self._keys[logical] = str(self.host.realpath(self.path(logical)))
        return self._keys[logical]

    def read(self, logical: str) -> _Read:
        got = self._reads.get(logical)
        if got is None:
            got = self._reads[logical] = self._read(logical)
        return got

    def _read(self, logical: str) -> _Read:
        try:
            return _Read(self.host.read_bytes(self.path(logical)))
        except (FileNotFoundError, NotADirectoryError):
            return _Read(None, "missing", "it does not exist")
        except IsADirectoryError:
            return _Read(None, "unreadable", "it is a directory")
        except PermissionError:
            return _Read(None, "unreadable", "permission denied")
        except OSError as exc:
            return _Read(None, "unreadable", exc.strerror or type(exc).__name__)
        except ValueError:
            return _Read(None, "too-large", "it is larger than 16 MiB, so it was not read")

    def relevant(self, logical: str, lookup: Callable[[str], str | None], depth: int = 0) -> bool:
        """Could reading this file (and what it sources) touch a watched variable?"""
        known = self._relevant.get(logical)
        if known is not None:
            return known
        data = self.read(logical).data
        if data is None:
            return False
        self._relevant[logical] = False  # a cycle adds nothing
        found = sh.mentions(data, self.names) or _changes_state(data)
        if not found and depth < _MAX_DEPTH:
            found = any(self.relevant(c, lookup, depth + 1) for c in self.candidates(logical, lookup))
        self._relevant[logical] = found
        return found

    def candidates(self, logical: str, lookup: Callable[[str], str | None]) -> list[str]:
        """Files ``logical`` may source, from its bytes alone (existing files only).

        Worked out once per file: the lookup differs between contexts only in
        rare ways (a ``ZDOTDIR`` set in ``.zshenv``) that do not change a guess.
        """
        got = self._candidates.get(logical)
        if got is None:
            data = self.read(logical).data or b""
            got = self._candidates[logical] = list(dict.fromkeys(self._candidates_in(data, lookup)))
        return got

    def _candidates_in(self, data: bytes, lookup: Callable[[str], str | None]) -> Iterator[str]:
        commands = [
            m
            for literals, pattern in _SOURCE_RES
            if any(lit in data for lit in literals)
            for m in re.finditer(pattern, data)
            if (data[m.start() - 1] if m.start() else 0x0A) in _COMMAND_START
        ]
        if not commands:
            return  # most files: no loop or assignment scan (two more patterns to compile)
        loops: dict[str, list[bytes]] = {}
        for m in re.finditer(_FOR, data):
            loops.setdefault(m.group(1).decode("ascii"), []).extend(m.group(2).split())
        local: dict[str, bytes] = {}
        for m in re.finditer(_ASSIGN, data):
            local[m.group(1).decode("ascii")] = m.group(2)

        def looker(binding: dict[str, str]) -> Callable[[str], str | None]:
            def look(name: str) -> str | None:
                if name in binding:
                    return binding[name]
                if name in local:
                    return sh.lex_word(local[name] + b" ", 0, lookup, assignment=True).text
                return lookup(name)

            return look

        for m in commands:
            word = m.group(1) + b" "
            refs = {r.decode("ascii") for r in re.findall(rb"\$\{?([A-Za-z_]\w*)", word)}
            loop_vars = [v for v in refs if v in loops]
            bindings: list[dict[str, str]] = [{}]
            for var in loop_vars:
                values: list[str] = []
                for w in loops[var]:
                    lexed = sh.lex_word(w + b" ", 0, lookup)
                    if lexed.text is not None:
                        values.extend(self.expand(lexed))
                bindings = [{**b, var: v} for b in bindings for v in values]
            for binding in bindings:
                lexed = sh.lex_word(word, 0, looker(binding))
                if lexed.text is None:
                    continue
                for target in self.expand(lexed):
                    if self.exists(target):
                        yield target

    def expand(self, lexed: sh.Lexed) -> list[str]:
        """The files a word names: absolute (relative to the home, the start-up cwd), globs expanded."""
        text = lexed.text or ""
        if lexed.pattern is None:
            return [self.absolute(text)] if text else []
        pattern = lexed.pattern if lexed.pattern.startswith("/") else posixpath.join(self.home, lexed.pattern)
        matches = self.glob(pattern)
        # No match: the shell keeps the pattern as it is (no nullglob by default).
        return matches or [self.absolute(text)]

    def absolute(self, text: str) -> str:
        return posixpath.normpath(text if text.startswith("/") else posixpath.join(self.home, text))

    def glob(self, pattern: str) -> list[str]:
        from fnmatch import fnmatchcase

        found = ["/"]
        for part in [p for p in pattern.split("/") if p]:
            if not any(ch in part for ch in "*?["):
                plain = _unescape_glob(part)
                found = [posixpath.join(f, plain) for f in found]
                continue
            nxt: list[str] = []
            for folder in found:
                for name in self._listdir(folder):
                    if name.startswith(".") and not part.startswith("."):
                        continue
                    if fnmatchcase(name, part):
                        nxt.append(posixpath.join(folder, name))
            found = nxt
        return sorted(f for f in found if f != "/")

    def _listdir(self, logical: str) -> list[str]:
        # Listing through host.path keeps --root right.
        try:
            return [p.name for p in self.host.list_dir(self.path(logical))]
        except OSError:
            return []

    def parsed(self, logical: str) -> sh.Parsed | None:
        if logical not in self._parsed:
            data = self.read(logical).data or b""
            try:
                self._parsed[logical] = sh.parse(data, self.names)
            except ImportError:
                self.note(logical, "parse-error", "the shell parser (tree-sitter-bash) is not installed, so this file was not read")
                self._parsed[logical] = None
        return self._parsed[logical]

    def under_home(self, logical: str) -> bool:
        return logical == self.home or logical.startswith(self.home.rstrip("/") + "/")


def _changes_state(data: bytes) -> bool:
    low = data.lower()
    for literals, pattern, blind in _STATE_RES:
        text = low if blind else data
        # Between a match's start and its literal there are only letters and "_" (no
        # "#", no line break), so a literal seen only in whole-line comments rules the
        # pattern out before it is compiled.
        if not any(_outside_comments(text, lit) for lit in literals):
            continue
        for m in re.finditer(pattern, text):
            # Whole-line comments do not count: Debian's zshenv mentions NO_RCS in one.
            if not _in_comment(text, m.start()):
                return True
    return False


def _in_comment(text: bytes, at: int) -> bool:
    """Whether position ``at`` lies in a whole-line comment."""
    return text[text.rfind(b"\n", 0, at) + 1 : at].lstrip().startswith(b"#")


def _outside_comments(text: bytes, literal: bytes) -> bool:
    at = text.find(literal)
    while at >= 0:
        if not _in_comment(text, at):
            return True
        at = text.find(literal, at + 1)
    return False


def _unescape_glob(part: str) -> str:
    return re.sub(r"\[([*?\[])\]", r"\1", part)


def _logical(host: Host, path: Path) -> str:
    """A path as the shells inside the target system see it (``--root`` images)."""
    if host.root == Path("/"):
        return path.as_posix()
    try:
        return "/" + path.relative_to(host.root).as_posix()
    except ValueError:
        return path.as_posix()


# --- one kind of shell, start to end ---------------------------------------------


class _Var(NamedTuple):
    text: str | None  # the value when known (never for watched names: they use ``secret``)
    secret: Secret | None
    exported: bool
    is_set: bool


class _Where(NamedTuple):
    """The file events come from, how it was reached, and what that implies for them."""

    logical: str
    chain: tuple[str, ...]  # the files that sourced it, outermost first
    conditional: bool  # reached through a statement that may not run
    inherited: str | None  # a blocker for everything in it (sourced from a block another tool owns)
    stack: tuple[str, ...]  # files being read (real paths), for cycles


class _Walk:
    def __init__(self, files: _Files, ctx: ShellContext) -> None:
        self.files = files
        self.host = files.host
        self.ctx = ctx
        self.names = files.names
        self.vars: dict[str, _Var] = {"HOME": _Var(files.home, None, True, True)}
        for name in ("ZDOTDIR", "ENV", "BASH_ENV"):
            value = self.host.env.get(name)
            if value is not None:
                self.vars[name] = _Var(value, None, True, True)
        self.allexport = False
        self.rcs = True
        self.global_rcs = True
        self.exited = False
        self.aborted = False  # ksh: an error in a start-up file ends that file
        self.functions: dict[str, tuple[list[sh.Event], _Where]] = {}
        self.defining: set[str] = set()
        self.settings: list[Setting] = []
        self.read: list[Path] = []

    def run(self) -> Trail:
        getattr(self, f"_{self.ctx.shell}")()
        return Trail(self.ctx.name, tuple(self.settings), tuple(self.read))

    # --- start-up orders ---------------------------------------------------

    def _bash(self) -> None:
        ctx = self.ctx
        if ctx.bash_env_only:
            self._env_file("BASH_ENV")
            return
        if ctx.login:
            self._startup("/etc/profile")
            for name in (".bash_profile", ".bash_login", ".profile"):
                path = self._home(name)
                if self.files.exists(path):
                    self._startup(path)
                    break
            if not ctx.interactive:
                self._env_file("BASH_ENV")
        elif ctx.interactive:
            self._startup("/etc/bash.bashrc")
            self._startup(self._home(".bashrc"))

    def _zsh(self) -> None:
        ctx = self.ctx
        etc = "/etc/zsh" if self.files.is_dir("/etc/zsh") else "/etc"
        steps = ["zshenv"]
        if ctx.login:
            steps.append("zprofile")
        if ctx.interactive:
            steps.append("zshrc")
        if ctx.login:
            steps.append("zlogin")
        for name in steps:
            if self.rcs and (self.global_rcs or name == "zshenv"):
                self._startup(f"{etc}/{name}")
            if self.rcs:
                zdotdir = self._value("ZDOTDIR") or self.files.home
                self._startup(posixpath.join(self.files.absolute(zdotdir), f".{name}"))

    def _sh(self) -> None:
        if self.ctx.login:
            self._startup("/etc/profile")
            self._startup(self._home(".profile"))
        if self.ctx.interactive:
            self._env_file("ENV")

    def _ksh(self) -> None:
        if self.ctx.login:
            self._startup("/etc/profile")
            self._startup(self._home(".profile"))
        if self.ctx.interactive:
            self._startup("/etc/ksh.kshrc")
            if "ENV" in self.vars and self.vars["ENV"].is_set:
                self._env_file("ENV")
            else:
                self._startup(self._home(".kshrc"))

    def _home(self, name: str) -> str:
        return posixpath.join(self.files.home, name)

    def _value(self, name: str) -> str | None:
        var = self.vars.get(name)
        return var.text if var is not None and var.is_set else None

    def _env_file(self, name: str) -> None:
        value = self._value(name)
        if not value or self.exited:
            return
        # The shells expand the value (parameters, ~) before opening it.
        lexed = sh.lex_word(value.encode("utf-8", "surrogateescape") + b" ", 0, self.lookup)
        if lexed.text:
            self._file(self.files.absolute(lexed.text), (), False, None, (), definite=True)

    def _startup(self, logical: str) -> None:
        if self.exited or not self.files.exists(logical):
            return
        self._file(logical, (), False, None, (), definite=True)

    # --- one file -------------------------------------------------------------

    def _file(
        self,
        logical: str,
        chain: tuple[str, ...],
        conditional: bool,
        inherited: str | None,
        stack: tuple[str, ...],
        *,
        definite: bool,
    ) -> None:
        got = self.files.read(logical)
        if got.data is None:
            if got.kind != "missing" or definite:
                via = f" (sourced from {self.files.path(chain[-1])})" if chain else ""
                cr = (
                    "; the name ends in a carriage return: the file that sources it has Windows line endings"
                    if logical.endswith("\r")
                    else ""
                )
                self.files.note(logical, got.kind, f"{got.reason}{via}{cr}")
            if chain and definite and got.kind == "missing":
                self._special_builtin_error(chain[-1])
            return
        self.read.append(self.files.path(logical))
        stack = (*stack, self.files.key(logical))
        if not self.files.relevant(logical, self.lookup):
            self._follow_unparsed(logical, stack)
            return
        parsed = self.files.parsed(logical)
        if parsed is None:
            return
        self._file_notes(logical, parsed)
        self._events(parsed.events, _Where(logical, chain, conditional, inherited, stack))
        if len(stack) == 1:
            self.aborted = False

    def _events(self, events: tuple[sh.Event, ...] | list[sh.Event], where: _Where, depth: int = 0) -> None:
        """Evaluate a file's events (or a called function's body) in order."""
        for ev in events:
            if self.exited or self.aborted:
                return
            if ev.function and depth == 0:
                if ev.function in self.defining:
                    self.functions.setdefault(ev.function, ([], where))[0].append(ev)
                continue
            status = self.check(ev.conds, self.lookup)
            if status is False:
                continue
            maybe = where.conditional or status is None
            if ev.kind == sh.RETURN:
                if status:
                    return
            elif ev.kind == sh.EXIT:
                if status:
                    self.exited = True
                    self.files.note(where.logical, "exit", f"{self.ctx.name}: line {ev.line} ends the shell during start-up")
                    return
            elif ev.kind == sh.FUNCDEF:
                # A new definition replaces the old one from here on.
                self.functions[ev.var] = ([], where)
                self.defining.add(ev.var)
            elif ev.kind == sh.CALL:
                body = self.functions.get(ev.var)
                if body is not None and depth < _MAX_DEPTH:
                    self._events(body[0], body[1]._replace(conditional=maybe or body[1].conditional), depth + 1)
            elif ev.kind == sh.ALLEXPORT:
                self.allexport = ev.flag
            elif ev.kind == sh.ZSHOPT:
                if ev.option == "rcs":
                    self.rcs = ev.flag
                else:
                    self.global_rcs = ev.flag
            elif ev.kind == sh.SOURCE:
                self._source(ev, where, maybe)
            else:
                self._var(ev, where, maybe)

    def _special_builtin_error(self, logical: str) -> None:
        """``.`` is a special built-in: a file it cannot open is an error that ends things.

        Checked with the real shells: non-interactive dash exits (no command
        runs at all); interactive dash and non-interactive ksh93 stop reading
        that start-up file; interactive ksh93, bash and zsh carry on.
        """
        shell, interactive = self.ctx.shell, self.ctx.interactive
        if shell == "sh" and not interactive:
            self.exited = True
            self.files.note(logical, "exit", f"{self.ctx.name}: a file it sources is missing, so the shell exits during start-up")
        elif (shell == "sh" and interactive) or (shell == "ksh" and not interactive):
            self.aborted = True

    def _file_notes(self, logical: str, parsed: sh.Parsed) -> None:
        for line in parsed.unparsed:
            self.files.note(
                logical,
                "parse-error",
                f"line {line} mentions a watched variable but could not be read as shell (zsh-only syntax?); the trace shows what it does",
            )
        if parsed.bom_line:
            self.files.note(
                logical,
                "parse-error",
                "the file starts with a UTF-8 byte-order mark, so shells do not run its first statement (which sets a watched variable)",
            )

    def _follow_unparsed(self, logical: str, stack: tuple[str, ...]) -> None:
        """List what a file without anything of interest may read, without parsing it."""
        if len(stack) > _MAX_DEPTH:
            return
        for target in self.files.candidates(logical, self.lookup):
            if self.files.key(target) in stack:
                continue
            if self.files.read(target).data is not None:
                self.read.append(self.files.path(target))
                self._follow_unparsed(target, (*stack, self.files.key(target)))

    def _source(self, ev: sh.Event, where: _Where, maybe: bool) -> None:
        if ev.word is None:
            return
        logical, chain, stack = where.logical, where.chain, where.stack
        blocker = ev.blocker if ev.blocker and ev.blocker.startswith("foreign-block:") else where.inherited
        conditional = maybe
        for lookup in self._bindings(ev.loops):
            # Inside a loop, a test on the loop variable can be decided per file.
            if ev.loops and self.check(ev.conds, lookup) is False:
                continue
            lexed = ev.word.lex(lookup)
            if lexed.text is None:
                continue  # a computed path: only the trace can follow it
            targets = self.files.expand(lexed)
            if lexed.pattern is None and lexed.text and "/" not in lexed.text:
                found = self._search(lexed.text, ev.option)
                if found is None:
                    self._not_in_path(lexed.text, ev, where, conditional)
                    continue
                targets = [found]
            for target in targets:
                if self.files.key(target) in stack:
                    self.files.note(
                        target,
                        "cycle",
                        f"{self.files.path(logical)} line {ev.line} sources it again while it is being read: a loop, not followed",
                    )
                    continue
                if len(stack) >= _MAX_DEPTH:
                    continue
                self._file(target, (*chain, logical), conditional, blocker, stack, definite=not conditional)

    def _search(self, name: str, command: str) -> str | None:
        """Where ``. name`` without a slash finds the file: shells search PATH, and only some the cwd.

        Checked with the real shells: bash looks in PATH, then the current
        directory; zsh's ``source`` the current directory first, its ``.``
        only PATH; dash and ksh93 only PATH.  Start-up runs in the home.
        """
        cwd = self.files.home
        dirs = [d or cwd for d in (self.lookup("PATH") or "").split(":")]
        if self.ctx.shell == "bash":
            dirs.append(cwd)
        elif self.ctx.shell == "zsh" and command == "source":
            dirs.insert(0, cwd)
        for folder in dirs:
            candidate = self.files.absolute(posixpath.join(folder, name))
            if self.files.exists(candidate) and not self.files.is_dir(candidate):
                return candidate
        return None

    def _not_in_path(self, name: str, ev: sh.Event, where: _Where, conditional: bool) -> None:
        if conditional:
            return
        meant = self.files.absolute(posixpath.join(self.files.home, name))
        how = "PATH and the home directory" if self.ctx.shell == "bash" or ev.option == "source" else "PATH only (not the home directory)"
        self.files.note(
            meant,
            "missing",
            f"{self.files.path(where.logical)} line {ev.line} sources {name!r}, and {self.ctx.shell} looks for it in {how}: not found",
        )
        self._special_builtin_error(where.logical)

    def _bindings(self, loops: tuple[sh.Loop, ...]) -> list[Callable[[str], str | None]]:
        """One lookup per combination of loop-variable values (``for f in ~/.profile.d/*.sh``)."""
        combos: list[dict[str, str]] = [{}]
        for loop in loops:
            if loop.words is None:
                continue
            values: list[str] = []
            for word in loop.words:
                lexed = word.lex(self.lookup)
                if lexed.text is not None:
                    values.extend(self.files.expand(lexed) if lexed.pattern else [lexed.text])
            combos = [{**c, loop.var: v} for c in combos for v in values]

        def make(binding: dict[str, str]) -> Callable[[str], str | None]:
            return lambda name: binding[name] if name in binding else self.lookup(name)

        return [make(b) for b in combos]

    def _var(self, ev: sh.Event, where: _Where, maybe: bool) -> None:
        name = ev.var
        watched = name in self.names
        old = self.vars.get(name)
        if ev.kind == sh.UNSET:
            self.vars.pop(name, None)
            if watched:
                self._emit(ev, where, maybe, UNSET, False, None)
            return
        text: str | None = old.text if old is not None else None
        secret: Secret | None = old.secret if old is not None else None
        is_set = old.is_set if old is not None else False
        if ev.assigns:
            is_set = True
            if watched:
                value = ev.value
                if value is None and ev.word is not None:
                    lexed = ev.word.lex(self.lookup, assignment=True)
                    value = Secret(lexed.text) if lexed.text is not None else None
                if ev.append:
                    before = secret.reveal() if secret is not None else ("" if old is None or not old.is_set else None)
                    value = Secret(before + value.reveal()) if value is not None and before is not None else None
                secret = value
            else:
                new = ev.word.lex(self.lookup, assignment=True).text if ev.word is not None else None
                if ev.append:
                    new = (text or "") + new if new is not None and (text is not None or old is None) else None
                text = new
        if ev.kind == sh.EXPORT:
            exported = True
        elif ev.kind == sh.UNEXPORT:
            exported = False
        else:
            exported = (old.exported if old is not None else False) or self.allexport
        self.vars[name] = _Var(text, secret, exported, is_set)
        if watched and (is_set or ev.kind == sh.UNEXPORT):
            # ``export X`` with no value yet changes nothing a child sees (an
            # inherited X is exported already), so it is not an origin; the
            # attribute is kept for a later ``X=…``.  ``export -n X`` does hide
            # an inherited X.
            self._emit(ev, where, maybe, EXPORT if exported else SET, exported, secret if is_set else None)

    def _emit(self, ev: sh.Event, where: _Where, maybe: bool, action: str, exported: bool, value: Secret | None) -> None:
        logical = where.logical
        blocker = ev.blocker or where.inherited
        if blocker is None and not self.files.under_home(logical):
            blocker = "system-file"
        self.settings.append(
            Setting(
                var=ev.var,
                action=action,
                exported=exported,
                value=value,
                path=self.files.path(logical),
                line=ev.line,
                text=ev.text,
                family=self.ctx.family,
                span=ev.span,
                part=ev.part,
                chain=tuple(self.files.path(c) for c in where.chain),
                conditional=maybe,
                editable=blocker is None,
                blocker=blocker,
            )
        )

    # --- names and conditions ----------------------------------------------

    def lookup(self, name: str) -> str | None:
        var = self.vars.get(name)
        if var is not None:
            if not var.is_set:
                return None
            if var.secret is not None:
                return var.secret.reveal()
            return var.text
        if name in self.names:
            return None  # never borrow a watched value from this terminal
        # Names the start-up files never set come from the environment the
        # shell inherits, which this terminal's is the best guess for.
        return self.host.env.get(name)

    def check(self, conds: tuple[sh.Cond, ...], lookup: Callable[[str], str | None]) -> bool | None:
        """True: runs in this context; False: cannot; None: cannot tell statically."""
        result: bool | None = True
        for cond in conds:
            value = self._cond(cond, lookup)
            if value is False:
                return False
            if value is None:
                result = None
        return result

    def _cond(self, cond: sh.Cond, lookup: Callable[[str], str | None]) -> bool | None:
        value: bool | None
        if cond.kind == "interactive":
            value = self.ctx.interactive
        elif cond.kind == "login":
            value = self.ctx.login
        elif cond.kind == "shell":
            value = cond.arg == self.ctx.shell
        elif cond.kind == "file" and cond.word is not None:
            value = self._file_test(cond.arg, cond.word, lookup)
        else:
            value = None
        if value is None:
            return None
        return not value if cond.negated else value

    def _file_test(self, op: str, word: sh.WordRef, lookup: Callable[[str], str | None]) -> bool | None:
        lexed = word.lex(lookup)
        if lexed.text is None or lexed.pattern is not None:
            return None
        path = self.files.path(self.files.absolute(lexed.text))
        st = self.host.stat(path, follow=op not in ("-h", "-L"))
        if st is None:
            return False
        mode = st.st_mode
        if op in ("-e", "-a", "-r"):
            return True
        if op == "-f":
            return stat_mod.S_ISREG(mode)
        if op == "-d":
            return stat_mod.S_ISDIR(mode)
        if op == "-s":
            return st.st_size > 0
        if op in ("-h", "-L"):
            return stat_mod.S_ISLNK(mode)
        if op == "-x":
            return bool(mode & 0o111)
        return None
