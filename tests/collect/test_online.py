"""The ``--online`` probe against real loopback servers: a TLS server, HTTP CONNECT and SOCKS5 proxies.

Targets are redirected with ``AUTHDOCTOR_ONLINE_TARGETS`` (name=address), so the
name Codex would use drives SNI, Host, NO_PROXY and the proxy choice while the
connection goes to 127.0.0.1.
"""

from __future__ import annotations

import ssl
from datetime import timedelta
from pathlib import Path

import pytest

from authdoctor.collect import collect
from authdoctor.collect.online import (
    CA_UNUSABLE,
    DNS,
    HTTP,
    HTTP_CHALLENGE,
    HTTP_FORBIDDEN,
    PROXY,
    PROXY_AUTH,
    PROXY_DENIED,
    PROXY_GARBLED,
    PROXY_UNREACHABLE,
    TCP,
    TCP_REFUSED,
    TLS,
    TLS_CLOCK,
    TLS_UNTRUSTED,
    OnlineEvidence,
    TargetResult,
    _issuer_from_der,
)
from authdoctor.secret import REGISTRY
from tests.conftest import Machine
from tests.nettools import CA_NAME, ConnectProxy, Pki, Socks5Proxy, TlsServer, free_port, silent_port

AUTH = "auth.openai.com"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


def probe(machine: Machine) -> OnlineEvidence:
    ev = collect(machine.host(), origins=False, execute=False, online=True)
    assert ev.online is not None, ev.failures
    return ev.online


def only(machine: Machine) -> TargetResult:
    online = probe(machine)
    assert len(online.targets) == 1
    return online.targets[0]


def connects(proxy: ConnectProxy) -> list[tuple[str, dict[str, str]]]:
    """The CONNECT requests a proxy got (other checks may open a bare connection to see that it listens)."""
    return [r for r in proxy.requests if r[0].startswith("CONNECT ")]


def aim(machine: Machine, server: TlsServer | str, *names: str) -> None:
    address = server if isinstance(server, str) else server.address
    machine.env["AUTHDOCTOR_ONLINE_TARGETS"] = ",".join(f"{n}={address}" for n in names or (AUTH,))


# --- direct -------------------------------------------------------------------------------


def test_direct_success_sends_no_credential(machine: Machine, pki: Pki) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    machine.env["CODEX_ACCESS_TOKEN"] = "at-NeverSendThisToken1234567890"
    with TlsServer(pki.server_context(), date=machine.now) as server:
        aim(machine, server)
        r = only(machine)
    assert r.stages == (DNS, TCP, TLS, HTTP), r
    assert r.failed is None and r.error is None and r.reached
    assert r.host == AUTH and r.address == server.address and r.resolved == ("127.0.0.1",)
    assert r.tls_verified is True and r.tls_issuer is not None and CA_NAME in r.tls_issuer
    assert r.tls_version in ("TLSv1.2", "TLSv1.3")
    assert r.http_status == 200 and r.server_date == machine.now and r.skew_seconds == 0
    assert r.proxy is None
    assert server.sni == [AUTH]
    line, headers = server.requests[0]
    assert line == "HEAD / HTTP/1.1"
    assert headers["host"] == AUTH
    assert headers["user-agent"].startswith("authdoctor/") and headers["user-agent"].endswith("(--online)")
    assert headers["connection"] == "close"
    assert not {"authorization", "cookie", "proxy-authorization", "chatgpt-account-id"} & set(headers)


def test_ssl_cert_file_is_the_fallback_bundle(machine: Machine, pki: Pki) -> None:
    machine.env["SSL_CERT_FILE"] = str(pki.ca_file)
    with TlsServer(pki.server_context(), date=machine.now) as server:
        aim(machine, server)
        online = probe(machine)
    assert online.ca_bundle == ("SSL_CERT_FILE", str(pki.ca_file))
    assert online.native_roots == (("SSL_CERT_FILE", str(pki.ca_file)),)
    assert online.targets[0].tls_verified is True


def test_untrusted_certificate_names_its_issuer(machine: Machine, pki: Pki) -> None:
    """No bundle trusts the CA: verification fails like behind a TLS-inspecting proxy, and the issuer is named."""
    with TlsServer(pki.server_context(), date=machine.now) as server:
        aim(machine, server)
        r = only(machine)
    assert r.failed == TLS and r.kind == TLS_UNTRUSTED
    assert r.stages == (DNS, TCP)
    assert r.tls_verified is False
    assert r.error is not None and r.error.startswith("TLS: certificate verify failed: ")
    assert f"issued by '{r.tls_issuer}'" in r.error and CA_NAME in r.error
    assert len(server.requests) <= 1  # the second look at the certificate sent no request


def test_a_ca_bundle_codex_cannot_load_stops_before_tls(machine: Machine, pki: Pki, tmp_path: Path) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = str(tmp_path / "gone.pem")
    with TlsServer(pki.server_context()) as server:
        aim(machine, server)
        online = probe(machine)
    r = online.targets[0]
    assert online.ca_problem is not None and "does not exist" in online.ca_problem
    assert r.failed == TLS and r.kind == CA_UNUSABLE and r.stages == ()
    assert server.requests == []  # Codex fails while building its client: no connection at all
    (tmp_path / "empty.pem").write_text("# no certificate here\n")
    machine.env["CODEX_CA_CERTIFICATE"] = str(tmp_path / "empty.pem")
    with TlsServer(pki.server_context()) as server:
        aim(machine, server)
        assert "holds no PEM certificate" in (only(machine).error or "")


def test_clock_skew_from_the_date_header(machine: Machine, pki: Pki) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    with TlsServer(pki.server_context(), date=machine.now + timedelta(minutes=10)) as server:
        aim(machine, server)
        r = only(machine)
    assert r.skew_seconds == 600.0
    with TlsServer(pki.server_context(), date=None) as server:
        aim(machine, server)
        r = only(machine)
    assert r.server_date is None and r.skew_seconds is None and r.reached


def test_certificate_not_yet_valid_is_a_clock_problem(machine: Machine, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    future = Pki(tmp_path, not_before=datetime.now(UTC) + timedelta(days=2), not_after=datetime.now(UTC) + timedelta(days=30))
    machine.env["CODEX_CA_CERTIFICATE"] = str(future.ca_file)
    with TlsServer(future.server_context()) as server:
        aim(machine, server)
        r = only(machine)
    assert r.kind == TLS_CLOCK and "not yet valid" in (r.error or "")


@pytest.mark.parametrize(
    ("extra", "kind", "words"),
    [
        (("cf-mitigated: challenge", "Server: cloudflare"), HTTP_CHALLENGE, "Cloudflare challenge"),
        ((), HTTP_FORBIDDEN, "403 Forbidden"),
    ],
)
def test_403_is_a_block(machine: Machine, pki: Pki, extra: tuple[str, ...], kind: str, words: str) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    with TlsServer(pki.server_context(), date=machine.now, status=403, extra=extra) as server:
        aim(machine, server)
        r = only(machine)
    assert r.failed == HTTP and r.kind == kind and words in (r.error or "")
    assert r.http_status == 403 and r.skew_seconds == 0 and not r.reached


def test_nothing_listening_is_refused(machine: Machine) -> None:
    aim(machine, f"127.0.0.1:{free_port()}")
    r = only(machine)
    assert r.failed == TCP and r.kind == TCP_REFUSED
    assert r.error is not None and "refused the connection" in r.error and AUTH in r.error


def test_unknown_name_fails_at_dns(machine: Machine) -> None:
    machine.env["AUTHDOCTOR_ONLINE_TARGETS"] = "no-such-host.invalid"
    r = only(machine)
    assert r.failed == DNS and r.stages == ()
    assert r.error is not None and r.error.startswith("DNS: ") and "no-such-host.invalid" in r.error


def test_every_codex_host_in_parallel(machine: Machine, pki: Pki) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    with TlsServer(pki.server_context(), date=machine.now) as server:
        aim(machine, server, "auth.openai.com", "chatgpt.com", "api.openai.com")
        online = probe(machine)
    assert [r.host for r in online.targets] == ["auth.openai.com", "chatgpt.com", "api.openai.com"]
    assert all(r.reached for r in online.targets)
    assert sorted(server.sni, key=str) == ["api.openai.com", "auth.openai.com", "chatgpt.com"]
    assert online.overridden


def test_default_targets_are_the_codex_hosts() -> None:
    from authdoctor.collect.online import _targets

    targets, overridden = _targets({})
    assert [t.name for t in targets] == ["auth.openai.com", "chatgpt.com", "api.openai.com"]
    assert all(t.connect_port == 443 for t in targets) and not overridden
    targets, _ = _targets({"AUTHDOCTOR_ONLINE_TARGETS": "a.example=[::1]:8443, b.example ,=x,c.example=bad:port"})
    assert [(t.name, t.connect_host, t.connect_port) for t in targets] == [("a.example", "::1", 8443), ("b.example", "b.example", 443)]


# --- through a proxy ----------------------------------------------------------------------


def test_http_proxy_tunnel(machine: Machine, pki: Pki) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    with TlsServer(pki.server_context(), date=machine.now) as server, ConnectProxy() as proxy:
        machine.env["HTTPS_PROXY"] = f"http://{proxy.address}"
        aim(machine, server)
        r = only(machine)
    assert r.stages == (TCP, PROXY, TLS, HTTP), r
    assert r.proxy is not None and r.proxy.variable == "HTTPS_PROXY" and r.proxy.url.address == proxy.address
    assert r.resolved == () and r.note == f"DNS skipped: the proxy resolves {AUTH}"
    ((line, headers),) = connects(proxy)
    assert line == f"CONNECT {server.address} HTTP/1.1"
    assert "proxy-authorization" not in headers
    assert server.sni == [AUTH]


def test_proxy_password_is_sent_to_the_proxy_only_and_never_kept(machine: Machine, pki: Pki) -> None:
    password = "Pr0xy-Passw0rd-Planted"
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    with TlsServer(pki.server_context(), date=machine.now) as server, ConnectProxy(credentials=("alice", password)) as proxy:
        machine.env["HTTPS_PROXY"] = f"http://alice:{password}@{proxy.address}"
        aim(machine, server)
        online = probe(machine)
    r = online.targets[0]
    assert r.reached, r
    assert r.proxy is not None and r.proxy.url.has_userinfo
    assert "proxy-authorization" in connects(proxy)[0][1]
    assert "proxy-authorization" not in server.requests[0][1]
    assert password not in repr(online) and "alice" not in repr(online)
    assert password in REGISTRY.values()


@pytest.mark.parametrize(
    ("mode", "url_auth", "kind", "words"),
    [
        ("407", "", PROXY_AUTH, "requires a password (407 Proxy Authentication Required) and the proxy URL holds none"),
        ("auth", "bob:wrong-password@", PROXY_AUTH, "rejected the user name and password in the proxy URL"),
        ("403", "", PROXY_DENIED, "refused to connect to"),
    ],
)
def test_proxy_refusals(machine: Machine, pki: Pki, mode: str, url_auth: str, kind: str, words: str) -> None:
    proxy = ConnectProxy("tunnel", credentials=("alice", "right-password")) if mode == "auth" else ConnectProxy(mode)
    with TlsServer(pki.server_context()) as server, proxy:
        machine.env["https_proxy"] = f"http://{url_auth}{proxy.address}"
        aim(machine, server)
        r = only(machine)
    assert r.failed == PROXY and r.kind == kind and r.stages == (TCP,)
    assert r.error is not None and words in r.error and f"proxy {proxy.address} (https_proxy)" in r.error
    assert "wrong-password" not in r.error


def test_proxy_where_nothing_listens(machine: Machine) -> None:
    port = free_port()
    machine.env["HTTPS_PROXY"] = f"http://127.0.0.1:{port}"
    aim(machine, "127.0.0.1:9")
    r = only(machine)
    assert r.kind == PROXY_UNREACHABLE and r.failed == TCP
    assert r.error == f"proxy 127.0.0.1:{port} refused the connection (HTTPS_PROXY)"


def test_upper_case_proxy_wins_where_curl_would_read_lower_case(machine: Machine, pki: Pki) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    dead = free_port()
    with TlsServer(pki.server_context(), date=machine.now) as server, ConnectProxy() as proxy:
        aim(machine, server)
        machine.env["HTTPS_PROXY"] = f"http://127.0.0.1:{dead}"
        machine.env["https_proxy"] = f"http://{proxy.address}"
        r = only(machine)
        assert r.proxy is not None and r.proxy.variable == "HTTPS_PROXY" and r.kind == PROXY_UNREACHABLE
        del machine.env["HTTPS_PROXY"]
        r = only(machine)
        assert r.proxy is not None and r.proxy.variable == "https_proxy" and r.reached


def test_no_proxy_bypasses_the_proxy(machine: Machine, pki: Pki) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    machine.env["HTTPS_PROXY"] = f"http://127.0.0.1:{free_port()}"
    machine.env["no_proxy"] = ".openai.com"
    with TlsServer(pki.server_context(), date=machine.now) as server:
        aim(machine, server)
        r = only(machine)
    assert r.proxy is None and r.no_proxy == "no_proxy" and r.reached


def test_proxy_from_codex_dotenv_overrides_the_shell(machine: Machine, pki: Pki) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    dead = free_port()
    with TlsServer(pki.server_context(), date=machine.now) as server, ConnectProxy() as proxy:
        machine.env["HTTPS_PROXY"] = f"http://{proxy.address}"
        machine.write_dotenv(f"HTTPS_PROXY=http://127.0.0.1:{dead}\n")
        aim(machine, server)
        r = only(machine)
    assert r.kind == PROXY_UNREACHABLE and f"127.0.0.1:{dead}" in (r.error or "")


def test_silent_proxy_times_out(machine: Machine) -> None:
    with silent_port() as port:
        machine.env["HTTPS_PROXY"] = f"http://127.0.0.1:{port}"
        aim(machine, "127.0.0.1:9")
        r = only(machine)
    assert r.failed == PROXY and r.kind == PROXY_UNREACHABLE
    assert r.error is not None and "did not answer CONNECT" in r.error and "within 3 s" in r.error
    assert r.elapsed_ms < 5000


@pytest.mark.parametrize("scheme", ["socks5h", "socks5", "socks4"])
def test_socks_only_proxy_fails_as_it_does_for_codex(machine: Machine, pki: Pki, scheme: str) -> None:
    """Codex 0.169.0's sign-in client sends HTTP CONNECT even to a socks5h:// proxy; a SOCKS-only one answers 05 FF."""
    with TlsServer(pki.server_context()) as server, Socks5Proxy() as proxy:
        machine.env["ALL_PROXY"] = f"{scheme}://{proxy.address}"
        aim(machine, server)
        r = only(machine)
    assert r.proxy is not None and r.proxy.variable == "ALL_PROXY" and r.proxy.url.scheme == scheme
    assert r.failed == PROXY and r.kind == PROXY_GARBLED and r.stages == (TCP,)
    # The proxy answers 05 FF and closes: the probe reads that, or the reset, depending on timing.
    assert r.error is not None and r.error.startswith(f"proxy {proxy.address} (ALL_PROXY) ")
    assert r.error.endswith(f"CONNECT {server.address} (a SOCKS-only proxy? Codex's sign-in client speaks only HTTP CONNECT)")
    assert proxy.targets == []
    assert r.note is not None and f"HTTP CONNECT even to a {scheme}:// proxy" in r.note


def test_mixed_port_proxy_works_with_a_socks_url(machine: Machine, pki: Pki) -> None:
    """A port that speaks HTTP too (Clash's "mixed" port) works for Codex's sign-in, whatever the URL's scheme."""
    machine.env["CODEX_CA_CERTIFICATE"] = str(pki.ca_file)
    with TlsServer(pki.server_context(), date=machine.now) as server, ConnectProxy() as proxy:
        machine.env["HTTPS_PROXY"] = f"socks5h://{proxy.address}"
        aim(machine, server)
        r = only(machine)
    assert r.reached and r.stages == (TCP, PROXY, TLS, HTTP)
    assert connects(proxy)[0][0] == f"CONNECT {server.address} HTTP/1.1"


def test_proxy_port_out_of_range(machine: Machine) -> None:
    machine.env["HTTPS_PROXY"] = "http://127.0.0.1:99999"
    aim(machine, "127.0.0.1:9")
    r = only(machine)
    assert r.kind == PROXY_UNREACHABLE and "no valid port" in (r.error or "")


def test_https_proxies_are_not_tested_yet(machine: Machine) -> None:
    machine.env["HTTPS_PROXY"] = "https://127.0.0.1:8443"
    aim(machine, "127.0.0.1:9")
    r = only(machine)
    assert r.failed is None and r.error is None and not r.reached
    assert r.note is not None and "does not test HTTPS proxies" in r.note


# --- pieces -------------------------------------------------------------------------------


def test_issuer_from_der(pki: Pki) -> None:
    der = ssl.PEM_cert_to_DER_cert(pki.leaf.cert_chain_pems[0].bytes().decode())
    issuer = _issuer_from_der(der)
    assert issuer is not None and CA_NAME in issuer
    with pytest.raises(ValueError):
        _issuer_from_der(der[:40])


def test_wsl_is_recognised(machine: Machine) -> None:
    machine.env["AUTHDOCTOR_ONLINE_TARGETS"] = f"x.example=127.0.0.1:{free_port()}"
    machine.env["WSL_DISTRO_NAME"] = "Ubuntu"
    assert probe(machine).wsl


def test_not_asked_means_no_probe(machine: Machine) -> None:
    assert machine.evidence().online is None


def test_a_broken_or_stuck_probe_is_reported_not_raised() -> None:
    import threading

    from authdoctor.collect.online import OUT_OF_TIME, PROBE_FAILED, _Deadline, _run_all, _Target

    release = threading.Event()

    def probe(t: _Target) -> TargetResult:
        if t.name == "broken.example":
            raise RuntimeError("boom")
        release.wait(5)
        return TargetResult(host=t.name)

    try:
        broken, stuck = _run_all(
            [_Target("broken.example", "broken.example", 443, False), _Target("stuck.example", "stuck.example", 443, False)],
            probe,
            _Deadline(0.1),
        )
    finally:
        release.set()
    assert broken.kind == PROBE_FAILED and broken.error == "the online check of this host failed (RuntimeError: boom)"
    assert stuck.kind == OUT_OF_TIME and stuck.failed is None and stuck.error == "no result within 6 s"
