"""Confirm-then-trace, on the real shells over temporary homes.

The source starts ``$SHELL`` once as a new terminal would and compares the
exported values it ends with against the static reading; only a disagreement
(or a start-up that does not finish) costs a line-by-line trace.  Every case of
the static agreement table (test_posix_real_shells) is run again here through
this source, for each shell it names, and the winner of the ``(traced)`` trail
must be what the real ``$SHELL -lic 'printenv X'`` shows.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from authdoctor.collect.origins import confirm as C
from authdoctor.collect.origins import trace as T
from authdoctor.collect.origins.model import OriginScan, Setting, winner
from authdoctor.host import Host
from authdoctor.sandbox import personal_access_token, write_private
from tests.collect.origins import test_fish as F_CASES
from tests.collect.origins import test_posix_real_shells as R
from tests.conftest import IN_CI

pytestmark = pytest.mark.shell

VAR = "CODEX_ACCESS_TOKEN"
NAMES = frozenset({VAR, "OPENAI_API_KEY", "CODEX_HOME", "OPENAI_BASE_URL"})
# The shell program, the static context its new login terminal follows, and the Run that shows the real value.
SHELLS = {
    "bash": R.BASH_LI,
    "zsh": R.ZSH_LI,
    "dash": R.DASH_LI,
    "ksh": R.KSH_LI,
}
# The Run showing what a plain interactive (non-login) shell of each kind exports.
INTERACTIVE_RUNS = {"bash": R.BASH_I, "zsh": R.ZSH_I, "dash": R.DASH_I, "ksh": R.KSH_I}


def program(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        if IN_CI:
            pytest.fail(f"{shell} is required on CI")
        pytest.skip(f"{shell} is not installed")
    return path


def host_for(home: Path, shell: str, **extra: str) -> Host:
    return Host(env=R.shell_env(home, shell, extra) | {"SHELL": program(shell)}, home=home, platform="linux")


def login_source(timeout: float = 10.0) -> C.ConfirmedShellSource:
    """The source as `check` runs it: only the login shell (one start-up to count)."""
    return C.ConfirmedShellSource(timeout=timeout, modes=(C.LOGIN_INTERACTIVE,))


def traced_trail(scan: OriginScan, mode: str = C.LOGIN_INTERACTIVE) -> tuple[Setting, ...]:
    """The settings of the trail for new terminals of ``mode`` (every trail is the shell's own, confirmed or traced)."""
    assert all(t.context.endswith(" (traced)") for t in scan.trails)
    trails = [t for t in scan.trails if t.context.startswith(C.static_context(C.shell_kind(t.context.split()[0]) or "", mode))]
    (trail,) = trails
    return trail.settings


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records every full line trace the source starts (the expensive path)."""
    seen: list[str] = []
    real = T.trace_shell

    def spy(host: Host, shell: str, mode: str, names: frozenset[str], timeout: float = T.DEFAULT_TIMEOUT, **kw: bool | None) -> OriginScan:
        seen.append(Path(shell).name)
        return real(host, shell, mode, names, timeout, **kw)

    monkeypatch.setattr(T, "trace_shell", spy)
    yield seen


def write(home: Path, rel: str, text: str) -> Path:
    return write_private(home / rel, text, 0o644)


def rc(shell: str) -> str:
    return {"bash": ".bashrc", "zsh": ".zshrc", "dash": ".profile", "ksh": ".profile"}[shell]


def start(home: Path, shell: str) -> None:
    if shell == "bash":
        write(home, ".bash_profile", '. "$HOME/.bashrc"\n')


# --- the static agreement table, through the confirming source -----------------------------


def _cases() -> list[tuple[str, R.Case]]:
    out = []
    for case in R.CASES:
        for shell, run in SHELLS.items():
            if run in case.runs or INTERACTIVE_RUNS[shell] in case.runs:
                out.append((shell, case))
    return out


@pytest.mark.parametrize(("shell", "case"), _cases(), ids=[f"{s}-{c.name}" for s, c in _cases()])
def test_winner_matches_the_real_shell(tmp_path: Path, shell: str, case: R.Case) -> None:
    """Both new-terminal kinds at once (login+interactive and interactive), as `where` runs them."""
    home = tmp_path / "home"
    home.mkdir()
    toks = R.tokens()
    R.build_home(home, case.files(toks))
    extra = case.env(home)
    host = host_for(home, shell, **extra)
    scan = C.ConfirmedShellSource(timeout=10).scan(host, NAMES)
    for mode, run in ((C.LOGIN_INTERACTIVE, SHELLS[shell]), (C.INTERACTIVE, INTERACTIVE_RUNS[shell])):
        if run not in case.runs:
            continue
        real = R.real_values(home, run, case.names, extra)
        context = C.static_context(C.shell_kind(shell) or "", mode) + " (traced)"
        trails = [t for t in scan.trails if t.context == context]
        if not trails:
            # The start-up never finishes (the case exits early): then no process gets anything.
            assert all(v is None for v in real.values()), (mode, scan.notes)
            continue
        for var in case.names:
            won = winner(trails[0].settings, var)
            if won is not None and won.value is None:
                continue  # a computed value (the static reading cannot know it; the probe checked it exists)
            got = won.value.reveal() if won is not None and won.value is not None else None
            where = won.where if won else "-"
            assert got == real[var], f"{shell} {mode} {var}: real {R._show(real[var], toks)} ours {R._show(got, toks)} ({where})"


@pytest.mark.parametrize("shell", ["bash", "zsh", "ksh", "dash"])
def test_login_and_interactive_shells_are_confirmed_apart(tmp_path: Path, shell: str) -> None:
    """A login shell reads the profile, a plain interactive one does not: each gets its own trail and winner."""
    tok = personal_access_token()
    profile = {"bash": ".bash_profile", "zsh": ".zprofile", "ksh": ".profile", "dash": ".profile"}[shell]
    path = write(tmp_path, profile, f"export {VAR}={tok}\n")
    scan = C.ConfirmedShellSource().scan(host_for(tmp_path, shell), NAMES)
    login = winner(traced_trail(scan, C.LOGIN_INTERACTIVE), VAR)
    assert login is not None and (login.path, login.line) == (path, 1)
    assert winner(traced_trail(scan, C.INTERACTIVE), VAR) is None
    assert R.real_value(tmp_path, INTERACTIVE_RUNS[shell], VAR, {}) is None
    assert R.real_value(tmp_path, SHELLS[shell], VAR, {}) == tok


def test_interactive_only_generated_value_is_traced_in_that_trail(tmp_path: Path) -> None:
    """Most Linux terminals start bash without -l: .bashrc's eval must be confirmed there too."""
    tok = personal_access_token()
    rc = write(tmp_path, ".bashrc", f"gen() {{ printf 'export %s=%s\\n' {VAR} {tok}; }}\neval \"$(gen)\"\n")
    write(tmp_path, ".bash_profile", "true\n")  # a login shell never reads .bashrc here
    scan = C.ConfirmedShellSource().scan(host_for(tmp_path, "bash"), NAMES)
    assert winner(traced_trail(scan, C.LOGIN_INTERACTIVE), VAR) is None
    won = winner(traced_trail(scan, C.INTERACTIVE), VAR)
    assert won is not None and (won.path, won.line) == (rc, 2)
    assert R.real_value(tmp_path, R.BASH_I, VAR, {}) == tok


# --- which path runs ------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "ksh"])
def test_agreement_costs_no_line_trace(tmp_path: Path, shell: str, calls: list[str]) -> None:
    tok = personal_access_token()
    start(tmp_path, shell)
    path = write(tmp_path, rc(shell), f"# a comment\nexport {VAR}={tok}\n")
    scan = login_source().scan(host_for(tmp_path, shell), NAMES)
    assert calls == []
    won = winner(traced_trail(scan), VAR)
    assert won is not None and (won.path, won.line) == (path, 2)
    assert won.value is not None and won.value.reveal() == tok
    assert scan.notes == ()


@pytest.mark.parametrize("shell", ["bash", "zsh", "ksh"])
def test_generated_value_is_traced_to_its_line(tmp_path: Path, shell: str, calls: list[str]) -> None:
    """No line names the variable: the probe sees a value the static reading lacks, so the trace places it."""
    tok = personal_access_token()
    start(tmp_path, shell)
    path = write(tmp_path, rc(shell), f"gen() {{ printf 'export %s=%s\\n' {VAR} {tok}; }}\neval \"$(gen)\"\n")
    scan = login_source().scan(host_for(tmp_path, shell), NAMES)
    assert calls == [shell]
    won = winner(traced_trail(scan), VAR)
    assert won is not None and (won.path, won.line) == (path, 2)
    assert won.value is not None and won.value.reveal() == tok
    assert R.real_value(tmp_path, SHELLS[shell], VAR, {}) == tok


@pytest.mark.parametrize("shell", ["bash", "zsh", "ksh"])
def test_branch_not_taken_is_found_by_running(tmp_path: Path, shell: str, calls: list[str]) -> None:
    tok = personal_access_token()
    start(tmp_path, shell)
    write(tmp_path, rc(shell), f'if [ "$(id -u)" = 4242 ]; then\n  export {VAR}={tok}\nfi\n')
    scan = login_source().scan(host_for(tmp_path, shell), NAMES)
    assert calls == [shell]
    assert winner(traced_trail(scan), VAR) is None
    assert R.real_value(tmp_path, SHELLS[shell], VAR, {}) is None


def test_eval_naming_the_variable_goes_straight_to_the_trace(tmp_path: Path, calls: list[str]) -> None:
    tok = personal_access_token()
    path = write(tmp_path, ".zshrc", f"eval 'export {VAR}={tok}'\n")
    scan = login_source().scan(host_for(tmp_path, "zsh"), NAMES)
    assert calls == ["zsh"]
    won = winner(traced_trail(scan), VAR)
    assert won is not None and (won.path, won.line) == (path, 1)


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_a_start_up_that_exits_is_traced_for_its_line(tmp_path: Path, shell: str, calls: list[str]) -> None:
    start(tmp_path, shell)
    path = write(tmp_path, rc(shell), "true\nexit 3\n")
    scan = login_source().scan(host_for(tmp_path, shell), NAMES)
    assert calls == [shell]
    (note,) = [n for n in scan.notes if n.kind == "exit"]
    assert note.path == path and "line 2" in note.message


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_a_start_up_that_hangs_is_reported_with_its_file(tmp_path: Path, shell: str, calls: list[str]) -> None:
    start(tmp_path, shell)
    path = write(tmp_path, rc(shell), "true\nsleep 30\n")
    scan = login_source(timeout=1.5).scan(host_for(tmp_path, shell), NAMES)
    (note,) = [n for n in scan.notes if n.kind == "timeout"]
    assert note.path == path


# --- dash: no file:line trace exists, the shell's final word still counts -------------------


def test_dash_generated_value_is_recorded_with_a_note(tmp_path: Path) -> None:
    tok = personal_access_token()
    write(tmp_path, ".profile", f"gen() {{ printf 'export %s=%s\\n' {VAR} {tok}; }}\neval \"$(gen)\"\n")
    scan = login_source().scan(host_for(tmp_path, "dash"), NAMES)
    won = winner(traced_trail(scan), VAR)
    assert won is not None and won.value is not None and won.value.reveal() == tok
    assert [n.kind for n in scan.notes] == ["trace-mismatch"]
    assert tok not in repr(scan)


def test_dash_branch_not_taken(tmp_path: Path) -> None:
    write(tmp_path, ".profile", f'if [ "$(id -u)" = 4242 ]; then\n  export {VAR}=x\nfi\n')
    scan = login_source().scan(host_for(tmp_path, "dash"), NAMES)
    assert winner(traced_trail(scan), VAR) is None
    assert [n.kind for n in scan.notes] == ["trace-mismatch"]


def test_dash_hang_is_a_timeout_note(tmp_path: Path) -> None:
    write(tmp_path, ".profile", "sleep 30\n")
    scan = login_source(timeout=1.0).scan(host_for(tmp_path, "dash"), NAMES)
    assert scan.trails == ()
    assert [n.kind for n in scan.notes] == ["timeout"]


# --- the probe itself -------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "dash", "ksh", "fish"])
def test_probe_reads_exact_values_past_noise(tmp_path: Path, shell: str) -> None:
    """Values with newlines and '=' survive, output the start-up prints is ignored, unexported names are left out."""
    value = "line one\nline=two \\ 'q'"
    if shell == "fish":
        write(
            tmp_path, ".config/fish/config.fish", f"echo noise\nset -gx {VAR} 'line one\nline=two \\\\ \\'q\\''\nset -g OPENAI_API_KEY x\n"
        )
    else:
        start(tmp_path, shell)
        write(tmp_path, rc(shell), f"echo noise\nexport {VAR}='line one\nline=two \\ '\"'q'\"\nOPENAI_API_KEY=x\n")
    result = C.probe(host_for(tmp_path, shell), program(shell), C.shell_kind(program(shell)) or "", NAMES, 10)
    assert result.final is not None
    assert {k: v.reveal() for k, v in result.final.items()} == {VAR: value}


def test_probe_starts_from_a_clean_environment(tmp_path: Path) -> None:
    """The terminal's own override must not count as something a new shell sets."""
    host = host_for(tmp_path, "bash", **{VAR: "inherited"})
    result = C.probe(host, program("bash"), "bash", NAMES, 10)
    assert result.final == {}


def test_shell_kind() -> None:
    assert [C.shell_kind(s) for s in ("/bin/dash", "/bin/sh", "/usr/bin/ksh93", "/bin/zsh", "fish", "tcsh", "")] == [
        "sh",
        "sh",
        "ksh",
        "zsh",
        "fish",
        None,
        None,
    ]


def test_not_run_for_an_image_or_windows(tmp_path: Path) -> None:
    host = host_for(tmp_path, "bash")
    assert login_source().scan(host._replace(root=tmp_path), NAMES) == OriginScan(C.SOURCE_NAME)
    assert login_source().scan(host._replace(platform="win32"), NAMES) == OriginScan(C.SOURCE_NAME)


# --- fish: the same two paths, the line trace through fish_trace ------------------------------


@pytest.fixture
def fish_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from authdoctor.collect.origins import trace_fish as TF

    seen: list[str] = []
    real = TF.trace_fish

    def spy(host: Host, shell: str, mode: str, names: frozenset[str], timeout: float = TF.DEFAULT_TIMEOUT) -> OriginScan:
        seen.append(mode)
        return real(host, shell, mode, names, timeout)

    monkeypatch.setattr(TF, "trace_fish", spy)
    return seen


def test_fish_agreement_costs_no_line_trace(tmp_path: Path, fish_calls: list[str]) -> None:
    tok = personal_access_token()
    path = write(tmp_path, ".config/fish/config.fish", f"# config\nset -gx {VAR} {tok}\n")
    scan = login_source().scan(host_for(tmp_path, "fish"), NAMES)
    assert fish_calls == []
    (trail,) = scan.trails
    assert trail.context == "fish login shell (traced)"
    won = winner(trail.settings, VAR)
    assert won is not None and (won.path, won.line) == (path, 2)
    both = C.ConfirmedShellSource().scan(host_for(tmp_path, "fish"), NAMES)
    assert [t.context for t in both.trails] == ["fish login shell (traced)", "fish interactive shell (traced)"]


def test_fish_generated_value_is_traced_to_its_line(tmp_path: Path, fish_calls: list[str]) -> None:
    tok = personal_access_token()
    path = write(tmp_path, ".config/fish/config.fish", f"printf 'set -gx CODEX_%s %s\\n' ACCESS_TOKEN {tok} | source\n")
    scan = login_source().scan(host_for(tmp_path, "fish"), NAMES)
    assert fish_calls == [T.LOGIN_INTERACTIVE]
    (trail,) = scan.trails
    assert trail.context == "fish login shell (traced)"
    won = winner(trail.settings, VAR)
    assert won is not None and (won.path, won.line) == (path, 1)
    assert won.value is not None and won.value.reveal() == tok
    real = subprocess.run(
        [program("fish"), "-lic", f"printenv {VAR}"], env=R.shell_env(tmp_path, "fish", {}), capture_output=True, check=True, timeout=20
    )
    assert real.stdout.decode().splitlines()[-1] == tok


@pytest.mark.parametrize("shell", ["dash", "ksh"])
@pytest.mark.parametrize(
    "value",
    ["plain", "it's", 'say "hi" $HOME `x` \\n', "tab\there\nnext line\n", "ünïcödé €", "", "a=b=c", "'", "''\"\""],
)
def test_probe_builtin_listings_read_back_exactly(tmp_path: Path, shell: str, value: str) -> None:
    """dash's `export -p` and ksh93's `typeset -p` quote in their own ways; each value must come back byte for byte."""
    quoted = "'" + value.replace("'", "'\\''") + "'"
    write(tmp_path, ".profile", f"export {VAR}={quoted}\nexport OPENAI_API_KEY\n")
    result = C.probe(host_for(tmp_path, shell), program(shell), C.shell_kind(program(shell)) or "", NAMES, 10)
    assert result.final is not None
    assert {k: v.reveal() for k, v in result.final.items()} == {VAR: value}


def test_export_p_parser_handles_bytes_that_are_not_text() -> None:
    body = b"export A='x\xff'\"'\"'y'\nexport B\nexport C=plain\nnoise line\nexport D='two\nlines'\n"
    assert C._export_p(body) == [("A", "x\udcff'y"), ("C", "plain"), ("D", "two\nlines")]


@pytest.mark.parametrize("shell", ["zsh", "ksh"])
def test_stderr_redirect_keeps_the_line_trace_off(tmp_path: Path, shell: str, calls: list[str]) -> None:
    """`exec 2>file` in a sourced file: the trace would write values into that file, so only the probe runs."""
    tok = personal_access_token()
    log = tmp_path / "errors.log"
    write(tmp_path, "extra.sh", f"exec 2>>{log}\n")
    write(
        tmp_path,
        rc(shell) if shell == "zsh" else ".profile",
        f'. "$HOME/extra.sh"\ngen() {{ printf "export CODEX_%s=%s" ACCESS_TOKEN {tok}; }}\neval "$(gen)"\n',
    )
    scan = login_source().scan(host_for(tmp_path, shell), NAMES)
    assert calls == []
    assert sorted(n.kind for n in scan.notes) == ["not-traced", "trace-mismatch"]
    won = winner(traced_trail(scan), VAR)
    assert won is not None and won.value is not None and won.value.reveal() == tok
    assert tok not in (log.read_text() if log.exists() else "")


@pytest.mark.parametrize("case", sorted(F_CASES.REAL_CASES))
def test_fish_winner_matches_the_real_fish(tmp_path: Path, case: str) -> None:
    """The static fish agreement table, through the confirming source (confirmed or traced, whichever runs)."""
    program("fish")
    for rel, text in F_CASES.REAL_CASES[case].items():
        write(tmp_path, rel, text)
    scan = login_source().scan(host_for(tmp_path, "fish"), NAMES)
    real = F_CASES.real_fish(tmp_path, VAR)
    won = winner(traced_trail(scan), VAR)
    got = won.value.reveal() if won is not None and won.value is not None else None
    if won is not None and won.value is None:
        assert real is not None, case  # a computed value: it exists
        return
    assert got == real, f"{case}: real {real!r} ours {got!r} ({won.where if won else '-'})"
