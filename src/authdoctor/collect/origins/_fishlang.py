"""fish's language, as much of it as start-up files use to set variables: the engine behind ``fish.py``.

Imported only when a fish file mentions a watched variable (or sources
another file), so a check on a machine whose fish files say nothing about
them does not pay for it.  See ``fish.py`` for what fish does at start-up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.collect.origins._textfile import LazyRegex, TextFile, read_text, under_home, xdg_config_home
from authdoctor.collect.origins.model import EXPORT, SET, UNSET, ScanNote, Setting
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from authdoctor.host import Host

MAX_SOURCE_DEPTH = 16

# Words that decorate a command without being it.
_CONDITIONAL_PREFIXES = frozenset({"and", "or"})
_PREFIXES = frozenset({"not", "!", "builtin", "time"})
_BLOCKS = frozenset({"if", "while", "for", "switch", "function", "begin"})
_REDIRECT = LazyRegex(r"^(?:\d*|&)(?:>>|>\?|>|<)(?:&\d+|&-)?")
_MAY_SOURCE = LazyRegex(r"(?:^|[\s;&|(])(?:source|\.)\s", re.MULTILINE)
_NAME = LazyRegex(r"^[A-Za-z0-9_]+$")
_INDEXED = LazyRegex(r"^([A-Za-z0-9_]+)\[.*\]$")

_SET_SHORT = {
    "e": "erase",
    "q": "query",
    "n": "names",
    "S": "show",
    "l": "local",
    "g": "global",
    "U": "universal",
    "f": "function",
    "x": "export",
    "u": "unexport",
    "a": "append",
    "p": "prepend",
    "L": "long",
    "h": "help",
}
_SET_LONG = frozenset(_SET_SHORT.values()) | {"path", "unpath"}
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


# --- tokens ---------------------------------------------------------------------------


class _Word(NamedTuple):
    text: str  # the word after quote removal and escapes (meaningful only when literal)
    raw: str  # as written
    start: int  # character indices in the file
    end: int
    literal: bool  # no expansion: no $, (…), globs, braces or leading ~
    quoted: bool


class _Statement(NamedTuple):
    words: tuple[_Word, ...]
    start: int
    end: int
    after: str  # the separator before it: "" | "\n" | ";" | "&&" | "||" | "|" | "&"


class _ParseError(Exception):
    def __init__(self, index: int, why: str) -> None:
        super().__init__(why)
        self.index = index
        self.why = why


def _skip_parens(text: str, i: int) -> int:
    """``text[i]`` is ``(``; return the index after its matching ``)`` (quotes and nesting honoured)."""
    depth = 0
    n = len(text)
    start = i
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c == "'":
            i = _skip_single(text, i)
            continue
        elif c == '"':
            i = _skip_double(text, i)
            continue
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n;(|&"):
            nl = text.find("\n", i)
            i = n if nl == -1 else nl
            continue
        i += 1
    raise _ParseError(start, "a command substitution `(` is never closed")


def _skip_single(text: str, i: int) -> int:
    start = i
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "\\'":
            i += 2
            continue
        if c == "'":
            return i + 1
        i += 1
    raise _ParseError(start, "a single quote is never closed")


def _skip_double(text: str, i: int) -> int:
    start = i
    i += 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        if c == "$" and i + 1 < n and text[i + 1] == "(":
            i = _skip_parens(text, i + 1)
            continue
        i += 1
    raise _ParseError(start, "a double quote is never closed")


def _escape(text: str, i: int) -> tuple[str, int]:
    """An unquoted backslash escape at ``text[i]`` (the backslash); returns (value, next index)."""
    n = len(text)
    if i + 1 >= n:
        return "", n
    c = text[i + 1]
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], i + 2
    digits, base, width = "", 16, 0
    if c in "xX":
        base, width = 16, 2
    elif c == "u":
        base, width = 16, 4
    elif c == "U":
        base, width = 16, 8
    elif c in "01234567":
        base, width = 8, 3
    if width:
        j = i + 2 if base == 16 else i + 1
        while j < n and len(digits) < width and text[j] in ("0123456789abcdefABCDEF" if base == 16 else "01234567"):
            digits += text[j]
            j += 1
        if digits:
            code = int(digits, base)
            try:
                return chr(code), j
            except (ValueError, OverflowError):
                return "", j
        if base == 16:
            return c, i + 2
    if c == "c" and i + 2 < n:
        return chr(ord(text[i + 2]) & 0x1F), i + 3
    return c, i + 2


def tokenize(text: str) -> list[_Statement]:
    """Split fish source into statements of words.  Raises _ParseError on an unclosed quote or ``(``."""
    statements: list[_Statement] = []
    words: list[_Word] = []
    after = ""
    n = len(text)
    i = 0
    # The word being built.
    w_start = -1
    w_text: list[str] = []
    w_literal = True
    w_quoted = False

    def end_word(end: int) -> None:
        nonlocal w_start, w_text, w_literal, w_quoted
        if w_start >= 0:
            words.append(_Word("".join(w_text), text[w_start:end], w_start, end, w_literal, w_quoted))
        w_start, w_text, w_literal, w_quoted = -1, [], True, False

    def end_statement(sep: str) -> None:
        nonlocal words, after
        if words:
            statements.append(_Statement(tuple(words), words[0].start, words[-1].end, after))
            words = []
            after = sep
        elif sep in ("&&", "||", "|") or after not in ("&&", "||", "|"):
            after = sep

    while i < n:
        c = text[i]
        if c in " \t\r":
            end_word(i)
            i += 1
        elif c == "\n":
            end_word(i)
            end_statement("\n")
            i += 1
        elif c == ";":
            end_word(i)
            end_statement(";")
            i += 1
        elif c == "#" and w_start < 0:
            nl = text.find("\n", i)
            i = n if nl == -1 else nl
        elif c == "|" or (c == "&" and text.startswith("&|", i)):
            end_word(i)
            if c == "&":
                i += 1
            if text.startswith("||", i):
                end_statement("||")
                i += 2
            else:
                end_statement("|")
                i += 1
        elif c == "&" and text.startswith("&&", i):
            end_word(i)
            end_statement("&&")
            i += 2
        elif c == "&" and (i + 1 >= n or text[i + 1] in " \t\r\n;") and (w_start < 0 or not text[w_start:i].endswith(">")):
            end_word(i)
            end_statement("&")
            i += 1
        elif c == "\\" and text.startswith("\n", i + 1):
            i += 2  # line continuation: not even a word boundary
        else:
            if w_start < 0:
                w_start = i
                if c == "~":
                    w_literal = False
            if c == "\\":
                value, i = _escape(text, i)
                w_text.append(value)
            elif c == "'":
                j = _skip_single(text, i)
                w_text.append(text[i + 1 : j - 1].replace("\\\\", "\x00").replace("\\'", "'").replace("\x00", "\\"))
                w_quoted = True
                i = j
            elif c == '"':
                j = _skip_double(text, i)
                body = text[i + 1 : j - 1]
                if "$" in body:
                    w_literal = False
                w_text.append(re.sub(r'\\([\\"$])|\\\n', lambda m: m.group(1) or "", body))
                w_quoted = True
                i = j
            elif c == "(":
                i = _skip_parens(text, i)
                w_literal = False
            elif c == "$":
                w_literal = False
                if i + 1 < n and text[i + 1] == "(":
                    i = _skip_parens(text, i + 1)
                else:
                    i += 1
            else:
                if c in "*?{}":
                    w_literal = False
                w_text.append(c)
                i += 1
    end_word(n)
    end_statement("\n")
    return statements


# --- fish_variables -----------------------------------------------------------------------


def unescape_universal(raw: str) -> str:
    """Undo fish's escaping of a ``fish_variables`` value (``\\xNN``, ``\\uNNNN``, ``\\n`` …)."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == "\\":
            value, i = _escape(raw, i)
            out.append(value)
        else:
            out.append(c)
            i += 1
    return "".join(out)


class UniversalVar(NamedTuple):
    name: str
    value: str  # as exported: list elements joined by a space (":" for path variables)
    exported: bool
    line: int
    start: int  # character indices of the whole line
    end: int


_SETUVAR = LazyRegex(r"^(SETUVAR|SET_EXPORT|SET)((?:\s+--(?:export|path|unpath))*)\s+([^:\s]+):(.*)$")


def parse_fish_variables(tf: TextFile) -> list[UniversalVar]:
    out: list[UniversalVar] = []
    for number, start in enumerate(tf.line_starts, 1):
        line = tf.line_text(number)
        m = _SETUVAR().match(line)
        if not m:
            continue
        kind, flags, name, raw = m.groups()
        exported = kind == "SET_EXPORT" or "--export" in flags
        path_var = "--path" in flags or (name.endswith("PATH") and "--unpath" not in flags)
        if raw == "\x1d" or raw == "\\x1d":
            elements: list[str] = []
        else:
            elements = [unescape_universal(part) for part in re.split(r"\\x1e|\x1e", raw)]
        value = (":" if path_var else " ").join(elements)
        out.append(UniversalVar(name, value, exported, number, start, start + len(line)))
    return out


# --- evaluation ----------------------------------------------------------------------------

_GLOBAL, _UNIVERSAL = "global", "universal"


class _Event(NamedTuple):
    seq: int
    layer: str
    setting: Setting


class _Block(NamedTuple):
    kind: str
    conditional: bool


class Evaluator:
    """Runs fish's start-up in our heads: which statements set which watched variable, in which scope."""

    def __init__(self, host: Host, names: frozenset[str], notes: list[ScanNote]) -> None:
        self.host = host
        self.names = names
        self.notes = notes
        self.files: list[Path] = []
        self.events: list[_Event] = []
        # Per variable and layer: None (absent) or whether it is exported.
        self.state: dict[tuple[str, str], bool] = {}
        self.stack: list[Path] = []

    # -- layers --

    def exists(self, name: str, layer: str) -> bool:
        return (name, layer) in self.state

    def emit(self, layer: str, setting: Setting) -> None:
        if setting.action == UNSET:
            self.state.pop((setting.var, layer), None)
        else:
            self.state[(setting.var, layer)] = setting.exported
        self.events.append(_Event(len(self.events), layer, setting))

    # -- universal variables --

    def load_universal(self, path: Path) -> None:
        tf = read_text(self.host, path, self.notes)
        if tf is None:
            return
        self.files.append(path)
        for uv in parse_fish_variables(tf):
            if uv.name not in self.names:
                continue
            flag = " --export" if uv.exported else ""
            setting = Setting(
                var=uv.name,
                action=EXPORT if uv.exported else SET,
                exported=uv.exported,
                value=Secret(uv.value),
                path=path,
                line=uv.line,
                text=f"SETUVAR{flag} {uv.name}:<redacted>  (fish universal variable; remove with: set -e -U {uv.name})",
                family="fish-universal",
                span=tf.span(uv.start, uv.end),
                # fish rewrites this file itself; `set -e -U NAME` is the safe way to remove it.
                editable=False,
                blocker="fish-universal",
            )
            self.emit(_UNIVERSAL, setting)

    # -- config files --

    def run_file(self, path: Path, *, chain: tuple[Path, ...] = (), conditional: bool = False, missing: str | None = None) -> None:
        real = self.host.realpath(path)
        if real in self.stack:
            self.notes.append(
                ScanNote(path, "cycle", f"{path} is sourced again while it is being read (through {_chain(chain)}); not followed")
            )
            return
        if len(self.stack) >= MAX_SOURCE_DEPTH:
            self.notes.append(ScanNote(path, "cycle", f"{path} is sourced more than {MAX_SOURCE_DEPTH} levels deep; not followed further"))
            return
        tf = read_text(self.host, path, self.notes, missing=missing)
        if tf is None:
            return
        self.files.append(path)
        if not any(n in tf.text for n in self.names) and not _MAY_SOURCE().search(tf.text):
            return  # nothing here can touch a watched variable: skip the (slow, pure Python) tokenizer
        try:
            statements = tokenize(tf.text)
        except _ParseError as exc:
            line = tf.line_of(exc.index)
            self.notes.append(ScanNote(path, "parse-error", f"{path}:{line}: {exc.why}; fish refuses to run this file"))
            # fish parses the whole file before running it: nothing in it takes effect.
            return
        lines_used: dict[int, int] = {}
        for st in statements:
            for ln in {tf.line_of(st.start), tf.line_of(max(st.start, st.end - 1))}:
                lines_used[ln] = lines_used.get(ln, 0) + 1
        self.stack.append(real)
        try:
            self._run_statements(tf, statements, lines_used, chain, conditional)
        finally:
            self.stack.pop()

    def _run_statements(
        self, tf: TextFile, statements: list[_Statement], lines_used: dict[int, int], chain: tuple[Path, ...], conditional: bool
    ) -> None:
        blocks: list[_Block] = []
        for st in statements:
            words = list(st.words)
            cond = conditional or any(b.conditional for b in blocks) or st.after in ("&&", "||")
            while words and not words[0].quoted and words[0].text in _CONDITIONAL_PREFIXES | _PREFIXES:
                if words[0].text in _CONDITIONAL_PREFIXES:
                    cond = True
                words.pop(0)
            if not words or words[0].quoted:
                continue
            cmd = words[0].text
            in_function = any(b.kind == "function" for b in blocks)
            if cmd == "end":
                if blocks:
                    blocks.pop()
                continue
            if cmd in _BLOCKS:
                opens_conditional = cmd != "begin"
                blocks.append(_Block(cmd, cond or opens_conditional))
                if cmd in ("if", "while") and len(words) > 1:
                    words = words[1:]
                    cmd = words[0].text
                    cond = True
                else:
                    continue
            elif cmd == "else":
                if len(words) > 2 and words[1].text == "if":
                    words = words[2:]
                    cmd = words[0].text
                    cond = True
                else:
                    continue
            elif cmd == "case":
                continue
            ctx = _Ctx(tf, st, lines_used, chain, cond, in_function)
            if cmd == "set":
                self._set(ctx, words)
            elif cmd == "export":
                self._export(ctx, words)
            elif cmd == "setenv":
                self._setenv(ctx, words)
            elif cmd in ("source", "."):
                self._source(ctx, words)

    # -- commands --

    def _setting(
        self, ctx: _Ctx, name: str, action: str, exported: bool, value: Secret | None, text: str, *, blocker: str | None = None
    ) -> Setting:
        tf, st = ctx.tf, ctx.statement
        first, last = tf.line_of(st.start), tf.line_of(max(st.start, st.end - 1))
        if blocker is None:
            if first != last:
                blocker = "multi-line"
            elif any(ctx.lines_used.get(ln, 0) > 1 for ln in (first, last)):
                blocker = "shared-line"
            elif not under_home(self.host, tf.path):
                blocker = "system-file"
        return Setting(
            var=name,
            action=action,
            exported=exported,
            value=value,
            path=tf.path,
            line=first,
            text=text,
            family="fish",
            span=tf.span(st.start, st.end),
            chain=ctx.chain,
            conditional=ctx.conditional,
            editable=blocker is None,
            blocker=blocker,
        )

    def _set(self, ctx: _Ctx, words: list[_Word]) -> None:
        flags: set[str] = set()
        i = 1
        while i < len(words):
            w = words[i]
            if not w.literal or w.quoted or not w.text.startswith("-") or w.text == "-":
                break
            if w.text == "--":
                i += 1
                break
            if w.text.startswith("--"):
                long = w.text[2:]
                if long not in _SET_LONG:
                    return
                flags.add(long)
            else:
                for ch in w.text[1:]:
                    if ch not in _SET_SHORT:
                        return
                    flags.add(_SET_SHORT[ch])
            i += 1
        if flags & {"query", "names", "show", "help"} or i >= len(words):
            return
        options = " ".join(w.raw for w in words[1:i])
        prefix = f"set {options} " if options else "set "
        if "local" in flags or "function" in flags:
            # Gone when the file (or function) that set it ends.
            return
        explicit = _UNIVERSAL if "universal" in flags else _GLOBAL if "global" in flags else None
        args = _arguments(words, i)
        if "erase" in flags:
            for w in args:
                name = _base_name(w)
                if name is None or name not in self.names:
                    continue
                if name != w.text:
                    continue  # erasing one element of a list
                layer = explicit or (_GLOBAL if self.exists(name, _GLOBAL) or not self.exists(name, _UNIVERSAL) else _UNIVERSAL)
                self.emit(layer, self._setting(ctx, name, UNSET, False, None, f"{prefix}{name}"))
            return
        name_word, values = args[0], args[1:]
        name = _base_name(name_word)
        if name is None or name not in self.names:
            return
        if explicit is None:
            if self.exists(name, _GLOBAL):
                layer = _GLOBAL
            elif self.exists(name, _UNIVERSAL):
                layer = _UNIVERSAL
            elif ctx.in_function:
                return  # a new variable set without scope inside a function is local to it
            else:
                layer = _GLOBAL
        else:
            layer = explicit
        if "export" in flags:
            exported = True
        elif "unexport" in flags:
            exported = False
        else:
            exported = self.state.get((name, layer), False)
        computed = name != name_word.text or bool(flags & {"append", "prepend"}) or not all(v.literal for v in values)
        joiner = ":" if "path" in flags or (name.endswith("PATH") and "unpath" not in flags) else " "
        value = None if computed else Secret(joiner.join(v.text for v in values))
        shown = f"{prefix}{name_word.raw}{' <redacted>' if values else ''}"
        if layer == _UNIVERSAL and explicit is None:
            shown += "  (changes the universal variable)"
        self.emit(layer, self._setting(ctx, name, EXPORT if exported else SET, exported, value, shown))

    def _export(self, ctx: _Ctx, words: list[_Word]) -> None:
        """fish's ``export`` function: ``export NAME=VALUE …`` is ``set -gx NAME VALUE``."""
        args = _arguments(words)
        parsed: list[tuple[str, _Word, bool]] = []
        for w in args:
            name, eq, _ = w.text.partition("=")
            if not w.literal and not eq:
                continue
            if not _NAME().match(name):
                continue
            parsed.append((name, w, bool(eq)))
        watched = [p for p in parsed if p[0] in self.names]
        if not watched:
            return
        shown = "export " + " ".join(f"{n}=<redacted>" if eq else n for n, _, eq in parsed)
        blocker = "multi-assign" if len({n for n, _, _ in parsed}) > 1 else None
        for name, w, has_value in watched:
            value: Secret | None = None
            if has_value and w.literal:
                value = Secret(w.text.partition("=")[2])
            self.emit(_GLOBAL, self._setting(ctx, name, EXPORT, True, value, shown, blocker=blocker))

    def _setenv(self, ctx: _Ctx, words: list[_Word]) -> None:
        """fish's ``setenv NAME [VALUE]`` (csh compatibility) is ``set -gx NAME VALUE``."""
        args = _arguments(words)
        if not args or len(args) > 2 or not args[0].literal or args[0].text not in self.names:
            return
        name = args[0].text
        if len(args) == 1:
            value: Secret | None = Secret("")
        else:
            value = Secret(args[1].text) if args[1].literal else None
        self.emit(_GLOBAL, self._setting(ctx, name, EXPORT, True, value, f"setenv {name} <redacted>"))

    def _source(self, ctx: _Ctx, words: list[_Word]) -> None:
        args = _arguments(words)
        if not args:
            return
        target = self._resolve(args[0])
        here = ctx.tf.path
        where = f"{here}:{ctx.tf.line_of(ctx.statement.start)}"
        if target is None:
            self.notes.append(
                ScanNote(here, "not-followed", f"{where} sources a file whose name is computed ({args[0].raw}); it was not followed")
            )
            return
        self.run_file(
            target,
            chain=(*ctx.chain, here),
            conditional=ctx.conditional,
            missing=f"{where} sources {target}, which does not exist",
        )

    def _resolve(self, w: _Word) -> Path | None:
        raw = w.raw
        if w.literal:
            p = Path(w.text)
            if p.is_absolute():
                return self.host.path(p)
            # A login shell starts in the home directory.
            return self.host.home / p
        m = re.match(r"^(~|\$HOME|\{?\$__fish_config_dir\}?|\$XDG_CONFIG_HOME)(/[^$(*?{~\\'\"]*)?$", raw)
        if not m:
            return None
        base = {
            "~": self.host.home,
            "$HOME": self.host.home,
            "$XDG_CONFIG_HOME": xdg_config_home(self.host),
        }.get(m.group(1), xdg_config_home(self.host) / "fish")
        rest = (m.group(2) or "").lstrip("/")
        return base / rest if rest else base


class _Ctx(NamedTuple):
    tf: TextFile
    statement: _Statement
    lines_used: dict[int, int]
    chain: tuple[Path, ...]
    conditional: bool
    in_function: bool


def _chain(chain: tuple[Path, ...]) -> str:
    return " -> ".join(str(p) for p in chain) or "itself"


def _arguments(words: list[_Word], start: int = 1) -> list[_Word]:
    """``words[start:]`` without redirections (``2>/dev/null``, ``> file``)."""
    out: list[_Word] = []
    skip_target = False
    for w in words[start:]:
        if skip_target:
            skip_target = False
            continue
        m = None if w.quoted else _REDIRECT().match(w.raw)
        if m:
            # A bare operator takes the next word as its target.
            skip_target = m.end() == len(w.raw) and "&" not in w.raw[1:]
            continue
        out.append(w)
    return out


def _base_name(w: _Word) -> str | None:
    text = w.text if w.literal else w.raw
    if w.literal and _NAME().match(text):
        return text
    m = _INDEXED().match(text)
    return m.group(1) if m else None


def ordered(events: list[_Event], state: dict[tuple[str, str], bool]) -> tuple[Setting, ...]:
    """Per variable, list last the layer whose value children get (see the module docstring)."""

    def rank(e: _Event) -> int:
        global_exported = state.get((e.setting.var, _GLOBAL), False)
        deciding = _GLOBAL if global_exported else _UNIVERSAL
        return 1 if e.layer == deciding else 0

    return tuple(e.setting for e in sorted(events, key=lambda e: (rank(e), e.seq)))
