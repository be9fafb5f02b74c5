"""PAM (pam_env) and systemd environment.d, checked against the real implementations.

- pam_env: the real ``pam_env.so`` is loaded through libpam (``pam_start_confdir``
  with a private service file pointing pam_env at our temporary files), in a
  subprocess; the session environment it builds must match our winners.
- environment.d: the real ``30-systemd-environment-d-generator`` is run with
  ``XDG_CONFIG_HOME`` pointing at a temporary folder.

Both skip locally when the component is missing and fail on CI.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from authdoctor.collect.origins import system as S
from authdoctor.collect.origins._textfile import decode
from authdoctor.collect.origins.contexts import PAM, SYSTEMD_GUI
from authdoctor.collect.origins.model import EXPORT, UNSET, OriginScan, Setting, winner
from authdoctor.host import Host
from authdoctor.sandbox import api_key, personal_access_token, write_private
from tests.conftest import IN_CI

GENERATOR = Path("/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator")


def need(ok: bool, what: str) -> None:
    if not ok:
        if IN_CI:
            pytest.fail(f"{what} is required on CI")
        pytest.skip(f"{what} is not available")


class Machine:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "root"
        self.home = self.root / "home" / "dev"
        self.home.mkdir(parents=True)
        self.xdg = self.home / ".config"

    def host(self, platform: str = "linux", **env: str) -> Host:
        return Host(env={"HOME": "/home/dev", **env}, home=self.home, root=self.root, platform=platform)

    def etc(self, rel: str, text: str | bytes) -> Path:
        return write_private(self.root / rel, text, 0o644)

    def user(self, rel: str, text: str | bytes) -> Path:
        return write_private(self.home / rel, text, 0o644)


def scan(m: Machine, names: frozenset[str], **env: str) -> OriginScan:
    return S.SystemEnvironmentSource().scan(m.host(**env), names)


def trail(result: OriginScan, context: str) -> tuple[Setting, ...]:
    return next((t.settings for t in result.trails if t.context == context), ())


# --- pam_env against the real module ---------------------------------------------------------------

PAM_CONF = (
    "# comment\n"
    "P_DEF DEFAULT=d1\n"
    "P_OVR DEFAULT=d2 OVERRIDE=o2\n"
    'P_EMPTYQ DEFAULT=""\n'
    "P_TRAIL DEFAULT=x \n"
    "P_UNSET DEFAULT= OVERRIDE=\n"
    "P_RAW=raw=val\n"
    'P_QUOTED DEFAULT="q v"\n'
    "P_EXP DEFAULT=${HOME}/x\n"
    "P_BAD BOGUS=1\n"
    "P_CONT DEFAULT=a\\\n"
    "    OVERRIDE=b\n"
    "P_ESC DEFAULT=a\\$b\\q\n"
    "P_LATER DEFAULT=conf\n"
    "P_COMMENT DEFAULT=c1 # trailing comment spoils it\n"
)
ENVIRONMENT = (
    "E_PLAIN=plain\n"
    'export E_EXPORT="quoted value"\n'
    "E_SQ='single' \n"
    'E_HASH="a#b"\n'
    'E_MID=x"y"z\n'
    "E_GONE=bar\n"
    "E_GONE\n"
    "  E_INDENT=i\n"
    "E-BAD=1\n"
    "=nokey\n"
    "E_CONT=a\\\n"
    "\n"
    "  b\n"
    "P_LATER=env\n"
    "E_TOKEN={token}\n"
)
USER_PAM = "U_DEF DEFAULT=u1\nU_RAW=u2\nE_PLAIN DEFAULT=user\n"
PAM_NAMES = frozenset(
    {
        *(f"P_{n}" for n in ["DEF", "OVR", "EMPTYQ", "TRAIL", "UNSET", "RAW", "QUOTED", "EXP", "BAD", "CONT", "ESC", "LATER", "COMMENT"]),
        *(f"E_{n}" for n in ["PLAIN", "EXPORT", "SQ", "HASH", "MID", "GONE", "INDENT", "CONT", "TOKEN"]),
        "U_DEF",
        "U_RAW",
    }
)

_PAM_RUNNER = r"""
import ctypes, json, sys
from ctypes import CFUNCTYPE, POINTER, Structure, byref, c_char_p, c_int, c_void_p
libpam = ctypes.CDLL(sys.argv[1])
class Msg(Structure): _fields_ = [("msg_style", c_int), ("msg", c_char_p)]
class Resp(Structure): _fields_ = [("resp", c_char_p), ("resp_retcode", c_int)]
CONV = CFUNCTYPE(c_int, c_int, POINTER(POINTER(Msg)), POINTER(POINTER(Resp)), c_void_p)
class Conv(Structure): _fields_ = [("conv", CONV), ("appdata_ptr", c_void_p)]
conv = Conv(CONV(lambda n, m, r, d: 19), None)
handle = c_void_p()
libpam.pam_start_confdir.argtypes = [c_char_p, c_char_p, POINTER(Conv), c_char_p, POINTER(c_void_p)]
rc = libpam.pam_start_confdir(b"authdoctor-test", sys.argv[2].encode(), byref(conv), sys.argv[3].encode(), byref(handle))
assert rc == 0, rc
rc = libpam.pam_open_session(handle, 0)
assert rc == 0, rc
libpam.pam_getenvlist.restype = POINTER(c_char_p)
env = libpam.pam_getenvlist(handle)
out = {}
i = 0
while env[i]:
    k, _, v = env[i].decode("utf-8", "surrogateescape").partition("=")
    out[k] = v
    i += 1
print(json.dumps(out))
"""


def real_pam(conf: Path, envfile: Path, user_file: Path, confdir: Path) -> dict[str, str]:
    lib = ctypes.util.find_library("pam")
    module = next((p for p in Path("/").glob("lib*/**/security/pam_env.so")), None) or next(
        (p for p in Path("/usr").glob("lib*/**/security/pam_env.so")), None
    )
    need(lib is not None and module is not None, "libpam and pam_env.so")
    user = pwd.getpwuid(os.getuid())
    rel = os.path.relpath(user_file, user.pw_dir)
    (confdir / "authdoctor-test").write_text(
        f"session required {module} conffile={conf} envfile={envfile} user_readenv=1 user_envfile={rel}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", _PAM_RUNNER, str(lib), user.pw_name, str(confdir)], capture_output=True, text=True, timeout=30, check=False
    )
    if proc.returncode != 0 and "pam_start_confdir" in proc.stderr:
        need(False, "pam_start_confdir (Linux-PAM >= 1.4)")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return data


@pytest.mark.shell
def test_pam_winners_agree_with_real_pam_env(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    token = api_key()
    conf = m.etc("etc/security/pam_env.conf", PAM_CONF)
    envfile = m.etc("etc/environment", ENVIRONMENT.format(token=token))
    user_file = m.user(".pam_environment", USER_PAM)
    confdir = tmp_path / "pam.d"
    confdir.mkdir()
    expected = real_pam(conf, envfile, user_file, confdir)
    settings = trail(scan(m, PAM_NAMES), PAM)
    for name in sorted(PAM_NAMES):
        got = winner(settings, name)
        if name not in expected:
            assert got is None, f"{name}: pam_env does not set it, we say {got}"
            continue
        assert got is not None, f"{name}: pam_env sets it, we found nothing"
        if got.value is None:
            assert name == "P_EXP"  # ${HOME} is expanded at login
        else:
            assert got.value.reveal() == expected[name], name
    assert expected["E_TOKEN"] == token  # the oracle really read our files


# --- pam_env, static ------------------------------------------------------------------------------------


def test_pam_order_files_and_texts(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    token = personal_access_token()
    conf = m.etc("etc/security/pam_env.conf", "CODEX_ACCESS_TOKEN DEFAULT=a OVERRIDE=b\n")
    env = m.etc("etc/environment", f'CODEX_ACCESS_TOKEN="{token}"\n')
    user = m.user(".pam_environment", "CODEX_ACCESS_TOKEN DEFAULT=c\n")
    result = scan(m, frozenset({"CODEX_ACCESS_TOKEN"}))
    [pam] = [t for t in result.trails if t.context == PAM]
    assert pam.files == (conf, env, user)
    a, b, c = pam.settings
    assert (a.path, a.line, a.text, a.family, a.blocker) == (
        conf,
        1,
        "CODEX_ACCESS_TOKEN DEFAULT=<redacted> OVERRIDE=<redacted>",
        "pam",
        "system-file",
    )
    assert a.value is not None and a.value.reveal() == "b"
    assert (b.path, b.text, b.editable) == (env, "CODEX_ACCESS_TOKEN=<redacted>", False)
    assert b.value is not None and b.value.reveal() == token
    assert env.read_bytes()[b.span[0] : b.span[1]] == f'CODEX_ACCESS_TOKEN="{token}"'.encode()
    assert c.path == user and c.conditional and c.editable and "user_readenv=1" in c.text
    assert winner(pam.settings, "CODEX_ACCESS_TOKEN") == c
    assert [n.kind for n in result.notes] == ["deprecated"]
    for s in pam.settings:
        assert token not in s.text


def test_etc_environment_unset_line(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.etc("etc/environment", "OPENAI_API_KEY=x\nOPENAI_API_KEY\n")
    settings = trail(scan(m, frozenset({"OPENAI_API_KEY"})), PAM)
    assert [s.action for s in settings] == [EXPORT, UNSET]
    assert winner(settings, "OPENAI_API_KEY") is None


def test_pam_crlf_keeps_carriage_return_like_pam(tmp_path: Path) -> None:
    tf, _ = decode(Path("/etc/environment"), b"A=1\r\nB=2\r\n")
    assert [(n, v) for _, n, v in S.parse_etc_environment(tf)] == [("A", "1\r"), ("B", "2\r")]


# --- environment.d ---------------------------------------------------------------------------------------

ENV_D = (
    "A_PLAIN=plain\n"
    'A_DQ="dq \\"x\\" \\\\ y"\n'
    "A_SQ='sq # not a comment'\n"
    "A_TRAIL=trail   \n"
    "A_CONT=a\\\n"
    "b\n"
    "# A_COMMENT=1\n"
    "; A_SEMI=1\n"
    "A_SPACED = spaced\n"
    "export A_EXPORT=1\n"
    "A_EXPAND=$A_PLAIN-x\n"
    "A_NOEQ\n"
    "A_EMPTY=\n"
    "A_TOKEN={token}\n"
)
ENV_D_NAMES = frozenset(
    f"A_{n}"
    for n in ["PLAIN", "DQ", "SQ", "TRAIL", "CONT", "COMMENT", "SEMI", "SPACED", "EXPORT", "EXPAND", "NOEQ", "EMPTY", "TOKEN", "LATE"]
)


def real_generator(home: Path, xdg: Path) -> dict[str, str]:
    need(GENERATOR.exists(), "systemd's environment.d generator")
    proc = subprocess.run(
        [str(GENERATOR)], env={"HOME": str(home), "XDG_CONFIG_HOME": str(xdg)}, capture_output=True, timeout=20, check=True
    )
    out: dict[str, str] = {}
    for line in proc.stdout.decode().splitlines():
        k, _, v = line.partition("=")
        if len(v) >= 2 and v[0] == v[-1] == '"':
            # systemd quotes values that need it, C-style.
            v = v[1:-1].encode().decode("unicode_escape")
        out[k] = v
    return out


@pytest.mark.shell
def test_environment_d_agrees_with_real_generator(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    xdg = tmp_path / "xdg"
    token = api_key()
    write_private(xdg / "environment.d" / "50-test.conf", ENV_D.format(token=token), 0o644)
    write_private(xdg / "environment.d" / "60-late.conf", "A_LATE=late\nA_PLAIN=override\n", 0o644)
    expected = real_generator(home, xdg)
    host = Host(env={"HOME": str(home), "XDG_CONFIG_HOME": str(xdg)}, home=home, platform="linux")
    settings = trail(S.SystemEnvironmentSource().scan(host, ENV_D_NAMES), SYSTEMD_GUI)
    for name in sorted(ENV_D_NAMES):
        got = winner(settings, name)
        if name not in expected:
            assert got is None, name
            continue
        assert got is not None, name
        if got.value is None:
            assert name == "A_EXPAND"
        else:
            assert got.value.reveal() == expected[name], name
    assert expected["A_TOKEN"] == token


def test_environment_d_order_masking_and_symlink(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.etc("etc/environment", "CODEX_HOME=/from/etc/environment\n")
    link = m.root / "usr/lib/environment.d/99-environment.conf"
    link.parent.mkdir(parents=True)
    link.symlink_to("../../../etc/environment")
    m.etc("usr/lib/environment.d/10-vendor.conf", "CODEX_HOME=/vendor\n")
    m.etc("etc/environment.d/10-vendor.conf", "CODEX_HOME=/admin\n")  # masks the /usr/lib one
    m.etc("usr/lib/environment.d/20-masked.conf", "CODEX_HOME=/masked\n")
    (m.root / "etc/environment.d/20-masked.conf").symlink_to("/dev/null")
    user = m.user(".config/environment.d/50-me.conf", "CODEX_HOME=/mine\n")
    result = scan(m, frozenset({"CODEX_HOME"}))
    [gui] = [t for t in result.trails if t.context == SYSTEMD_GUI]
    values = [s.value.reveal() for s in gui.settings if s.value]
    assert values == ["/admin", "/mine", "/from/etc/environment"]
    assert gui.settings[-1].path == m.root / "etc/environment"
    assert gui.settings[1].path == user and gui.settings[1].editable
    assert gui.settings[0].blocker == "system-file"
    assert all(s.family == "environment.d" for s in gui.settings)


def test_absolute_symlink_stays_inside_root(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.etc("etc/environment", "CODEX_HOME=/inside\n")
    link = m.root / "usr/lib/environment.d/99-environment.conf"
    link.parent.mkdir(parents=True)
    link.symlink_to("/etc/environment")
    [s] = trail(scan(m, frozenset({"CODEX_HOME"})), SYSTEMD_GUI)
    assert s.path == m.root / "etc/environment" and s.value is not None and s.value.reveal() == "/inside"


def test_xdg_config_home_for_environment_d(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.user(".config/environment.d/a.conf", "CODEX_HOME=/default\n")
    # An absolute XDG_CONFIG_HOME is a path inside the diagnosed system (here under --root).
    m.etc("elsewhere/environment.d/a.conf", "CODEX_HOME=/moved\n")
    [s] = trail(scan(m, frozenset({"CODEX_HOME"}), XDG_CONFIG_HOME="/elsewhere"), SYSTEMD_GUI)
    assert s.value is not None and s.value.reveal() == "/moved"


def test_not_linux(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    m.etc("etc/environment", "CODEX_HOME=/x\n")
    for platform in ("darwin", "win32"):
        assert S.SystemEnvironmentSource().scan(m.host(platform=platform), frozenset({"CODEX_HOME"})) == OriginScan("system")


def test_unreadable_files_are_notes(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    (m.root / "etc/environment").mkdir(parents=True)
    result = scan(m, frozenset({"CODEX_HOME"}))
    assert [n.kind for n in result.notes] == ["unreadable"]


def test_redaction_everywhere(tmp_path: Path) -> None:
    m = Machine(tmp_path)
    token, key = personal_access_token(), api_key()
    m.etc("etc/security/pam_env.conf", f"CODEX_ACCESS_TOKEN DEFAULT={token} OVERRIDE={key}\nOPENAI_API_KEY={key}\n")
    m.etc("etc/environment", f"OPENAI_API_KEY='{key}'\n")
    m.user(".pam_environment", f'CODEX_ACCESS_TOKEN DEFAULT="{token}"\n')
    m.user(".config/environment.d/x.conf", f"CODEX_ACCESS_TOKEN={token}\n")
    result = scan(m, frozenset({"CODEX_ACCESS_TOKEN", "OPENAI_API_KEY"}))
    texts = [s.text for t in result.trails for s in t.settings] + [n.message for n in result.notes]
    assert len(texts) >= 6
    for text in texts:
        assert token not in text and key not in text
