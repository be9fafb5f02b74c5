"""The dynamic shell trace, run on the real bash and zsh over temporary homes.

Every home is built from scratch under a temporary directory and every shell
gets an environment written here (never the developer's): HOME, PATH, LANG.
The winner the trace reports is checked against what the real shell exports
(``$SHELL -lic 'printenv X'``).  Locally a test is skipped when its shell is
missing; on CI (``CI`` set) it fails instead.

We run as root on CI, where bash ignores PS4 from the environment, so the
bash tests go through the start-up emulation; the unprivileged test runs the
real ``bash -lixc`` path as ``nobody`` and checks both agree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from authdoctor.collect.origins import trace as T
from authdoctor.collect.origins.confirm import ConfirmedShellSource
from authdoctor.collect.origins.model import EXPORT, SET, UNSET, OriginScan, Setting, winner
from authdoctor.host import Host
from authdoctor.sandbox import api_key, build_seed_home, personal_access_token, write_private
from tests.conftest import IN_CI
from tests.proctools import running_with

pytestmark = pytest.mark.shell

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
URL = "OPENAI_BASE_URL"
NAMES = frozenset({NAME, OTHER, URL, "CODEX_HOME", "HTTPS_PROXY", "CODEX_API_KEY"})
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
FLAGS = {T.LOGIN_INTERACTIVE: "-lic", T.INTERACTIVE: "-ic", T.LOGIN: "-lc"}


def shell_or_skip(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        if IN_CI:
            pytest.fail(f"{shell} is required on CI (apt-get install {shell})")
        pytest.skip(f"{shell} is not installed")
    return path


@pytest.fixture(params=["bash", "zsh"])
def shell(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    shell_or_skip(name)
    return name


def make_host(home: Path, **env: str) -> Host:
    uid = os.getuid() if hasattr(os, "getuid") else None
    return Host(env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **env}, home=home, platform="linux", uid=uid)


def trace(home: Path, shell: str, mode: str = T.LOGIN_INTERACTIVE, timeout: float = 10.0, **env: str) -> OriginScan:
    return T.trace_shell(make_host(home, **env), shell_or_skip(shell), mode, NAMES, timeout)


def write(home: Path, rel: str, text: str) -> Path:
    return write_private(home / rel, text, 0o644)


def rc_file(shell: str) -> str:
    """The file a login+interactive shell of this kind reads for sure (bash: via .bash_profile)."""
    return ".zshrc" if shell == "zsh" else ".bashrc"


def bash_login_chain(home: Path) -> None:
    write(home, ".bash_profile", '. "$HOME/.bashrc"\n')


def settings(scan: OriginScan) -> tuple[Setting, ...]:
    (trail,) = scan.trails
    return trail.settings


def of(scan: OriginScan, var: str) -> list[Setting]:
    return [s for s in settings(scan) if s.var == var]


def real_value(shell: str, home: Path, var: str, mode: str = T.LOGIN_INTERACTIVE, **env: str) -> str | None:
    """What a fresh real shell exports for ``var``: ``$SHELL -lic 'printenv VAR'`` (None: not exported)."""
    base = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb", "LANG": "C.UTF-8", **env}
    # Markers keep printenv's answer apart from whatever the start-up files print.
    proc = subprocess.run(
        [shell_or_skip(shell), FLAGS[mode], f"printf @@START@@; printenv {var}; printf '@@RC=%s@@' $?"],
        env=base,
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=20,
        check=False,
    )
    body = proc.stdout.decode("utf-8", "surrogateescape").rpartition("@@START@@")[2]
    value, _, rc = body.rpartition("@@RC=")
    if rc != "0@@":
        return None
    return value[:-1] if value.endswith("\n") else value


def assert_agrees(scan: OriginScan, shell: str, home: Path, var: str, mode: str = T.LOGIN_INTERACTIVE, **env: str) -> Setting | None:
    won = winner(settings(scan), var)
    real = real_value(shell, home, var, mode, **env)
    assert (won.value.reveal() if won is not None and won.value is not None else None) == real
    return won


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


# --- the real-shell agreement table ------------------------------------------------------------

T1, T2 = "tok-one-1111", "tok-two-2222"

# name -> (files relative to HOME, winner as (file, line, value) or None); "{rc}" is the
# shell's rc file (.bashrc, reached from .bash_profile for bash; .zshrc for zsh).
CASES: dict[str, tuple[dict[str, str], tuple[str, int, str] | None]] = {
    "plain-export": ({"{rc}": f"# comment\nexport {NAME}={T1}\n"}, ("{rc}", 2, T1)),
    "assign-then-export": ({"{rc}": f"{NAME}={T1}\nexport {NAME}\n"}, ("{rc}", 2, T1)),
    "multi-assign": ({"{rc}": f"export A=1 {NAME}={T1} B=2\n"}, ("{rc}", 1, T1)),
    "later-overrides": ({"{rc}": f"export {NAME}={T1}\nexport {NAME}={T2}\n"}, ("{rc}", 2, T2)),
    "unset-later": ({"{rc}": f"export {NAME}={T1}\nunset {NAME}\n"}, None),
    "not-exported": ({"{rc}": f"{NAME}={T1}\n"}, None),
    "typeset-x": ({"{rc}": f"typeset -x {NAME}={T1}\n"}, ("{rc}", 1, T1)),
    "append": ({"{rc}": f"export {NAME}=tok-\n{NAME}+=abcdef\n"}, ("{rc}", 2, "tok-abcdef")),
    "quoted-value": (
        {"{rc}": f'export {NAME}="it\'s a \'tok\' \\"x\\" $HOME-less"\n'},
        ("{rc}", 1, "it's a 'tok' \"x\" $HOME-less".replace("$HOME", "{home}")),
    ),
    "newline-value": ({"{rc}": f"export {NAME}='line1\nline2'\n"}, ("{rc}", 1, "line1\nline2")),
    "false-conditional": ({"{rc}": f'if [ -n "$NOPE" ]; then\n  export {NAME}={T1}\nfi\n'}, None),
    "true-conditional": ({"{rc}": f'if [ -z "$NOPE" ]; then\n  export {NAME}={T1}\nfi\n'}, ("{rc}", 2, T1)),
    "and-guard": ({"{rc}": f"true && export {NAME}={T1}\nfalse && export {NAME}={T2}\n"}, ("{rc}", 1, T1)),
    "function-defined-elsewhere": (
        {".config/fns.sh": f"setit() {{\n  export {NAME}={T1}\n}}\n", "{rc}": '. "$HOME/.config/fns.sh"\nsetit\n'},
        (".config/fns.sh", 2, T1),
    ),
    "subshell-does-not-leak": ({"{rc}": f"( export {NAME}={T1} )\nx=$( {NAME}={T2}; echo )\n"}, None),
    "prefix-assignment-is-temporary": ({"{rc}": f"{NAME}={T1} true\nexport {OTHER}=k-123456\n"}, None),
    "assignment-then-command-on-one-line": ({"{rc}": f"export {NAME}; {NAME}={T1}; true\n"}, ("{rc}", 1, T1)),
    "set-a-sourced-file": (
        {".config/codex.env": f"{NAME}={T1}\nPLAIN=1\n", "{rc}": 'set -a\n. "$HOME/.config/codex.env"\nset +a\n'},
        (".config/codex.env", 1, T1),
    ),
    "set-plus-a-stops-exporting": ({"{rc}": f"set -a\nset +a\n{NAME}={T1}\n"}, None),
    "eval-generated": ({"{rc}": f"true\neval \"$(printf 'export {NAME}=%s' {T1})\"\n"}, ("{rc}", 2, T1)),
    "nested-eval": ({"{rc}": f"eval 'eval \"export {NAME}={T1}\"'\n"}, ("{rc}", 1, T1)),
    # A level an eval opened is closed again: later code is not "from eval".
    "eval-then-function": ({"{rc}": f"eval 'true'\nsetit() {{ export {NAME}={T1}; }}\nsetit\n"}, ("{rc}", 2, T1)),
    "eval-then-source": (
        {".config/tok.sh": f"export {NAME}={T1}\n", "{rc}": "eval 'X=1'\n. \"$HOME/.config/tok.sh\"\n"},
        (".config/tok.sh", 1, T1),
    ),
}


def _expand(text: str, shell: str, home: Path) -> str:
    return text.replace("{rc}", rc_file(shell)).replace("{home}", str(home))


@pytest.mark.parametrize("case", sorted(CASES))
def test_winner_agrees_with_the_real_shell(case: str, shell: str, home: Path) -> None:
    files, expected = CASES[case]
    for rel, text in files.items():
        write(home, _expand(rel, shell, home), text)
    if shell == "bash":
        bash_login_chain(home)
    scan = trace(home, shell)
    assert [n for n in scan.notes if n.kind != "trace-mismatch"] == []
    assert scan.notes == (), [n.message for n in scan.notes]
    won = assert_agrees(scan, shell, home, NAME)
    if expected is None:
        assert won is None
        return
    rel, line, value = expected
    assert won is not None
    assert (won.path, won.line) == (home / _expand(rel, shell, home), line)
    assert won.value is not None
    assert won.value.reveal() == _expand(value, shell, home)
    assert won.family == "trace"
    assert won.conditional is False
    assert won.blocker == ("eval" if "eval" in case and case not in ("eval-then-function", "eval-then-source") else None)
    assert won.value.reveal() not in won.text


# --- the cases the issue names ------------------------------------------------------------------


def test_seed_zshrc_export(home: Path) -> None:
    seed = build_seed_home(home, datetime.now(UTC))
    scan = trace(home, "zsh")
    assert scan.source == "shell trace"
    (trail,) = scan.trails
    assert trail.context == "zsh login+interactive shell (traced)"
    assert seed.zshrc in trail.files
    won = assert_agrees(scan, "zsh", home, NAME)
    assert won is not None
    assert (won.path, won.line) == (seed.zshrc, seed.export_line)
    assert won.action == EXPORT
    assert won.exported
    assert won.value is not None
    assert won.value.reveal() == seed.access_token
    assert won.text == f"export {NAME}=<redacted>"
    assert won.editable
    assert won.blocker is None
    assert scan.notes == ()


def test_bash_profile_sources_bashrc(home: Path) -> None:
    profile = write(home, ".profile", '# ~/.profile\nif [ -n "$BASH_VERSION" ]; then\n  . "$HOME/.bashrc"\nfi\n')
    bashrc = write(home, ".bashrc", f"alias ll='ls -l'\nexport {NAME}={T1}\n")
    scan = trace(home, "bash")
    won = assert_agrees(scan, "bash", home, NAME)
    assert won is not None
    assert (won.path, won.line) == (bashrc, 2)
    assert won.chain == (profile,)
    files = settings_files(scan)
    assert files.index(profile) < files.index(bashrc)


def settings_files(scan: OriginScan) -> list[Path]:
    (trail,) = scan.trails
    return list(trail.files)


def test_bash_reads_only_the_first_of_bash_profile_bash_login_profile(home: Path) -> None:
    login = write(home, ".bash_login", f"export {NAME}={T2}\n")
    write(home, ".profile", f"export {NAME}={T1}\n")
    scan = trace(home, "bash")
    won = assert_agrees(scan, "bash", home, NAME)
    assert won is not None
    assert won.path == login
    assert home / ".profile" not in settings_files(scan)


def test_eval_line_is_the_actionable_location(shell: str, home: Path) -> None:
    token = personal_access_token()
    rc = write(home, rc_file(shell), f"export EDITOR=vi\neval \"$(printf 'export {NAME}=%s\\n' '{token}')\"\nexport {OTHER}=k-123456\n")
    if shell == "bash":
        bash_login_chain(home)
    scan = trace(home, shell)
    (s,) = of(scan, NAME)
    assert (s.path, s.line) == (rc, 2)
    assert s.blocker == "eval"
    assert not s.editable
    assert s.text == f"(eval) export {NAME}=<redacted>"
    assert s.value is not None
    assert s.value.reveal() == token
    (o,) = of(scan, OTHER)
    assert (o.line, o.blocker) == (3, None)
    assert_agrees(scan, shell, home, NAME)


def test_source_of_generated_code_is_attributed_to_the_source_line(shell: str, home: Path) -> None:
    rc = write(home, rc_file(shell), f"true\nsource <(printf 'export {NAME}=%s\\n' {T1})\n")
    if shell == "bash":
        bash_login_chain(home)
    scan = trace(home, shell)
    won = assert_agrees(scan, shell, home, NAME)
    assert won is not None
    assert (won.path, won.line, won.blocker) == (rc, 2, "generated")
    assert not any(str(p).startswith(("/dev/fd", "/proc")) for p in settings_files(scan))


def test_a_false_conditional_is_not_in_the_trace(shell: str, home: Path) -> None:
    write(home, rc_file(shell), f'if [ "$(uname)" = Plan9 ]; then\n  export {NAME}={T1}\nfi\nexport {OTHER}={T2}\n')
    if shell == "bash":
        bash_login_chain(home)
    scan = trace(home, shell)
    assert of(scan, NAME) == []
    assert [s.line for s in of(scan, OTHER)] == [4]


def test_set_a_sourced_file(shell: str, home: Path) -> None:
    env_file = write(home, ".config/codex.env", f"# tokens\n{NAME}={T1}\n{URL}=https://proxy.example\n")
    rc = write(home, rc_file(shell), 'set -a\n. "$HOME/.config/codex.env"\nset +a\n')
    if shell == "bash":
        bash_login_chain(home)
    scan = trace(home, shell)
    won = assert_agrees(scan, shell, home, NAME)
    assert won is not None
    assert (won.path, won.line, won.action, won.exported) == (env_file, 2, EXPORT, True)
    assert rc in won.chain
    assert assert_agrees(scan, shell, home, URL) is not None


def test_zdotdir_relocation(home: Path) -> None:
    write(home, ".zshenv", 'ZDOTDIR="$HOME/.config/zsh"\n')
    zshrc = write(home, ".config/zsh/.zshrc", f"export {NAME}={T1}\n")
    write(home, ".zshrc", f"export {NAME}={T2}\n")  # not read: ZDOTDIR moved
    scan = trace(home, "zsh")
    won = assert_agrees(scan, "zsh", home, NAME)
    assert won is not None
    assert won.path == zshrc
    assert home / ".zshrc" not in settings_files(scan)


@pytest.mark.parametrize("mode", [T.LOGIN_INTERACTIVE, T.INTERACTIVE, T.LOGIN])
def test_modes_read_the_right_files(mode: str, shell: str, home: Path) -> None:
    if shell == "bash":
        write(home, ".bash_profile", f'export {NAME}=from-profile\n[ -n "$PS1" ] && . "$HOME/.bashrc"\n')
        write(home, ".bashrc", f"export {OTHER}=from-bashrc\n")
    else:
        write(home, ".zprofile", f"export {NAME}=from-profile\n")
        write(home, ".zshrc", f"export {OTHER}=from-zshrc\n")
    scan = T.trace_shell(make_host(home), shell, mode, NAMES)
    assert scan.trails[0].context == f"{shell} {mode} shell (traced)"
    assert scan.notes == ()
    for var in (NAME, OTHER):
        assert_agrees(scan, shell, home, var, mode)
    login, interactive = mode != T.INTERACTIVE, mode != T.LOGIN
    assert bool(of(scan, NAME)) == login
    assert bool(of(scan, OTHER)) == interactive


def test_watched_variables_are_not_inherited(shell: str, home: Path) -> None:
    # This terminal has the token; a new shell whose files do not set it must not show it.
    write(home, rc_file(shell), "export EDITOR=vi\n")
    scan = T.trace_shell(make_host(home, **{NAME: T1, OTHER: T2}), shell, T.LOGIN_INTERACTIVE, NAMES)
    assert settings(scan) == ()
    assert scan.notes == ()


# --- start-up files that misbehave ----------------------------------------------------------------


def test_a_hanging_startup_file_is_a_timeout_note(shell: str, home: Path) -> None:
    rc = write(home, rc_file(shell), f"export {NAME}={T1}\nsleep 1234.5\nexport {OTHER}=never\n")
    if shell == "bash":
        bash_login_chain(home)
    t0 = time.monotonic()
    scan = T.trace_shell(make_host(home), shell, T.LOGIN_INTERACTIVE, NAMES, timeout=2)
    assert time.monotonic() - t0 < 6
    (note,) = scan.notes
    assert note.kind == "timeout"
    assert note.path == rc
    assert note.message == f"start-up file {rc} did not finish within 2 s (last line run: {rc}:2)"
    # What ran before the hang is still reported; the hung process group is gone.
    assert [s.line for s in of(scan, NAME)] == [1]
    assert of(scan, OTHER) == []
    if Path("/proc").is_dir():
        assert running_with("1234.5") == []


def test_a_busy_loop_is_a_timeout_note(home: Path) -> None:
    rc = write(home, ".zshrc", "export EDITOR=vi\nwhile :; do :; done\n")
    scan = T.trace_shell(make_host(home), "zsh", T.LOGIN_INTERACTIVE, NAMES, timeout=2)
    (note,) = scan.notes
    assert (note.kind, note.path) in {("timeout", rc), ("too-large", rc)}
    assert f"{rc}:2" in note.message


def test_exit_in_bashrc_names_the_line(home: Path) -> None:
    bash_login_chain(home)
    bashrc = write(home, ".bashrc", f"export {NAME}={T1}\nexit 3\nexport {OTHER}=never\n")
    scan = trace(home, "bash")
    (note,) = scan.notes
    assert note.kind == "exit"
    assert note.path == bashrc
    assert "line 2" in note.message
    assert "status 3" in note.message
    assert [s.var for s in settings(scan)] == [NAME]


def test_exit_in_zshrc_names_the_line(home: Path) -> None:
    zshrc = write(home, ".zshrc", "true\nexit 7\n")
    (note,) = trace(home, "zsh").notes
    assert (note.kind, note.path) == ("exit", zshrc)
    assert "line 2" in note.message
    assert "status 7" in note.message


def test_exec_in_zshrc_is_an_exec_note(home: Path) -> None:
    zshrc = write(home, ".zshrc", f"export {NAME}={T1}\nexec sh\nexport {OTHER}=never\n")
    scan = trace(home, "zsh")
    (note,) = scan.notes
    assert note.kind == "exec"
    assert note.path == zshrc
    assert "`sh` at line 2" in note.message
    assert [s.var for s in settings(scan)] == [NAME]


def test_exec_in_bashrc_is_an_exec_note(home: Path) -> None:
    bash_login_chain(home)
    bashrc = write(home, ".bashrc", "exec sh\n")
    (note,) = trace(home, "bash").notes
    assert (note.kind, note.path) == ("exec", bashrc)
    assert "`sh` at line 1" in note.message


def test_exec_with_only_redirections_does_not_replace_the_shell(home: Path) -> None:
    bash_login_chain(home)
    write(home, ".bashrc", f"exec 3>/dev/null\nexport {NAME}={T1}\n")
    scan = trace(home, "bash")
    assert scan.notes == ()
    assert assert_agrees(scan, "bash", home, NAME) is not None


def test_a_crash_is_a_crash_note(shell: str, home: Path) -> None:
    rc = write(home, rc_file(shell), "kill -SEGV $$\n")
    if shell == "bash":
        bash_login_chain(home)
    (note,) = trace(home, shell).notes
    assert (note.kind, note.path) == ("crash", rc)
    assert "signal 11" in note.message
    assert f"{rc}:1" in note.message


def test_chatty_startup_files_do_not_confuse_the_reading(shell: str, home: Path) -> None:
    # Lots of output on stdout and stderr, including text shaped like our markers and like xtrace.
    noisy = (
        'i=0\nwhile [ $i -lt 300 ]; do echo "out $i #0123456789< +x:1> export CODEX_ACCESS_TOKEN=fake"; i=$((i+1)); done\n'
        "head -c 300000 /dev/zero | tr '\\0' 'x' >&2\n"
        "printf 'no newline at the end' >&2\n"
        f"export {NAME}={T1}\n"
        "echo R E V >&2\n"
    )
    rc = write(home, rc_file(shell), noisy)
    if shell == "bash":
        bash_login_chain(home)
    scan = trace(home, shell)
    assert scan.notes == ()
    won = assert_agrees(scan, shell, home, NAME)
    assert won is not None
    assert (won.path, won.line) == (rc, 5)


def test_a_huge_trace_stops_at_the_cap(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(T, "MAX_TRACE_BYTES", 1024 * 1024)
    rc = write(home, ".zshrc", "i=0\nwhile :; do i=$((i+1)); done\n")
    t0 = time.monotonic()
    scan = T.trace_shell(make_host(home), "zsh", T.LOGIN_INTERACTIVE, NAMES, timeout=20)
    assert time.monotonic() - t0 < 10
    (note,) = scan.notes
    assert note.kind == "too-large"
    assert note.path == rc
    assert "1 MiB" in note.message


def test_a_missing_shell_is_a_note(home: Path) -> None:
    scan = T.trace_shell(make_host(home), "/nonexistent/zsh", T.LOGIN_INTERACTIVE, NAMES)
    (note,) = scan.notes
    assert note.kind == "missing"
    assert settings(scan) == ()


def test_bad_arguments_are_programming_errors(home: Path) -> None:
    with pytest.raises(ValueError, match="mode"):
        T.trace_shell(make_host(home), "bash", "sideways", NAMES)
    with pytest.raises(ValueError, match="fish"):
        T.trace_shell(make_host(home), "fish", T.LOGIN, NAMES)


# --- secrets --------------------------------------------------------------------------------------


def test_secrets_never_reach_text_notes_or_reprs(shell: str, home: Path) -> None:
    tokens = [personal_access_token(), api_key(), "sk-" + "z" * 40, personal_access_token()]
    env_file = write(home, ".config/t.env", f"{NAME}={tokens[0]}\n")
    rc = write(
        home,
        rc_file(shell),
        'set -a\n. "$HOME/.config/t.env"\nset +a\n'
        f"eval \"$(printf 'export {OTHER}=%s' '{tokens[1]}')\"\n"
        f"export {URL}='{tokens[2]}\nsecond line'\n"
        f"CODEX_API_KEY={tokens[3]} true\n"
        f"exec {tokens[3]}\n",
    )
    if shell == "bash":
        bash_login_chain(home)
    scan = trace(home, shell)
    assert env_file in settings_files(scan)
    assert scan.notes, "the exec of a missing program ends the shell"
    dump = repr(scan) + str(scan) + "".join(s.text + s.where for s in settings(scan)) + "".join(n.message for n in scan.notes)
    for token in tokens:
        assert token not in dump
    assert rc in [n.path for n in scan.notes]


# --- the root pitfall and the unprivileged path ----------------------------------------------------


@pytest.mark.skipif(not IS_ROOT, reason="the pitfall only exists for root")
def test_root_bash_ignores_ps4_from_the_environment(home: Path) -> None:
    bash = shell_or_skip("bash")
    write(home, ".bash_profile", f"export {NAME}={T1}\n")
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PS4": "+MARK:${BASH_SOURCE[0]}:${LINENO}: "}
    proc = subprocess.run([bash, "-lixc", "true"], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, check=False)
    assert b"MARK:" not in proc.stderr  # the reason for the emulation
    assert f"export {NAME}={T1}".encode() in proc.stderr


@pytest.mark.skipif(not IS_ROOT, reason="only root needs the emulation")
def test_as_root_bash_is_emulated_and_still_finds_file_and_line(home: Path) -> None:
    bash_login_chain(home)
    bashrc = write(home, ".bashrc", f"export {NAME}={T1}\n")
    host = make_host(home)
    assert host.uid == 0
    scan = T.trace_shell(host, "bash", T.LOGIN_INTERACTIVE, NAMES)
    won = assert_agrees(scan, "bash", home, NAME)
    assert won is not None
    assert (won.path, won.line, won.chain) == (bashrc, 1, (home / ".bash_profile",))
    # Without the emulation, root's bash gives no file:line at all: nothing can be placed,
    # and the final values say so.
    plain = T.trace_shell(host, "bash", T.LOGIN_INTERACTIVE, NAMES, emulate=False)
    assert settings(plain) == ()
    assert [n.kind for n in plain.notes] == ["trace-mismatch"]


@pytest.mark.skipif(not IS_ROOT or shutil.which("setpriv") is None, reason="needs root and setpriv to run bash as nobody")
def test_real_bash_path_and_emulation_agree_when_unprivileged(shared_home: Path) -> None:
    home = shared_home
    write(home, ".bash_profile", f"export {OTHER}=k-123456\n. ~/.bashrc\n")
    write(home, ".bashrc", f"eval \"$(printf 'export {NAME}=%s' {T1})\"\nbash -xc 'export {URL}=child'\n")
    write(home, ".bash_logout", f"export {URL}=logout\n")
    for p in home.iterdir():
        p.chmod(0o644)
    host = make_host(home)
    env = T.trace_env(host, "bash", "/usr/bin/bash")
    results = {}
    for emulate in (False, True):
        plan = T._plan("bash", shell_or_skip("bash"), T.LOGIN_INTERACTIVE, NAMES, env, os.urandom(4).hex(), emulate)
        plan = plan._replace(argv=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *plan.argv))
        scan = T._execute(host, plan, NAMES, 10.0, "bash login+interactive shell (traced)")
        assert scan.notes == ()
        results[emulate] = [(s.var, s.path, s.line, s.blocker, s.action) for s in settings(scan)]
    assert results[False] == results[True]
    assert results[False] == [(OTHER, home / ".bash_profile", 1, None, EXPORT), (NAME, home / ".bashrc", 1, "eval", EXPORT)]


# --- the source as `check` and `where` use it -------------------------------------------------------


def test_shell_source_confirms_the_login_shell(home: Path) -> None:
    zsh = shell_or_skip("zsh")
    seed = build_seed_home(home, datetime.now(UTC))
    scan = ConfirmedShellSource(modes=("login+interactive",)).scan(make_host(home, SHELL=zsh), NAMES)
    (trail,) = scan.trails
    assert trail.context == "zsh login+interactive shell (traced)"
    assert [(s.path, s.line) for s in trail.settings] == [(seed.zshrc, seed.export_line)]


@pytest.mark.parametrize("shell_path", ["/bin/tcsh", "", "/usr/bin/nu"])
def test_shell_source_skips_shells_it_cannot_start(home: Path, shell_path: str) -> None:
    assert ConfirmedShellSource().scan(make_host(home, SHELL=shell_path), NAMES).trails == ()


def test_shell_source_never_runs_for_an_image(home: Path) -> None:
    host = make_host(home, SHELL="/bin/bash")._replace(root=home.parent)
    assert ConfirmedShellSource().scan(host, NAMES).trails == ()


def test_trace_env_is_built_from_scratch(home: Path) -> None:
    host = make_host(home, SHELL="/usr/bin/zsh", ZDOTDIR=str(home / "z"), XDG_CONFIG_HOME="/x", SECRET_THING="s", **{NAME: T1})
    env = T.trace_env(host, "bash", "/usr/bin/bash")
    assert env["TERM"] == "dumb"
    assert env["SHELL"] == "/usr/bin/bash"
    assert env["HOME"] == str(home)
    assert env["XDG_CONFIG_HOME"] == "/x"
    assert env["ZDOTDIR"] == str(home / "z")
    assert NAME not in env
    assert "SECRET_THING" not in env


# --- reading the stream (no shell) -------------------------------------------------------------------


def _fake_bash_trace(start: str, pid: int, home: Path) -> bytes:
    rc = f"{home}/.bashrc"

    def rec(depth: int, line: int, text: str, file: str = rc, sub: int = 0, pid: int = pid) -> str:
        return f"{'+' * depth}{start}{line},{sub},{pid}\x1f{file}\x1f {text}\n"

    return (
        "noise before the first record\n"
        + rec(1, 1, f"export {NAME}='a b'\\''c'")
        + rec(1, 1, f"{NAME}='a b'\\''c'")
        + rec(2, 2, "printf x", sub=1)
        + rec(1, 2, f"eval 'export {OTHER}=$'\\''tab\\there'\\'''")
        + rec(2, 2, f"export {OTHER}=$'tab\\there'")
        + rec(1, 3, f"{URL}='multi\nline'")
        + rec(1, 4, "x" * (T.MAX_RECORD_BYTES + 10))
        + rec(3, 9, f"export {URL}=child", pid=1)  # another bash's trace: ignored
        + rec(1, 5, f"unset {URL}")
        + rec(1, 6, "setit")  # a call (bash does not count it): it ends the eval level above
        + rec(2, 7, "export CODEX_HOME=late")
        + f"{start}R{NAME}\0a b'c\0{OTHER}\0tab\there\0CODEX_HOME\0late\0{start}E"
    ).encode()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 10**9])
def test_the_stream_reads_the_same_in_any_chunking(chunk: int, home: Path) -> None:
    start = "\x1e01234567"
    plan = T._Plan("bash", ("bash",), {}, start.encode(), False, 0)
    reader = T._TraceReader(make_host(home), plan, NAMES)
    reader.pid = 4242
    data = _fake_bash_trace(start, 4242, home)
    for i in range(0, len(data), chunk):
        reader.feed(data[i : i + chunk])
    reader.close()
    got = [(s.var, s.action, s.line, s.blocker, s.value.reveal() if s.value else None) for s in reader.settings]
    assert got == [
        (NAME, EXPORT, 1, None, "a b'c"),
        (OTHER, EXPORT, 2, "eval", "tab\there"),
        (URL, SET, 3, None, "multi\nline"),
        (URL, UNSET, 5, None, None),
        ("CODEX_HOME", EXPORT, 7, None, "late"),
    ]
    assert reader.complete
    assert reader.notes(T._Outcome(0), 1.0) == []
    assert len(reader._buf) == 0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("export 'A=it'\\''s' B=2", ["export", "A=it's", "B=2"]),
        ("A=$'ctl\\001x\\C-A\\M-a\\x41\\u00e9'", ["A=ctl\x01x\x01\udce1A\u00e9"]),
        ("A=$'h\\M-C\\M-)llo'", ["A=h\u00e9llo"]),
        ('A="dq \\" \\$x"', ['A=dq " $x']),
        ("A='unclosed", None),
        ("A= B=", ["A=", "B="]),
    ],
)
def test_words_unquotes_what_the_shells_print(text: str, words: list[str] | None) -> None:
    assert T._words(text) == words


@pytest.mark.parametrize(
    ("line", "prefix"),
    [
        ("X=1 cmd", True),
        ("X=1 Y=2 cmd arg", True),
        ("X=1 >/dev/null cmd", True),
        ("X=1", False),
        ("X=1; cmd", False),
        ("X=1 && cmd", False),
        ('X="$(echo a b)" cmd', True),
        ("X='a b' # comment", False),
        ("X=1 >/dev/null", False),
        ("export X=1", False),
    ],
)
def test_is_prefix(line: str, prefix: bool) -> None:
    assert T._is_prefix(line, "X") is prefix
