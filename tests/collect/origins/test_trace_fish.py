"""The fish trace (``fish_trace``), run on the real fish 3.6 over temporary homes.

Every home is built from scratch under a temporary directory, with HOME,
XDG_CONFIG_HOME and XDG_DATA_HOME inside it, and every fish gets an environment
written here (never the developer's).  The winner the trace reports is checked
against what the real shell exports (``fish -lic 'printenv X'`` with the same
environment).  Locally the tests are skipped when fish is missing; on CI (``CI``
set) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from authdoctor.collect.origins import trace as T
from authdoctor.collect.origins import trace_fish as TF
from authdoctor.collect.origins.fish import FishSource
from authdoctor.collect.origins.model import EXPORT, SET, UNSET, OriginScan, Setting, winner
from authdoctor.host import Host
from authdoctor.sandbox import api_key, personal_access_token, write_private
from tests.conftest import IN_CI

pytestmark = pytest.mark.shell

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER, "OPENAI_BASE_URL", "CODEX_HOME", "HTTPS_PROXY", "CODEX_API_KEY"})
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
FLAGS = {T.LOGIN_INTERACTIVE: "-lic", T.INTERACTIVE: "-ic", T.LOGIN: "-lc"}
T1, T2, T3 = "tok-one-1111", "tok-two-2222", "tok-three-3333"
C = ".config/fish/config.fish"
CONF_D = ".config/fish/conf.d"
U = ".config/fish/fish_variables"
UV_HEAD = "# This file contains fish universal variable definitions.\n# VERSION: 3.0\n"


def fish_or_skip() -> str:
    path = shutil.which("fish")
    if path is None:
        if IN_CI:
            pytest.fail("fish is required on CI (apt-get install fish)")
        pytest.skip("fish is not installed")
    return path


def env_for(home: Path, **env: str) -> dict[str, str]:
    base = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
    }
    return {**base, **env}


def make_host(home: Path, **env: str) -> Host:
    uid = os.getuid() if hasattr(os, "getuid") else None
    return Host(env=env_for(home, **env), home=home, platform="linux", uid=uid)


def trace(home: Path, mode: str = T.LOGIN_INTERACTIVE, timeout: float = 10.0, **env: str) -> OriginScan:
    return TF.trace_fish(make_host(home, **env), fish_or_skip(), mode, NAMES, timeout)


def write(home: Path, rel: str, text: str | bytes) -> Path:
    return write_private(home / rel, text, 0o644)


def uvar(name: str, value: str, exported: bool = True) -> str:
    esc = "".join(ch if ch.isalnum() else f"\\x{ord(ch):02x}" for ch in value)
    return f"SETUVAR {'--export ' if exported else ''}{name}:{esc}\n"


def settings(scan: OriginScan) -> tuple[Setting, ...]:
    (trail,) = scan.trails
    return trail.settings


def of(scan: OriginScan, var: str = NAME) -> list[Setting]:
    return [s for s in settings(scan) if s.var == var]


def real_value(home: Path, var: str, mode: str = T.LOGIN_INTERACTIVE, **env: str) -> str | None:
    """What a fresh real fish exports for ``var``: ``fish -lic 'printenv VAR'`` (None: not exported)."""
    proc = subprocess.run(
        [fish_or_skip(), FLAGS[mode], f"printf @@START@@; printenv {var}; printf '@@RC=%s@@' $status"],
        env={**env_for(home, **env), "TERM": "dumb"},
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


def assert_agrees(scan: OriginScan, home: Path, var: str = NAME, mode: str = T.LOGIN_INTERACTIVE, **env: str) -> Setting | None:
    won = winner(settings(scan), var)
    real = real_value(home, var, mode, **env)
    assert (won.value.reveal() if won is not None and won.value is not None else None) == real
    return won


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


# --- the real-shell agreement table ------------------------------------------------------------

# name -> (files relative to HOME, winner as (file, line, value, blocker) or None)
CASES: dict[str, tuple[dict[str, str], tuple[str, int, str, str | None] | None]] = {
    "config-export": ({C: f"# comment\nset -gx {NAME} {T1}\n"}, (C, 2, T1, None)),
    "long-options": ({C: f"set --global --export {NAME} {T1}\n"}, (C, 1, T1, None)),
    "later-overrides": ({C: f"set -gx {NAME} {T1}\nset -gx {NAME} {T2}\n"}, (C, 2, T2, None)),
    "same-text-twice": ({C: f"set -gx {NAME} {T1}\nset -gx {NAME} {T1}\n"}, (C, 2, T1, None)),
    "erase": ({C: f"set -gx {NAME} {T1}\nset -e {NAME}\n"}, None),
    "erase-then-set": ({C: f"set -gx {NAME} {T1}\nset -e {NAME}\nset -gx {NAME} {T2}\n"}, (C, 3, T2, None)),
    "local-is-not-exported": ({C: f"set -lx {NAME} {T1}\n"}, None),
    "local-shadows-then-global": ({C: f"begin\n  set -l {NAME} x\n  set -x {NAME} {T1}\nend\nset -gx {OTHER} y\n"}, None),
    "unscoped-unexported": ({C: f"set {NAME} {T1}\n"}, None),
    "unscoped-then-export": ({C: f"set {NAME} {T1}\nset -x {NAME} {T2}\n"}, (C, 2, T2, None)),
    "unexport": ({C: f"set -gx {NAME} {T1}\nset -u {NAME}\n"}, None),
    "export-no-value": ({C: f"set -gx {NAME}\n"}, (C, 1, "", None)),
    "list-value": ({C: f"set -gx {NAME} {T1} {T2}\n"}, (C, 1, f"{T1} {T2}", None)),
    "append": ({C: f"set -gx {NAME} a\nset -a {NAME} b\n"}, (C, 2, "a b", None)),
    "path-variable": ({C: "set -gx CODEX_HOME /a\n"}, None),
    "quotes-and-escapes": ({C: f"set -gx {NAME} 'it\\'s' \"a\\\"b\" c\\ d \\t\n"}, (C, 1, "it's a\"b c d \t", None)),
    "newline-in-value": ({C: f'set -gx {NAME} "l1\nl2"\n'}, (C, 1, "l1\nl2", None)),
    "computed": ({C: f"set -gx {NAME} (echo {T1})\n"}, (C, 1, T1, None)),
    "dynamic-name": ({C: f"set -l n {NAME}\nset -gx $n {T1}\n"}, (C, 2, T1, None)),
    "index-assign": ({C: f"set -gx {NAME} a b\nset {NAME}[2] {T1}\n"}, (C, 2, f"a {T1}", None)),
    "prepend": ({C: f"set -gx {NAME} b\nset -p {NAME} a\n"}, (C, 2, "a b", None)),
    "read": ({C: f"true\necho {T1} | read -gx {NAME}\n"}, (C, 2, T1, None)),
    "conf.d-natural-order": (
        {f"{CONF_D}/10-late.fish": f"set -gx {NAME} {T2}\n", f"{CONF_D}/9-early.fish": f"set -gx {NAME} {T1}\n"},
        (f"{CONF_D}/10-late.fish", 1, T2, None),
    ),
    "config-after-conf.d": ({f"{CONF_D}/zz.fish": f"set -gx {NAME} {T1}\n", C: f"set -gx {NAME} {T2}\n"}, (C, 1, T2, None)),
    "conf.d-alone": ({f"{CONF_D}/tok.fish": f"\n\nset -gx {NAME} {T1}\n"}, (f"{CONF_D}/tok.fish", 3, T1, None)),
    "false-branch-same-text": (
        {C: f"if false\n    set -gx {NAME} {T1}\nend\nset -gx {NAME} {T1}\n"},
        (C, 4, T1, None),
    ),
    "else-branch": (
        {C: f"if false\n    set -gx {NAME} {T1}\nelse\n    set -gx {NAME} {T2}\nend\n"},
        (C, 4, T2, None),
    ),
    "if-interactive": ({C: f"if status is-interactive\n    set -gx {NAME} {T1}\nend\n"}, (C, 2, T1, None)),
    "or-guard": ({C: f"set -q {NAME}; or set -gx {NAME} {T1}\n"}, (C, 1, T1, None)),
    "loop": ({C: f"for v in {T1} {T2}\n    set -gx {NAME} $v\nend\n"}, (C, 2, T2, None)),
    "function-in-config": (
        {C: f"function setit\n    set -gx {NAME} {T1}\nend\nsetit\n"},
        (C, 2, T1, None),
    ),
    "function-with-argument": (
        {C: f"function setit\n    set -gx {NAME} $argv[1]\nend\nsetit {T1}\n"},
        (C, 2, T1, None),
    ),
    "function-local-variable": ({C: f"function f\n    set {NAME} {T1}\nend\nf\n"}, None),
    "function-in-sourced-file": (
        {C: "source ~/.config/fish/lib.fish\nsetit\n", ".config/fish/lib.fish": f"function setit\n    set -gx {NAME} {T1}\nend\n"},
        (".config/fish/lib.fish", 2, T1, None),
    ),
    "eval-in-function": ({C: f"function f\n    eval set -gx {NAME} {T1}\nend\nf\n"}, (C, 2, T1, "eval")),
    "autoloaded-function": (
        {".config/fish/functions/tokfn.fish": f"function tokfn\n    set -gx {NAME} {T1}\nend\n", C: "true\ntokfn\n"},
        (".config/fish/functions/tokfn.fish", 2, T1, None),
    ),
    "export-function": ({C: f"true\nexport A=1 {NAME}={T1}\n"}, (C, 2, T1, None)),
    "setenv-function": ({C: f"setenv {NAME} {T1}\n"}, (C, 1, T1, None)),
    "eval-generated": ({C: f"true\neval (printf 'set -gx {NAME} %s' {T1})\n"}, (C, 2, T1, "eval")),
    "eval-literal": ({C: f"eval 'set -gx {NAME} {T1}'\n"}, (C, 1, T1, "eval")),
    "source-another-file": (
        {C: "true\nsource ~/.config/fish/tok.fish\n", ".config/fish/tok.fish": f"\nset -gx {NAME} {T1}\n"},
        (".config/fish/tok.fish", 2, T1, None),
    ),
    "dot-source": ({C: ". $HOME/.tokrc\n", ".tokrc": f"set -gx {NAME} {T1}\n"}, (".tokrc", 1, T1, None)),
    "source-psub": ({C: f"true\nsource (echo 'set -gx {NAME} {T1}' | psub)\n"}, (C, 2, T1, "generated")),
    "pipe-to-source": ({C: f"echo 'set -gx {NAME} {T1}' | source\n"}, (C, 1, T1, "generated")),
    "crlf": ({C: f"set -gx {OTHER} x\r\nset -gx {NAME} {T1}\r\n"}, (C, 2, T1, None)),
    "universal-only": ({U: UV_HEAD + "SETUVAR __fish_initialized:3400\n" + uvar(NAME, T1)}, (U, 4, T1, "fish-universal")),
    "universal-unexported": ({U: UV_HEAD + uvar(NAME, T1, exported=False)}, None),
    "global-beats-universal": ({U: UV_HEAD + uvar(NAME, T1), C: f"set -gx {NAME} {T2}\n"}, (C, 1, T2, None)),
    "erase-removes-universal": ({U: UV_HEAD + uvar(NAME, T1), C: f"set -e {NAME}\n"}, None),
    "unexported-global-keeps-universal-exported": (
        {U: UV_HEAD + uvar(NAME, T1), C: f"set -g {NAME} {T2}\n"},
        (U, 3, T1, "fish-universal"),
    ),
    "universal-set-in-config": ({U: UV_HEAD + uvar(NAME, T1), C: f"set -Ux {NAME} {T2}\n"}, (C, 1, T2, None)),
    "unscoped-set-changes-universal": ({U: UV_HEAD + uvar(NAME, T1), C: f"set {NAME} {T2}\n"}, (C, 1, T2, None)),
}


# Lines the static reader does not name (besides eval and generated code): a value `read` reads, a
# computed name, a function file it never opens.
NOT_STATIC = frozenset({"read", "dynamic-name", "autoloaded-function"})


@pytest.mark.parametrize("case", sorted(CASES))
def test_winner_agrees_with_real_fish(case: str, home: Path) -> None:
    files, expected = CASES[case]
    for rel, text in files.items():
        write(home, rel, text)
    static = FishSource().scan(make_host(home), NAMES)  # before fish runs: fish rewrites fish_variables
    scan = trace(home)
    assert scan.notes == (), [n.message for n in scan.notes]
    won = assert_agrees(scan, home)
    if expected is None:
        assert won is None
        return
    rel, line, value, blocker = expected
    assert won is not None
    assert (won.path, won.line) == (home / rel, line)
    assert won.value is not None and won.value.reveal() == value
    assert (won.family, won.blocker, won.conditional) == ("trace", blocker, False)
    assert won.editable is (blocker is None)
    if value:
        assert value not in won.text
    if case not in NOT_STATIC and blocker not in ("eval", "generated"):
        # The same statement as the static reading's (where and check merge them by file and line).
        assert (won.path, won.line, NAME) in {(s.path, s.line, s.var) for t in static.trails for s in t.settings}


# --- details of what is recorded ------------------------------------------------------------------


def test_settings_text_chain_and_files(home: Path) -> None:
    cfg = write(home, C, f"set -gx {OTHER} k-1\nsource ~/.config/fish/tok.fish\n")
    tok = write(home, ".config/fish/tok.fish", f"set -gx {NAME} {T1}\nset -e {NAME}\nset -gx {NAME} {T2}\n")
    snippet = write(home, f"{CONF_D}/a.fish", "set -g EDITOR vi\n")
    scan = trace(home)
    assert scan.notes == ()
    (trail,) = scan.trails
    assert trail.context == "fish login+interactive shell (traced)"
    mine = [f for f in trail.files if str(f).startswith(str(home))]
    assert mine == [snippet, cfg, tok]
    assert [(s.var, s.action, s.line, s.text, s.chain) for s in settings(scan)] == [
        (OTHER, EXPORT, 1, f"set -gx {OTHER} <redacted>", ()),
        (NAME, EXPORT, 1, f"set -gx {NAME} <redacted>", (cfg,)),
        (NAME, UNSET, 2, f"set -e {NAME}", (cfg,)),
        (NAME, EXPORT, 3, f"set -gx {NAME} <redacted>", (cfg,)),
    ]


def test_universal_variable_written_by_real_fish(home: Path) -> None:
    """fish writes fish_variables itself; with no `set` in the trace the universal value still wins."""
    fish = fish_or_skip()
    token = api_key()
    subprocess.run([fish, "-c", f"set -Ux {NAME} {token}"], env=env_for(home), stdin=subprocess.DEVNULL, capture_output=True, check=True)
    write(home, C, "set -gx EDITOR vi\n")
    scan = trace(home)
    assert scan.notes == ()
    won = assert_agrees(scan, home)
    assert won is not None and won.path == home / U and won.line > 0
    assert (won.family, won.blocker, won.editable) == ("trace", "fish-universal", False)
    assert token not in won.text and "set -e -U" in won.text
    assert home / U in scan.trails[0].files


def test_set_universal_in_config_is_marked(home: Path) -> None:
    write(home, C, f"set -U {NAME} {T1}\nset -Ux {OTHER} {T2}\n")
    scan = trace(home)
    [tok] = of(scan)
    assert tok.action == SET and not tok.exported
    assert winner(settings(scan), NAME) is None
    won = assert_agrees(scan, home, OTHER)
    assert won is not None and won.text == f"set -Ux {OTHER} <redacted>"


def test_non_utf8_config(home: Path) -> None:
    write(home, C, b"set -gx EDITOR caf\xe9\n" + f"set -gx {NAME} caf\xe9-{T1}\n".encode("latin-1") + f"set -gx {OTHER} é\n".encode())
    scan = trace(home)
    assert scan.notes == ()
    won = winner(settings(scan), NAME)
    assert won is not None and (won.path, won.line) == (home / C, 2)
    assert won.value is not None and won.value.reveal().encode("utf-8", "surrogateescape") == f"caf\xe9-{T1}".encode("latin-1")
    real = subprocess.run(
        [fish_or_skip(), "-lic", f"printenv {NAME}"], env=env_for(home), stdin=subprocess.DEVNULL, capture_output=True, check=True
    )
    assert real.stdout.rstrip(b"\n") == won.value.reveal().encode("utf-8", "surrogateescape")
    other = assert_agrees(scan, home, OTHER)
    assert other is not None and other.line == 3


def test_symlinked_config(home: Path) -> None:
    dotfiles = write(home, "dotfiles/config.fish", f"true\nset -gx {NAME} {T1}\n")
    (home / ".config/fish").mkdir(parents=True)
    (home / C).symlink_to(dotfiles)
    scan = trace(home)
    won = assert_agrees(scan, home)
    # fish names the file by the path it opened: that is the line a person is shown.
    assert won is not None and (won.path, won.line) == (home / C, 2)


def test_xdg_config_home_elsewhere(home: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    write(home, C, f"set -gx {NAME} {T1}\n")  # not read: XDG_CONFIG_HOME moves the config
    write_private(xdg / "fish/config.fish", f"set -gx {NAME} {T2}\n", 0o644)
    scan = trace(home, XDG_CONFIG_HOME=str(xdg))
    won = assert_agrees(scan, home, XDG_CONFIG_HOME=str(xdg))
    assert won is not None and won.path == xdg / "fish/config.fish"


@pytest.mark.parametrize("mode", [T.LOGIN, T.INTERACTIVE])
def test_modes(home: Path, mode: str) -> None:
    write(home, C, f"if status is-login\n    set -gx {NAME} login\nend\nif status is-interactive\n    set -gx {OTHER} inter\nend\n")
    scan = trace(home, mode)
    assert scan.trails[0].context == f"fish {mode} shell (traced)"
    assert_agrees(scan, home, NAME, mode)
    assert_agrees(scan, home, OTHER, mode)


def test_what_the_trace_cannot_see_comes_from_the_final_values(home: Path) -> None:
    """fish does not trace event handlers: the value is still right, placed at the home with a note."""
    write(home, C, f"function h --on-variable FOO\n    set -gx {NAME} {T1}\nend\nset -g FOO 1\n")
    scan = trace(home)
    [note] = scan.notes
    assert note.kind == "trace-mismatch" and NAME in note.message
    won = assert_agrees(scan, home)
    assert won is not None and (won.path, won.line, won.blocker) == (home, 0, "generated")
    assert T1 not in won.text and T1 not in note.message


# --- start-ups that do not finish -----------------------------------------------------------------


def test_a_hanging_file_is_a_timeout_note(home: Path) -> None:
    cfg = write(home, C, f"set -gx {NAME} {T1}\nsleep 4321.25\nset -gx {OTHER} never\n")
    started = time.monotonic()
    scan = trace(home, timeout=1.5)
    assert time.monotonic() - started < 6
    [note] = scan.notes
    assert note.kind == "timeout" and note.path == cfg
    assert f"{cfg}:2" in note.message
    # What ran before the hang is still reported; the hung process group is gone.
    assert [(s.var, s.line) for s in settings(scan)] == [(NAME, 1)]
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert "sleep 4321.25" not in ps


def test_a_hang_in_conf_d(home: Path) -> None:
    snippet = write(home, f"{CONF_D}/slow.fish", "true\nwhile true\n    sleep 0.05\nend\n")
    scan = trace(home, timeout=1.0)
    [note] = scan.notes
    assert note.kind == "timeout" and note.path == snippet
    # The loop's condition (line 2) or its sleep (line 3): whichever ran last when the time was up.
    assert f"{snippet}:3" in note.message or f"{snippet}:2" in note.message


def test_exit_ends_only_that_file(home: Path) -> None:
    snippet = write(home, f"{CONF_D}/a.fish", f"set -gx {OTHER} k-1\nexit 3\nset -gx {OTHER} never\n")
    write(home, C, f"set -gx {NAME} {T1}\n")
    scan = trace(home)
    [note] = scan.notes
    assert note.kind == "exit" and note.path == snippet
    assert "line 2" in note.message and "status 3" in note.message
    assert_agrees(scan, home, NAME)
    won = assert_agrees(scan, home, OTHER)
    assert won is not None and won.line == 1


def test_exit_in_a_function(home: Path) -> None:
    cfg = write(home, C, f"function bye\n    exit\nend\nset -gx {NAME} {T1}\nbye\nset -gx {NAME} {T2}\n")
    scan = trace(home)
    [note] = scan.notes
    assert note.kind == "exit" and note.path == cfg and "line 2" in note.message
    won = assert_agrees(scan, home)
    assert won is not None and won.line == 4


def test_exec_is_a_note(home: Path) -> None:
    cfg = write(home, C, f"set -gx {NAME} {T1}\nstatus is-interactive; and exec true\nset -gx {OTHER} never\n")
    scan = trace(home)
    [note] = scan.notes
    assert note.kind == "exec" and note.path == cfg
    assert "`true`" in note.message and "line 2" in note.message
    assert [(s.var, s.line) for s in settings(scan)] == [(NAME, 1)]


def test_exec_first_line_of_a_file(home: Path) -> None:
    snippet = write(home, f"{CONF_D}/tmux.fish", "exec sleep 0\n")
    scan = trace(home)
    [note] = scan.notes
    assert note.kind == "exec" and note.path == snippet and "line 1" in note.message and "`sleep`" in note.message


def test_exec_that_hangs_is_a_timeout(home: Path) -> None:
    cfg = write(home, C, "true\nexec sleep 4321.26\n")
    scan = trace(home, timeout=1.0)
    [note] = scan.notes
    assert note.kind == "timeout" and note.path == cfg


def test_a_killed_shell_is_a_crash_note(home: Path) -> None:
    cfg = write(home, C, f"set -gx {NAME} {T1}\nkill -9 $fish_pid\nset -gx {OTHER} never\n")
    scan = trace(home)
    [note] = scan.notes
    assert note.kind == "crash" and note.path == cfg
    assert "signal 9" in note.message and f"{cfg}:2" in note.message


def test_missing_fish(home: Path) -> None:
    scan = TF.trace_fish(make_host(home), str(home / "no/fish"), T.LOGIN_INTERACTIVE, NAMES)
    assert [n.kind for n in scan.notes] == ["missing"]


def test_bad_arguments(home: Path) -> None:
    with pytest.raises(ValueError, match="mode"):
        TF.trace_fish(make_host(home), "fish", "nope", NAMES)
    with pytest.raises(ValueError, match="bash"):
        TF.trace_fish(make_host(home), "bash", T.LOGIN, NAMES)
    assert TF.trace_fish(make_host(home), "fish", T.LOGIN, frozenset({"bad name"})).trails[0].settings == ()


# --- as an unprivileged user ------------------------------------------------------------------------


@pytest.mark.skipif(not IS_ROOT or shutil.which("setpriv") is None, reason="needs root and setpriv to run fish as nobody")
def test_unreadable_conf_d_file_as_nobody(shared_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = shared_home
    real_pipe = os.pipe

    def pipe() -> tuple[int, int]:
        # fish opens /dev/fd/N by name; a pipe root made refuses nobody.  As the
        # person themself (the real use) the pipe is theirs.
        r, w = real_pipe()
        os.fchmod(w, 0o622)
        return r, w

    monkeypatch.setattr(os, "pipe", pipe)
    write(home, f"{CONF_D}/a.fish", f"set -gx {NAME} {T1}\n")
    secret = write(home, f"{CONF_D}/b.fish", f"set -gx {NAME} {T2}\n")
    secret.chmod(0)
    for d in (home / ".config", home / ".config/fish", home / CONF_D):
        d.chmod(0o755)
    host = make_host(home)
    env = T.trace_env(host, "fish", fish_or_skip())
    plan = TF._plan(fish_or_skip(), T.LOGIN_INTERACTIVE, NAMES, env, os.urandom(4).hex())
    plan = plan._replace(argv=("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *plan.argv))
    scan = TF._execute(host, plan, NAMES, 10.0, "fish login+interactive shell (traced)")
    assert scan.notes == ()
    won = winner(settings(scan), NAME)
    assert won is not None and won.path == home / f"{CONF_D}/a.fish"
    real = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", fish_or_skip(), "-lic", f"printenv {NAME}"],
        env={**env, "TERM": "dumb"},
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert won.value is not None and real.stdout.strip() == won.value.reveal() == T1
    assert secret not in scan.trails[0].files


# --- secrets ----------------------------------------------------------------------------------------


def test_no_secret_in_texts_notes_or_reprs(home: Path) -> None:
    token, key = personal_access_token(), api_key()
    write(home, U, UV_HEAD + uvar("HTTPS_PROXY", token))
    write(home, f"{CONF_D}/a.fish", f"set -gx {OTHER} {key}\nexit 2\n")
    write(
        home,
        C,
        f"set -gx {NAME} {token}\n"
        f"eval 'set -gx CODEX_API_KEY {token}'\n"
        f"export OPENAI_BASE_URL={key}\n"
        f"echo {token} >&2\n"
        f"set -l {NAME} {key}\n"
        f"set -U CODEX_HOME {token}\n"
        "sleep 4321.27\n",
    )
    scan = trace(home, timeout=1.5)
    assert {n.kind for n in scan.notes} == {"exit", "timeout"}
    blob = repr(scan) + "".join(n.message for n in scan.notes) + "".join(s.text for s in settings(scan))
    assert token not in blob and key not in blob
    assert {s.var for s in settings(scan)} == {OTHER, NAME, "CODEX_API_KEY", "OPENAI_BASE_URL", "CODEX_HOME", "HTTPS_PROXY"}
    values = {s.var: s.value.reveal() for s in settings(scan) if s.value is not None}
    assert values[NAME] == token and values[OTHER] == key and values["CODEX_API_KEY"] == token


# --- reading the stream (no shell) ------------------------------------------------------------------


def test_words_undo_fish_escaping() -> None:
    assert TF._words(b"set -gx X 'a b' c\\'d 'e f' ''") == ["set", "-gx", "X", "a b", "c'd", "e f", ""]
    assert TF._words(b"set X a\\tb\\nc \\e\\cA \\x7f \\\\ \\$HOME \\ x") == ["set", "X", "a\tb\nc", "\x1b\x01", "\x7f", "\\", "$HOME", " x"]
    assert TF._words(b"set X caf\\Xe9 \\u00e9") == ["set", "X", "caf\udce9", "é"]
    assert TF._words("set X é".encode()) == ["set", "X", "é"]


def test_fake_records_after_the_report_and_warnings_are_ignored(home: Path) -> None:
    host = make_host(home)
    reader = TF._FishReader(host, NAMES, b"\x1e0badcafe")
    cfg = write(home, C, f"set -gx {NAME} {T1}\n")
    reader.feed(b"warning: Could not set up terminal.\n> source " + str(cfg).encode() + b"\n--> set -gx " + NAME.encode())
    reader.feed(f" {T1}\n> set -e fish_trace\n--> set -gx {OTHER} fake\n".encode())
    reader.feed(b"\x1e0badcafeR" + NAME.encode() + b"\0" + T1.encode() + b"\0\x1e0badcafeE\n")
    reader.feed(f"--> set -gx {NAME} late\n".encode())
    reader.close()
    notes = reader.notes(T._Outcome(0), 1.0)
    assert notes == []
    assert [(s.var, s.line) for s in reader.settings] == [(NAME, 1)]


def test_a_wrong_reading_is_corrected_by_the_final_values(home: Path) -> None:
    host = make_host(home)
    cfg = write(home, C, f"set -gx {NAME} {T1}\n")
    reader = TF._FishReader(host, NAMES, b"\x1e0badcafe")
    reader.feed(f"> source {cfg}\n--> set -gx {NAME} {T1}\n> set -e fish_trace\n".encode())
    reader.feed(b"\x1e0badcafeR" + NAME.encode() + b"\0" + T2.encode() + b"\0" + OTHER.encode() + b"\0k-9\0\x1e0badcafeE\n")
    reader.close()
    notes = reader.notes(T._Outcome(0), 1.0)
    assert sorted(n.kind for n in notes) == ["trace-mismatch", "trace-mismatch"]
    won = winner(reader.settings, NAME)
    assert won is not None and won.value is not None and won.value.reveal() == T2 and won.line == 1
    other = winner(reader.settings, OTHER)
    assert other is not None and other.value is not None and other.value.reveal() == "k-9"
