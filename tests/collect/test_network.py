"""collect_network: proxies, CA bundles, headless markers and WSL, read from real files and real sockets.

Listeners are real sockets on free loopback ports, read through the real
/proc/net/tcp and through a real connect; CA bundles are real files (a
certificate made by ``openssl`` at test time); WSL lives under a fake root
(``Host(root=…)``) with the files a WSL machine has.  The oracle tests at the
end run the real Codex 0.169.0 (offline: every request goes to a closed or
recording port on loopback) and compare what it does with what we predict.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from authdoctor.collect.dotenv import collect_dotenv
from authdoctor.collect.evidence import DotenvEvidence
from authdoctor.collect.network import (
    BAD_PORT,
    CA_READ_LIMIT,
    UNPARSABLE,
    UNSUPPORTED,
    NetworkEvidence,
    choose,
    collect_network,
    display,
    parse_ini,
    parse_proxy,
    scan_pem,
)
from authdoctor.host import Host
from authdoctor.secret import REDACTED, scrub
from tests.conftest import IN_CI, Machine

LINUX = sys.platform.startswith("linux")
linux_only = pytest.mark.skipif(not LINUX, reason="reads the Linux /proc")


def gather(machine: Machine, host: Host | None = None) -> NetworkEvidence:
    host = host or machine.host()
    home = machine.codex_home
    ev = collect_network(host, collect_dotenv(host, home), home)
    assert ev is not None
    return ev


def rooted(machine: Machine, root: Path) -> Host:
    """The machine's host, with an image/fake system under ``root`` (WSL files, container markers)."""
    root.mkdir(parents=True, exist_ok=True)
    return machine.host()._replace(root=root)


# --- sockets ------------------------------------------------------------------------------


@contextlib.contextmanager
def listener(address: str = "127.0.0.1") -> Iterator[int]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        s.listen(8)
        yield s.getsockname()[1]


@contextlib.contextmanager
def closed_port(address: str = "127.0.0.1") -> Iterator[int]:
    """A port bound but not listening: connects are refused and nobody else can take it meanwhile."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        yield s.getsockname()[1]


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# --- an empty machine ---------------------------------------------------------------------


def test_nothing_set(machine: Machine) -> None:
    machine.env["DISPLAY"] = ":0"
    ev = gather(machine, rooted(machine, machine.root / "empty"))
    assert ev.proxies == () and ev.ca_files == () and ev.auth_proxy is None and ev.ca_in_effect is None
    assert ev.markers == () and ev.wsl is None and ev.cert_dir is None


def test_empty_environment_is_fast(machine: Machine) -> None:
    """A check pays microseconds for this when nothing is set (the figure is in the report)."""
    machine.env["DISPLAY"] = ":0"
    host = machine.host()
    dotenv = DotenvEvidence(machine.codex_home / ".env", False)
    collect_network(host, dotenv, machine.codex_home)
    runs = 2000
    start = time.perf_counter()
    for _ in range(runs):
        collect_network(host, dotenv, machine.codex_home)
    per_call = (time.perf_counter() - start) / runs
    assert per_call < 0.002, f"{per_call * 1e6:.0f} µs per call"


# --- reading a proxy URL like Codex -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "scheme", "host", "port", "problem"),
    [
        ("http://127.0.0.1:8080", "http", "127.0.0.1", 8080, None),
        ("HTTP://Proxy.Example.com:3128/", "http", "proxy.example.com", 3128, None),
        ("127.0.0.1:7890", None, "127.0.0.1", 7890, None),  # bare host:port is http
        ("localhost:7890", None, "localhost", 7890, None),
        ("proxy.corp", None, "proxy.corp", 80, None),
        ("https://proxy.corp", "https", "proxy.corp", 443, None),
        ("socks5h://127.0.0.1", "socks5h", "127.0.0.1", 1080, None),
        ("socks4://10.0.0.1:1080", "socks4", "10.0.0.1", 1080, None),
        ("http://[::1]:8080", "http", "::1", 8080, None),
        ("http://user:pass@proxy:8080/path?x=1", "http", "proxy", 8080, None),
        ("http://proxy_host.example:8080", "http", "proxy_host.example", 8080, None),
        ("ftp://127.0.0.1:21", "ftp", None, None, UNSUPPORTED),
        ("not a url", None, None, None, UNPARSABLE),
        (" http://127.0.0.1:8080", None, None, None, UNPARSABLE),
        ("http://127.0.0.1:8080\n", None, None, None, UNPARSABLE),
        ("http://:8080", None, None, None, UNPARSABLE),
        ("http://[::1:8080", None, None, None, UNPARSABLE),
        ("http://host:port", None, None, None, UNPARSABLE),
        ("http://127.0.0.1:99999", "http", "127.0.0.1", 99999, BAD_PORT),
        ("http://127.0.0.1:0", "http", "127.0.0.1", 0, BAD_PORT),
    ],
)
def test_parse_proxy(raw: str, scheme: str | None, host: str | None, port: int | None, problem: str | None) -> None:
    got = parse_proxy(raw)
    assert got.problem == problem, got.reason
    if problem in (None, BAD_PORT):
        assert (got.scheme, got.host, got.port) == (scheme, host, port)
    else:
        assert got.reason and raw.strip() not in got.reason


def test_display_hides_the_user_name_and_password() -> None:
    assert display(parse_proxy("http://alice:s3cretPass@127.0.0.1:8080")) == f"http://{REDACTED}@127.0.0.1:8080"
    assert display(parse_proxy("http://alice@[::1]:8080")) == f"http://{REDACTED}@[::1]:8080"
    assert display(parse_proxy("127.0.0.1:7890")) == "http://127.0.0.1:7890"


def test_display_never_shows_a_token_as_a_host() -> None:
    token = "sk-proj-" + "A1b2C3d4" * 6
    assert display(parse_proxy(token)) is None
    assert display(parse_proxy("http://" + "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl" + ":80")) is None


def test_a_proxy_password_is_registered_for_scrubbing(machine: Machine) -> None:
    password = "Pr0xyPassw0rd-" + os.urandom(4).hex()
    machine.env["HTTPS_PROXY"] = f"http://bob:{password}@proxy.corp:8080"
    gather(machine)
    assert password not in scrub(f"curl said: {password}")


# --- which variable Codex uses ------------------------------------------------------------


def test_upper_case_wins_and_both_are_kept(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="http://127.0.0.1:1", https_proxy="http://127.0.0.1:2")
    ev = gather(machine)
    assert [p.name for p in ev.proxies] == ["HTTPS_PROXY", "https_proxy"]
    assert ev.auth_proxy == ev.chatgpt_proxy == "HTTPS_PROXY"


def test_an_empty_upper_case_variable_hides_the_lower_case_one(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="", https_proxy="http://proxy.corp:2")
    ev = gather(machine)
    assert ev.auth_proxy is None


def test_an_unusable_value_falls_back_to_all_proxy(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="ftp://proxy.corp:21", ALL_PROXY="http://proxy.corp:3128")
    ev = gather(machine)
    assert ev.auth_proxy == "ALL_PROXY"
    p = ev.proxy("HTTPS_PROXY")
    assert p is not None and p.problem == UNSUPPORTED and not p.usable


def test_an_impossible_port_is_used_not_skipped(machine: Machine) -> None:
    machine.env.update(HTTPS_PROXY="http://proxy.corp:99999", ALL_PROXY="http://proxy.corp:3128")
    assert gather(machine).auth_proxy == "HTTPS_PROXY"


def test_no_proxy_exempts_a_codex_host() -> None:
    env = {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "chatgpt.com"}
    usable = {"HTTPS_PROXY"}
    assert choose(env, usable, "auth.openai.com") == "HTTPS_PROXY"
    assert choose(env, usable, "chatgpt.com") is None
    assert choose(env, usable, "chatgpt.com", no_proxy=False) == "HTTPS_PROXY"


def test_dotenv_overrides_the_shell(machine: Machine) -> None:
    machine.env["HTTPS_PROXY"] = "http://127.0.0.1:1"
    machine.write_dotenv("# proxy for codex\nHTTPS_PROXY=http://127.0.0.1:2\nNO_PROXY=localhost\n")
    ev = gather(machine)
    p = ev.proxy("HTTPS_PROXY")
    assert p is not None and (p.source, p.line, p.port, p.shell_differs, p.shell_set) == ("dotenv", 2, 2, True, True)
    n = ev.proxy("NO_PROXY")
    assert n is not None and (n.source, n.line, n.shell_set) == ("dotenv", 3, False)
    assert ev.dotenv_path == machine.codex_home / ".env"


def test_dotenv_codex_ca_certificate_is_ignored_like_codex_does(machine: Machine) -> None:
    machine.write_dotenv("CODEX_CA_CERTIFICATE=/nowhere/ca.pem\n")
    ev = gather(machine)
    assert ev.ca_files == () and ev.ca_in_effect is None


# --- is the proxy running? ------------------------------------------------------------------


@linux_only
@pytest.mark.parametrize("address", ["127.0.0.1", "localhost"])
def test_listener_seen_in_proc(machine: Machine, address: str) -> None:
    with listener() as port:
        machine.env["HTTPS_PROXY"] = f"http://{address}:{port}"
        p = gather(machine, machine.host()._replace(proc=Path("/proc"))).proxy("HTTPS_PROXY")
    assert p is not None and p.loopback and p.listening is True


@linux_only
def test_closed_port_seen_in_proc(machine: Machine) -> None:
    with closed_port() as port:
        machine.env["https_proxy"] = f"127.0.0.1:{port}"
        ev = gather(machine, machine.host()._replace(proc=Path("/proc")))
    p = ev.proxy("https_proxy")
    assert p is not None and p.listening is False and ev.listeners_note == ""


@pytest.mark.parametrize("running", [True, False])
def test_listener_by_connecting(machine: Machine, running: bool) -> None:
    """Where there is no /proc (macOS, Windows): a 0.2 s connect to loopback."""
    machine.platform = "darwin"
    ctx = listener() if running else closed_port()
    with ctx as port:
        machine.env["ALL_PROXY"] = f"http://127.0.0.1:{port}"
        p = gather(machine).proxy("ALL_PROXY")
    assert p is not None and p.listening is running


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 loopback here")
@pytest.mark.parametrize("proc", [True, False])
def test_ipv6_loopback_listener(machine: Machine, proc: bool) -> None:
    if proc and not LINUX:
        pytest.skip("reads the Linux /proc")
    with listener("::1") as port:
        machine.env["HTTPS_PROXY"] = f"http://[::1]:{port}"
        host = machine.host()._replace(proc=Path("/proc") if proc else None)
        p = gather(machine, host).proxy("HTTPS_PROXY")
    assert p is not None and p.loopback and p.listening is True


def test_a_remote_proxy_is_never_contacted(machine: Machine) -> None:
    machine.env["HTTPS_PROXY"] = "http://10.255.255.1:3128"
    p = gather(machine).proxy("HTTPS_PROXY")
    assert p is not None and not p.loopback and p.listening is None


def test_an_image_has_no_running_proxy(machine: Machine) -> None:
    machine.env["HTTPS_PROXY"] = "http://127.0.0.1:9"
    ev = gather(machine, rooted(machine, machine.root / "image"))
    p = ev.proxy("HTTPS_PROXY")
    assert p is not None and p.listening is None and "--root" in ev.listeners_note


# --- CA bundles -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real certificate files made by openssl, and every broken variant Codex was seen to reject or accept."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("pems")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
         "-days", "2", "-subj", "/CN=authdoctor test CA"],
        check=True, capture_output=True,
    )  # fmt: skip
    cert = (d / "cert.pem").read_text()
    key = (d / "key.pem").read_text()
    body = cert.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    der = base64.b64decode("".join(body.split()))
    files: dict[str, bytes] = {
        "good": cert.encode(),
        "crlf": cert.replace("\n", "\r\n").encode(),
        "junk-around": ("subject=/CN=x\nissuer=/CN=x\n" + cert + "trailing words\n").encode(),
        "no-final-newline": cert.rstrip("\n").encode(),
        "one-line-body": f"-----BEGIN CERTIFICATE-----\n{base64.b64encode(der).decode()}\n-----END CERTIFICATE-----\n".encode(),
        "no-padding": cert.replace("=", "").encode(),
        "trusted": cert.replace("CERTIFICATE", "TRUSTED CERTIFICATE").encode(),
        "key-and-cert": (key + cert).encode(),
        "two-certs": (cert + cert).encode(),
        "empty": b"",
        "blank-lines": b"\n\n  \n",
        "key-only": key.encode(),
        "text": b"just some text, no certificate\n",
        "binary": bytes(range(256)) * 8,
        "der": der,
        "bom": b"\xef\xbb\xbf" + cert.encode(),
        "indented": "".join("  " + line + "\n" for line in cert.splitlines()).encode(),
        "utf16": cert.encode("utf-16"),
        "bad-base64": cert.replace(cert.splitlines()[3], cert.splitlines()[3][:10] + "!" + cert.splitlines()[3][11:]).encode(),
        "no-end": cert.split("-----END")[0].encode(),
        "wrong-end": cert.replace("-----END CERTIFICATE-----", "-----END PRIVATE KEY-----").encode(),
        "second-bad": (cert + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").encode(),
        "truncated-der": f"-----BEGIN CERTIFICATE-----\n{base64.b64encode(der[:-10]).decode()}\n-----END CERTIFICATE-----\n".encode(),
    }
    out = {}
    for name, data in files.items():
        path = d / f"{name}.pem"
        path.write_bytes(data)
        out[name] = path
    big = d / "huge-cert-first.pem"
    with big.open("wb") as fh:
        fh.write(cert.encode())
        fh.write(b"A" * (CA_READ_LIMIT + 1024))
    out["huge-cert-first"] = big
    big = d / "huge-no-cert.pem"
    with big.open("wb") as fh:
        fh.write(b"\0" * (CA_READ_LIMIT + 1024))
    out["huge-no-cert"] = big
    (d / "folder").mkdir()
    out["folder"] = d / "folder"
    (d / "dangling.pem").symlink_to(d / "nothing-here.pem")
    out["dangling"] = d / "dangling.pem"
    out["missing"] = d / "missing.pem"
    return out


# name -> (problem kind, how Codex words the error it stops on)
CA_CASES: dict[str, tuple[str | None, str]] = {
    "good": (None, ""),
    "crlf": (None, ""),
    "junk-around": (None, ""),
    "no-final-newline": (None, ""),
    "one-line-body": (None, ""),
    "no-padding": (None, ""),
    "trusted": (None, ""),
    "key-and-cert": (None, ""),
    "two-certs": (None, ""),
    "huge-cert-first": (None, ""),
    "empty": ("empty", "Failed to load CA certificates from"),
    "blank-lines": ("empty", "Failed to load CA certificates from"),
    "key-only": ("no-certificate", "Failed to load CA certificates from"),
    "text": ("not-pem", "Failed to load CA certificates from"),
    "binary": ("not-pem", "Failed to load CA certificates from"),
    "der": ("not-pem", "Failed to load CA certificates from"),
    "bom": ("not-pem", "Failed to load CA certificates from"),
    "indented": ("not-pem", "Failed to load CA certificates from"),
    "utf16": ("not-pem", "Failed to load CA certificates from"),
    "bad-base64": ("malformed-pem", "Failed to load CA certificates from"),
    "no-end": ("malformed-pem", "Failed to load CA certificates from"),
    "wrong-end": ("malformed-pem", "Failed to load CA certificates from"),
    "second-bad": ("bad-certificate", "Failed to parse certificate #2 from"),
    "truncated-der": ("bad-certificate", "Failed to parse certificate #1 from"),
    "huge-no-cert": ("too-large", "Failed to load CA certificates from"),
    "folder": ("not-a-file", "Failed to read CA certificate file"),
    "dangling": ("dangling-symlink", "Failed to read CA certificate file"),
    "missing": ("missing", "Failed to read CA certificate file"),
}


@pytest.mark.parametrize("case", sorted(CA_CASES))
def test_ca_file(machine: Machine, pems: dict[str, Path], case: str) -> None:
    problem, error = CA_CASES[case]
    machine.env["SSL_CERT_FILE"] = str(pems[case])
    ev = gather(machine)
    assert ev.ca_in_effect == "SSL_CERT_FILE"
    (ca,) = ev.ca_files
    assert ca.problem == problem, ca.message
    assert ca.codex_error.startswith(error)
    if problem is None:
        assert ca.certificates >= 1
    else:
        assert ca.message and str(pems[case]) not in ca.message
        assert ca.codex_error.endswith(f"{pems[case]} selected by SSL_CERT_FILE")


def test_scan_counts_certificates(pems: dict[str, Path]) -> None:
    assert scan_pem(pems["two-certs"].read_bytes()).certificates == 2
    assert scan_pem(pems["key-and-cert"].read_bytes()).certificates == 1


def test_codex_ca_certificate_wins_and_both_are_read(machine: Machine, pems: dict[str, Path]) -> None:
    machine.env.update(CODEX_CA_CERTIFICATE=str(pems["good"]), SSL_CERT_FILE=str(pems["missing"]))
    ev = gather(machine)
    assert ev.ca_in_effect == "CODEX_CA_CERTIFICATE"
    assert [(c.name, c.problem) for c in ev.ca_files] == [("CODEX_CA_CERTIFICATE", None), ("SSL_CERT_FILE", "missing")]


def test_empty_codex_ca_certificate_counts_as_unset(machine: Machine, pems: dict[str, Path]) -> None:
    machine.env.update(CODEX_CA_CERTIFICATE="", SSL_CERT_FILE=str(pems["good"]))
    assert gather(machine).ca_in_effect == "SSL_CERT_FILE"


def test_blank_and_relative_paths(machine: Machine) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = "  "
    (ca,) = gather(machine).ca_files
    assert ca.problem == "blank"
    machine.env["CODEX_CA_CERTIFICATE"] = "certs/corp.pem"
    (ca,) = gather(machine).ca_files
    assert ca.problem == "relative"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_not_opened(machine: Machine) -> None:
    """Opening a FIFO would block the check forever."""
    fifo = machine.root / "ca.fifo"
    os.mkfifo(fifo)
    machine.env["SSL_CERT_FILE"] = str(fifo)
    (ca,) = gather(machine).ca_files
    assert ca.problem == "not-a-file"


def test_dotenv_ssl_cert_file(machine: Machine, pems: dict[str, Path]) -> None:
    machine.write_dotenv(f"SSL_CERT_FILE={pems['missing']}\nSSL_CERT_DIR=/nowhere/certs:/etc\n")
    ev = gather(machine)
    (ca,) = ev.ca_files
    assert (ca.source, ca.line, ca.problem) == ("dotenv", 1, "missing")
    assert ev.cert_dir is not None and ev.cert_dir.missing == ("/nowhere/certs",) and ev.cert_dir.line == 2


def _ca_problem(file: Path, home: Path) -> str:
    host = Host(env={"SSL_CERT_FILE": str(file)}, home=home, proc=None)
    ev = collect_network(host, DotenvEvidence(home / ".env", False), home)
    assert ev is not None
    return f"{ev.ca_files[0].problem} | {ev.ca_files[0].message}"


def _as_nobody(file: Path, home: Path) -> str:
    """Read the file in a real child process running as user nobody: root reads every file, so only another user sees EACCES.

    A fork of this interpreter, not a new one: Python itself may live where nobody cannot go.
    """
    _ca_problem(home, home)  # load every module the collector imports lazily while we still may
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            os.setgid(65534)
            os.setuid(65534)
            os.write(w, _ca_problem(file, home).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        out = fh.read().decode()
    os.waitpid(pid, 0)
    return out


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_unreadable_file(machine: Machine, pems: dict[str, Path]) -> None:
    if os.geteuid() != 0:
        target = machine.root / "private.pem"
        shutil.copy(pems["good"], target)
        target.chmod(0)
        machine.env["SSL_CERT_FILE"] = str(target)
        (ca,) = gather(machine).ca_files
        assert ca.problem == "unreadable" and "permission denied" in ca.message
        return
    # As root: a real other user (nobody) against a root-only file in a folder nobody may enter.
    folder = Path(tempfile.mkdtemp(prefix="authdoctor-ca-"))
    try:
        folder.chmod(0o711)
        target = folder / "private.pem"
        shutil.copy(pems["good"], target)
        target.chmod(0o600)
        assert _as_nobody(target, folder) == "unreadable | cannot be read (permission denied)"
        shut = folder / "shut"
        shut.mkdir(mode=0o700)
        inside = shut / "ca.pem"
        shutil.copy(pems["good"], inside)
        assert _as_nobody(inside, folder).startswith("unreadable | cannot be reached (permission denied")
    finally:
        shutil.rmtree(folder)


# --- headless markers -------------------------------------------------------------------------


def kinds(ev: NetworkEvidence) -> list[str]:
    return [m.kind for m in ev.markers]


def test_desktop_linux_has_no_markers(machine: Machine) -> None:
    machine.env["DISPLAY"] = ":0"
    assert kinds(gather(machine, rooted(machine, machine.root / "sys"))) == []


def test_linux_without_a_display(machine: Machine) -> None:
    assert kinds(gather(machine, rooted(machine, machine.root / "sys"))) == ["no-display"]


def test_macos_without_display_is_not_headless(machine: Machine) -> None:
    machine.platform = "darwin"
    assert kinds(gather(machine, rooted(machine, machine.root / "sys"))) == []


def test_ssh_session(machine: Machine) -> None:
    machine.env.update(SSH_CONNECTION="203.0.113.5 51234 198.51.100.7 22", SSH_TTY="/dev/pts/3", USER="alice", DISPLAY=":10")
    ev = gather(machine, rooted(machine, machine.root / "sys"))
    assert kinds(ev) == ["ssh"]
    assert ev.markers[0].text.startswith("SSH_CONNECTION is set")
    assert ev.ssh_login == "alice@198.51.100.7"


@pytest.mark.parametrize(
    ("files", "env", "expected"),
    [
        ((".dockerenv",), {}, ["container"]),
        (("run/.containerenv",), {}, ["container"]),
        ((), {"container": "podman"}, ["container"]),
        ((), {"CODESPACES": "true"}, ["codespaces"]),
        ((), {"REMOTE_CONTAINERS": "true", "VSCODE_IPC_HOOK_CLI": "/tmp/vscode-ipc.sock"}, ["dev-container", "vscode-remote"]),
        ((), {"GITPOD_WORKSPACE_ID": "ws-1"}, ["gitpod"]),
        ((), {"DEVPOD": "true"}, ["devpod"]),
        ((), {"VSCODE_IPC_HOOK_CLI": "/tmp/vscode-ipc.sock"}, []),  # a local VS Code terminal
    ],
)
def test_container_and_remote_markers(machine: Machine, files: tuple[str, ...], env: dict[str, str], expected: list[str]) -> None:
    root = machine.root / "sys"
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).touch()
    machine.env.update(env, DISPLAY=":0")
    ev = gather(machine, rooted(machine, root))
    assert kinds(ev) == expected
    if files:
        assert ev.markers[0].path == "/" + files[0]


# --- WSL --------------------------------------------------------------------------------------

WSL2_VERSION = (
    "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@941d701f84f1) (gcc (GCC) 12.2.0) #1 SMP Fri Mar 29 23:14:13 UTC 2024\n"
)
WSL1_VERSION = "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #1237-Microsoft\n"


def wsl_root(machine: Machine, *, version: str = WSL2_VERSION, users: tuple[str, ...] = ("alice",), wslconfig: bytes | None = None) -> Path:
    root = machine.root / "wsl"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "version").write_text(version)
    users_dir = root / "mnt" / "c" / "Users"
    for name in ("Public", "Default", "All Users", *users):
        (users_dir / name).mkdir(parents=True)
    (users_dir / "desktop.ini").write_text("[.ShellClassInfo]\n")
    if wslconfig is not None:
        (users_dir / users[0] / ".wslconfig").write_bytes(wslconfig)
    return root


def test_not_wsl(machine: Machine) -> None:
    root = machine.root / "plain"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "version").write_text("Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075)\n")
    assert gather(machine, rooted(machine, root)).wsl is None


def test_wsl2_defaults_to_nat(machine: Machine) -> None:
    machine.env["USER"] = "alice"
    ev = gather(machine, rooted(machine, wsl_root(machine)))
    wsl = ev.wsl
    assert wsl is not None and wsl.version == 2 and wsl.nat
    assert wsl.windows_user == "alice" and wsl.wslconfig is None and not wsl.mode_written and wsl.localhost_forwarding
    assert "no-display" not in kinds(ev)  # WSL is not headless by itself


def test_wsl1_is_not_nat(machine: Machine) -> None:
    wsl = gather(machine, rooted(machine, wsl_root(machine, version=WSL1_VERSION))).wsl
    assert wsl is not None and wsl.version == 1 and not wsl.nat


def test_wsl_from_the_environment_alone(machine: Machine) -> None:
    machine.env.update(WSL_DISTRO_NAME="Ubuntu", WSL_INTEROP="/run/WSL/8_interop")
    wsl = gather(machine, rooted(machine, machine.root / "bare")).wsl
    assert wsl is not None and wsl.distro == "Ubuntu" and wsl.version is None
    assert wsl.windows_user is None and "cannot be read" in wsl.user_note


@pytest.mark.parametrize(
    ("text", "mode", "forwarding"),
    [
        (b"[wsl2]\nnetworkingMode=mirrored\n", "mirrored", True),
        (b"[wsl2]\r\nmemory=8GB\r\nnetworkingMode = NAT\r\nlocalhostForwarding=false\r\n", "nat", False),
        (b"[experimental]\nnetworkingMode=mirrored\n", "mirrored", True),
        (b"\xef\xbb\xbf[WSL2]\nNetworkingMode=mirrored # company default\n", "mirrored", True),
        ("[wsl2]\nnetworkingMode=mirrored\n".encode("utf-16"), "mirrored", True),
        (b"# nothing here\n[wsl2]\n;networkingMode=mirrored\n", "nat", True),
    ],
)
def test_wslconfig(machine: Machine, text: bytes, mode: str, forwarding: bool) -> None:
    wsl = gather(machine, rooted(machine, wsl_root(machine, wslconfig=text))).wsl
    assert wsl is not None and wsl.wslconfig is not None
    assert (wsl.networking_mode, wsl.localhost_forwarding) == (mode, forwarding)
    assert wsl.windows_path(wsl.wslconfig) == "C:\\Users\\alice\\.wslconfig"


def test_windows_user_folder_choice(machine: Machine) -> None:
    machine.env["USER"] = "bob"
    wsl = gather(machine, rooted(machine, wsl_root(machine, users=("Alice", "Bob")))).wsl
    assert wsl is not None and wsl.windows_user == "Bob"
    machine.env["USER"] = "carol"
    root = machine.root / "ambiguous"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "version").write_text(WSL2_VERSION)
    for name in ("Alice", "Bob"):
        (root / "mnt" / "c" / "Users" / name).mkdir(parents=True)
    wsl = gather(machine, rooted(machine, root)).wsl
    assert wsl is not None and wsl.windows_user is None and "2 user folders" in wsl.user_note


def test_automount_root_and_windows_login(machine: Machine) -> None:
    root = machine.root / "wsl"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "version").write_text(WSL2_VERSION)
    (root / "etc").mkdir()
    (root / "etc" / "wsl.conf").write_text("[automount]\nroot = /win/\n")
    codex = root / "win" / "c" / "Users" / "alice" / ".codex"
    codex.mkdir(parents=True)
    (codex / "auth.json").write_text("{}")
    wsl = gather(machine, rooted(machine, root)).wsl
    assert wsl is not None and wsl.windows_auth == codex / "auth.json"


def test_parse_ini() -> None:
    assert parse_ini("[A]\nk = v ; c\n[b]\nx=1\nloose\n") == {"a": {"k": "v"}, "b": {"x": "1"}}


# --- oracles: the real Codex --------------------------------------------------------------------


def codex_binary() -> str:
    found = os.environ.get("AUTHDOCTOR_CODEX") or shutil.which("codex")
    cached = Path.home() / ".cache" / "authdoctor" / "codex-0.169.0" / "node_modules" / ".bin" / "codex"
    if not found and cached.exists():
        found = str(cached)
    if not found:
        if IN_CI:
            pytest.fail("the real Codex CLI is required on CI (scripts/test installs it)")
        pytest.skip("the real Codex CLI is not installed (scripts/test installs it with npm)")
    return found


def run_doctor(tmp: Path, env: dict[str, str], dotenv: str | None = None) -> dict[str, object]:
    """`codex doctor --json` on a fresh home; every proxy variable the caller sets keeps it on loopback."""
    home = tmp / "codex-home"
    (home / ".codex").mkdir(parents=True)
    if dotenv is not None:
        (home / ".codex" / ".env").write_text(dotenv)
    full = {"HOME": str(home), "CODEX_HOME": str(home / ".codex"), "PATH": os.defpath + ":/usr/local/bin", **env}
    proc = subprocess.run(
        [codex_binary(), "doctor", "--json"], env=full, cwd=tmp, stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=False
    )
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return data


def _probe(report: dict[str, object]) -> str:
    checks = report["checks"]
    assert isinstance(checks, dict)
    return str(checks["updates.status"]["details"].get("latest version probe", ""))


@pytest.mark.oracle
@pytest.mark.parametrize("case", sorted(CA_CASES))
def test_ca_verdict_matches_codex(tmp_path: Path, pems: dict[str, Path], case: str) -> None:
    """Codex builds its HTTP client with the bundle before the update check: its error names the same problem."""
    problem, error = CA_CASES[case]
    with closed_port() as port:
        nowhere = f"http://127.0.0.1:{port}"
        report = run_doctor(tmp_path, {"CODEX_CA_CERTIFICATE": str(pems[case]), "HTTPS_PROXY": nowhere, "ALL_PROXY": nowhere})
    probe = _probe(report)
    if problem is None:
        assert "CA cert" not in probe, probe
    else:
        assert probe.startswith(error.replace("SSL_CERT_FILE", "CODEX_CA_CERTIFICATE")), probe
        assert "selected by CODEX_CA_CERTIFICATE" in probe


class Recorder:
    """A loopback listener that notes which host each CONNECT asked for, then hangs up."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    self.seen.append(conn.recv(200))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()

    def connected(self, host: str) -> bool:
        return any(s.startswith(f"CONNECT {host}:443 ".encode()) for s in self.seen)


PROXY_ORACLE = {
    "upper beats lower": ({"HTTPS_PROXY": "http://127.0.0.1:{a}", "https_proxy": "http://127.0.0.1:{b}"}, None, "a"),
    "lower alone": ({"https_proxy": "http://127.0.0.1:{b}"}, None, "b"),
    ".env beats the shell": ({"HTTPS_PROXY": "http://127.0.0.1:{b}"}, "HTTPS_PROXY=http://127.0.0.1:{a}\n", "a"),
    "socks gets an HTTP CONNECT": ({"HTTPS_PROXY": "socks5h://127.0.0.1:{a}"}, None, "a"),
    "bare host:port": ({"HTTPS_PROXY": "127.0.0.1:{a}", "ALL_PROXY": "http://127.0.0.1:{b}"}, None, "a"),
    "password": ({"HTTPS_PROXY": "http://u:pw@127.0.0.1:{a}"}, None, "a"),
}


@pytest.mark.oracle
@pytest.mark.parametrize("case", sorted(PROXY_ORACLE))
def test_proxy_choice_matches_codex(tmp_path: Path, case: str, machine: Machine) -> None:
    """Which of two recording loopback proxies Codex sends its chatgpt.com CONNECT to, and which one we predict.

    Only cases where every Codex client uses one of the two: nothing may go to the network.
    """
    env_t, dotenv_t, expected = PROXY_ORACLE[case]
    a, b = Recorder(), Recorder()
    try:
        env = {k: v.format(a=a.port, b=b.port) for k, v in env_t.items()}
        dotenv = dotenv_t.format(a=a.port, b=b.port) if dotenv_t else None
        run_doctor(tmp_path, env, dotenv)
        deadline = time.monotonic() + 3
        while not (a.connected("chatgpt.com") or b.connected("chatgpt.com")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        a.close()
        b.close()
    got = "a" if a.connected("chatgpt.com") else ("b" if b.connected("chatgpt.com") else None)
    assert got == expected, (a.seen, b.seen)
    machine.env.update(env)
    if dotenv:
        machine.write_dotenv(dotenv)
    ev = gather(machine)
    chosen = ev.proxy(ev.chatgpt_proxy)
    assert chosen is not None and chosen.port == (a.port if expected == "a" else b.port)
