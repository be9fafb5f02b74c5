"""Run the user's shell once to confirm the static reading; trace it line by line only where that reading is wrong.

A line-by-line trace (``xtrace`` with a file:line ``PS4``) is the only way to
*place* what ``eval "$(…)"``, generated code or a conditional did, but xtrace
itself makes a start-up 1.4-1.7 times slower (every traced command expands PS4
and writes a line).  Most start-ups hold no such surprise: the static reading
already names the right line.  So the shell is first started exactly as a new
terminal starts it (login and interactive, no terminal, stdin closed, under a
timeout, with no watched variable inherited), and the command it finally runs
prints the exported value of every watched variable between two random
markers.  That costs one ordinary start-up.

- When every watched variable ends up as the static reading predicts (same
  value, or unset), the static trail is confirmed: it is returned again as the
  shell's ``(traced)`` trail, so reports say the shell really ran.
- When anything disagrees, when the start-up did not finish (a hang, an
  ``exit``, an ``exec``), or when the static reading already knows it cannot
  tell (a watched name inside ``eval``), the full line trace runs (bash, zsh,
  ksh; fish through its own ``fish_trace``) and its reading replaces the
  static one.
- dash cannot say which file a traced line came from, so for dash (``sh``) a
  disagreement is reported as a ``trace-mismatch`` note and the shell's final
  value is set on the static trail.

What the probe cannot catch: a line that sets the same value the static
winner sets (the value is right either way; ``fix`` re-checks with the real
shell after editing), and a value the static reading computes as unknown
(``$(…)``) that some other code replaces -- so an unknown static value counts
as agreement only when its line is not generated code.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.collect.origins.model import EXPORT, OriginScan, ScanNote, Setting, Trail, winner
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from collections.abc import Mapping

    from authdoctor.host import Host

SOURCE_NAME = "shell trace"
DEFAULT_TIMEOUT = 10.0
# The shells a probe can start, by the static context their trail confirms.
LOGIN_INTERACTIVE = "login+interactive"
INTERACTIVE = "interactive"
MODES = (LOGIN_INTERACTIVE, INTERACTIVE)
_FLAGS = {LOGIN_INTERACTIVE: ("-l", "-i"), INTERACTIVE: ("-i",)}


def static_context(kind: str, mode: str) -> str:
    """The static trail a new shell of this kind and mode follows (fish names its login trail "fish login shell")."""
    if kind == "fish":
        return "fish login shell" if mode == LOGIN_INTERACTIVE else "fish interactive shell"
    return f"{kind} {mode} shell"


_TRACED = " (traced)"
# Blockers that mean "the static reading does not know what this line does".
_GENERATED = frozenset({"eval", "generated", "parse-error"})


def shell_kind(shell: str) -> str | None:
    """The family a shell path belongs to (``/bin/dash`` → ``sh``), or None when we cannot start it as a login shell."""
    name = Path(shell).name
    if name in ("dash", "sh", "ash", "fish"):
        return "fish" if name == "fish" else "sh"
    from authdoctor.collect.origins import trace

    return trace.shell_kind(name)


class ConfirmedShellSource:
    """The user's login shell (``$SHELL``), started as new terminals start it: confirm, then trace if needed.

    Both kinds of new terminal are checked, at the same time: a login shell
    (macOS terminals, ssh) and a plain interactive one (most Linux terminals),
    which read different files.  ``modes`` narrows that (``check`` asks only for
    the login shell).  ``static`` is what the static sources already found
    (``check`` and ``where`` pass theirs, so the files are not read twice);
    without it this source reads the shell's start-up files itself.
    """

    name = SOURCE_NAME

    def __init__(
        self, static: tuple[OriginScan, ...] | None = None, timeout: float = DEFAULT_TIMEOUT, modes: tuple[str, ...] = MODES
    ) -> None:
        self.static = static
        self.timeout = timeout
        self.modes = modes

    def scan(self, host: Host, names: frozenset[str]) -> OriginScan:
        shell = host.env.get("SHELL") or ""
        kind = shell_kind(shell)
        # Running start-up files runs code: only this machine's own shells, never an image (--root), never on Windows.
        if kind is None or host.is_windows or host.root != Path("/"):
            return OriginScan(SOURCE_NAME)
        if len(self.modes) == 1:
            return self._mode(host, shell, kind, names, self.modes[0])
        # The shells spend their time in their own processes: running them side by side costs one start-up's wait.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(self.modes)) as pool:
            scans = list(pool.map(lambda mode: self._mode(host, shell, kind, names, mode), self.modes))
        notes: dict[ScanNote, None] = {}
        for one in scans:
            notes.update(dict.fromkeys(one.notes))
        return OriginScan(SOURCE_NAME, tuple(t for one in scans for t in one.trails), tuple(notes))

    def _mode(self, host: Host, shell: str, kind: str, names: frozenset[str], mode: str) -> OriginScan:
        context = static_context(kind, mode)
        static = self._static_trail(host, names, kind, context)
        if kind != "sh" and _unknowable(static, names):
            return self._line_trace(host, shell, kind, names, static, None, mode)
        result = probe(host, shell, kind, names, self.timeout, mode)
        if result.final is not None and _agrees(static.settings, result.final, names):
            return OriginScan(SOURCE_NAME, (Trail(context + _TRACED, static.settings, static.files),))
        if kind == "sh":
            # dash cannot name a traced line's file: the shell's final word is all there is.
            return _with_probe(host, kind, static, result, names, ())
        return self._line_trace(host, shell, kind, names, static, result, mode)

    def _line_trace(
        self, host: Host, shell: str, kind: str, names: frozenset[str], static: Trail, result: ProbeResult | None, mode: str
    ) -> OriginScan:
        if kind in ("zsh", "ksh"):
            from authdoctor.collect.origins import trace

            redirect = trace.stderr_redirect(host, kind, static.files)
            if redirect is not None:
                # These shells trace to stderr; with `exec 2>file` the trace -- values
                # included -- would land in that file.  The probe's report goes to stdout.
                msg = f"{redirect} redirects the shell's error output (exec 2>…), so {kind} was not traced line by line"
                note = ScanNote(redirect, "not-traced", msg)
                if result is None:
                    result = probe(host, shell, kind, names, self.timeout, mode)
                return _with_probe(host, kind, static, result, names, (note,))
        return self._trace(host, shell, kind, names, mode)

    def _static_trail(self, host: Host, names: frozenset[str], kind: str, context: str) -> Trail:
        scans = self.static
        if scans is None or not any(t.context == context for s in scans for t in s.trails):
            from authdoctor.collect.origins import run_source

            if kind == "fish":
                scans = (run_source(host, names, "authdoctor.collect.origins.fish", "FishSource"),)
            else:
                scans = (run_source(host, names, "authdoctor.collect.origins.posix", "PosixShellSource", {"shells": (kind,)}),)
        settings: list[Setting] = []
        files: list[Path] = []
        for scan in scans:
            for t in scan.trails:
                if t.context == context:
                    settings.extend(t.settings)
                    files.extend(t.files)
        return Trail(context, tuple(settings), tuple(files))

    def _trace(self, host: Host, shell: str, kind: str, names: frozenset[str], mode: str) -> OriginScan:
        if kind == "fish":
            from authdoctor.collect.origins import trace_fish

            scan: OriginScan = trace_fish.trace_fish(host, shell, mode, names, self.timeout)
        else:
            from authdoctor.collect.origins import trace

            scan = trace.trace_shell(host, shell, mode, names, self.timeout)
        # Name the trail after the context it replaces.
        context = static_context(kind, mode) + _TRACED
        return scan._replace(trails=tuple(t._replace(context=context) for t in scan.trails))


def _unknowable(static: Trail, names: frozenset[str]) -> bool:
    """The static reading itself says it cannot know a watched variable's fate (an ``eval`` naming it)."""
    return any(s.var in names and s.blocker in _GENERATED for s in static.settings)


def _agrees(settings: tuple[Setting, ...], final: Mapping[str, Secret], names: frozenset[str]) -> bool:
    for name in names:
        won = winner(settings, name)
        got = final.get(name)
        if won is None or got is None:
            if (won is None) != (got is None):
                return False
            continue
        if won.value is None:
            # A computed value ($(…), $HOME/…): right when the line itself is plain code.
            if won.blocker in _GENERATED:
                return False
        elif won.value.reveal() != got.reveal():
            return False
    return True


def _with_probe(
    host: Host, kind: str, static: Trail, result: ProbeResult, names: frozenset[str], notes: tuple[ScanNote, ...]
) -> OriginScan:
    """The static trail checked against the probe, without a line trace."""
    if result.final is None:
        return OriginScan(SOURCE_NAME, (), (*notes, result.note(host, kind)))
    scan = _reconciled(host, static, result.final, names)
    return scan._replace(notes=(*notes, *scan.notes))


def _reconciled(host: Host, static: Trail, final: Mapping[str, Secret], names: frozenset[str]) -> OriginScan:
    """The static trail with the shell's own final word where it disagrees, and a note for each."""
    settings = list(static.settings)
    notes: list[ScanNote] = []
    for name in sorted(names):
        won = winner(settings, name)
        got = final.get(name)
        if won is not None and got is not None:
            if won.value is not None and won.value.reveal() == got.reveal():
                continue
            i = max(i for i, s in enumerate(settings) if s.var == name)
            settings[i] = won._replace(value=got)
            if won.value is None:
                continue  # a value reading could not know (`$(…)`, eval): the shell says what it is
            msg = f"{won.where} sets {name}, but a new shell ends up with a different value (a later line or program changes it)"
            notes.append(ScanNote(won.path, "trace-mismatch", msg))
        elif got is not None:
            msg = (
                f"a new shell ends up with {name} exported, but no start-up line we read sets it "
                "(generated code, or a file this shell cannot name in a trace)"
            )
            # The value is real: record it so reports and `check` see it, at the place the shell starts.
            settings.append(Setting(name, EXPORT, True, got, host.home, 0, f"{name}=<redacted>", "trace"))
            notes.append(ScanNote(host.home, "trace-mismatch", msg))
        elif won is not None:
            msg = f"{won.where} exports {name}, but a new shell ends up without it (the line does not run, or a later one removes it)"
            settings = [s for s in settings if s is not won]
            notes.append(ScanNote(won.path, "trace-mismatch", msg))
    return OriginScan(SOURCE_NAME, (Trail(static.context + _TRACED, tuple(settings), static.files),), tuple(notes))


# --- the probe ---------------------------------------------------------------------


class ProbeResult(NamedTuple):
    """The final exported values of a shell's start-up, or why there are none."""

    final: dict[str, Secret] | None
    returncode: int | None
    timed_out: bool = False
    error: str | None = None

    def note(self, host: Host, kind: str) -> ScanNote:
        if self.error:
            return ScanNote(Path(kind), "crash", f"{self.error}; its start-up was not checked")
        if self.timed_out:
            return ScanNote(host.home, "timeout", f"a new {kind} login shell did not finish its start-up files within the time limit")
        msg = f"a new {kind} login shell ended (status {self.returncode}) before its start-up files finished (`exit` or `exec`)"
        return ScanNote(host.home, "exit", msg)


def probe(
    host: Host, shell: str, kind: str, names: frozenset[str], timeout: float = DEFAULT_TIMEOUT, mode: str = LOGIN_INTERACTIVE
) -> ProbeResult:
    """Start ``shell`` as a new terminal would (``mode``) and read the exported value of each of ``names`` at the end."""
    from authdoctor.collect.origins.trace import trace_env

    env = trace_env(host, kind, shell)
    path = shell if os.sep in shell else shutil.which(shell, path=env.get("PATH") or os.defpath)
    if not path or host.stat(Path(path)) is None:
        return ProbeResult(None, None, error=f"{Path(shell).name} is not installed here")
    nonce = os.urandom(6).hex()
    start, end = f"\x1e{nonce}S", f"\x1e{nonce}E"
    listed = " ".join(sorted(n for n in names if n.replace("_", "a").isalnum() and not n[0].isdigit()))
    # Each marker is printed as two words: sh sets $_ to a command's last word, and
    # `env` would list that variable -- a whole marker inside the values.
    # macOS's env has no -0: one variable per line (a value with a newline then reads short).
    env_flag = "" if host.platform == "darwin" else "-0"
    dialect = _dialect(shell, kind)
    argv = (path, *_FLAGS[mode], "-c", _final_command(dialect, listed, f"'\x1e' '{nonce}S'", f"'\x1e' '{nonce}E'", env_flag))
    # A terminal's shell starts in the home folder, and start-up files may look at $PWD.
    result = host.run(argv, timeout=timeout, env=env, cwd=host.home if host.stat(host.home) else None)
    if result.error or result.timed_out:
        return ProbeResult(None, result.returncode, result.timed_out, result.error)
    out = result.stdout
    i = out.rfind(start.encode())
    j = out.find(end.encode(), i + 1) if i >= 0 else -1
    if j < 0 and i >= 0 and dialect == "env" and result.returncode == 0:
        j = len(out)
    if i < 0 or j < 0:
        return ProbeResult(None, result.returncode)
    body = out[i + len(start) : j]
    if dialect == "ksh93":
        from authdoctor.collect.origins.trace import typeset_p

        pairs = typeset_p(body)
    else:
        pairs = _export_p(body) if dialect == "sh" else _nul_pairs(body, env_flag)
    final = {name: Secret(value) for name, value in pairs if name in names}
    return ProbeResult(final, result.returncode)


def _dialect(shell: str, kind: str) -> str:
    """How the probe lists exported values: a shell's own builtins where they are exact, else ``env``."""
    name = Path(shell).name
    if kind in ("bash", "zsh"):
        return kind
    if kind == "ksh" and name in ("ksh", "ksh93"):
        return "ksh93"
    if kind == "sh" and name in ("dash", "sh"):
        return "sh"
    return "env"


def _nul_pairs(body: bytes, env_flag: str) -> list[tuple[str, str]]:
    # NUL-separated (builtins, env -0), or macOS env's lines.
    out = []
    for entry in body.split(b"\0" if b"\0" in body or env_flag else b"\n"):
        raw_name, sep, raw_value = entry.partition(b"=")
        if sep:
            out.append((raw_name.decode("utf-8", "replace"), raw_value.decode("utf-8", "surrogateescape")))
    return out


def _export_p(body: bytes) -> list[tuple[str, str]]:
    """POSIX ``export -p`` output (dash: ``export NAME='v'"'"'s'``; a value may span lines)."""
    out = []
    i, n = 0, len(body)
    while i < n:
        while i < n and body[i] in b" \t\n":
            i += 1
        if not body.startswith(b"export ", i):
            j = body.find(b"\n", i)
            i = n if j < 0 else j + 1
            continue
        i += 7
        j = i
        while j < n and body[j] not in b"= \n":
            j += 1
        name = body[i:j].decode("utf-8", "replace")
        if j >= n or body[j] != ord("="):
            i = j  # `export NAME`: exported, but no value
            continue
        i = j + 1
        value = bytearray()
        while i < n and body[i] not in b" \t\n":
            c = body[i]
            if c == ord("'"):
                k = body.find(b"'", i + 1)
                k = n if k < 0 else k
                value += body[i + 1 : k]
                i = k + 1
            elif c == ord('"'):
                i += 1
                while i < n and body[i] != ord('"'):
                    if body[i] == ord("\\") and i + 1 < n and body[i + 1] in b'\\"$`\n':
                        i += 1
                    value.append(body[i])
                    i += 1
                i += 1
            elif c == ord("\\") and i + 1 < n:
                value.append(body[i + 1])
                i += 2
            else:
                value.append(c)
                i += 1
        out.append((name, value.decode("utf-8", "surrogateescape")))
    return out


def _final_command(dialect: str, listed: str, start: str, end: str, env_flag: str = "-0") -> str:
    """Shell code listing the exported watched names and values, with builtins where the shell has exact ones."""
    if dialect == "bash":
        # ${!n@a} (attributes) needs bash 4.4; an older bash (macOS 3.2) lists with env.
        loop = (
            f"for __ad_n in {listed}; do [[ ${{!__ad_n@a}} == *x* && -n ${{!__ad_n+1}} ]] &&"
            ' builtin printf "%s=%s\\0" "$__ad_n" "${!__ad_n}"; done'
        )
        body = f"if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 404)); then builtin eval '{loop}'; else command env {env_flag}; fi"
        return f"builtin set +eu; builtin printf '%s%s' {start}; {body}; builtin printf '%s%s' {end}"
    if dialect == "zsh":
        loop = (
            f"for __ad_n in {listed}; do [[ ${{(tP)__ad_n}} == *export* ]] && (( ${{(P)+__ad_n}} )) &&"
            " builtin print -rn -- \"$__ad_n=${(P)__ad_n}\"$'\\0'; done"
        )
        return f"builtin set +eu; builtin printf '%s%s' {start}; {loop}; builtin printf '%s%s' {end}"
    if dialect == "ksh93":
        # typeset -p quotes exactly ($'…' for newlines, \\xHH for bytes that are not text).
        loop = f'for __ad_n in {listed}; do command typeset -p "$__ad_n"; done'
        return f"set +eu; printf '%s%s' {start}; {loop}; printf '%s%s' {end}"
    if dialect == "sh":
        return f"set +eu; printf '%s%s' {start}; export -p; printf '%s%s' {end}"
    # No exact builtin: `env -0` lists the exported values (newlines and all), and as
    # the last command it replaces the shell instead of costing a fork.  The end is
    # then the end of output, and the status says whether env ran.
    return f"printf '%s%s' {start}; exec env {env_flag}".rstrip()
