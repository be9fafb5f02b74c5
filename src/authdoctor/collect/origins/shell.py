"""Read one POSIX shell start-up file as shell code: what it does to watched variables.

:func:`parse` turns a file's bytes into :class:`Event` s in document order:
assignments, exports, unsets, ``set -a``, ``source``/``.``, ``return``/``exit``
and ``eval`` lines that mention a watched name.  It knows nothing about which
shell reads the file or when; ``posix.py`` evaluates the events per context.

The file is parsed with tree-sitter-bash, so a comment, a heredoc body, an
``echo "export X=1"`` or an alias is never mistaken for an origin.  Values are
read again from the raw bytes by :func:`lex_word`, which follows the shell's
own quoting rules: tree-sitter splits ``X=a\\<newline>b`` into two words, the
shell does not, and a CRLF file's values really end in ``\\r``.

tree-sitter is imported only when a file must be parsed (see ``posix.py``'s
pre-pass): start-up time matters more than anything else here.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.secret import Secret

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Tree

# Event kinds.
ASSIGN = "assign"  # X=v, declare X=v, readonly X=v
EXPORT = "export"  # export X[=v], declare -x X[=v]
UNEXPORT = "unexport"  # export -n X, typeset +x X
UNSET = "unset"  # unset X
SOURCE = "source"  # . file, source file
ALLEXPORT = "allexport"  # set -a / set +a (flag: on or off)
ZSHOPT = "zshopt"  # setopt/unsetopt rcs, globalrcs (option, flag)
RETURN = "return"  # return at the top level of the file: the rest is not read
EXIT = "exit"  # exit: the shell ends
FUNCDEF = "function"  # name() { … }: the body's events follow, tagged with ``function``
CALL = "call"  # a command naming a function defined in the same file

# Names a start-up sequence depends on, tracked even when nobody asked about them.
INTERNAL_NAMES = frozenset({"ZDOTDIR", "ENV", "BASH_ENV", "HOME"})

_BOM = b"\xef\xbb\xbf"
# Every byte but newline to a space: blanks text while keeping offsets and line numbers.
_BLANK = bytes(0x0A if i == 0x0A else 0x20 for i in range(256))
# A repair round re-parses the whole file; a start-up file that needs more
# than this many is not worth more time (the trace reads it for real).
_MAX_REPAIRS = 6
# How many following statements a command's last line may need to parse again (see _lines_of).
_MAX_SIBLINGS = 8
# Patterns are compiled on first use (re caches them): importing this module
# must stay cheap, and each compile costs about half a millisecond.
_NAME = r"[A-Za-z_][A-Za-z0-9_]*\Z"
_REF = rb"\$\{?([A-Za-z_][A-Za-z0-9_]*)"


class WordRef:
    """Where a word starts in a buffer, to be expanded later.  Never shows the buffer."""

    __slots__ = ("at", "buf")

    def __init__(self, buf: bytes, at: int) -> None:
        self.buf = buf
        self.at = at

    def lex(self, lookup: Callable[[str], str | None] | None = None, *, assignment: bool = False) -> Lexed:
        return lex_word(self.buf, self.at, lookup, assignment=assignment)

    def refs(self) -> set[str]:
        """Variable names the word mentions (for deciding what to track)."""
        end = lex_word(self.buf, self.at).end
        return {m.decode("ascii") for m in re.compile(_REF).findall(self.buf, self.at, end)}

    def __repr__(self) -> str:
        return f"WordRef(@{self.at})"


class Cond(NamedTuple):
    """One test a statement depends on.  Kinds posix.py can decide for a context:

    ``interactive``, ``login``, ``shell`` (arg: bash/zsh/ksh), ``file`` (arg: the
    test operator, word: the path); anything else is ``unknown``.
    """

    kind: str
    arg: str = ""
    word: WordRef | None = None
    negated: bool = False

    def negate(self) -> Cond:
        return self._replace(negated=not self.negated)


UNKNOWN = Cond("unknown")


class Loop(NamedTuple):
    """``for var in words``: the words a loop variable takes (None: ``for var; do``)."""

    var: str
    words: tuple[WordRef, ...] | None


class Event(NamedTuple):
    """One thing a file does that can matter for a watched variable, in document order."""

    kind: str
    var: str = ""
    line: int = 0  # 1-based, where the statement starts
    span: tuple[int, int] = (0, 0)  # bytes of the whole statement (``export A=1 X=2 B=3``)
    part: tuple[int, int] = (0, 0)  # bytes of this variable's own part (``X=2``)
    text: str = ""  # the statement with every value replaced by <redacted>
    value: Secret | None = None  # a literal value; None when unset, absent or computed
    word: WordRef | None = None  # the value (assignments) or the path (SOURCE), for expansion
    assigns: bool = False  # carries a value (``export X=v``), not only a name (``export X``)
    append: bool = False  # X+=v
    conds: tuple[Cond, ...] = ()  # all must hold for the statement to run
    loops: tuple[Loop, ...] = ()  # loops around the statement, outermost first
    in_function: bool = False
    blocker: str | None = None  # why a fixer must not edit it
    flag: bool = False  # ALLEXPORT / ZSHOPT: on or off
    option: str = ""  # ZSHOPT: "rcs" | "globalrcs"; SOURCE: the command, "." or "source"
    function: str = ""  # the function whose body this is: it runs only when called

    @property
    def conditional(self) -> bool:
        return bool(self.conds) or self.in_function


class Parsed(NamedTuple):
    events: tuple[Event, ...]
    # 1-based lines the parser could not read and that mention a watched name.
    unparsed: tuple[int, ...] = ()
    # The first statement is preceded by a UTF-8 byte-order mark, so shells
    # run it as a command named "\ufeffexport" and it does nothing; 1-based
    # line of a watched statement lost that way, or 0.
    bom_line: int = 0


# --- the parser, loaded on first use ------------------------------------------

_PARSER: Parser | None = None


def _parser() -> Parser:
    global _PARSER
    if _PARSER is None:
        from tree_sitter import Language, Parser

        _PARSER = Parser(Language(_bash_language()))
    return _PARSER


def _bash_language() -> object:
    """tree-sitter-bash's grammar, without its package ``__init__``.

    The ``__init__`` imports ``importlib.resources`` for its highlight queries,
    which costs about 13 ms; the grammar itself is one small extension module.
    It is found and loaded with ``importlib.machinery`` alone: ``importlib.util``
    (with ``importlib._abc``) costs another half millisecond.  A package that
    the path finder cannot see (an unusual installer) is imported the usual way.
    """
    import sys

    name = "tree_sitter_bash._binding"
    mod = sys.modules.get(name)
    if mod is None:
        try:
            from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec, PathFinder

            spec = PathFinder.find_spec("tree_sitter_bash")
            for folder in (spec.submodule_search_locations or []) if spec else []:
                for suffix in EXTENSION_SUFFIXES:
                    path = f"{folder}/_binding{suffix}"
                    loader = ExtensionFileLoader(name, path)
                    sub = ModuleSpec(name, loader, origin=path)
                    sub.has_location = True
                    try:
                        mod = loader.create_module(sub)
                        # What importlib.util.module_from_spec would set.
                        mod.__spec__, mod.__loader__, mod.__package__, mod.__file__ = sub, loader, sub.parent, path
                        loader.exec_module(mod)
                    except (ImportError, OSError):
                        mod = None
                        continue
                    sys.modules[name] = mod
                    break
                if mod is not None:
                    break
        except (ImportError, ValueError):
            mod = None
    if mod is None:
        import tree_sitter_bash

        return tree_sitter_bash.language()
    language: Callable[[], object] = mod.language
    return language()


# --- words ---------------------------------------------------------------------


class Lexed(NamedTuple):
    text: str | None  # None: depends on something we do not know ($(…), an unknown variable)
    end: int  # byte offset just past the word
    pattern: str | None = None  # when an unquoted glob character appears: the word as an fnmatch pattern


_WORD_END = frozenset(b" \t\n;&|<>()")
# What ends a run of plain characters: the end of the word, or a quote, escape or expansion.
_PLAIN_STOPS = b" \t\n;&|<>()\\'\"$`"
# Translation tables that turn those bytes (and ":" too, in an assignment) into 0 and every
# other byte into something else, so ``find(0)`` finds a run's end at C speed: a token is
# hundreds of characters, and a Python loop over them cost a quarter of a millisecond each.
_PLAIN = bytes.maketrans(b"\0" + _PLAIN_STOPS, b"\1" + bytes(len(_PLAIN_STOPS)))
_PLAIN_IN_ASSIGNMENT = bytes.maketrans(b"\0:" + _PLAIN_STOPS, b"\1" + bytes(len(_PLAIN_STOPS) + 1))
_ANSI = {ord("n"): "\n", ord("t"): "\t", ord("r"): "\r", ord("a"): "\a", ord("b"): "\b", ord("e"): "\x1b", ord("E"): "\x1b"}
_ANSI.update({ord("f"): "\f", ord("v"): "\v", ord("\\"): "\\", ord("'"): "'", ord('"'): '"', ord("?"): "?"})


def lex_word(buf: bytes, at: int, lookup: Callable[[str], str | None] | None = None, *, assignment: bool = False) -> Lexed:
    """Read one shell word starting at ``at`` the way a POSIX shell does.

    Quotes and backslashes are removed, backslash-newline joins lines.
    ``lookup`` expands ``$NAME``, ``${NAME}``, ``${NAME:-word}`` and ``~``;
    without it (or when it returns None) the result is None: computed.
    ``assignment`` also expands ``~`` after ``:`` as shells do in assignments.
    """
    out: list[str] = []
    pat: list[str] = []
    known = True
    globbed = False
    n = len(buf)
    i = at

    def emit(s: str, quoted: bool) -> None:
        out.append(s)
        pat.append(_glob_quote(s) if quoted else s)

    def tilde(i: int) -> int:
        nonlocal known
        j = i + 1
        while j < n and buf[j] not in _WORD_END and buf[j] not in b"/:":
            j += 1
        user = buf[i + 1 : j]
        home = lookup("HOME") if lookup is not None and not user else None
        if home is None:
            known = False
        else:
            emit(home, True)
        return j

    if i < n and buf[i] == 0x7E:  # ~
        i = tilde(i)
    while i < n:
        c = buf[i]
        if c in _WORD_END:
            if c == 0x28 and i == at and assignment:  # X=(a b): an array
                known = False
                i = _skip_balanced(buf, i, 0x28, 0x29)
                continue
            break
        if c == 0x5C:  # backslash
            if i + 1 >= n:
                i += 1
                break
            if buf[i + 1] == 0x0A:
                i += 2
                continue
            emit(_dec(buf[i + 1 : i + 2]), True)
            i += 2
        elif c == 0x27:  # '
            j = buf.find(b"'", i + 1)
            j = n if j < 0 else j
            emit(_dec(buf[i + 1 : j]), True)
            i = j + 1
        elif c == 0x22:  # "
            i, ok = _lex_double(buf, i + 1, lookup, emit)
            known = known and ok
        elif c == 0x24:  # $
            i, value = _lex_dollar(buf, i, lookup)
            if value is None:
                known = False
            elif value:
                emit(value, True)
        elif c == 0x60:  # `
            known = False
            i = _skip_backticks(buf, i + 1)
        elif c == 0x3A and assignment and i + 1 < n and buf[i + 1] == 0x7E:
            emit(":", False)
            i = tilde(i + 1)
        else:
            j = _plain_end(buf, i + 1, _PLAIN_IN_ASSIGNMENT if assignment else _PLAIN)
            raw = buf[i:j]
            globbed = globbed or b"*" in raw or b"?" in raw or b"[" in raw
            emit(_dec(raw), False)
            i = j
    i = min(i, n)  # an unterminated quote runs to the end of the buffer, not past it
    if not known:
        return Lexed(None, i)
    return Lexed("".join(out), i, "".join(pat) if globbed else None)


def _glob_quote(s: str) -> str:
    """``s`` as an fnmatch pattern that matches only itself: each of ``*?[`` in brackets."""
    if "*" not in s and "?" not in s and "[" not in s:
        return s
    return s.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")  # "[" first: the others add brackets


def _plain_end(buf: bytes, start: int, table: bytes) -> int:
    """Where the run of plain characters from ``start`` ends: the first byte ``table`` turns into 0, or the end."""
    stop = buf.find(b"\n", start)  # a line break always ends it: look no further
    stop = len(buf) if stop < 0 else stop
    k = buf[start:stop].translate(table).find(0)
    return stop if k < 0 else start + k


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _lex_double(buf: bytes, i: int, lookup: Callable[[str], str | None] | None, emit: Callable[[str, bool], None]) -> tuple[int, bool]:
    n = len(buf)
    known = True
    while i < n:
        c = buf[i]
        if c == 0x22:
            break
        if c == 0x5C and i + 1 < n:
            nxt = buf[i + 1]
            if nxt == 0x0A:
                pass
            elif nxt in b'$`"\\':
                emit(chr(nxt), True)
            else:
                emit(_dec(buf[i : i + 2]), True)
            i += 2
            continue
        if c == 0x24:
            i, value = _lex_dollar(buf, i, lookup)
            if value is None:
                known = False
            elif value:
                emit(value, True)
            continue
        if c == 0x60:
            known = False
            i = _skip_backticks(buf, i + 1)
            continue
        j = _double_end(buf, i + 1)
        emit(_dec(buf[i:j]), True)
        i = j
    return min(i + 1, n), known


def _double_end(buf: bytes, start: int) -> int:
    """Where the run of plain characters inside double quotes from ``start`` ends: the first of
    ``"``, ``\\``, ``$`` or a backquote, or the end (found with bytes.find, as _plain_end does)."""
    quote = buf.find(b'"', start)
    end = len(buf) if quote < 0 else quote
    return min((k for k in (buf.find(b"\\", start, end), buf.find(b"$", start, end), buf.find(b"`", start, end)) if k >= 0), default=end)


def _lex_dollar(buf: bytes, i: int, lookup: Callable[[str], str | None] | None) -> tuple[int, str | None]:
    """Expand the ``$`` at ``i``; returns (end, value) with value None when unknown."""
    n = len(buf)
    if i + 1 >= n:
        return i + 1, "$"
    c = buf[i + 1]
    if c == 0x27:  # $'…': ANSI-C quoting
        return _lex_ansi(buf, i + 2)
    if c == 0x22:  # $"…": a translated string, the same text here
        parts: list[str] = []
        end, ok = _lex_double(buf, i + 2, lookup, lambda s, _q: parts.append(s))
        return end, "".join(parts) if ok else None
    if c == 0x28:  # $( … ) or $(( … ))
        return _skip_balanced(buf, i + 1, 0x28, 0x29), None
    if c == 0x5B:  # $[ … ] (old arithmetic)
        return _skip_balanced(buf, i + 1, 0x5B, 0x5D), None
    if c == 0x7B:  # ${ … }
        end = _skip_balanced(buf, i + 1, 0x7B, 0x7D)
        return end, _param(buf[i + 2 : end - 1], lookup)
    m = re.match(rb"[A-Za-z_][A-Za-z0-9_]*", buf[i + 1 : i + 65])
    if m:
        name = m.group().decode("ascii")
        return i + 1 + len(m.group()), lookup(name) if lookup is not None else None
    if c in b"0123456789@*#?$!-":
        return i + 2, None
    return i + 1, "$"


def _param(inner: bytes, lookup: Callable[[str], str | None] | None) -> str | None:
    """``${NAME}``, ``${NAME-word}``, ``${NAME:-word}``; anything fancier is unknown."""
    m = re.match(rb"([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-=])(.*))?\Z", inner, re.S)
    if m is None or lookup is None:
        return None
    name = m.group(1).decode("ascii")
    value = lookup(name)
    if m.group(3) is None:
        return value
    if value is None:
        # Unknown is not the same as unset: only HOME-like names are known to
        # be set, so an unknown name with a default takes the default -- the
        # common ``${ZDOTDIR:-$HOME}`` and ``${XDG_CONFIG_HOME:-$HOME/.config}``.
        value = ""
        unset = True
    else:
        unset = False
    if unset or (m.group(2) == b":" and value == ""):
        word = m.group(4)
        return lex_word(word + b" ", 0, lookup).text
    return value


def _lex_ansi(buf: bytes, i: int) -> tuple[int, str | None]:
    n = len(buf)
    out: list[str] = []
    while i < n and buf[i] != 0x27:
        c = buf[i]
        if c == 0x5C and i + 1 < n:
            nxt = buf[i + 1]
            if nxt in _ANSI:
                out.append(_ANSI[nxt])
                i += 2
                continue
            if nxt == 0x78:  # \xHH
                m = re.match(rb"[0-9A-Fa-f]{1,2}", buf[i + 2 : i + 4])
                if m:
                    out.append(_dec(bytes([int(m.group(), 16)])))
                    i += 2 + len(m.group())
                    continue
            if nxt in b"01234567":
                m = re.match(rb"[0-7]{1,3}", buf[i + 1 : i + 4])
                if m:
                    out.append(_dec(bytes([int(m.group(), 8) & 0xFF])))
                    i += 1 + len(m.group())
                    continue
            # \u, \c and friends: rare in start-up files; do not guess.
            end = buf.find(b"'", i + 2)
            return (n if end < 0 else end + 1), None
        j = i + 1
        while j < n and buf[j] not in b"'\\":
            j += 1
        out.append(_dec(buf[i:j]))
        i = j
    return min(i + 1, n), "".join(out)


def _skip_balanced(buf: bytes, i: int, open_: int, close: int) -> int:
    """From the opening bracket at ``i``, past its match (quotes respected, roughly)."""
    depth = 0
    n = len(buf)
    while i < n:
        c = buf[i]
        if c == 0x5C:
            i += 2
            continue
        if c == 0x27:
            j = buf.find(b"'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if c == 0x22:
            j = i + 1
            while j < n and buf[j] != 0x22:
                j += 2 if buf[j] == 0x5C else 1
            i = j + 1
            continue
        if c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _skip_backticks(buf: bytes, i: int) -> int:
    n = len(buf)
    while i < n:
        if buf[i] == 0x5C:
            i += 2
            continue
        if buf[i] == 0x60:
            return i + 1
        i += 1
    return n


# --- owned blocks ----------------------------------------------------------------

_BLOCK_START = rb"(?m)^[ \t]*#[ \t]*>>>[ \t]*([\w.-]+)[ \t]+initialize[ \t]*>>>"
_ANSIBLE_START = rb"(?m)^[ \t]*#[ \t]*BEGIN ANSIBLE MANAGED BLOCK"
_ANSIBLE_END = rb"(?m)^[ \t]*#[ \t]*END ANSIBLE MANAGED BLOCK"
_NVM_LINE = rb"(?m)^.*# This loads nvm.*$"
_RUSTUP_LINE = rb"(?m)^[ \t]*(?:\.|source)[ \t]+[^\n#]*\.cargo/env\b.*$"


def foreign_lines(data: bytes) -> dict[int, str]:
    """1-based line -> the tool that owns it (conda, mamba, juliaup, nvm, rustup, ansible)."""
    owned: dict[int, str] = {}

    def mark(start: int, end: int, tool: str) -> None:
        first = data.count(b"\n", 0, start) + 1
        last = data.count(b"\n", 0, end) + 1
        for line in range(first, last + 1):
            owned.setdefault(line, tool)

    if b">>>" in data:
        for m in re.finditer(_BLOCK_START, data):
            tool = m.group(1)
            end = re.compile(rb"(?m)^[ \t]*#[ \t]*<<<[ \t]*" + re.escape(tool) + rb"[ \t]+initialize[ \t]*<<<").search(data, m.end())
            mark(m.start(), end.end() if end else len(data), tool.decode("ascii", "replace"))
    if b"ANSIBLE" in data:
        for m in re.finditer(_ANSIBLE_START, data):
            end = re.compile(_ANSIBLE_END).search(data, m.end())
            mark(m.start(), end.end() if end else len(data), "ansible")
    if b"This loads nvm" in data:
        for m in re.finditer(_NVM_LINE, data):
            mark(m.start(), m.start(), "nvm")
    if b".cargo/env" in data:
        for m in re.finditer(_RUSTUP_LINE, data):
            mark(m.start(), m.start(), "rustup")
    return owned


# --- the walk --------------------------------------------------------------------

_LOOP = Cond("unknown", "loop")
_SHELL_VARS = {"BASH_VERSION": "bash", "BASH": "bash", "ZSH_VERSION": "zsh", "ZSH_NAME": "zsh", "KSH_VERSION": "ksh"}
_FILE_TESTS = frozenset({"-e", "-a", "-f", "-r", "-s", "-d", "-h", "-L", "-x"})
_STATEMENTS = frozenset(
    {
        "declaration_command",
        "variable_assignment",
        "variable_assignments",
        "unset_command",
        "command",
        "list",
        "if_statement",
        "case_statement",
        "for_statement",
        "while_statement",
        "function_definition",
        "compound_statement",
        "redirected_statement",
        "negated_command",
    }
)
_SUBSHELLS = frozenset({"subshell", "pipeline", "command_substitution", "process_substitution"})


def parse(data: bytes, names: frozenset[str]) -> Parsed:
    """Every event in ``data`` about ``names`` (and the names the start-up order depends on)."""
    repaired = _parse_with_repairs(data, names)
    tree = repaired.tree
    walker = _Walker(data, names, repaired.buf)
    walker._salvaged.update(repaired.inert)  # here-document bodies: never read as code
    walker.block(tree.root_node.children, (), (), False)
    keep = names | INTERNAL_NAMES | walker.referenced
    events = tuple(e for e in walker.events if (e.var in walker.functions if e.kind in (CALL, FUNCDEF) else not e.var or e.var in keep))
    unreadable = {r + 1 for r in repaired.blanked if _line_mentions(data, r, names)}
    unreadable.update(row + 1 for row, body in repaired.unclosed if mentions(data[body:], names))
    unparsed = tuple(sorted(unreadable | walker.error_lines | _unclosed_heredocs(tree.root_node, data, names)))
    bom_line = 0
    if data.startswith(_BOM):
        broken = [e for e in events if e.span[0] == len(_BOM)]
        events = tuple(e for e in events if e.span[0] != len(_BOM))
        bom_line = 1 if any(e.var in names for e in broken) else 0
    return Parsed(events, unparsed, bom_line)


def syntax_tree(data: bytes) -> Tree:
    """``data`` parsed for an editor that must know how statements nest and whether an edit
    breaks the file: like :func:`parse`, here-documents tree-sitter cannot end are taken out
    (see :func:`_unhide_heredoc`), so what follows them is seen; nothing else is repaired."""
    parser = _parser()
    tree = parser.parse(data)
    tried: set[int] = set()
    while (fixed := _unhide_heredoc(data, tree.root_node, tried)) is not None:
        data = fixed.buf
        tree = parser.parse(data)
    return tree


def _unclosed_heredocs(root: Node, data: bytes, names: frozenset[str]) -> set[int]:
    """Lines of a heredoc tree-sitter never saw the end of, left after the repairs
    (:func:`_unhide_heredoc` gave up on it: a delimiter with a ``$``, too many of them).

    tree-sitter-bash leaves only a MISSING ``heredoc_end`` there -- no ERROR -- and
    reads the rest of the file as the heredoc's body, so nothing after it is
    seen.  Said as a parse error, so the person hears about it instead of
    getting a silent "not set".
    """
    if not root.has_error:
        return set()
    rows: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "heredoc_redirect" and any(c.is_missing for c in node.children):
            start = data.rfind(b"\n", 0, node.start_byte) + 1
            if mentions(data[start:], names):
                rows.add(node.start_point.row + 1)
        elif node.has_error:
            stack.extend(node.children)
    return rows


class _Unhidden(NamedTuple):
    buf: bytes
    body: tuple[int, int]  # 0-based first and last row of the body taken out
    unclosed: tuple[int, int] | None  # (row of the ``<<``, where the body starts) when no line ends the body


# Each repair round re-parses the file; more broken heredocs than this are left to the trace.
_MAX_HEREDOCS = 16
# A heredoc operator whose delimiter, read up to a blank as tree-sitter-bash reads it, holds
# a character that ends a shell word: ``<<EOF;``, ``<<EOF)``, ``<<EOF>f``.  Also matches
# ``<<<`` and arithmetic shifts; the tree tells them apart.
_GLUED_HEREDOC = rb"<<-?[ \t]*[^\s;&|()<>]*[;&|()<>]"


def _unhide_heredoc(buf: bytes, root: Node, tried: set[int]) -> _Unhidden | None:
    """Take the first here-document tree-sitter-bash misread out of its view, keeping every offset.

    tree-sitter-bash ends a heredoc's delimiter at a blank only: in ``cat <<EOF; export X=1``
    it looks for a line ``EOF;``, never finds one and reads the rest of the file as the body
    (a MISSING ``heredoc_end``, or worse, an "end" in the middle of a later line, with no
    error at all); ``<<'EOF';`` or ``<<EOF ;`` give an ERROR instead, and the body lines are
    then read as commands.  Shells end the delimiter at the ``;``, run the rest of the line,
    and the body ends at the first line that is exactly the delimiter (after leading tabs
    with ``<<-``).  So the operator with its delimiter and the body with its closing line
    become blanks (newlines kept): the tree then holds the rest of the redirect line and the
    file after the body, at their real offsets.  Looked for only in parts of the tree that
    hold an error and where :data:`_GLUED_HEREDOC` matches, so most files never pay for it.
    """
    while len(tried) < _MAX_HEREDOCS:
        start = _misread_heredoc(buf, root, tried)
        if start is None:
            return None
        tried.add(start.start_byte)
        op = start.prev_sibling
        delim = lex_word(buf, start.start_byte)
        if op is not None and op.type in ("<<", "<<-") and delim.text is not None:
            return _blank_heredoc(buf, start, op, delim.text, delim.end)
        # A delimiter with an expansion in it: rare, left as a parse error.
    return None


def _misread_heredoc(buf: bytes, root: Node, tried: set[int]) -> Node | None:
    """The first ``heredoc_start`` not tried yet in a part of the tree with an error, or whose
    delimiter, as tree-sitter read it, runs on past the end of the shell's word."""
    start: Node | None = None
    if root.has_error:
        stack = [root]
        while stack:
            node = stack.pop()
            for c in node.children:
                if c.type == "heredoc_start":
                    if c.start_byte not in tried and (start is None or c.start_byte < start.start_byte):
                        start = c
                elif c.has_error:
                    stack.append(c)
    if b"<<" in buf:
        for m in re.compile(_GLUED_HEREDOC).finditer(buf, 0, start.start_byte if start is not None else len(buf)):
            op = root.descendant_for_byte_range(m.start(), m.start() + 2)
            word = op.next_sibling if op is not None and op.type in ("<<", "<<-") else None
            if (
                word is not None
                and word.type == "heredoc_start"
                and word.start_byte not in tried
                and lex_word(buf, word.start_byte).end < word.end_byte
            ):
                return word
    return start


def _blank_heredoc(buf: bytes, start: Node, op: Node, delim: str, delim_end: int) -> _Unhidden:
    """``buf`` with the operator, the delimiter, the body and its closing line as blanks."""
    newline = buf.find(b"\n", delim_end)
    body = len(buf) if newline < 0 else newline + 1
    tabs = rb"\t*" if op.type == "<<-" else b""
    closing = re.compile(rb"(?m)^" + tabs + re.escape(delim.encode("utf-8", "surrogateescape")) + rb"$").search(buf, body)
    end = len(buf) if closing is None else closing.end()
    first = start.start_point.row + buf.count(b"\n", start.start_byte, body)
    out = b"".join(
        (
            buf[: op.start_byte],
            buf[op.start_byte : delim_end].translate(_BLANK),
            buf[delim_end:body],
            buf[body:end].translate(_BLANK),
            buf[end:],
        )
    )
    return _Unhidden(
        out,
        (first, first + buf.count(b"\n", body, end)),
        (int(start.start_point.row), body) if closing is None else None,
    )


def mentions(data: bytes, names: frozenset[str]) -> bool:
    return any(n.encode() in data for n in names)


def _line_mentions(data: bytes, row: int, names: frozenset[str]) -> bool:
    start, end = _line_bounds(data, row)
    return mentions(data[start:end], names)


# zsh closes ``{ cmd }`` without a ``;`` before the brace; bash's grammar reads
# that ``}`` as an argument and the function swallows the rest of the file.
# Turning the blank before such a closing brace into ``;`` keeps every offset.
_ZSH_BRACE = rb"(?m)^([^\n#]*\{[^\n]*[^\s;&|{\\])[ \t]\}(?=[ \t]*(?:#[^\n]*)?$)"


class _Repaired(NamedTuple):
    tree: Tree
    buf: bytes  # what tree-sitter read: the file with repairs that keep every offset
    blanked: list[int]  # 0-based rows blanked because tree-sitter could not read them
    inert: set[int]  # 0-based rows of here-document bodies taken out of tree-sitter's view
    unclosed: list[tuple[int, int]]  # (row, where the body starts) of here-documents never closed


def _parse_with_repairs(data: bytes, names: frozenset[str]) -> _Repaired:
    """Parse; where tree-sitter-bash fails (zsh-only syntax), blank those lines and try again.

    An error region can swallow the statements after it (``x=${(s.:.)y}``
    followed by ``export X=1`` loses the ``export``; an ``if (( ${+x[k]} ))``
    turns a whole block into one error).  Each round blanks every innermost
    error line at once -- blanking keeps byte offsets, so spans stay right --
    and stops when nothing of interest follows the first error.  A here-document
    tree-sitter misreads is taken out first (:func:`_unhide_heredoc`): blanking
    its line would lose the commands that share it.
    """
    parser = _parser()
    buf = re.sub(_ZSH_BRACE, rb"\1;}", data) if b"}" in data else data
    tree = parser.parse(buf)
    blanked: list[int] = []
    inert: set[int] = set()
    unclosed: list[tuple[int, int]] = []
    tried: set[int] = set()
    starts: list[int] | None = None
    rounds = 0
    while True:
        fixed = _unhide_heredoc(buf, tree.root_node, tried)
        if fixed is not None:
            buf = fixed.buf
            inert.update(range(fixed.body[0], fixed.body[1] + 1))
            if fixed.unclosed is not None:
                unclosed.append(fixed.unclosed)
            tree = parser.parse(buf)
            continue
        if not tree.root_node.has_error or rounds == _MAX_REPAIRS:
            break
        rounds += 1
        rows = sorted({r for r in _error_rows(tree.root_node, []) if r not in blanked})
        if not rows:
            break
        if starts is None:
            starts = _line_starts(buf)
        if rows[0] >= len(starts):
            break
        rest = data[starts[rows[0]] :]
        if not (mentions(rest, names) or re.search(_INTEREST, rest)):
            break
        chunks = bytearray(buf)
        for row in rows:
            if row < len(starts):
                start = starts[row]
                end = starts[row + 1] - 1 if row + 1 < len(starts) else len(buf)
                chunks[start:end] = b" " * (end - start)
                blanked.append(row)
        buf = bytes(chunks)
        tree = parser.parse(buf)
    return _Repaired(tree, buf, blanked, inert, unclosed)


def _line_starts(buf: bytes) -> list[int]:
    starts = [0]
    at = buf.find(b"\n")
    while at >= 0:
        starts.append(at + 1)
        at = buf.find(b"\n", at + 1)
    return starts


def _error_rows(node: Node, out: list[int]) -> list[int]:
    """The row of each innermost error: an ERROR around a whole ``if`` block
    starts at a good line; the bad line is the ERROR nested in it."""
    for child in node.children:
        # A MISSING node sits where something was expected -- usually a good
        # line after the bad one -- so it never chooses what to blank.
        if child.type == "ERROR":
            before = len(out)
            if child.has_error:
                _error_rows(child, out)
            if len(out) == before:
                out.append(int(child.start_point.row))
        elif child.has_error:
            _error_rows(child, out)
    return out


_INTEREST = (
    rb"(?:^|[\s;&|({`'\"])(?:source|\\?\.)[ \t]+\S|\bset[ \t]+[-+]\w*a|(?i:all_?export)"
    rb"|(?<![\w])(?:ZDOTDIR|ENV|BASH_ENV)=|\beval\b|\bemulate\b"
)


def _line_bounds(buf: bytes, row: int) -> tuple[int, int]:
    start = 0
    for _ in range(row):
        nxt = buf.find(b"\n", start)
        if nxt < 0:
            return len(buf), len(buf)
        start = nxt + 1
    end = buf.find(b"\n", start)
    return start, len(buf) if end < 0 else end


class _Walker:
    def __init__(self, data: bytes, names: frozenset[str], tree_buf: bytes | None = None) -> None:
        self.data = data
        self.names = names
        self.events: list[Event] = []
        self.referenced: set[str] = set()
        self.error_lines: set[int] = set()
        self.functions: set[str] = set()
        self._salvaged: set[int] = set()
        self._owned: dict[int, str] | None = None
        self._in_error = False
        self._wanted = _Wanted(data, names)
        self._starts: list[int] | None = None
        # What the tree was parsed from: ``data`` with repairs that keep every offset.
        self._tree_buf = data if tree_buf is None else tree_buf
        # The conditions of the innermost block (or error region) being walked, without those a list adds.
        self._level: tuple[Cond, ...] = ()
        # Statements before this byte were already walked from a parse of their own (see _lines_of).
        self._skip_until = 0
        self._splitting: set[tuple[int, int]] = set()

    # --- structure ---------------------------------------------------------

    def block(self, nodes: list[Node], conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        outer, self._level = self._level, conds
        for idx, node in enumerate(nodes):
            nxt = nodes[idx + 1] if idx + 1 < len(nodes) else None
            if nxt is not None and nxt.type == "&":
                if node.type == "command":
                    self._lines_of(node, conds, loops, in_fn, last=False)
                continue  # a background job runs in a subshell
            if node.type != "ERROR" and not self._wanted.within(node.start_byte, node.end_byte):
                continue  # most statements cannot matter; walking them is what costs time
            if node.start_byte < self._skip_until:
                continue
            self.stmt(node, conds, loops, in_fn)
        self._level = outer

    def stmt(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        t = node.type
        if t in _SUBSHELLS or t == "comment" or t == "test_command":
            head = node.child(0) if t == "pipeline" else None
            if head is not None and head.type == "command":
                # ``A=1 B=2`` newline ``cmd | other``: the assignments' line is not part of the pipeline.
                self._lines_of(head, conds, loops, in_fn, last=False)
            return
        if t in ("program", "compound_statement"):
            self.block(node.children, conds, loops, in_fn)
        elif t == "redirected_statement":
            body = node.child_by_field_name("body")
            if body is not None:
                self.stmt(body, conds, loops, in_fn)
            last = node.child(node.child_count - 1)
            if last is not None and last.type == "heredoc_redirect" and last.child_count > 4:
                self._after_heredoc(last, body, conds, loops, in_fn)
        elif t == "negated_command":
            self.block([c for c in node.children if c.type != "!"], conds, loops, in_fn)
        elif t == "list":
            self._list(node, conds, loops, in_fn)
        elif t == "if_statement":
            self._if(node, conds, loops, in_fn)
        elif t == "case_statement":
            self._case(node, conds, loops, in_fn)
        elif t == "for_statement":
            self._for(node, conds, loops, in_fn)
        elif t in ("while_statement", "until_statement", "c_style_for_statement"):
            for c in node.children:
                if c.type == "do_group":
                    self.block(c.children, (*conds, _LOOP), loops, in_fn)
        elif t == "function_definition":
            self._function(node, conds, loops)
        elif t == "declaration_command":
            self._declaration(node, conds, loops, in_fn)
        elif t == "variable_assignment":
            self._assignments([node], node, "", conds, loops, in_fn)
        elif t == "variable_assignments":
            self._assignments([c for c in node.children if c.type == "variable_assignment"], node, "", conds, loops, in_fn)
        elif t == "unset_command":
            self._unset(node, conds, loops, in_fn)
        elif t == "command":
            self._command(node, conds, loops, in_fn)
        elif t == "ERROR":
            self._error(node, conds, loops, in_fn)

    def _error(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        """What tree-sitter could not place: keep what is whole inside it, read the rest line by line.

        Whole statements inside an error region are walked; the other lines
        (an unbalanced quote can swallow dozens) are parsed one at a time when
        they hold something of interest.  Either way their context is unknown:
        conditional, and not for a fixer to edit.
        """
        was, outer = self._in_error, self._level
        self._in_error, self._level = True, (*conds, UNKNOWN)
        covered: set[int] = set()
        for child in node.children:
            if child.type in _STATEMENTS and not child.has_error:
                self.stmt(child, self._level, loops, in_fn)
                covered.update(range(child.start_point.row, child.end_point.row + 1))
        self._in_error, self._level = was, outer
        for row in range(node.start_point.row, node.end_point.row + 1):
            if row not in covered and row not in self._salvaged:
                self._salvaged.add(row)
                self._salvage(row, conds, loops, in_fn)

    def _salvage(self, row: int, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        if self._starts is None:
            self._starts = _line_starts(self.data)
        if row >= len(self._starts):
            return
        start = self._starts[row]
        end = self._starts[row + 1] - 1 if row + 1 < len(self._starts) else len(self.data)
        line = self.data[start:end]
        if not (mentions(line, self.names) or re.search(_INTEREST, line)):
            return
        # Everything else blanked: offsets and line numbers stay those of the file.
        buf = self.data[:start].translate(_BLANK) + self.data[start : end + 1]
        tree = _parser().parse(buf)
        sub = _Walker(buf, self.names)
        sub._in_error, sub._level = True, (*conds, UNKNOWN)
        for child in tree.root_node.children:
            if child.type in _STATEMENTS and not child.has_error:
                sub.stmt(child, sub._level, loops, in_fn)
        if tree.root_node.has_error and mentions(line, self.names) and not any(e.var in self.names for e in sub.events):
            self.error_lines.add(row + 1)
        self.events.extend(sub.events)
        self.referenced.update(sub.referenced)
        self.functions.update(sub.functions)
        self.error_lines.update(sub.error_lines)

    def _function(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...]) -> None:
        """A body runs when the function is called, under the call's conditions, not the definition's."""
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name_node is None or body is None:
            return
        name = self._raw(name_node)
        self.functions.add(name)
        line = node.start_point.row + 1
        self.events.append(Event(FUNCDEF, name, line, (node.start_byte, node.end_byte), conds=conds, loops=loops))
        first = len(self.events)
        self.stmt(body, (), (), True)
        for i in range(first, len(self.events)):
            if not self.events[i].function:
                self.events[i] = self.events[i]._replace(function=name)

    def _list(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        kids = [c for c in node.children if c.type != "comment"]
        if len(kids) != 3:
            self.block(kids, (*conds, UNKNOWN), loops, in_fn)
            return
        left, op, right = kids
        self.stmt(left, conds, loops, in_fn)
        test = self._cond_of(left)
        if op.type == "&&":
            self.stmt(right, (*conds, *test), loops, in_fn)
        else:
            self.stmt(right, (*conds, *_negate(test)), loops, in_fn)

    def _if(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        previous: list[Cond] = []

        def clause(children: list[Node]) -> None:
            test: list[Node] = []
            body: list[Node] = []
            seen_then = False
            for c in children:
                if c.type in ("if", "elif", "fi", "elif_clause", "else_clause"):
                    continue
                if c.type == "then":
                    seen_then = True
                elif seen_then:
                    body.append(c)
                elif c.type != ";":
                    test.append(c)
            here = (*conds, *previous)
            self.block(test, here, loops, in_fn)
            cond = self._cond_of_many(test)
            self.block(body, (*here, *cond), loops, in_fn)
            previous.extend(_negate(cond))

        clause(node.children)
        for c in node.children:
            if c.type == "elif_clause":
                clause(c.children)
            elif c.type == "else_clause":
                self.block([k for k in c.children if k.type != "else"], (*conds, *previous), loops, in_fn)

    def _case(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        value = node.child_by_field_name("value")
        subject = self.data[value.start_byte : value.end_byte].strip(b'"') if value is not None else b""
        previous: list[Cond] = []
        for item in node.children:
            if item.type != "case_item":
                continue
            patterns: list[bytes] = []
            body: list[Node] = []
            after = False
            for i, c in enumerate(item.children):
                if c.type == ")":
                    after = True
                elif after:
                    if c.type not in (";;", ";&", ";;&"):
                        body.append(c)
                elif item.field_name_for_child(i) == "value":
                    patterns.append(self.data[c.start_byte : c.end_byte])
            cond = _case_cond(subject, patterns)
            self.block(body, (*conds, *previous, *cond), loops, in_fn)
            if not cond:
                break  # ``*)`` matches everything: later items never run
            previous.extend(_negate(cond))

    def _for(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        var = node.child_by_field_name("variable")
        words: list[WordRef] = []
        has_in = False
        body: Node | None = None
        for i, c in enumerate(node.children):
            if c.type == "in":
                has_in = True
            elif node.field_name_for_child(i) == "value":
                words.append(WordRef(self.data, c.start_byte))
                self.referenced.update(words[-1].refs())
            elif c.type == "do_group":
                body = c
        if body is None:
            return
        name = self._text(var) if var is not None else ""
        loop = Loop(name, tuple(words) if has_in else None)
        self.block(body.children, (*conds, _LOOP), (*loops, loop), in_fn)

    # --- conditions ---------------------------------------------------------

    def _cond_of_many(self, nodes: list[Node]) -> tuple[Cond, ...]:
        if len(nodes) == 1:
            return self._cond_of(nodes[0])
        return (UNKNOWN,)

    def _cond_of(self, node: Node) -> tuple[Cond, ...]:
        """The conditions ``node`` succeeding stands for (a conjunction)."""
        t = node.type
        if t == "test_command":
            inner = [c for c in node.children if c.type not in ("[", "]", "[[", "]]")]
            return (self._test(inner[0]),) if len(inner) == 1 else (UNKNOWN,)
        if t == "negated_command":
            inner = [c for c in node.children if c.type != "!"]
            return _negate(self._cond_of(inner[0])) if len(inner) == 1 else (UNKNOWN,)
        if t == "list":
            kids = [c for c in node.children if c.type != "comment"]
            if len(kids) == 3 and kids[1].type == "&&":
                return (*self._cond_of(kids[0]), *self._cond_of(kids[2]))
            return (UNKNOWN,)
        if t == "command":
            return (self._command_cond(node),)
        return (UNKNOWN,)

    def _command_cond(self, node: Node) -> Cond:
        name = node.child_by_field_name("name")
        args = [c for i, c in enumerate(node.children) if node.field_name_for_child(i) == "argument"]
        cmd = self._word(name) if name is not None else None
        if cmd == "test" or (cmd == "[" and args and self._word(args[-1]) == "]"):
            words = args[:-1] if cmd == "[" else args
            return self._test_words(words)
        if cmd == "shopt" and len(args) == 2 and self._word(args[0]) == "-q" and self._word(args[1]) == "login_shell":
            return Cond("login")
        return UNKNOWN

    def _test_words(self, words: list[Node]) -> Cond:
        texts = [self._raw(w) for w in words]
        if len(words) == 2 and texts[0] in _FILE_TESTS:
            return self._file_cond(texts[0], words[1])
        if len(words) == 2 and texts[0] in ("-n", "-z"):
            cond = _var_cond(texts[1])
            return cond.negate() if texts[0] == "-z" else cond
        if len(words) == 1:
            return _var_cond(texts[0])
        if len(words) == 2 and texts[0] == "!":
            return self._test_words(words[1:]).negate()
        return UNKNOWN

    def _test(self, node: Node) -> Cond:
        t = node.type
        if t == "unary_expression":
            kids = node.children
            if len(kids) == 2:
                op = self._raw(kids[0])
                if op in _FILE_TESTS:
                    return self._file_cond(op, kids[1])
                if op in ("-n", "-z"):
                    cond = _var_cond(self._raw(kids[1]))
                    return cond.negate() if op == "-z" else cond
                if op == "-o":
                    opt = self._raw(kids[1]).lower().replace("_", "")
                    if opt in ("interactive", "login"):
                        return Cond(opt)
                if op == "!":
                    return self._test(kids[1]).negate()
            return UNKNOWN
        if t == "binary_expression":
            kids = node.children
            if len(kids) == 3 and self._raw(kids[0]) in ("$-", "${-}", '"$-"') and self._raw(kids[1]) in ("==", "=", "!="):
                pattern = self._raw(kids[2]).strip("\"'")
                if pattern in ("*i*", "*i*)"):
                    return Cond("interactive", negated=self._raw(kids[1]) == "!=")
            return UNKNOWN
        if t in ("string", "simple_expansion", "expansion", "word", "concatenation"):
            return _var_cond(self._raw(node))
        if t == "parenthesized_expression":
            inner = [c for c in node.children if c.type not in ("(", ")")]
            return self._test(inner[0]) if len(inner) == 1 else UNKNOWN
        return UNKNOWN

    def _file_cond(self, op: str, node: Node) -> Cond:
        word = WordRef(self.data, node.start_byte)
        self.referenced.update(word.refs())
        return Cond("file", op, word)

    # --- simple commands ------------------------------------------------------

    def _declaration(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        kids = node.children
        if not kids:
            return
        keyword = kids[0].type  # export | declare | typeset | local | readonly
        if keyword == "local":
            return  # a function's own variable (and an error outside one in bash)
        on: set[str] = set()
        off: set[str] = set()
        args: list[Node] = []
        for c in kids[1:]:
            raw = self._raw(c) if c.type == "word" else ""
            if raw[:1] in ("-", "+") and len(raw) > 1 and raw[1:].isalpha():
                (on if raw[0] == "-" else off).update(raw[1:])
            else:
                args.append(c)
        if on & {"f", "F", "p"}:
            return
        if keyword in ("declare", "typeset") and in_fn and "g" not in on:
            return  # local to the function
        if keyword == "export":
            exporting: str | None = UNEXPORT if "n" in on else EXPORT
        elif "x" in on:
            exporting = EXPORT
        elif "x" in off:
            exporting = UNEXPORT
        else:
            exporting = None
        flags = "".join(f" -{''.join(sorted(on))}" if on else "") + "".join(f" +{''.join(sorted(off))}" if off else "")
        prefix = keyword + flags
        assigns = [c for c in args if c.type == "variable_assignment"]
        self._assignments(assigns, node, prefix, conds, loops, in_fn, exporting=exporting, all_args=args)

    def _assignments(
        self,
        assigns: list[Node],
        stmt: Node,
        prefix: str,
        conds: tuple[Cond, ...],
        loops: tuple[Loop, ...],
        in_fn: bool,
        *,
        exporting: str | None = None,
        all_args: list[Node] | None = None,
    ) -> None:
        """One event per variable in a statement, each with the statement's span and its own part."""
        parts: list[tuple[str, bool, int, int, WordRef | None, bool]] = []  # name, has value, start, end, word, append
        stmt_end = stmt.end_byte
        previous_end = stmt.start_byte  # where the last real part ends
        for c in all_args if all_args is not None else assigns:
            if c.start_byte < previous_end:
                continue  # tree-sitter split a word the shell joins (``X=a\`` newline ``b``)
            if b"\n" in self.data[previous_end : c.start_byte].replace(b"\\\n", b""):
                # A bare newline ends the command; tree-sitter sometimes reads on
                # (``export X=`` newline ``\`` newline ``word``).
                stmt_end = previous_end
                break
            end = c.end_byte
            if c.type == "variable_assignment":
                name_node = c.child_by_field_name("name")
                op = next((k for k in c.children if k.type in ("=", "+=")), None)
                if name_node is None or op is None or name_node.type != "variable_name":
                    parts.append(("", False, c.start_byte, end, None, False))
                else:
                    ref = WordRef(self.data, op.end_byte)
                    end = max(end, ref.lex(assignment=True).end)
                    stmt_end = max(stmt_end, end)
                    parts.append((self._text(name_node), True, c.start_byte, end, ref, op.type == "+="))
            elif c.type == "variable_name" or (c.type == "word" and re.match(_NAME, self._raw(c))):
                parts.append((self._raw(c), False, c.start_byte, end, None, False))
            else:
                parts.append(("", False, c.start_byte, end, None, False))
            previous_end = end
        if not parts:
            return
        span = (stmt.start_byte, stmt_end)
        text = " ".join(
            [
                *([prefix] if prefix else []),
                *((f"{n}{'+=' if app else '='}<redacted>" if has else n) if n else "<redacted>" for n, has, _s, _e, _w, app in parts),
            ]
        )
        line = stmt.start_point.row + 1
        blocker = self._blocker(line, span)
        for name, has_value, start, end, word, append in parts:
            if not name:
                continue
            if not has_value and exporting is None:
                continue  # ``declare X``, ``readonly X``: nothing a child process sees changes
            kind = exporting if exporting is not None else ASSIGN
            value: Secret | None = None
            if has_value and word is not None and name in self.names:
                lexed = word.lex(assignment=True)
                value = Secret(lexed.text) if lexed.text is not None else None
            self.events.append(
                Event(
                    kind=kind,
                    var=name,
                    line=line,
                    span=span,
                    part=(start, end),
                    text=text,
                    value=value,
                    word=word if has_value else None,
                    assigns=has_value,
                    append=append,
                    conds=conds,
                    loops=loops,
                    in_function=in_fn,
                    blocker=blocker,
                )
            )

    def _unset(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        words = [c for c in node.children if c.type != "unset"]
        raws = [self._raw(w) for w in words]
        if "-f" in raws:
            return
        names = [r for r in raws if re.match(_NAME, r)]
        if not names:
            return
        line = node.start_point.row + 1
        span = (node.start_byte, node.end_byte)
        text = " ".join(["unset", *(r for r in raws if r.startswith("-") and r[1:].isalpha()), *names])
        blocker = self._blocker(line, span)
        for w, raw in zip(words, raws, strict=True):
            if re.match(_NAME, raw):
                self.events.append(
                    Event(
                        UNSET,
                        raw,
                        line,
                        span,
                        (w.start_byte, w.end_byte),
                        text,
                        conds=conds,
                        loops=loops,
                        in_function=in_fn,
                        blocker=blocker,
                    )
                )

    def _command(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        name_node = node.child_by_field_name("name")
        if name_node is None:
            return
        if any(c.type == "variable_assignment" for c in node.children):
            # ``X=1 cmd``: the assignment is for that command only -- unless a newline
            # comes first, which tree-sitter-bash does not always see.
            self._lines_of(node, conds, loops, in_fn, last=True)
            return
        args = [c for i, c in enumerate(node.children) if node.field_name_for_child(i) == "argument"]
        cmd = self._word(name_node)
        while cmd in ("builtin", "command") and args:
            cmd, args = self._word(args[0]), args[1:]
        line = node.start_point.row + 1
        span = (node.start_byte, node.end_byte)
        if cmd in (".", "source"):
            if args:
                word = WordRef(self.data, args[0].start_byte)
                self.referenced.update(word.refs())
                self.events.append(
                    Event(
                        SOURCE,
                        line=line,
                        span=span,
                        part=(args[0].start_byte, args[0].end_byte),
                        text=f"{cmd} {self._raw(args[0])}",
                        word=word,
                        option=cmd,
                        conds=conds,
                        loops=loops,
                        in_function=in_fn,
                        blocker=self._blocker(line, span),
                    )
                )
        elif cmd == "set":
            self._set(args, line, span, conds, loops, in_fn)
        elif cmd in ("setopt", "unsetopt"):
            for a in args:
                opt = (self._word(a) or "").lower().replace("_", "")
                on = cmd == "setopt"
                if opt.startswith("no") and opt[2:] in ("allexport", "rcs", "globalrcs"):
                    opt, on = opt[2:], not on
                if opt == "allexport":
                    self.events.append(Event(ALLEXPORT, line=line, span=span, conds=conds, loops=loops, in_function=in_fn, flag=on))
                elif opt in ("rcs", "globalrcs"):
                    self.events.append(
                        Event(ZSHOPT, line=line, span=span, conds=conds, loops=loops, in_function=in_fn, flag=on, option=opt)
                    )
        elif cmd in ("eval", "emulate"):
            self._eval(cmd, node, args, line, span, conds, loops, in_fn)
        elif cmd in ("return", "exit") and not in_fn:
            self.events.append(Event(RETURN if cmd == "return" else EXIT, line=line, span=span, text=cmd, conds=conds, loops=loops))
        elif cmd and re.match(_NAME, cmd.replace("-", "_")):
            # Kept only if the file defines a function of that name (see parse()).
            self.events.append(Event(CALL, cmd, line, span, conds=conds, loops=loops, in_function=in_fn))

    def _lines_of(self, node: Node, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool, *, last: bool) -> None:
        """A command whose prefix assignments sit on earlier lines than its name.

        tree-sitter-bash (issue #228) reads ``A=1 B=2`` newline ``export X=1`` as one
        command, ``export`` with the prefix ``A=1 B=2``; a shell ends a command at the
        newline, so A and B are plain shell variables and the export is a statement of
        its own.  Each line's part is parsed again on its own, at the same offsets (so
        spans and line numbers are the file's), and walked.  The first line keeps the
        conditions the command had; a later line has only the block's (in ``a &&
        A=1 B=2`` newline ``export X=1`` the export is not part of the and-list).
        ``last``: walk the last line too; not when the command runs in a subshell (a
        pipeline's first command, a background job).  Parses nothing unless a newline
        comes before the command's name.
        """
        name = node.child_by_field_name("name")
        if name is None:
            return
        kids = node.children
        cuts: list[int] = []  # index of the first child on each new line
        for i in range(1, len(kids)):
            if kids[i - 1].start_byte >= name.start_byte:
                break
            gap = self.data[kids[i - 1].end_byte : kids[i].start_byte]
            if b"\n" in gap and b"\n" in gap.replace(b"\\\n", b""):
                cuts.append(i)
        key = (node.start_byte, node.end_byte)
        if not cuts or key in self._splitting:
            return  # ``X=1 cmd``: the assignment is for that command only
        self._splitting.add(key)
        firsts = [0, *cuts]
        for n, i in enumerate(firsts):
            final = n == len(firsts) - 1
            if final and not last:
                break
            tree = self._reparse(kids[i], node if final else kids[firsts[n + 1] - 1])
            skip = 0
            if final and tree.root_node.has_error:
                # ``A=1 B=2`` newline ``{ export X=1; }``: the command took only ``{ export X=1``;
                # the rest of the group is among the following statements.
                sibling = node.next_sibling
                for _ in range(_MAX_SIBLINGS):
                    if sibling is None:
                        break
                    longer = self._reparse(kids[i], sibling)
                    if not longer.root_node.has_error:
                        tree, skip = longer, sibling.end_byte
                        break
                    sibling = sibling.next_sibling
            self.block(tree.root_node.children, conds if n == 0 else self._level, loops, in_fn)
            self._skip_until = max(self._skip_until, skip)

    def _reparse(self, first: Node, last: Node) -> Tree:
        """The file from ``first`` to the end of ``last`` parsed alone, nodes at the file's offsets."""
        from tree_sitter import Range

        parser = _parser()
        parser.included_ranges = [Range(first.start_point, last.end_point, first.start_byte, last.end_byte)]
        try:
            return parser.parse(self._tree_buf)
        finally:
            parser.included_ranges = []

    def _after_heredoc(self, redirect: Node, body: Node | None, conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool) -> None:
        """``cat <<EOF && export X=1``: tree-sitter-bash puts what follows the heredoc's start
        inside the redirect; it runs when the command succeeds (``&&``) or fails (``||``).
        Behind a ``|`` it runs in a subshell."""
        test = self._cond_of(body) if body is not None else (UNKNOWN,)
        op = ""
        for c in redirect.children:
            if c.type in ("&&", "||", "|", "|&"):
                op = c.type
            elif op in ("&&", "||") and c.type in _STATEMENTS:
                self.stmt(c, (*conds, *(test if op == "&&" else _negate(test))), loops, in_fn)

    def _set(
        self, args: list[Node], line: int, span: tuple[int, int], conds: tuple[Cond, ...], loops: tuple[Loop, ...], in_fn: bool
    ) -> None:
        words = [self._word(a) or "" for a in args]
        i = 0
        while i < len(words):
            w = words[i]
            if w in ("--", "-"):
                break
            if len(w) > 1 and w[0] in "-+":
                on = w[0] == "-"
                if w[1:] == "o" and i + 1 < len(words):
                    if words[i + 1].lower().replace("_", "") == "allexport":
                        self.events.append(Event(ALLEXPORT, line=line, span=span, conds=conds, loops=loops, in_function=in_fn, flag=on))
                    i += 2
                    continue
                if "a" in w[1:] and w[1:].isalpha():
                    self.events.append(Event(ALLEXPORT, line=line, span=span, conds=conds, loops=loops, in_function=in_fn, flag=on))
            else:
                break  # positional parameters follow
            i += 1

    def _eval(
        self,
        cmd: str,
        node: Node,
        args: list[Node],
        line: int,
        span: tuple[int, int],
        conds: tuple[Cond, ...],
        loops: tuple[Loop, ...],
        in_fn: bool,
    ) -> None:
        """``eval`` and ``emulate … -c``: literal code is read as code; generated code only flagged."""
        if cmd == "emulate":
            raws = [self._raw(a) for a in args]
            if "-c" not in raws or raws.index("-c") + 1 >= len(args):
                return
            args = args[raws.index("-c") + 1 : raws.index("-c") + 2]
        body = self.data[node.start_byte : node.end_byte]
        watched = sorted(n for n in self.names if n.encode() in body)
        has_source = b"source" in body or b"." in body
        if not watched and not (cmd == "emulate" and has_source):
            return
        lexed = [lex_word(self.data, a.start_byte) for a in args]
        code = [x.text for x in lexed]
        if all(t is not None for t in code):
            inner = " ".join(t for t in code if t is not None).encode("utf-8", "surrogateescape")
            sub = _Walker(inner, self.names)
            tree = _parser().parse(inner)
            sub.block(tree.root_node.children, (), (), in_fn)
            self.referenced.update(sub.referenced)
            self.functions.update(sub.functions)
            for e in sub.events:
                self.events.append(
                    e._replace(
                        line=line,
                        span=span,
                        part=span,
                        text=f"{cmd} <redacted>" if e.var else e.text,
                        conds=(*conds, *e.conds),
                        loops=(*loops, *e.loops),
                        in_function=in_fn or e.in_function,
                        blocker="eval",
                    )
                )
            return
        # Generated code: only the trace knows what it does; say where it is.
        # Assume the worst (an export) unless it visibly unsets the name: a
        # missed override costs the person more than a flag the trace clears.
        for name in watched:
            esc = re.escape(name.encode())
            kind = UNSET if re.search(rb"\bunset\s+(?:-v\s+)?(?:\w+\s+)*" + esc + rb"\b", body) else EXPORT
            self.events.append(
                Event(
                    kind,
                    name,
                    line,
                    span,
                    span,
                    f"{cmd} <redacted>",
                    assigns=kind != UNSET,
                    conds=conds,
                    loops=loops,
                    in_function=in_fn,
                    blocker="eval",
                )
            )

    # --- helpers ----------------------------------------------------------------

    def _blocker(self, line: int, span: tuple[int, int]) -> str | None:
        if self._owned is None:
            self._owned = foreign_lines(self.data)
        last = line + self.data.count(b"\n", span[0], max(span[0], span[1] - 1))
        for ln in range(line, last + 1):
            tool = self._owned.get(ln)
            if tool:
                return f"foreign-block:{tool}"
        if self._in_error:
            if mentions(self.data[span[0] : span[1]], self.names):
                self.error_lines.add(line)
            return "parse-error"
        if last != line:
            return "multi-line"
        return None

    def _text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("latin-1")

    def _raw(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "surrogateescape")

    def _word(self, node: Node) -> str | None:
        return lex_word(self.data, node.start_byte).text


_ALWAYS_WANTED = rb"(?<![^\s;&|({`'\"])(?:source|\\?\.)[ \t]|\b(?:set|setopt|unsetopt|eval|emulate|return|exit)\b|(?i:all_?export)"
_FUNC_DEF = rb"(?m)^[ \t]*(?:function[ \t]+([\w-]+)|([\w-]+)[ \t]*\(\))"
_SOURCE_LINE = rb"(?m)^.*(?:(?<![^\s;&|({`'\"])(?:source|\\?\.)[ \t]|\[|\btest\b|\bfor\b).*$"
# Every line _SOURCE_LINE matches holds one of these: without them it is not compiled.
_SOURCE_LINE_LITERALS = (b". ", b".\t", b"source ", b"source\t", b"[", b"test", b"for")


# Whatever _ALWAYS_WANTED matches holds one of these (the second group in any case):
# a file without them never compiles it.
_ALWAYS_LITERALS = (b". ", b".\t", b"source ", b"source\t", b"set", b"eval", b"emulate", b"return", b"exit")
_ALWAYS_BLIND = (b"allexport", b"all_export")
# ``[\w-]`` of a bytes pattern: what may not touch a wanted word on either side.
_WORDISH = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def wanted_words(data: bytes, names: frozenset[str]) -> set[bytes]:
    """A watched or tracked name, a function that may hold one, or a variable a
    source path, a file test or a loop list uses: what makes a statement worth walking."""
    words = {n.encode() for n in names | INTERNAL_NAMES}
    if b"(" in data or b"function" in data:
        for m in re.finditer(_FUNC_DEF, data):
            words.add(m.group(1) or m.group(2))
    if any(lit in data for lit in _SOURCE_LINE_LITERALS):
        for line in re.findall(_SOURCE_LINE, data):
            words.update(re.compile(_REF).findall(line))
    return words


class _Wanted:
    """Whether a statement can matter: it holds one of :func:`wanted_words` standing
    alone, or something :data:`_ALWAYS_WANTED` matches (a command that changes how
    later ones act).

    The same answer as searching the pattern ``(?<![\\w-])(?:word|…)(?![\\w-])|``
    + _ALWAYS_WANTED between the statement's bounds, without compiling a pattern per
    file (over a millisecond for two dozen words): each word is found once with
    ``bytes.find``.  As in that search, the byte before a word is looked at even
    before the statement, and a word may run on past the statement's end.
    """

    def __init__(self, data: bytes, names: frozenset[str]) -> None:
        self.data = data
        size = len(data)
        found: list[tuple[int, int, bool]] = []  # (start, end, nothing word-like follows in the file)
        for word in wanted_words(data, names):
            at = data.find(word) if word else -1
            while at >= 0:
                end = at + len(word)
                if at == 0 or data[at - 1] not in _WORDISH:
                    found.append((at, end, end == size or data[end] not in _WORDISH))
                at = data.find(word, at + 1)
        found.sort()
        self._found = found
        self._starts = [at for at, _, _ in found]
        low = data.lower()
        always = any(lit in data for lit in _ALWAYS_LITERALS) or any(lit in low for lit in _ALWAYS_BLIND)
        self._always = re.compile(_ALWAYS_WANTED) if always else None

    def within(self, start: int, end: int) -> bool:
        found = self._found
        i = bisect_left(self._starts, start)
        while i < len(found) and found[i][0] < end:
            _, stop, free = found[i]
            if stop <= end and (free or stop == end):
                return True
            i += 1
        return self._always is not None and self._always.search(self.data, start, end) is not None


def _negate(conds: tuple[Cond, ...]) -> tuple[Cond, ...]:
    if len(conds) == 1:
        return (conds[0].negate(),)
    return (UNKNOWN,)


def _var_cond(raw: str) -> Cond:
    """``"$PS1"``, ``"${BASH_VERSION-}"``, … : a test that a variable is non-empty."""
    m = re.fullmatch(r"\"?\$\{?([A-Za-z_][A-Za-z0-9_]*|-)(?::?-)?\}?\"?", raw)
    if m is None:
        return UNKNOWN
    name = m.group(1)
    if name == "PS1":
        return Cond("interactive")
    if name in _SHELL_VARS:
        return Cond("shell", _SHELL_VARS[name])
    return UNKNOWN


def _case_cond(subject: bytes, patterns: list[bytes]) -> tuple[Cond, ...]:
    if any(p.strip(b"\"'") == b"*" for p in patterns):
        return ()
    if subject in (b"$-", b"${-}") and patterns and all(p.strip(b"\"'") == b"*i*" for p in patterns):
        return (Cond("interactive"),)
    return (UNKNOWN,)
