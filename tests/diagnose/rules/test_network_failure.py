"""network-failure: auth requests failing in transit are network trouble, not a dead login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authdoctor.collect import collect
from authdoctor.diagnose import diagnose
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.secret import REDACTED
from tests.conftest import Machine
from tests.diagnose.rules.conftest import finding_texts, one, quiet, well_formed
from tests.logtools import FIXTURES, MODELS_OFFLINE, REUSED, UNREACHABLE, tracing_line, write_text_log
from tests.logtools import stored_login as _login
from tests.nettools import CA_NAME, ConnectProxy, Pki, Socks5Proxy, TlsServer, free_port

ID = "network-failure"


def _tui(machine: Machine, *messages: str, ago: timedelta = timedelta(minutes=10), target: str = "codex_login::auth::manager") -> None:
    lines = [tracing_line(machine.now - ago, m, target=target) for m in messages]
    write_text_log(machine.codex_home / "log" / "codex-tui.log", lines)


def test_captured_unreachable_refresh(machine: Machine) -> None:
    machine.now = datetime(2026, 11, 22, tzinfo=UTC)
    _login(machine, ago=timedelta(days=3))
    log = machine.codex_home / "log" / "codex-tui.log"
    log.parent.mkdir(parents=True)
    log.write_bytes((FIXTURES / "refresh-unreachable.log").read_bytes())
    f = one(machine, ID, Severity.WARNING)
    assert "not a dead login" in f.title
    assert "may be fine" in f.detail
    assert "authdoctor where" in f.fix.summary
    assert "refresh-failed" not in machine.ids()


def test_tls_interception(machine: Machine) -> None:
    _login(machine)
    _tui(
        machine,
        "Failed to refresh token: error sending request for url (https://auth.openai.com/oauth/token): "
        "invalid peer certificate: UnknownIssuer",
    )
    f = one(machine, ID, Severity.WARNING)
    assert "TLS" in f.detail and "CODEX_CA_CERTIFICATE" in f.fix.summary


def test_model_traffic_offline_is_ordinary(machine: Machine) -> None:
    """A laptop that was offline once since the login is not a finding: only auth requests count."""
    _login(machine)
    _tui(machine, MODELS_OFFLINE, MODELS_OFFLINE, target="codex_models_manager::manager")
    quiet(machine, ID)


def test_server_error_while_refreshing(machine: Machine) -> None:
    machine.now = datetime(2026, 11, 22, tzinfo=UTC)
    _login(machine, ago=timedelta(days=3))
    log = machine.codex_home / "log" / "codex-tui.log"
    log.parent.mkdir(parents=True)
    log.write_bytes((FIXTURES / "refresh-server-500.log").read_bytes())
    f = one(machine, ID, Severity.WARNING)
    assert "5xx" in f.detail
    assert "refresh-failed" not in machine.ids()


def test_both_kinds_say_so(machine: Machine) -> None:
    _login(machine)
    _tui(machine, UNREACHABLE, REUSED)
    f = one(machine, ID, Severity.WARNING)
    assert "see refresh-failed" in f.detail
    assert "refresh-failed" in machine.ids()


def test_before_the_login_is_history(machine: Machine) -> None:
    _login(machine, ago=timedelta(hours=1))
    _tui(machine, UNREACHABLE, ago=timedelta(hours=2))
    quiet(machine, ID)


def test_region_block(machine: Machine) -> None:
    _login(machine)
    _tui(machine, 'unexpected status 403 Forbidden: {"error":{"code":"unsupported_country_region_territory"}}', target="codex_core::client")
    f = one(machine, ID, Severity.WARNING)
    assert "region" in f.detail


# --- the --online probe -------------------------------------------------------------------


def _online(machine: Machine) -> list[Finding]:
    ev = collect(machine.host(), execute=False, online=True)
    return [f for f in diagnose(ev).findings if f.id == ID]


def _one_online(machine: Machine) -> Finding:
    found = _online(machine)
    assert len(found) == 1, found
    return well_formed(found[0], ID, Severity.WARNING)


def _aim(machine: Machine, address: str, *names: str) -> None:
    machine.env["AUTHDOCTOR_ONLINE_TARGETS"] = ",".join(f"{n}={address}" for n in names or ("auth.openai.com",))


def test_online_proxy_refused(machine: Machine) -> None:
    port = free_port()
    machine.env["HTTPS_PROXY"] = f"http://127.0.0.1:{port}"
    _aim(machine, "127.0.0.1:9", "auth.openai.com", "chatgpt.com")
    f = _one_online(machine)
    assert f.title == "Codex cannot reach its servers from this environment (network trouble, not a dead login)"
    assert f"proxy 127.0.0.1:{port} refused the connection (HTTPS_PROXY)" in f.detail
    assert f"through HTTPS_PROXY (127.0.0.1:{port})" in f.detail and "failed for 2 of 2 host(s)" in f.detail
    assert f.fix.summary.startswith(f"Start the proxy at 127.0.0.1:{port}, or stop using it: ")
    assert f.fix.commands == ("authdoctor where HTTPS_PROXY",)
    assert [o.context for o in f.origins][:2] == ["online", "online"]
    assert any(o.text == f"HTTPS_PROXY={REDACTED}" for o in f.origins)


def test_online_proxy_from_dotenv_names_the_line(machine: Machine) -> None:
    machine.write_dotenv(f"# corp\nHTTPS_PROXY=http://127.0.0.1:{free_port()}\n")
    _aim(machine, "127.0.0.1:9")
    f = _one_online(machine)
    assert f"delete line 2 (HTTPS_PROXY=…) from {machine.codex_home / '.env'}" in f.fix.summary
    assert any(o.context == "dotenv" and o.line == 2 for o in f.origins)


def test_online_tls_interception(machine: Machine, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    with TlsServer(pki.server_context(), date=machine.now) as server:
        _aim(machine, server.address)
        f = _one_online(machine)
    assert "TLS: certificate verify failed" in f.detail and f"issued by '{CA_NAME}" in f.detail
    assert f.fix.summary.startswith(f"TLS interception by '{CA_NAME}")
    assert "Set CODEX_CA_CERTIFICATE to your organisation's CA bundle" in f.fix.summary
    assert f.fix.commands == ("export CODEX_CA_CERTIFICATE=/path/to/organisation-ca.pem",)


def test_online_tls_interception_with_the_wrong_bundle(machine: Machine, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    (tmp_path / "other").mkdir()
    other = Pki(tmp_path / "other")
    machine.env["CODEX_CA_CERTIFICATE"] = str(other.ca_file)
    with TlsServer(pki.server_context(), date=machine.now) as server:
        _aim(machine, server.address)
        f = _one_online(machine)
    assert f"CODEX_CA_CERTIFICATE ({other.ca_file}) does not hold the CA that issued" in f.fix.summary


def test_online_unusable_ca_bundle(machine: Machine, tmp_path: Path) -> None:
    machine.env["SSL_CERT_FILE"] = str(tmp_path / "old-bundle.pem")
    _aim(machine, f"127.0.0.1:{free_port()}")
    f = _one_online(machine)
    assert "does not exist: Codex refuses to start its HTTPS client" in f.detail
    assert f.fix.summary.startswith("Point SSL_CERT_FILE at a readable PEM file")


@pytest.mark.parametrize(
    ("mode", "words"),
    [("407", "wants a user name and password"), ("403", "refuses to connect to OpenAI")],
)
def test_online_proxy_refuses(machine: Machine, tmp_path: Path, mode: str, words: str) -> None:
    with ConnectProxy(mode) as proxy:
        machine.env["HTTPS_PROXY"] = f"http://{proxy.address}"
        _aim(machine, "127.0.0.1:9")
        f = _one_online(machine)
    assert words in f.fix.summary


def test_online_socks_only_proxy(machine: Machine) -> None:
    with Socks5Proxy() as proxy:
        machine.env["ALL_PROXY"] = f"socks5h://{proxy.address}"
        _aim(machine, "127.0.0.1:9")
        f = _one_online(machine)
    assert "only through an HTTP proxy" in f.fix.summary and "ALL_PROXY" in f.fix.summary


def test_online_cloudflare_challenge(machine: Machine, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    with TlsServer(pki.server_context(), date=machine.now, status=403, extra=("cf-mitigated: challenge",)) as server:
        _aim(machine, server.address, "chatgpt.com")
        f = _one_online(machine)
    assert "HTTP 403 with a Cloudflare challenge page" in f.detail
    assert f.fix.summary.startswith("Cloudflare challenges requests from this network")


def test_online_dns(machine: Machine) -> None:
    machine.env["AUTHDOCTOR_ONLINE_TARGETS"] = "no-such-host.invalid"
    f = _one_online(machine)
    assert "DNS: " in f.detail
    assert f.fix.commands == ("getent hosts no-such-host.invalid",)


def test_online_quiet_when_every_host_answers(machine: Machine, tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    with TlsServer(pki.server_context(), date=machine.now) as server:
        _aim(machine, server.address, "auth.openai.com", "chatgpt.com", "api.openai.com")
        assert _online(machine) == []


def test_online_quiet_when_not_tested(machine: Machine) -> None:
    machine.env["HTTPS_PROXY"] = "https://127.0.0.1:1"
    _aim(machine, "127.0.0.1:9")
    assert _online(machine) == []


def test_logs_and_online_make_one_finding(machine: Machine) -> None:
    _login(machine)
    _tui(machine, UNREACHABLE)
    port = free_port()
    machine.env["HTTPS_PROXY"] = f"http://127.0.0.1:{port}"
    _aim(machine, "127.0.0.1:9")
    f = _one_online(machine)
    assert "not a dead login" in f.title
    assert "Codex logged 1 failed auth request(s)" in f.detail
    assert f"The online check (--online) confirms it now: it failed for 1 of 1 host(s), through HTTPS_PROXY (127.0.0.1:{port})" in f.detail
    assert f.fix.summary.startswith(f"Start the proxy at 127.0.0.1:{port}")
    assert {o.context for o in f.origins} >= {"online", "log"}


def test_online_never_shows_the_proxy_password(machine: Machine) -> None:
    password = "Pl4nted-Proxy-Secret"
    with ConnectProxy("407") as proxy:
        machine.env["HTTPS_PROXY"] = f"http://alice:{password}@{proxy.address}"
        _aim(machine, "127.0.0.1:9")
        f = _one_online(machine)
    assert "rejected the user name and password" in f.detail
    for text in finding_texts(f):
        assert password not in text and "alice" not in text
