"""How Codex picks proxy and CA: the rules of hyper-util's env matcher and Codex's custom_ca, case by case.

Each case names the source rule it pins (see the module docstring of
``authdoctor.codex.netconfig``), so a change in reqwest/hyper-util or Codex is
one failing line here.
"""

from __future__ import annotations

import pytest

from authdoctor.codex import netconfig as N
from authdoctor.secret import REDACTED

HOST = "auth.openai.com"


# --- which variable wins ---------------------------------------------------------------


def test_upper_case_wins_over_lower_case() -> None:
    env = {"HTTPS_PROXY": "http://127.0.0.1:3128", "https_proxy": "http://127.0.0.1:9999"}
    assert N.proxy_for(env, HOST) == N.ProxyChoice("HTTPS_PROXY", "http://127.0.0.1:3128")


def test_lower_case_is_read_when_upper_is_unset() -> None:
    assert N.proxy_for({"https_proxy": "http://127.0.0.1:9999"}, HOST) == N.ProxyChoice("https_proxy", "http://127.0.0.1:9999")


def test_an_empty_upper_case_hides_the_lower_case_and_falls_back_to_all_proxy() -> None:
    """get_first_env returns the first *set* variable; an empty value then fails to parse and ALL_PROXY is used."""
    env = {"HTTPS_PROXY": "", "https_proxy": "http://127.0.0.1:9999"}
    assert N.first_set(env, N.HTTPS_PAIR) == "HTTPS_PROXY"
    assert N.proxy_for(env, HOST) is None
    env["ALL_PROXY"] = "socks5h://127.0.0.1:1080"
    assert N.proxy_for(env, HOST) == N.ProxyChoice("ALL_PROXY", "socks5h://127.0.0.1:1080")


def test_an_unusable_value_falls_back_to_all_proxy() -> None:
    env = {"HTTPS_PROXY": "ftp://127.0.0.1:21", "all_proxy": "http://127.0.0.1:8080"}
    assert N.proxy_for(env, HOST) == N.ProxyChoice("all_proxy", "http://127.0.0.1:8080")
    env["HTTPS_PROXY"] = " http://127.0.0.1:3128"  # http::Uri refuses spaces
    assert N.proxy_for(env, HOST) == N.ProxyChoice("all_proxy", "http://127.0.0.1:8080")


def test_http_and_https_read_their_own_variables() -> None:
    env = {"HTTP_PROXY": "http://127.0.0.1:1", "ALL_PROXY": "http://127.0.0.1:2"}
    assert N.proxy_for(env, HOST, "http") == N.ProxyChoice("HTTP_PROXY", "http://127.0.0.1:1")
    assert N.proxy_for(env, HOST, "https") == N.ProxyChoice("ALL_PROXY", "http://127.0.0.1:2")


def test_cgi_uses_no_proxy_at_all() -> None:
    """hyper-util's Builder::build returns a matcher without any proxy when REQUEST_METHOD is set (httpoxy)."""
    env = {"HTTPS_PROXY": "http://127.0.0.1:3128", "ALL_PROXY": "http://127.0.0.1:8080", "REQUEST_METHOD": "GET"}
    assert N.proxy_for(env, HOST) is None
    assert N.proxy_for(env, HOST, "http") is None


# --- NO_PROXY ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "host", "exempt"),
    [
        ("openai.com", "auth.openai.com", True),
        (".openai.com", "auth.openai.com", True),
        (".openai.com", "openai.com", True),
        ("OpenAI.COM", "auth.openai.com", True),
        ("auth.openai.com", "auth.openai.com", True),
        ("notopenai.com", "openai.com", False),
        ("openai.com", "notopenai.com", False),
        ("*.openai.com", "auth.openai.com", False),  # not a wildcard: only a bare "*" is
        ("*", "auth.openai.com", True),
        (" foo.bar , openai.com ", "api.openai.com", True),
        ("", "auth.openai.com", False),
        ("10.0.0.0/8", "10.1.2.3", True),
        ("10.124.7.8", "10.124.7.8", True),
        ("10.0.0.0/8", "11.1.2.3", False),
        ("*", "127.0.0.1", False),  # an IP host is only compared with IP entries
        ("0.0.1", "127.0.0.1", False),
        ("::1", "[::1]", True),
        ("2001::/17", "2001:db8::1", True),
        ("1password.com", "my.1password.com", True),
    ],
)
def test_no_proxy(entries: str, host: str, exempt: bool) -> None:
    env = {"HTTPS_PROXY": "http://127.0.0.1:3128", "NO_PROXY": entries}
    assert N.no_proxy_matches(env, host) is exempt
    assert (N.proxy_for(env, host) is None) is exempt


def test_no_proxy_upper_case_wins_even_when_empty() -> None:
    env = {"HTTPS_PROXY": "http://127.0.0.1:3128", "NO_PROXY": "", "no_proxy": "openai.com"}
    assert not N.no_proxy_matches(env, HOST)
    del env["NO_PROXY"]
    assert N.no_proxy_matches(env, HOST)


# --- proxy URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://127.0.0.1:3128", N.ProxyUrl("http", "127.0.0.1", 3128)),
        ("127.0.0.1:3128", N.ProxyUrl("http", "127.0.0.1", 3128)),  # no scheme: http
        ("proxy.corp", N.ProxyUrl("http", "proxy.corp", 80)),
        ("https://proxy.corp/", N.ProxyUrl("https", "proxy.corp", 443)),
        ("socks5h://127.0.0.1", N.ProxyUrl("socks5h", "127.0.0.1", 1080)),
        ("SOCKS5://[::1]:1081", N.ProxyUrl("socks5", "::1", 1081)),
        ("http://user:p%40ss@proxy.corp:8080", N.ProxyUrl("http", "proxy.corp", 8080, True)),
        ("user@proxy.corp:8080", N.ProxyUrl("http", "proxy.corp", 8080, True)),
        ("", None),
        ("   ", None),
        ("ftp://proxy.corp:21", None),
        ("http://", None),
        ("http://proxy.corp:99999", N.ProxyUrl("http", "proxy.corp", 99999)),  # kept: Codex tries it and fails
        ("http://proxy.corp:port", None),
        ("http://[::1", None),
    ],
)
def test_parse_proxy(value: str, expected: N.ProxyUrl | None) -> None:
    assert N.parse_proxy(value) == expected


def test_display_never_shows_the_password() -> None:
    url = N.parse_proxy("http://alice:s3cret-pass@127.0.0.1:8080")
    assert url is not None
    assert url.display == f"http://{REDACTED}@127.0.0.1:8080"
    assert url.address == "127.0.0.1:8080"
    assert "s3cret" not in repr(url)
    six = N.parse_proxy("http://[::1]:3128")
    assert six is not None and six.address == "[::1]:3128"


def test_proxy_credentials_are_percent_decoded() -> None:
    assert N.proxy_credentials("http://alice:p%40ss%3A1@proxy:8080") == ("alice", "p@ss:1")
    assert N.proxy_credentials("http://alice@proxy:8080") == ("alice", None)
    assert N.proxy_credentials("http://proxy:8080") is None


# --- CA bundle ---------------------------------------------------------------------------


def test_codex_ca_certificate_wins_over_ssl_cert_file() -> None:
    env = {"CODEX_CA_CERTIFICATE": "/tmp/codex.pem", "SSL_CERT_FILE": "/tmp/fallback.pem"}
    assert N.ca_bundle(env) == ("CODEX_CA_CERTIFICATE", "/tmp/codex.pem")


def test_empty_ca_values_count_as_unset() -> None:
    """custom_ca.rs: ``non_empty_path`` -- an empty CODEX_CA_CERTIFICATE falls through to SSL_CERT_FILE."""
    assert N.ca_bundle({"CODEX_CA_CERTIFICATE": "", "SSL_CERT_FILE": "/tmp/fallback.pem"}) == ("SSL_CERT_FILE", "/tmp/fallback.pem")
    assert N.ca_bundle({"CODEX_CA_CERTIFICATE": "", "SSL_CERT_FILE": ""}) is None
    assert N.ca_bundle({}) is None


def test_native_roots_are_replaced_only_when_a_bundle_is_loaded() -> None:
    env = {"SSL_CERT_DIR": "/etc/ssl/certs", "CODEX_CA_CERTIFICATE": "/tmp/codex.pem"}
    assert N.native_roots(env) == (("SSL_CERT_DIR", "/etc/ssl/certs"),)
    env["SSL_CERT_FILE"] = "/gone.pem"  # replaces the roots even though CODEX_CA_CERTIFICATE wins
    assert N.native_roots(env) == (("SSL_CERT_FILE", "/gone.pem"), ("SSL_CERT_DIR", "/etc/ssl/certs"))
    assert N.native_roots({"SSL_CERT_DIR": "/nowhere"}) == ()  # alone it leaves sign-in alone
    assert N.native_roots({}) == ()


# --- the environment Codex runs with -----------------------------------------------------


def test_dotenv_overrides_the_shell_except_codex_keys() -> None:
    env = N.codex_env(
        {"HTTPS_PROXY": "http://127.0.0.1:1", "CODEX_CA_CERTIFICATE": "/a.pem"},
        [("HTTPS_PROXY", "http://127.0.0.1:2"), ("CODEX_CA_CERTIFICATE", "/b.pem")],
    )
    assert env["HTTPS_PROXY"] == "http://127.0.0.1:2"
    assert env["CODEX_CA_CERTIFICATE"] == "/a.pem"


def test_codex_hosts() -> None:
    assert N.CODEX_HOSTS == ("auth.openai.com", "chatgpt.com", "api.openai.com")
