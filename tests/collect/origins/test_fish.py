"""fish: config.fish, conf.d and universal variables, checked against the real fish.

``REAL_CASES`` are run through the real shell (``fish -lic 'printenv NAME'`` on a
temporary HOME, environment built from scratch, stdin closed): the winner of our
static scan must be what fish exports.  Locally the real-shell tests are skipped
when fish is missing; on CI (``CI`` set) they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from authdoctor.collect.origins import _fishlang as FL
from authdoctor.collect.origins import fish as F
from authdoctor.collect.origins._textfile import decode
from authdoctor.collect.origins.model import EXPORT, UNSET, OriginScan, Setting, winner
from authdoctor.host import Host
from authdoctor.sandbox import api_key, personal_access_token, write_private
from tests.conftest import IN_CI, clean_env

NAME = "CODEX_ACCESS_TOKEN"
OTHER = "OPENAI_API_KEY"
NAMES = frozenset({NAME, OTHER, "CODEX_HOME", "HTTPS_PROXY"})
FISH = shutil.which("fish")


def fish_or_skip() -> str:
    if FISH is None:
        if IN_CI:
            pytest.fail("fish is required on CI (apt-get install fish)")
        pytest.skip("fish is not installed")
    return FISH


def make_host(home: Path, **env: str) -> Host:
    return Host(env={"HOME": str(home), "PATH": "/usr/bin:/bin", **env}, home=home, platform="linux")


def scan(home: Path, **env: str) -> OriginScan:
    return F.FishSource().scan(make_host(home, **env), NAMES)


def trail_settings(result: OriginScan, context: str = F.LOGIN) -> tuple[Setting, ...]:
    trails = {t.context: t for t in result.trails}
    return trails[context].settings if context in trails else ()


def write(home: Path, rel: str, text: str | bytes) -> Path:
    return write_private(home / rel, text, 0o644)


def real_fish(home: Path, var: str, **env: str) -> str | None:
    """What a fresh fish login+interactive shell exports for ``var`` (None: not exported)."""
    fish = fish_or_skip()
    base = {"HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb", "LANG": "C.UTF-8", **env}
    # printenv shows exactly what a child process gets (lists joined by spaces); the markers
    # keep it apart from whatever the start-up files print themselves.
    proc = subprocess.run(
        [fish, "-lic", f"printf @@START@@; printenv {var}; printf '@@RC=%s@@' $status"],
        env=base,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=20,
        check=False,
    )
    out = proc.stdout.decode("utf-8", "surrogateescape")
    body = out.rpartition("@@START@@")[2]
    value, _, rc = body.rpartition("@@RC=")
    if rc != "0@@":
        return None
    return value[:-1] if value.endswith("\n") else value


# --- the real-shell agreement ------------------------------------------------------------------

T1, T2, T3 = "tok-one", "tok-two", "tok-three"
C = ".config/fish/config.fish"
U = ".config/fish/fish_variables"
UV_HEAD = "# This file contains fish universal variable definitions.\n# VERSION: 3.0\n"


def uvar(name: str, value: str, exported: bool = True) -> str:
    esc = "".join(ch if ch.isalnum() else f"\\x{ord(ch):02x}" for ch in value)
    return f"SETUVAR {'--export ' if exported else ''}{name}:{esc}\n"


# name -> (files relative to HOME, expected winner value or None, expected value known statically)
REAL_CASES: dict[str, dict[str, str]] = {
    "global": {C: f"set -gx {NAME} {T1}\n"},
    "long-options": {C: f"set --global --export {NAME} {T1}\n"},
    "universal-only": {U: UV_HEAD + uvar(NAME, T1)},
    "universal-unexported": {U: UV_HEAD + uvar(NAME, T1, exported=False)},
    "global-beats-universal": {U: UV_HEAD + uvar(NAME, T1), C: f"set -gx {NAME} {T2}\n"},
    "erase-removes-universal": {U: UV_HEAD + uvar(NAME, T1), C: f"set -e {NAME}\n"},
    "erase-global-reveals-universal": {U: UV_HEAD + uvar(NAME, T1), C: f"set -gx {NAME} {T2}\nset -e {NAME}\n"},
    "unexported-global-keeps-universal-exported": {U: UV_HEAD + uvar(NAME, T1), C: f"set -g {NAME} {T2}\n"},
    "universal-set-in-config": {U: UV_HEAD + uvar(NAME, T1), C: f"set -Ux {NAME} {T2}\n"},
    "universal-set-shadowed-by-global": {C: f"set -gx {NAME} {T1}\nset -U {NAME} {T2}\n"},
    "universal-keeps-export-flag": {U: UV_HEAD + uvar(NAME, T1), C: f"set -U {NAME} {T2}\n"},
    "unscoped-set-changes-universal": {U: UV_HEAD + uvar(NAME, T1), C: f"set {NAME} {T2}\n"},
    "erase-universal-keeps-global": {U: UV_HEAD + uvar(NAME, T1), C: f"set -gx {NAME} {T2}\nset -e -U {NAME}\n"},
    "conf.d-natural-order": {
        ".config/fish/conf.d/10-late.fish": f"set -gx {NAME} {T2}\n",
        ".config/fish/conf.d/9-early.fish": f"set -gx {NAME} {T1}\n",
    },
    "conf.d-case-insensitive": {
        ".config/fish/conf.d/B.fish": f"set -gx {NAME} {T2}\n",
        ".config/fish/conf.d/a.fish": f"set -gx {NAME} {T1}\n",
    },
    "config.fish-after-conf.d": {".config/fish/conf.d/zz.fish": f"set -gx {NAME} {T1}\n", C: f"set -gx {NAME} {T2}\n"},
    "export-function": {C: f"export A=1 {NAME}={T1}\n"},
    "setenv-function": {C: f"setenv {NAME} {T1}\n"},
    "source-chain": {C: "source ~/.config/fish/secrets.fish\n", ".config/fish/secrets.fish": f"set -gx {NAME} {T1}\n"},
    "dot-source-home-var": {C: ". $HOME/.fishsecrets\n", ".fishsecrets": f"set -gx {NAME} {T1}\n"},
    "traps-comment-string": {
        C: f"set -gx {NAME} {T1}\n# set -gx {NAME} {T2}\necho 'set -gx {NAME} {T3}'\necho \"set -gx {NAME} {T3}\"\n",
    },
    "crlf": {C: f"set -gx {NAME} {T1}\r\nset -gx {OTHER} {T2}\r\n"},
    "if-interactive": {C: f"if status is-interactive\n    set -gx {NAME} {T1}\nend\n"},
    "or-guard": {C: f"set -q {NAME}; or set -gx {NAME} {T1}\n"},
    "and-chain": {C: f"true && set -gx {NAME} {T1}\n"},
    "export-without-value": {C: f"set -x {NAME}\n"},
    "list-value": {C: f"set -gx {NAME} {T1} {T2}\n"},
    "unscoped-unexported": {C: f"set {NAME} {T1}\n"},
    "unscoped-then-export": {C: f"set {NAME} {T1}\nset -x {NAME} {T2}\n"},
    "quotes-and-escapes": {C: f"set -gx {NAME} 'it\\'s' \"a\\\"b\" c\\ d\n"},
    "local-is-not-exported-after": {C: f"set -lx {NAME} {T1}\n"},
    "redirect-is-not-a-value": {C: f"set -gx {NAME} {T1} 2>/dev/null\n"},
    "line-continuation": {C: f"set -gx {NAME} \\\n    {T1}\n"},
    "begin-block": {C: f"begin\n    set -gx {NAME} {T1}\nend\n"},
    "shared-line": {C: f"set -gx {OTHER} {T2}; set -gx {NAME} {T1}\n"},
    "computed": {C: f"set -gx {NAME} (echo {T1})\n"},
    "later-overrides": {C: f"set -gx {NAME} {T1}\nset -gx {NAME} {T2}\n"},
    "unexport": {C: f"set -gx {NAME} {T1}\nset -u {NAME}\n"},
    "else-branch": {C: f"if false\n    set -gx {NAME} {T1}\nelse\n    set -gx {NAME} {T2}\nend\n"},
}


@pytest.mark.shell
@pytest.mark.parametrize("case", sorted(REAL_CASES))
def test_winner_agrees_with_real_fish(tmp_path: Path, case: str) -> None:
    fish_or_skip()
    home = tmp_path / "home"
    home.mkdir()
    for rel, text in REAL_CASES[case].items():
        write(home, rel, text)
    result = scan(home)  # before fish runs: fish rewrites fish_variables
    expected = real_fish(home, NAME)
    got = winner(trail_settings(result), NAME)
    if case == "else-branch":
        # Both branches count statically (conditional); the later one is the else branch, which is what ran.
        assert got is not None and got.conditional
    if expected is None:
        assert got is None, f"{case}: fish exports nothing, we say {got}"
    else:
        assert got is not None, f"{case}: fish exports {NAME}, we found no winner"
        if got.value is not None:
            assert got.value.reveal() == expected, case
        else:
            assert case == "computed"


@pytest.mark.shell
def test_xdg_config_home_agrees_with_real_fish(tmp_path: Path) -> None:
    fish_or_skip()
    home = tmp_path / "home"
    xdg = tmp_path / "xdg"
    home.mkdir()
    write(home, C, f"set -gx {NAME} {T1}\n")  # not read: XDG_CONFIG_HOME moves the config
    write_private(xdg / "fish" / "config.fish", f"set -gx {NAME} {T2}\n", 0o644)
    result = scan(home, XDG_CONFIG_HOME=str(xdg))
    got = winner(trail_settings(result), NAME)
    assert got is not None and got.value is not None
    assert got.value.reveal() == real_fish(home, NAME, XDG_CONFIG_HOME=str(xdg)) == T2
    assert got.path == xdg / "fish" / "config.fish"


@pytest.mark.shell
def test_universal_values_written_by_real_fish(tmp_path: Path) -> None:
    """fish writes fish_variables itself (escapes, lists, path variables); we read back what it exports."""
    fish = fish_or_skip()
    home = tmp_path / "home"
    home.mkdir()
    token = api_key()
    tricky = "é€ x:y\\z\"'$*#%=~"
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    script = (
        f"set -Ux {NAME} {token}; set -Ux {OTHER} '{tricky.replace(chr(92), chr(92) * 2).replace(chr(39), chr(92) + chr(39))}'; "
        "set -Ux HTTPS_PROXY one two; set -Ux --path CODEX_HOME /a /b"
    )
    subprocess.run([fish, "-c", script], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, check=True)
    result = scan(home)
    for var in (NAME, OTHER, "HTTPS_PROXY", "CODEX_HOME"):
        got = winner(trail_settings(result), var)
        assert got is not None and got.value is not None, var
        assert got.family == "fish-universal"
        assert got.value.reveal() == real_fish(home, var), var
    assert winner(trail_settings(result), OTHER).value.reveal() == tricky  # type: ignore[union-attr]
    # Redaction: no planted value in any text.
    for s in trail_settings(result):
        assert token not in s.text and "one two" not in s.text


@pytest.mark.shell
def test_glob_order_matches_real_fish(tmp_path: Path) -> None:
    fish = fish_or_skip()
    names = [
        "10-a.fish",
        "9-b.fish",
        "B.fish",
        "a.fish",
        "_x.fish",
        "Z.fish",
        "01.fish",
        "1.fish",
        "a-b.fish",
        "a_b.fish",
        "ab.fish",
        "a2b.fish",
    ]
    names += ["a10b.fish", "A.fish", "-z.fish", "0.fish", "00.fish", "é.fish", "e.fish"]
    d = tmp_path / "g"
    d.mkdir()
    for n in names:
        (d / n).touch()
    out = subprocess.run(
        [fish, "-c", "for f in *.fish; echo $f; end"],
        cwd=d,
        env={"HOME": str(tmp_path), "LANG": "C.UTF-8"},
        capture_output=True,
        check=True,
    )
    assert F.glob_sorted(names) == out.stdout.decode().split()


# --- static behaviour ---------------------------------------------------------------------------


def test_trails_and_file_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(home, U, UV_HEAD + uvar(NAME, T1))
    write(home, ".config/fish/conf.d/b.fish", f"set -gx {OTHER} {T2}\n")
    write(home, ".config/fish/conf.d/a.fish", "set -gx EDITOR vim\n")
    cfg = write(home, C, f"set -gx {NAME} {T2}\n")
    result = scan(home)
    assert result.source == "fish"
    contexts = [t.context for t in result.trails]
    assert contexts == [F.LOGIN, F.INTERACTIVE]
    files = result.trails[0].files
    assert files[0] == home / U
    assert files[1:3] == (home / ".config/fish/conf.d/a.fish", home / ".config/fish/conf.d/b.fish")
    assert files[-1] == cfg
    settings = trail_settings(result)
    by_var = [(s.var, s.family) for s in settings if s.var == NAME]
    assert by_var == [(NAME, "fish-universal"), (NAME, "fish")]
    win = winner(settings, NAME)
    assert win is not None and win.path == cfg and win.line == 1 and win.action == EXPORT
    assert win.text == f"set -gx {NAME} <redacted>"
    assert win.editable and win.blocker is None
    data = cfg.read_bytes()
    assert data[win.span[0] : win.span[1]] == f"set -gx {NAME} {T2}".encode()


def test_universal_setting_points_at_fish_variables(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    token = personal_access_token()
    write(home, U, UV_HEAD + "SETUVAR __fish_initialized:3400\n" + uvar(NAME, token))
    settings = trail_settings(scan(home))
    [s] = settings
    assert (s.line, s.family, s.editable, s.blocker) == (4, "fish-universal", False, "fish-universal")
    assert s.value is not None and s.value.reveal() == token
    assert token not in s.text and "set -e -U" in s.text
    assert (home / U).read_bytes()[s.span[0] : s.span[1]].startswith(b"SETUVAR --export " + NAME.encode())


def test_old_fishd_format_and_empty_list(tmp_path: Path) -> None:
    tf, _ = decode(Path("/x"), b"SET_EXPORT A:one\\x1etwo\nSET B:x\nSETUVAR --export C:\\x1d\nSETUVAR --export --path D:/a\\x1e/b\n")
    got = {u.name: (u.value, u.exported) for u in FL.parse_fish_variables(tf)}
    assert got == {"A": ("one two", True), "B": ("x", False), "C": ("", True), "D": ("/a:/b", True)}


def test_unescape_universal() -> None:
    assert FL.unescape_universal("\\u00e9\\u20ac\\x20x\\x5c") == "é€ x\\"
    assert FL.unescape_universal("plain") == "plain"


def test_conditionals_and_functions(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(
        home,
        C,
        "function codex_login\n"
        f"    set -gx {NAME} {T1}\n"
        "end\n"
        f"test -f ~/.x; and set -gx {OTHER} {T2}\n"
        "switch $USER\n"
        "    case root\n"
        f"        set -gx CODEX_HOME /x\n"
        "end\n"
        "begin\n"
        f"    set -gx HTTPS_PROXY http://p\n"
        "end\n",
    )
    settings = {s.var: s for s in trail_settings(scan(home))}
    assert settings[NAME].conditional and settings[NAME].line == 2
    assert settings[OTHER].conditional and settings[OTHER].blocker == "shared-line"
    assert settings["CODEX_HOME"].conditional
    assert not settings["HTTPS_PROXY"].conditional


def test_unscoped_new_variable_in_function_is_local(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(home, C, f"function f\n    set {NAME} {T1}\nend\n")
    assert trail_settings(scan(home)) == ()


def test_traps_are_not_origins(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(
        home,
        C,
        f"# set -gx {NAME} a\n"
        f"echo 'set -gx {NAME} b'\n"
        f'echo "set -gx {NAME} c"\n'
        f"set -q {NAME}\n"
        f"set -S {NAME}\n"
        f"set --names | grep {NAME}\n"
        f"command set -gx {NAME} d\n"
        f"set -gx NOT_{NAME} e\n"
        f"set -gx {NAME}X f\n"
        f"echo (set -gx {NAME} g)\n",
    )
    assert trail_settings(scan(home)) == ()


def test_erase_and_multi_name_erase(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(home, C, f"set -gx {NAME} {T1}\nset -gx {OTHER} {T2}\nset --erase {NAME} {OTHER}\n")
    settings = trail_settings(scan(home))
    assert [s.action for s in settings if s.var == NAME] == [EXPORT, UNSET]
    assert winner(settings, NAME) is None and winner(settings, OTHER) is None
    assert [s.text for s in settings if s.action == UNSET] == [f"set --erase {NAME}", f"set --erase {OTHER}"]


def test_blockers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(home, C, f"set -gx {NAME} \\\n  {T1}\nexport {OTHER}={T2} EDITOR=vim\n")
    settings = {s.var: s for s in trail_settings(scan(home))}
    assert settings[NAME].blocker == "multi-line" and not settings[NAME].editable
    assert settings[OTHER].blocker == "multi-assign"
    assert settings[OTHER].text == f"export {OTHER}=<redacted> EDITOR=<redacted>"


def test_source_cycle_missing_and_dynamic(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    a = write(home, ".config/fish/a.fish", f"source ~/.config/fish/b.fish\nset -gx {NAME} {T1}\n")
    b = write(home, ".config/fish/b.fish", "source ~/.config/fish/a.fish\n")
    cfg = write(home, C, "source ~/.config/fish/a.fish\nsource ~/nope.fish\nsource (some-tool init | psub)\n")
    result = scan(home)
    kinds = sorted(n.kind for n in result.notes)
    assert kinds == ["cycle", "missing", "not-followed"]
    [s] = trail_settings(result)
    assert s.path == a and s.chain == (cfg,)
    assert [f for f in result.trails[0].files if str(f).startswith(str(home))] == [cfg, a, b]


def test_parse_error_is_a_note(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(home, C, f"set -gx {NAME} 'unterminated\n")
    result = scan(home)
    assert trail_settings(result) == ()
    [note] = result.notes
    assert note.kind == "parse-error" and ":1:" in note.message


def test_unreadable_config_is_a_note(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config/fish/config.fish").mkdir(parents=True)
    result = scan(home)
    assert [n.kind for n in result.notes] == ["unreadable"]


def test_non_utf8_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cfg = write(home, C, b"set -gx EDITOR caf\xe9\n" + f"set -gx {NAME} {T1}\n".encode())
    result = scan(home)
    [s] = trail_settings(result)
    assert s.line == 2 and cfg.read_bytes()[s.span[0] : s.span[1]] == f"set -gx {NAME} {T1}".encode()
    assert [n.kind for n in result.notes] == ["not-utf8"]


def test_masked_conf_d_snippet_and_duplicate_names(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(home, ".config/fish/conf.d/tok.fish", f"set -gx {NAME} {T1}\n")
    vendor = tmp_path / "vendor"
    write_private(vendor / "fish/vendor_conf.d/tok.fish", f"set -gx {NAME} {T2}\n", 0o644)
    write_private(vendor / "fish/vendor_conf.d/other.fish", f"set -gx {OTHER} {T2}\n", 0o644)
    result = F.FishSource().scan(make_host(home, XDG_DATA_DIRS=str(vendor)), NAMES)
    settings = trail_settings(result)
    assert [s.path for s in settings if s.var == NAME] == [home / ".config/fish/conf.d/tok.fish"]
    assert [s.path for s in settings if s.var == OTHER] == [vendor / "fish/vendor_conf.d/other.fish"]
    assert all(s.blocker == "system-file" for s in settings if s.var == OTHER)


def test_windows_and_empty_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert all(t.settings == () for t in scan(home).trails)
    win = Host(env={}, home=home, platform="win32")
    assert F.FishSource().scan(win, NAMES) == OriginScan("fish")


def test_redaction(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    token, key = personal_access_token(), api_key()
    write(home, U, UV_HEAD + uvar(NAME, token))
    write(home, C, f"set -gx {NAME} {token}\nexport {OTHER}={key}\nsetenv HTTPS_PROXY {key}\nsource {key}.fish\n")
    result = scan(home)
    assert len(trail_settings(result)) == 4
    for s in trail_settings(result):
        assert token not in s.text and key not in s.text
    for n in result.notes:
        # A sourced path is a path, not a value: but it must not leak a token-shaped name either way.
        assert token not in n.message


def test_tokenizer_basics() -> None:
    sts = FL.tokenize("set -gx A 'x y' # c\nand set B \"$X\"; or begin\nend\n")
    assert [[w.text for w in s.words] for s in sts] == [["set", "-gx", "A", "x y"], ["and", "set", "B", "$X"], ["or", "begin"], ["end"]]
    assert [s.after for s in sts] == ["", "\n", ";", "\n"]
    assert not sts[1].words[3].literal


@pytest.mark.parametrize("text", ["a\\", "'", '"', "(echo"])
def test_tokenizer_never_crashes_on_garbage(text: str) -> None:
    with contextlib.suppress(FL._ParseError):
        FL.tokenize(text)


def test_real_home_not_scanned_without_files(tmp_path: Path) -> None:
    # The scan only reads under the Host's home and system folders.
    home = tmp_path / "home"
    home.mkdir()
    result = scan(home)
    assert all(str(p).startswith((str(home), "/etc", "/usr")) for t in result.trails for p in t.files)
    assert os.environ.get("HOME") != str(home)


def test_files_without_watched_names_do_not_load_the_fish_language(tmp_path: Path) -> None:
    """Speed: the tokenizer is imported only when a fish file could matter."""
    home = tmp_path / "home"
    home.mkdir()
    write(home, C, "set -gx EDITOR vim\n")
    code = (
        "import sys; from pathlib import Path; from authdoctor.host import Host; from authdoctor.collect.origins import fish\n"
        f"h = Host(env={{'HOME': {str(home)!r}}}, home=Path({str(home)!r}), platform='linux')\n"
        f"r = fish.FishSource().scan(h, frozenset({{{NAME!r}}}))\n"
        "print(len(r.trails), 'authdoctor.collect.origins._fishlang' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=clean_env(home), capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.split() == ["2", "False"]
