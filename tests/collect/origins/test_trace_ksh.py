"""The dynamic trace for ksh93, run on the real ksh over temporary homes.

ksh93's start-up is always emulated (a real login numbers lines wrongly after a
`.`), so every case here checks the emulation against the real shell: the
winner the trace reports must be what ``ksh -lic 'printenv X'`` exports with the
same HOME and ENV.  Every home is built from scratch under a temporary
directory and every shell gets an environment written here.  Locally a test is
skipped when ksh is missing; on CI (``CI`` set) it fails instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from authdoctor.collect.origins import trace as T
from authdoctor.collect.origins.model import EXPORT, SET, UNSET, OriginScan, Setting, winner
from authdoctor.host import Host
from authdoctor.sandbox import api_key, personal_access_token, write_private
from tests.conftest import IN_CI
from tests.proctools import running_with

pytestmark = pytest.mark.shell

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
URL = "OPENAI_BASE_URL"
NAMES = frozenset({NAME, OTHER, URL, "CODEX_HOME", "HTTPS_PROXY", "CODEX_API_KEY"})
FLAGS = {T.LOGIN_INTERACTIVE: "-lic", T.INTERACTIVE: "-ic", T.LOGIN: "-lc"}
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
T1, T2 = "tok-one-1111", "tok-two-2222"


def ksh_or_skip() -> str:
    path = shutil.which("ksh") or shutil.which("ksh93")
    if path is None:
        if IN_CI:
            pytest.fail("ksh93 is required on CI (apt-get install ksh)")
        pytest.skip("ksh is not installed")
    return path


def make_host(home: Path, env: dict[str, str] | None = None) -> Host:
    uid = os.getuid() if hasattr(os, "getuid") else None
    base = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **(env or {})}
    return Host(env=base, home=home, platform="linux", uid=uid)


def trace(home: Path, mode: str = T.LOGIN_INTERACTIVE, timeout: float = 10.0, env: dict[str, str] | None = None) -> OriginScan:
    return T.trace_shell(make_host(home, env), ksh_or_skip(), mode, NAMES, timeout)


def write(home: Path, rel: str, text: str | bytes, mode: int = 0o644) -> Path:
    if isinstance(text, bytes):
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
        path.chmod(mode)
        return path
    return write_private(home / rel, text, mode)


def settings(scan: OriginScan) -> tuple[Setting, ...]:
    (trail,) = scan.trails
    return trail.settings


def files(scan: OriginScan) -> list[Path]:
    (trail,) = scan.trails
    return list(trail.files)


def of(scan: OriginScan, var: str) -> list[Setting]:
    return [s for s in settings(scan) if s.var == var]


def real_value(
    home: Path, var: str, mode: str = T.LOGIN_INTERACTIVE, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> str | None:
    """What a fresh real ksh exports for ``var``: ``ksh -lic 'printenv VAR'`` (None: not exported)."""
    base = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb", "LANG": "C.UTF-8", **(env or {})}
    # Markers keep printenv's answer apart from whatever the start-up files print.
    proc = subprocess.run(
        [*prefix, ksh_or_skip(), FLAGS[mode], f"printf @@START@@; printenv {var}; printf '@@RC=%s@@' $?"],
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


def assert_agrees(
    scan: OriginScan, home: Path, var: str, mode: str = T.LOGIN_INTERACTIVE, env: dict[str, str] | None = None
) -> Setting | None:
    won = winner(settings(scan), var)
    real = real_value(home, var, mode, env)
    assert (won.value.reveal() if won is not None and won.value is not None else None) == real
    return won


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


# --- the real-shell agreement table ------------------------------------------------------------

# name -> (files relative to HOME, winner as (file, line, value, blocker) or None).
CASES: dict[str, tuple[dict[str, str | bytes], tuple[str, int, str, str | None] | None]] = {
    "plain-export": ({".kshrc": f"# comment\nexport {NAME}={T1}\n"}, (".kshrc", 2, T1, None)),
    "plain-export-in-profile": ({".profile": f"export {NAME}={T1}\n"}, (".profile", 1, T1, None)),
    "kshrc-after-profile": ({".profile": f"export {NAME}={T1}\n", ".kshrc": f"export {NAME}={T2}\n"}, (".kshrc", 1, T2, None)),
    "multi-assign": ({".kshrc": f"export A=1 {NAME}={T1} B=2\n"}, (".kshrc", 1, T1, None)),
    "assign-then-export": ({".kshrc": f"{NAME}={T1}\nexport {NAME}\n"}, (".kshrc", 2, T1, None)),
    "assign-then-export-one-line": ({".kshrc": f"{NAME}={T1}; export {NAME}\n"}, (".kshrc", 1, T1, None)),
    "typeset-x": ({".kshrc": f"typeset -x {NAME}={T1}\n"}, (".kshrc", 1, T1, None)),
    "typeset-x-later": ({".kshrc": f"{NAME}={T1}\ntypeset -x {NAME}\n"}, (".kshrc", 2, T1, None)),
    "readonly-export": ({".kshrc": f"typeset -rx {NAME}={T1}\n"}, (".kshrc", 1, T1, None)),
    "command-export": ({".kshrc": f"command export {NAME}={T1}\n"}, (".kshrc", 1, T1, None)),
    "later-overrides": ({".kshrc": f"export {NAME}={T1}\nexport {NAME}={T2}\n"}, (".kshrc", 2, T2, None)),
    "append": ({".kshrc": f"export {NAME}=tok-\n{NAME}+=abcdef\n"}, (".kshrc", 2, "tok-abcdef", None)),
    "unset-later": ({".kshrc": f"export {NAME}={T1}\nunset {NAME}\n"}, None),
    "unset-in-kshrc": ({".profile": f"export {NAME}={T1}\n", ".kshrc": f"unset -v {NAME}\n"}, None),
    "unexport": ({".kshrc": f"export {NAME}={T1}\ntypeset +x {NAME}\n"}, None),
    "not-exported": ({".kshrc": f"{NAME}={T1}\n"}, None),
    "quoted-value": ({".kshrc": f'export {NAME}="it\'s a \'tok\' \\"x\\" $HOME"\n'}, (".kshrc", 1, "it's a 'tok' \"x\" {home}", None)),
    "newline-value": ({".kshrc": f"export {NAME}='line1\nline2'\n"}, (".kshrc", 1, "line1\nline2", None)),
    "control-characters": ({".kshrc": f"export {NAME}=$'a\\tb\\001c\\036d'\n"}, (".kshrc", 1, "a\tb\x01c\x1ed", None)),
    "false-conditional": ({".kshrc": f'if [ -n "$NOPE" ]; then\n  export {NAME}={T1}\nfi\n'}, None),
    "true-conditional": (
        {".kshrc": f'if [ -z "$NOPE" ]; then\n  export {NAME}={T1}\nelse\n  export {NAME}={T2}\nfi\n'},
        (".kshrc", 2, T1, None),
    ),
    "case-branch": ({".kshrc": f"case $- in\n  *i*) export {NAME}={T1} ;;\n  *) export {NAME}={T2} ;;\nesac\n"}, (".kshrc", 2, T1, None)),
    "and-guard": ({".kshrc": f"true && export {NAME}={T1}\nfalse && export {NAME}={T2}\n"}, (".kshrc", 1, T1, None)),
    "function-defined-elsewhere": (
        {".config/fns.sh": f"setit() {{\n  export {NAME}={T1}\n}}\n", ".kshrc": '. "$HOME/.config/fns.sh"\nsetit\n'},
        (".config/fns.sh", 2, T1, None),
    ),
    "ksh-function-export": ({".kshrc": f"function setit {{\n  export {NAME}={T1}\n}}\nsetit\n"}, (".kshrc", 2, T1, None)),
    "ksh-function-typeset-is-local": ({".kshrc": f"function setit {{\n  typeset -x {NAME}={T1}\n}}\nsetit\n"}, None),
    "posix-function-typeset-is-global": ({".kshrc": f"setit() {{\n  typeset -x {NAME}={T1}\n}}\nsetit\n"}, (".kshrc", 2, T1, None)),
    "subshell-does-not-leak": ({".kshrc": f"( export {NAME}={T1} )\nx=$( export {NAME}={T2}; echo )\n"}, None),
    "prefix-assignment-is-temporary": ({".kshrc": f"{NAME}={T1} true\nexport {OTHER}=k-123456\n"}, None),
    "assignment-then-command-on-one-line": ({".kshrc": f"export {NAME}; {NAME}={T1}; true\n"}, (".kshrc", 1, T1, None)),
    "set-a-sourced-file": (
        {".config/codex.env": f"{NAME}={T1}\nPLAIN=1\n", ".kshrc": 'set -a\n. "$HOME/.config/codex.env"\nset +a\n'},
        (".config/codex.env", 1, T1, None),
    ),
    "set-o-allexport": ({".kshrc": f"set -o allexport\n{NAME}={T1}\nset +o allexport\n"}, (".kshrc", 2, T1, None)),
    "set-plus-a-stops-exporting": ({".kshrc": f"set -a\nset +a\n{NAME}={T1}\n"}, None),
    "dot-chain": (
        {
            ".profile": '. "$HOME/.config/a.sh"\n',
            ".config/a.sh": "true\n. ~/.config/b.sh\n",
            ".config/b.sh": f"\n\nexport {NAME}={T1}\n",
        },
        (".config/b.sh", 3, T1, None),
    ),
    "after-a-dot-the-lines-are-right": (
        {".config/x.sh": "a=1\nb=2\nc=3\nd=4\n", ".kshrc": f'. "$HOME/.config/x.sh"\ntrue\nexport {NAME}={T1}\n'},
        (".kshrc", 3, T1, None),
    ),
    "missing-dot-file": ({".kshrc": f'. "$HOME/.nope"\nexport {NAME}={T1}\n'}, (".kshrc", 2, T1, None)),
    # In a file a start-up file sources, the error ends that file (and the command that sourced it).
    "missing-dot-file-in-a-sourced-file": (
        {".config/a.sh": f". ~/.nope\nexport {NAME}={T1}\n", ".kshrc": f". ~/.config/a.sh\nexport {OTHER}={T2}\n"},
        None,
    ),
    "cycle-guarded-by-a-variable": (
        {
            ".kshrc": ". ~/.config/a.sh\n",
            ".config/a.sh": f'[ -n "$A_DONE" ] && return\nA_DONE=1\n. ~/.config/b.sh\nexport {NAME}={T1}\n',
            ".config/b.sh": f"export {NAME}={T2}\n. ~/.config/a.sh\n",
        },
        (".config/a.sh", 4, T1, None),
    ),
    "return-ends-the-file": ({".kshrc": f"export {NAME}={T1}\nreturn\nexport {NAME}={T2}\n"}, (".kshrc", 1, T1, None)),
    "errexit-is-ignored-at-start-up": ({".profile": f"set -e\nfalse\nexport {NAME}={T1}\n"}, (".profile", 3, T1, None)),
    "crlf-file": ({".kshrc": f"true\r\nexport {NAME}={T1}\r\n".encode()}, (".kshrc", 2, T1 + "\r", None)),
    "non-utf8-bytes": ({".kshrc": f"export {NAME}={T1}".encode() + b"\xff\xfe\n"}, (".kshrc", 1, T1 + "\udcff\udcfe", None)),
    "eval-generated": ({".kshrc": f"true\neval \"$(printf 'export {NAME}=%s' {T1})\"\n"}, (".kshrc", 2, T1, "eval")),
    "eval-multi-line": ({".kshrc": f"true\n\n\neval \"$(printf 'A=1\\nB=2\\nexport {NAME}=%s\\n' {T1})\"\n"}, (".kshrc", 4, T1, "eval")),
    "nested-eval": ({".kshrc": f"eval 'eval \"export {NAME}={T1}\"'\n"}, (".kshrc", 1, T1, "eval")),
    "eval-in-a-function": ({".kshrc": f"true\nsetit() {{\n  eval 'export {NAME}={T1}'\n}}\nsetit\n"}, (".kshrc", 3, T1, "eval")),
    # An eval that ended: later code is not "from eval", even where its lines fit the eval'd text.
    "eval-then-function": ({".kshrc": f"eval 'true'\nsetit() {{ export {NAME}={T1}; }}\nsetit\n"}, (".kshrc", 2, T1, None)),
    "eval-then-source": (
        {".config/tok.sh": f"export {NAME}={T1}\n", ".kshrc": "eval 'X=1'\n. \"$HOME/.config/tok.sh\"\n"},
        (".config/tok.sh", 1, T1, None),
    ),
    "eval-then-export-on-the-next-line": (
        {".kshrc": f"eval \"$(printf 'A=1\\nB=2\\nC=3\\n')\"\nexport {NAME}={T1}\n"},
        (".kshrc", 2, T1, None),
    ),
    "eval-then-export-on-the-same-line": ({".kshrc": f"eval 'A=1'; export {NAME}={T1}\n"}, (".kshrc", 1, T1, None)),
    "eval-sourcing-a-file": (
        {".config/tok.sh": f"true\nexport {NAME}={T1}\n", ".kshrc": "eval '. ~/.config/tok.sh'\n"},
        (".config/tok.sh", 2, T1, None),
    ),
    "loop": ({".kshrc": f"for v in {T2} {T1}; do\n  export {NAME}=$v\ndone\n"}, (".kshrc", 2, T1, None)),
}


def _expand(text: str, home: Path) -> str:
    return text.replace("{home}", str(home))


@pytest.mark.parametrize("case", sorted(CASES))
def test_winner_agrees_with_the_real_shell(case: str, home: Path) -> None:
    case_files, expected = CASES[case]
    for rel, text in case_files.items():
        write(home, rel, text)
    scan = trace(home)
    assert scan.notes == (), [n.message for n in scan.notes]
    won = assert_agrees(scan, home, NAME)
    if expected is None:
        assert won is None
        return
    rel, line, value, blocker = expected
    assert won is not None
    assert (won.path, won.line, won.blocker) == (home / rel, line, blocker)
    assert won.value is not None
    assert won.value.reveal() == _expand(value, home)
    assert won.family == "trace"
    assert won.exported
    assert won.conditional is False
    assert won.editable is (blocker is None)
    assert won.value.reveal() not in won.text


def test_the_full_story_of_a_kshrc(home: Path) -> None:
    profile = write(home, ".profile", f'export {OTHER}=k-123456\n. "$HOME/.config/env.sh"\n')
    env_sh = write(home, ".config/env.sh", f"{URL}=https://proxy.example\nexport {URL}\n")
    kshrc = write(home, ".kshrc", f"export {NAME}={T1}\neval 'export CODEX_HOME=/tmp/ch'\nunset {OTHER}\n")
    scan = trace(home)
    assert scan.trails[0].context == "ksh login+interactive shell (traced)"
    assert scan.notes == ()
    got = [(s.var, s.action, s.path, s.line, s.blocker, s.text) for s in settings(scan)]
    assert got == [
        (OTHER, EXPORT, profile, 1, None, f"export {OTHER}=<redacted>"),
        (URL, SET, env_sh, 1, None, f"{URL}=<redacted>"),
        (URL, EXPORT, env_sh, 2, None, f"export {URL}"),
        (NAME, EXPORT, kshrc, 1, None, f"export {NAME}=<redacted>"),
        ("CODEX_HOME", EXPORT, kshrc, 2, "eval", "(eval) export CODEX_HOME=<redacted>"),
        (OTHER, UNSET, kshrc, 3, None, f"unset {OTHER}"),
    ]
    assert of(scan, URL)[-1].chain == (profile,)
    listed = files(scan)
    assert listed.index(profile) < listed.index(env_sh) < listed.index(kshrc)
    for var in (NAME, OTHER, URL, "CODEX_HOME"):
        assert_agrees(scan, home, var)


@pytest.mark.parametrize("mode", [T.LOGIN_INTERACTIVE, T.INTERACTIVE, T.LOGIN])
def test_modes_read_the_right_files(mode: str, home: Path) -> None:
    write(home, ".profile", f"export {NAME}=from-profile\n")
    write(home, ".kshrc", f"export {OTHER}=from-kshrc\n")
    scan = T.trace_shell(make_host(home), ksh_or_skip(), mode, NAMES)
    assert scan.trails[0].context == f"ksh {mode} shell (traced)"
    assert scan.notes == ()
    for var in (NAME, OTHER):
        assert_agrees(scan, home, var, mode)
    login, interactive = mode != T.INTERACTIVE, mode != T.LOGIN
    assert bool(of(scan, NAME)) == login
    assert bool(of(scan, OTHER)) == interactive


def test_a_missing_dot_file_ends_the_profile_of_a_non_interactive_login(home: Path) -> None:
    # A real `ksh -l` stops reading a start-up file at an error in a special built-in; interactive ones carry on.
    write(home, ".profile", f"export {OTHER}=k-123456\n. ~/.nope\nexport {NAME}={T1}\n")
    scan = trace(home, T.LOGIN)
    assert assert_agrees(scan, home, NAME, T.LOGIN) is None
    assert assert_agrees(scan, home, OTHER, T.LOGIN) is not None
    interactive = trace(home)
    assert assert_agrees(interactive, home, NAME) is not None


def test_a_missing_dot_file_in_a_sourced_file_ends_that_file_only(home: Path) -> None:
    # The error ends a.sh and the `.` that read it; the start-up file itself carries on, as in a real ksh.
    write(home, ".config/a.sh", f". ~/.nope\nexport {NAME}={T1}\n")
    kshrc = write(home, ".kshrc", f". ~/.config/a.sh\nexport {OTHER}={T2}\n. ~/.nope\nexport {URL}=https://proxy.example\n")
    scan = trace(home)
    assert scan.notes == ()
    assert assert_agrees(scan, home, NAME) is None
    for var, line in ((OTHER, 2), (URL, 4)):
        won = assert_agrees(scan, home, var)
        assert won is not None
        assert (won.path, won.line) == (kshrc, line)


@pytest.mark.parametrize("value", ["$HOME/.config/ksh/rc", "~/.config/ksh/rc", "$(echo $HOME)/.config/ksh/rc", ".config/ksh/rc"])
def test_env_names_the_rc_file(value: str, home: Path) -> None:
    rc = write(home, ".config/ksh/rc", f"export {NAME}={T1}\n")
    write(home, ".kshrc", f"export {NAME}={T2}\n")  # not read: ENV names another file
    env = {"ENV": value}
    scan = trace(home, env=env)
    won = assert_agrees(scan, home, NAME, env=env)
    assert won is not None
    assert (won.path, won.line) == (rc, 1)
    assert home / ".kshrc" not in files(scan)
    assert files(scan).count(rc) == 1


def test_an_empty_env_reads_no_rc_file(home: Path) -> None:
    write(home, ".kshrc", f"export {NAME}={T1}\n")
    scan = trace(home, env={"ENV": ""})
    assert assert_agrees(scan, home, NAME, env={"ENV": ""}) is None
    assert home / ".kshrc" not in files(scan)


def test_env_set_in_the_profile_is_followed(home: Path) -> None:
    write(home, ".profile", "ENV=$HOME/.config/rc.ksh\n")  # not even exported: ksh still reads it
    rc = write(home, ".config/rc.ksh", f"export {NAME}={T1}\n")
    scan = trace(home)
    won = assert_agrees(scan, home, NAME)
    assert won is not None
    assert won.path == rc


def test_the_rc_file_sees_the_same_env_as_in_a_real_shell(home: Path) -> None:
    write(home, ".kshrc", f'export {NAME}="$ENV"\n')
    won = assert_agrees(trace(home), home, NAME)
    assert won is not None
    assert won.value is not None
    assert won.value.reveal() == f"{home}/.kshrc"


def test_a_symlinked_profile_keeps_the_name_the_shell_opened(home: Path) -> None:
    target = write(home, "dotfiles/profile", f"true\nexport {NAME}={T1}\n")
    (home / ".profile").symlink_to(target)
    scan = trace(home)
    won = assert_agrees(scan, home, NAME)
    assert won is not None
    assert (won.path, won.line) == (home / ".profile", 2)


def test_the_shell_may_be_named_ksh93(home: Path) -> None:
    ksh93 = shutil.which("ksh93") or pytest.skip("no ksh93 on PATH")
    write(home, ".kshrc", f"export {NAME}={T1}\n")
    scan = T.trace_shell(make_host(home), ksh93, T.LOGIN_INTERACTIVE, NAMES)
    assert scan.trails[0].context == "ksh login+interactive shell (traced)"
    assert [s.line for s in of(scan, NAME)] == [1]


def test_the_trace_never_lands_in_the_history(home: Path) -> None:
    # A start-up file that sets HISTFILE reopens ksh's history: our script must not be written to it.
    write(home, ".kshrc", f"HISTFILE=$HOME/.my_history\nexport {NAME}={T1}\n")
    scan = trace(home)
    assert of(scan, NAME)
    assert not (home / ".sh_history").exists()
    history = home / ".my_history"
    assert not history.exists() or b"typeset" not in history.read_bytes()


def test_a_non_ksh93_shell_is_a_note(tmp_path: Path, home: Path) -> None:
    # mksh and pdksh have no ${.sh.file}; a stand-in named ksh shows the guard.
    fake = tmp_path / "bin" / "ksh"
    fake.parent.mkdir()
    fake.symlink_to(shutil.which("bash") or pytest.skip("no bash"))
    write(home, ".kshrc", f"export {NAME}={T1}\n")
    scan = T.trace_shell(make_host(home), str(fake), T.LOGIN_INTERACTIVE, NAMES)
    (note,) = scan.notes
    assert note.kind == "not-traced"
    assert "not ksh93" in note.message
    assert settings(scan) == ()


def test_mksh_is_a_note(home: Path) -> None:
    mksh = shutil.which("mksh") or pytest.skip("mksh is not installed")
    write(home, ".kshrc", f"export {NAME}={T1}\n")
    scan = T.trace_shell(make_host(home), mksh, T.LOGIN_INTERACTIVE, NAMES)
    assert [n.kind for n in scan.notes] == ["not-traced"]
    assert settings(scan) == ()


def test_emulation_cannot_be_turned_off(home: Path) -> None:
    with pytest.raises(ValueError, match="emulated"):
        T.trace_shell(make_host(home), "ksh", T.LOGIN, NAMES, emulate=False)


# --- start-up files that misbehave ----------------------------------------------------------------


def test_a_hanging_startup_file_is_a_timeout_note(home: Path) -> None:
    ksh_or_skip()
    marker = f"{os.getpid()}.25"  # a sleep only this test starts
    write(home, ".profile", '. "$HOME/.config/slow.sh"\n')
    slow = write(home, ".config/slow.sh", f"export {NAME}={T1}\n/bin/sleep {marker}\nexport {OTHER}=never\n")
    t0 = time.monotonic()
    scan = trace(home, timeout=2)
    assert time.monotonic() - t0 < 8
    (note,) = scan.notes
    assert (note.kind, note.path) == ("timeout", slow)
    assert note.message == f"start-up file {slow} did not finish within 2 s (last line run: {slow}:2)"
    assert [s.line for s in of(scan, NAME)] == [1]
    assert of(scan, OTHER) == []
    if Path("/proc").is_dir():
        assert running_with(marker) == []


def test_a_busy_loop_is_a_timeout_note(home: Path) -> None:
    kshrc = write(home, ".kshrc", "export EDITOR=vi\nwhile :; do :; done\n")
    (note,) = trace(home, timeout=2).notes
    assert (note.kind, note.path) in {("timeout", kshrc), ("too-large", kshrc)}
    assert f"{kshrc}:2" in note.message


def test_exit_names_the_line(home: Path) -> None:
    kshrc = write(home, ".kshrc", f"export {NAME}={T1}\nexit 3\nexport {OTHER}=never\n")
    scan = trace(home)
    (note,) = scan.notes
    assert (note.kind, note.path) == ("exit", kshrc)
    assert "line 2" in note.message
    assert "status 3" in note.message
    assert [s.var for s in settings(scan)] == [NAME]


def test_exit_inside_an_eval_names_the_eval_line(home: Path) -> None:
    kshrc = write(home, ".kshrc", "true\neval 'true; exit 4'\n")
    (note,) = trace(home).notes
    assert (note.kind, note.path) == ("exit", kshrc)
    assert "line 2" in note.message
    assert "status 4" in note.message


def test_exec_is_an_exec_note(home: Path) -> None:
    profile = write(home, ".profile", f"export {NAME}={T1}\nexec sh\nexport {OTHER}=never\n")
    scan = trace(home)
    (note,) = scan.notes
    assert (note.kind, note.path) == ("exec", profile)
    assert "`sh` at line 2" in note.message
    assert [s.var for s in settings(scan)] == [NAME]


def test_exec_with_only_redirections_does_not_replace_the_shell(home: Path) -> None:
    write(home, ".kshrc", f"exec 3>/dev/null\nexport {NAME}={T1}\n")
    scan = trace(home)
    assert scan.notes == ()
    assert assert_agrees(scan, home, NAME) is not None


def test_a_crash_is_a_crash_note(home: Path) -> None:
    kshrc = write(home, ".kshrc", "true\nkill -SEGV $$\n")
    (note,) = trace(home).notes
    assert (note.kind, note.path) == ("crash", kshrc)
    assert "signal 11" in note.message
    assert f"{kshrc}:2" in note.message


def test_chatty_startup_files_do_not_confuse_the_reading(home: Path) -> None:
    # Output on stdout and stderr shaped like our records, like xtrace and like the final report.
    noisy = (
        'i=0\nwhile [ $i -lt 300 ]; do echo "out $i \x1e0123456789,0,1\x1f/x\x1f export CODEX_ACCESS_TOKEN=fake" >&2; i=$((i+1)); done\n'
        "head -c 300000 /dev/zero | tr '\\0' 'x' >&2\n"
        "printf 'no newline at the end' >&2\n"
        f"export {NAME}={T1}\n"
        "printf 'typeset -x CODEX_ACCESS_TOKEN=fake\\n' >&2\n"
    )
    kshrc = write(home, ".kshrc", noisy)
    scan = trace(home)
    assert scan.notes == ()
    won = assert_agrees(scan, home, NAME)
    assert won is not None
    assert (won.path, won.line) == (kshrc, 5)


def test_a_ksh_function_that_runs_unseen_is_caught_by_the_final_values(home: Path) -> None:
    # `set +x` inside a start-up file hides what follows; the final report still knows the value.
    write(home, ".kshrc", f"set +x\nexport {NAME}={T1}\n")
    scan = trace(home)
    assert settings(scan) == ()
    (note,) = scan.notes
    assert note.kind == "trace-mismatch"
    assert "does not show which line sets it" in note.message


# --- secrets --------------------------------------------------------------------------------------


def test_secrets_never_reach_text_notes_or_reprs(home: Path) -> None:
    tokens = [personal_access_token(), api_key(), "sk-" + "z" * 40, personal_access_token()]
    env_file = write(home, ".config/t.env", f"{NAME}={tokens[0]}\n")
    kshrc = write(
        home,
        ".kshrc",
        'set -a\n. "$HOME/.config/t.env"\nset +a\n'
        f"eval \"$(printf 'export {OTHER}=%s' '{tokens[1]}')\"\n"
        f"export {URL}='{tokens[2]}\nsecond line'\n"
        f"CODEX_API_KEY={tokens[3]} true\n"
        f"exec {tokens[3]}\n",
    )
    scan = trace(home)
    assert env_file in files(scan)
    assert scan.notes, "the exec of a missing program ends the shell"
    dump = repr(scan) + str(scan) + "".join(s.text + s.where for s in settings(scan)) + "".join(n.message for n in scan.notes)
    for token in tokens:
        assert token not in dump
    assert kshrc in [n.path for n in scan.notes]


# --- an unprivileged user -------------------------------------------------------------------------


@pytest.mark.skipif(not IS_ROOT or shutil.which("setpriv") is None, reason="needs root and setpriv to run ksh as nobody")
def test_an_unreadable_file_is_skipped_as_the_real_shell_skips_it(shared_home: Path) -> None:
    home = shared_home
    nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    write(home, ".profile", f"export {OTHER}=k-123456\n. ~/.secret\nexport {NAME}={T1}\n")
    write(home, ".secret", f"export {NAME}={T2}\n", 0o600)  # root's: nobody cannot read it
    kshrc = write(home, ".kshrc", f"export {URL}=https://proxy.example\n")
    host = make_host(home)
    env = T.trace_env(host, "ksh", ksh_or_skip())
    plan = T._plan("ksh", ksh_or_skip(), T.LOGIN_INTERACTIVE, NAMES, env, os.urandom(4).hex(), True)
    plan = plan._replace(argv=(*nobody, *plan.argv))
    scan = T._execute(host, plan, NAMES, 10.0, "ksh login+interactive shell (traced)")
    assert scan.notes == ()
    got = {s.var: (s.path, s.line, s.value.reveal() if s.value else None) for s in settings(scan)}
    assert got == {
        OTHER: (home / ".profile", 1, "k-123456"),
        NAME: (home / ".profile", 3, T1),
        URL: (kshrc, 1, "https://proxy.example"),
    }
    for var in (NAME, OTHER, URL):
        assert real_value(home, var, prefix=nobody) == got[var][2]


# --- reading the stream (no shell) -------------------------------------------------------------------


def _fake_ksh_trace(start: str, home: Path) -> bytes:
    rc = f"{home}/.kshrc"

    def rec(level: int, line: int, text: str, file: str = rc, sub: int = 0) -> str:
        return f"{start}{sub},{level},{line}\x1f{file}\x1f {text}\n"

    return (
        "noise before the first record\n"
        + rec(0, 3, f"command . {rc}", file="")
        + rec(1, 1, f"{NAME}=$'a b\\'c'")
        + rec(1, 1, f"export {NAME}")
        + rec(1, 2, "printf x", sub=1)
        + rec(1, 2, f"eval 'export {OTHER}=$'\\''tab\\there'\\'")
        + rec(1, 1, f"{OTHER}=$'tab\\there'")
        + rec(1, 1, f"export {OTHER}")
        + rec(1, 3, f"{URL}=$'multi\\nline'")
        + rec(1, 4, "x" * (T.MAX_RECORD_BYTES + 10))
        + rec(1, 5, f"unset {URL}")
        + rec(1, 6, "setit")
        + rec(2, 7, "CODEX_HOME=late")
        + rec(2, 7, "export CODEX_HOME")
        + f"{start}Rtypeset -x {NAME}=$'a b\\'c'\ntypeset -x {OTHER}=$'tab\\there'\ntypeset -x CODEX_HOME=late\n{start}E"
    ).encode()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 10**9])
def test_the_stream_reads_the_same_in_any_chunking(chunk: int, home: Path) -> None:
    start = "\x1e01234567"
    rc = write(home, ".kshrc", "\n" * 10)
    plan = T._Plan("ksh", ("ksh",), {}, start.encode(), True, None)
    reader = T._KshReader(make_host(home), plan, NAMES)
    data = _fake_ksh_trace(start, home)
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
    assert reader.files == [rc]
    assert reader.complete
    assert reader.notes(T._Outcome(0), 1.0) == []
    assert len(reader._buf) == 0
