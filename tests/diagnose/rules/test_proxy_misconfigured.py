"""proxy-misconfigured: the proxy settings Codex reads would send sign-in and refresh nowhere.

Running proxies are real listening sockets on free loopback ports; stopped
ones are ports bound without listening (refused, and nobody can take them
meanwhile).  WSL is a fake root with /proc/version and the Windows user folder.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from authdoctor.collect import collect
from authdoctor.diagnose import diagnose
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.sandbox import chatgpt_auth
from authdoctor.secret import REDACTED
from tests.conftest import Machine
from tests.diagnose.rules.conftest import assert_no_secret, dotenv_origin, env_origin, one, quiet, well_formed

ID = "proxy-misconfigured"
WSL2 = "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 12.2.0) #1 SMP\n"


@contextlib.contextmanager
def running() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        yield s.getsockname()[1]


@contextlib.contextmanager
def stopped() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.fixture(autouse=True)
def _logged_in(machine: Machine) -> None:
    """A healthy login, so only the network settings are in question."""
    machine.write_auth(chatgpt_auth(machine.now))


def mine(machine: Machine) -> list[Finding]:
    return [well_formed(f, ID, Severity.WARNING) for f in machine.findings(ID)]


def titled(found: list[Finding], words: str) -> Finding:
    match = [f for f in found if words in f.title]
    assert len(match) == 1, [f.title for f in found]
    return match[0]


# --- the proxy is not running -------------------------------------------------------------------


def test_stopped_proxy_in_the_environment(machine: Machine) -> None:
    with stopped() as port:
        machine.env["HTTPS_PROXY"] = f"http://127.0.0.1:{port}"
        f = one(machine, ID, Severity.WARNING)
    assert f.title == f"Codex's proxy on port {port} is not running"
    assert f"127.0.0.1 port {port}" in f.detail and "auth.openai.com and chatgpt.com" in f.detail
    assert "error sending request for url (https://auth.openai.com/oauth/token)" in f.detail
    assert f.fix.commands == ("unset HTTPS_PROXY",)
    assert "unset HTTPS_PROXY" in f.fix.summary
    env_origin(f, "HTTPS_PROXY")


def test_stopped_proxy_in_dotenv_names_the_line(machine: Machine) -> None:
    password = "pr0xy-" + os.urandom(6).hex()
    with stopped() as port:
        machine.write_dotenv(f"# old VPN\nHTTPS_PROXY=http://me:{password}@localhost:{port}\n")
        found = mine(machine)
    f = titled(found, "not running")
    assert f"{machine.codex_home / '.env'} line 2" in f.detail
    assert f"delete line 2 (HTTPS_PROXY=…) from {machine.codex_home / '.env'}" in f.fix.summary
    assert f.fix.commands == ()
    dotenv_origin(f, "HTTPS_PROXY", machine, 2)
    assert_no_secret(found, password)
    assert len(found) == 1  # the .env note is folded into this finding


def test_running_proxy_is_quiet(machine: Machine) -> None:
    with running() as port:
        machine.env.update(HTTPS_PROXY=f"http://127.0.0.1:{port}", https_proxy=f"http://127.0.0.1:{port}/")
        quiet(machine, ID)


def test_no_proxy_at_all_is_quiet(machine: Machine) -> None:
    quiet(machine, ID)


def test_remote_proxy_is_not_checked(machine: Machine) -> None:
    machine.env["HTTPS_PROXY"] = "http://proxy.corp.example:3128"
    quiet(machine, ID)


def test_stopped_proxy_that_codex_does_not_use_is_quiet(machine: Machine) -> None:
    """NO_PROXY exempts both hosts: the NO_PROXY finding speaks, not a 'not running' one."""
    with stopped() as port:
        machine.env.update(ALL_PROXY=f"http://127.0.0.1:{port}", NO_PROXY="*")
        found = mine(machine)
    assert [f.title for f in found] == ["NO_PROXY=* turns Codex's proxy off"]


# --- WSL ---------------------------------------------------------------------------------------------


def _wsl(machine: Machine, wslconfig: str | None = None) -> Path:
    root = machine.root / "wsl"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "version").write_text(WSL2)
    user = root / "mnt" / "c" / "Users" / "alice"
    user.mkdir(parents=True)
    if wslconfig is not None:
        (user / ".wslconfig").write_text(wslconfig)
    return root


def _findings(machine: Machine, root: Path) -> list[Finding]:
    """The WSL files under a fake root; the listeners of this machine (the real /proc)."""
    if not Path("/proc/net/tcp").exists():
        pytest.skip("reads the Linux /proc")
    host = machine.host()._replace(root=root, proc=Path("/proc"))
    return [f for f in diagnose(collect(host, execute=False)).findings if f.id == ID]


def test_wsl_nat_with_a_windows_proxy(machine: Machine) -> None:
    root = _wsl(machine)
    with stopped() as port:
        machine.env["HTTPS_PROXY"] = f"http://127.0.0.1:{port}"
        (f,) = _findings(machine, root)
    well_formed(f, ID, Severity.WARNING)
    assert f.title == f"Codex's proxy on port {port} cannot be reached from WSL"
    assert "NAT networking, the default" in f.detail and "WSL's own loopback, not Windows's" in f.detail
    assert "networkingMode=mirrored" in f.fix.summary and "C:\\Users\\alice\\.wslconfig" in f.fix.summary
    assert str(root / "mnt" / "c" / "Users" / "alice" / ".wslconfig") in f.fix.summary
    assert f.fix.commands == ("wsl.exe --shutdown",)


def test_wsl_nat_with_the_proxy_running_inside_wsl_is_quiet(machine: Machine) -> None:
    root = _wsl(machine, "[wsl2]\nnetworkingMode=nat\n")
    with running() as port:
        machine.env["HTTPS_PROXY"] = f"http://localhost:{port}"
        assert _findings(machine, root) == []


def test_wsl_mirrored_with_a_stopped_proxy_is_a_plain_stopped_proxy(machine: Machine) -> None:
    root = _wsl(machine, "[wsl2]\nnetworkingMode=mirrored\n")
    with stopped() as port:
        machine.env["HTTPS_PROXY"] = f"http://127.0.0.1:{port}"
        (f,) = _findings(machine, root)
    assert "is not running" in f.title and "WSL" not in f.detail


# --- values Codex cannot use ---------------------------------------------------------------------------


def test_impossible_port(machine: Machine) -> None:
    machine.env["HTTPS_PROXY"] = "http://127.0.0.1:99999"
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "HTTPS_PROXY names an impossible port"
    assert "99999" in f.detail


@pytest.mark.parametrize(
    ("value", "reason"),
    [("ftp://proxy.corp:21", "ftp:// is not a proxy scheme"), ("proxy corp 8080", "not a URL"), (" http://proxy.corp:8080", "spaces")],
)
def test_value_codex_ignores(machine: Machine, value: str, reason: str) -> None:
    machine.env["HTTPS_PROXY"] = value
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "Codex ignores HTTPS_PROXY: it is not a proxy URL it can use"
    assert reason in f.detail and "connects to auth.openai.com directly" in f.detail
    assert value.strip() not in f.detail


def test_ignored_value_says_what_codex_uses_instead(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="ftp://proxy.corp:21", ALL_PROXY="http://proxy.corp:3128")
    f = one(machine, ID, Severity.WARNING)
    assert "uses ALL_PROXY (the proxy at proxy.corp port 3128) for auth.openai.com instead" in f.detail


def test_ignored_upper_case_value_with_a_good_lower_case_one(machine: Machine) -> None:
    machine.env.update(ALL_PROXY="ftp://x", all_proxy="http://proxy.corp:8080")
    f = one(machine, ID, Severity.WARNING)
    assert "Codex ignores ALL_PROXY" in f.title
    assert "all_proxy (in your environment) names the proxy at proxy.corp port 8080, and curl" in f.detail
    assert len(f.origins) == 2


def test_ignored_lower_case_value_behind_an_upper_case_one_is_quiet(machine: Machine) -> None:
    """Codex never reads https_proxy here; the pair still disagrees, which is its own finding."""
    machine.env.update(HTTPS_PROXY="http://proxy.corp:3128", https_proxy="not a url")
    found = mine(machine)
    assert [f.title for f in found] == ["HTTPS_PROXY and https_proxy disagree: Codex and curl use different proxies"]


@pytest.mark.parametrize("scheme", ["socks5h", "socks5", "socks4"])
def test_socks_proxy(machine: Machine, scheme: str) -> None:
    with running() as port:
        machine.env["ALL_PROXY"] = f"{scheme}://127.0.0.1:{port}"
        f = one(machine, ID, Severity.WARNING)
    assert f.title == "Codex speaks HTTP, not SOCKS, to the proxy in ALL_PROXY"
    assert "HTTP `CONNECT`" in f.detail and "mixed" in f.detail and f"{scheme} proxy at 127.0.0.1 port {port}" in f.detail
    assert "http://" in f.fix.summary


# --- upper and lower case ------------------------------------------------------------------------------


def test_upper_and_lower_case_disagree(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="http://proxy-a.corp:3128", https_proxy="http://proxy-b.corp:8080")
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "HTTPS_PROXY and https_proxy disagree: Codex and curl use different proxies"
    assert "proxy-a.corp port 3128" in f.detail and "proxy-b.corp port 8080" in f.detail
    assert "works in curl and fails in Codex" in f.detail
    assert f.fix.commands == ('export HTTPS_PROXY="$https_proxy"',)
    assert {o.text for o in f.origins} == {f"HTTPS_PROXY={REDACTED}", f"https_proxy={REDACTED}"}


def test_empty_upper_case_hides_the_lower_case_proxy(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="", https_proxy="http://proxy.corp:3128")
    f = one(machine, ID, Severity.WARNING)
    assert "HTTPS_PROXY is set but empty" in f.detail and "takes the empty HTTPS_PROXY and ignores https_proxy" in f.detail


def test_same_proxy_spelled_differently_is_quiet(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="http://proxy.corp:3128/", https_proxy="HTTP://PROXY.corp:3128")
    quiet(machine, ID)


def test_upper_from_dotenv_lower_from_the_shell(machine: Machine) -> None:
    machine.env["https_proxy"] = "http://proxy.corp:8080"
    machine.write_dotenv("HTTPS_PROXY=http://proxy.corp:3128\n")
    found = mine(machine)
    f = titled(found, "disagree")
    assert f"({machine.codex_home / '.env'} line 1)" in f.detail and "(in your environment)" in f.detail
    assert f.fix.commands == ()
    assert not [g for g in found if "for Codex only" in g.title]  # folded into the disagreement


# --- NO_PROXY --------------------------------------------------------------------------------------------


def test_no_proxy_star_turns_the_proxy_off(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="http://proxy.corp:3128", no_proxy="*")
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "no_proxy=* turns Codex's proxy off"
    assert "never uses HTTPS_PROXY" in f.detail


def test_no_proxy_covering_codex_hosts(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="http://proxy.corp:3128", NO_PROXY="localhost,127.0.0.1,.openai.com")
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "NO_PROXY makes Codex bypass its proxy for auth.openai.com"
    assert "(`.openai.com`)" in f.detail and "instead of through HTTPS_PROXY" in f.detail
    env_origin(f, "NO_PROXY")


def test_no_proxy_without_a_proxy_is_quiet(machine: Machine) -> None:
    machine.env.update(NO_PROXY="*", no_proxy="localhost")
    quiet(machine, ID)


def test_no_proxy_for_other_hosts_is_quiet(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="http://proxy.corp:3128", NO_PROXY="localhost,127.0.0.1,.internal.corp", no_proxy="localhost")
    quiet(machine, ID)


def test_no_proxy_pair_disagrees_about_a_codex_host(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="http://proxy.corp:3128", NO_PROXY="localhost", no_proxy="localhost,chatgpt.com")
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "NO_PROXY and no_proxy disagree about Codex's servers"
    assert "for chatgpt.com, Codex (reading NO_PROXY) uses the proxy while curl (reading no_proxy first) bypasses it" in f.detail


# --- proxies only Codex sees -------------------------------------------------------------------------------


def test_dotenv_proxy_for_codex_only(machine: Machine) -> None:
    machine.write_dotenv("OPENAI_ORG=x\nHTTPS_PROXY=http://proxy.corp:3128\nNO_PROXY=localhost\n")
    f = one(machine, ID, Severity.WARNING)
    assert f.title == f"{machine.codex_home / '.env'} sets proxy variables for Codex only"
    assert "line 2 sets HTTPS_PROXY to the proxy at proxy.corp port 3128 (your terminal has no HTTPS_PROXY at all)" in f.detail
    assert "line 3 sets NO_PROXY to a list of exceptions" in f.detail
    assert "openai/codex#44517" in f.detail and "delete line(s) 2, 3" in f.fix.summary
    dotenv_origin(f, "HTTPS_PROXY", machine, 2)


def test_dotenv_no_proxy_without_any_proxy_is_quiet(machine: Machine) -> None:
    machine.write_dotenv("NO_PROXY=localhost,.corp\n")
    quiet(machine, ID)


def test_same_proxy_with_other_credentials_disagrees(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="http://old:pw1secret@proxy.corp:3128", https_proxy="http://new:pw2secret@proxy.corp:3128")
    f = one(machine, ID, Severity.WARNING)
    assert "disagree" in f.title
    assert_no_secret([f], "pw1secret", "pw2secret")


def test_dotenv_proxy_equal_to_the_shell_is_quiet(machine: Machine) -> None:
    machine.env["HTTPS_PROXY"] = "http://proxy.corp:3128"
    machine.write_dotenv("HTTPS_PROXY=http://proxy.corp:3128\n")
    quiet(machine, ID)


# --- secrets ----------------------------------------------------------------------------------------------


def test_no_password_or_token_in_any_finding(machine: Machine) -> None:
    password = "Pw-" + os.urandom(8).hex()
    token = "sk-proj-" + os.urandom(24).hex()
    with stopped() as port:
        machine.env.update(
            HTTPS_PROXY=f"http://user:{password}@127.0.0.1:{port}",
            https_proxy=token,
            ALL_PROXY=f"socks5h://{token}:{password}@127.0.0.1:{port}",
            all_proxy=f"ftp://u:{password}@x",
            NO_PROXY=f"{token},.openai.com",
            no_proxy=token,
        )
        machine.write_dotenv(f"HTTP_PROXY=http://a:{password}@127.0.0.1:{port}\nhttp_proxy={token}\n")
        found = machine.findings()
    assert [f for f in found if f.id == ID]
    assert_no_secret(found, password, token)
