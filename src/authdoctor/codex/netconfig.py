"""How Codex picks its proxy and its trusted CA certificates, from the environment it runs with.

Checked against the sources (the Rust client Codex builds every HTTPS request with):

* ``codex-rs/codex-client/Cargo.toml`` (openai/codex): reqwest 0.12 with
  ``rustls-tls-native-roots``; reqwest 0.12 ``src/proxy.rs`` builds its default
  proxy from hyper-util's ``proxy::matcher::Matcher::from_system()``.
* hyper-util ``src/client/proxy/matcher.rs`` (``Builder::from_env``,
  ``get_first_env``, ``build``, ``parse_env_uri``, ``NoProxy::from_string``,
  ``NoProxy::contains``, ``DomainMatcher::contains``):

  - each setting takes the first variable of its pair that is *set*, even to an
    empty value: ``HTTPS_PROXY`` then ``https_proxy``, ``HTTP_PROXY`` then
    ``http_proxy``, ``ALL_PROXY`` then ``all_proxy``, ``NO_PROXY`` then
    ``no_proxy``.  An empty ``HTTPS_PROXY`` therefore hides ``https_proxy``;
  - the value must parse as a URI with an authority and a scheme of ``http``,
    ``https``, ``socks4``, ``socks4a``, ``socks5`` or ``socks5h`` (no scheme
    means ``http``); one that does not (empty, blank, ``ftp://…``, spaces) is
    ignored and ``ALL_PROXY`` is used instead: ``https = parse(HTTPS) or parse(ALL)``;
  - ``user:password@`` in the URL becomes ``Proxy-Authorization: Basic`` (HTTP
    proxies) or the SOCKS user name and password;
  - when ``REQUEST_METHOD`` is set (a CGI script) no proxy variable is used at all;
  - ``NO_PROXY``: comma-separated, entries trimmed.  An entry that parses as an
    IP address or CIDR block matches only hosts that are IP addresses; any other
    entry is a domain that matches itself and its subdomains, case-insensitively,
    with or without a leading dot; ``*`` matches every host *name* (not an IP
    address); ``*.example.com`` matches nothing.

  curl and many other tools read the *lower-case* variables first, which is why
  upper- and lower-case variants that disagree make Codex fail where curl works
  (FM-08, openai/codex#13811).  The system proxy setting (macOS, Windows) is not
  used by default: ``codex doctor`` 0.169.0 reports "respect system proxy:
  disabled" behind its ``system_proxy_fallback`` feature; this module models the
  environment only.

* ``codex-rs/codex-client/src/custom_ca.rs`` (openai/codex): the CA bundle is
  ``CODEX_CA_CERTIFICATE``, else ``SSL_CERT_FILE``; empty values count as unset
  (no trimming).  Every certificate in it is *added* to the client's roots with
  ``add_root_certificate``; an unreadable file, or one without a certificate,
  makes Codex refuse to build the client ("Failed to read CA certificate file …
  selected by SSL_CERT_FILE", FM-13).
* rustls-native-certs ``src/lib.rs`` (the native roots behind
  ``rustls-tls-native-roots``): when ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` is set,
  roots come *only* from there instead of the platform store.  Observed with the
  real 0.169.0 binary (see :mod:`authdoctor.collect.network`): a set
  ``SSL_CERT_FILE`` replaces the system's roots whenever a bundle is loaded --
  also when ``CODEX_CA_CERTIFICATE`` wins and ``SSL_CERT_FILE`` names a missing
  file -- and a set ``SSL_CERT_DIR`` does so only once a bundle is loaded
  (alone it leaves sign-in alone).  That is how a stale ``SSL_CERT_FILE``
  breaks TLS even behind ``CODEX_CA_CERTIFICATE``.

Two behaviours of the 0.169.0 binary the sources above do not show (observed
with ``codex doctor``, a local listener recording what each client sent):

* its HTTP client (sign-in, token refresh, chatgpt.com) is built without SOCKS
  support and sends an HTTP ``CONNECT`` even to a ``socks5h://`` proxy; only the
  Responses WebSocket to api.openai.com speaks SOCKS5.  A SOCKS-only proxy
  (``ssh -D``, Tor) therefore breaks sign-in;
* a proxy port out of range (``:99999``) is not ignored: the requests fail.

Codex loads ``$CODEX_HOME/.env`` into its own environment before any of this
(keys starting with ``CODEX_`` excepted), so a proxy there overrides the shell's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.codex import knowledge as K

if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

# Hosts Codex's auth and model traffic goes to (ChatGPT login and the API).
AUTH_HOST = "auth.openai.com"
CHATGPT_HOST = K.CHATGPT_BACKEND_HOST
API_HOST = K.API_HOST
CODEX_HOSTS = (AUTH_HOST, CHATGPT_HOST, API_HOST)

# Variable pairs in the order Codex reads them: the first one set wins.
HTTPS_PAIR = ("HTTPS_PROXY", "https_proxy")
HTTP_PAIR = ("HTTP_PROXY", "http_proxy")
ALL_PAIR = ("ALL_PROXY", "all_proxy")
NO_PAIR = ("NO_PROXY", "no_proxy")
PAIRS = (HTTPS_PAIR, HTTP_PAIR, ALL_PAIR, NO_PAIR)

CA_ORDER = ("CODEX_CA_CERTIFICATE", "SSL_CERT_FILE")
# Variables that make the native roots come from a file or folder instead of the platform store.
NATIVE_ROOT_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR")

PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SOCKS_PORT = 1080


class ProxyChoice(NamedTuple):
    """The proxy Codex would use for one request: which variable named it, and its value (may hold a password)."""

    name: str
    url: str


class ProxyUrl(NamedTuple):
    """A proxy URL as Codex reads it, without its user name and password (safe to show)."""

    scheme: str
    host: str
    port: int
    has_userinfo: bool = False

    @property
    def address(self) -> str:
        """``host:port`` (IPv6 in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def display(self) -> str:
        """The URL with any user name and password replaced: ``http://<redacted>@127.0.0.1:8080``."""
        from authdoctor.secret import REDACTED

        auth = f"{REDACTED}@" if self.has_userinfo else ""
        return f"{self.scheme}://{auth}{self.address}"


def codex_env(env: Mapping[str, str], dotenv: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """The environment Codex runs with: ``env`` plus the ``$CODEX_HOME/.env`` entries it exports."""
    merged = dict(env)
    for key, value in dotenv:
        if K.dotenv_key_applies(key):
            merged[key] = value
    return merged


def first_set(env: Mapping[str, str], pair: tuple[str, ...]) -> str | None:
    """The name of the first variable of ``pair`` that is set (even to an empty value)."""
    return next((name for name in pair if name in env), None)


def proxy_for(env: Mapping[str, str], host: str, scheme: str = "https") -> ProxyChoice | None:
    """The proxy Codex would use to reach ``scheme://host``; None when it connects directly."""
    if "REQUEST_METHOD" in env:
        return None  # CGI: hyper-util builds a matcher without any proxy (httpoxy)
    if no_proxy_matches(env, host):
        return None
    pairs = (HTTPS_PAIR, ALL_PAIR) if scheme == "https" else (HTTP_PAIR, ALL_PAIR)
    for pair in pairs:
        name = first_set(env, pair)
        # An unusable value (empty, not a URL, another scheme) is skipped for ALL_PROXY, never for the other case.
        if name is not None and parse_proxy(env[name]) is not None:
            return ProxyChoice(name, env[name])
    return None


def parse_proxy(value: str) -> ProxyUrl | None:
    """A proxy variable's value as Codex reads it; None when Codex would ignore it.

    Mirrors hyper-util ``parse_env_uri``: an ``http::Uri`` with an authority; no
    scheme means ``http``; only HTTP(S) and SOCKS schemes are used.
    """
    if not value or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return None
    scheme, authority = _scheme_authority(value)
    if scheme not in PROXY_SCHEMES:
        return None
    _, at, host_port = authority.rpartition("@")
    parsed = split_host_port(host_port)
    if parsed is None:
        return None
    host, port = parsed
    return ProxyUrl(scheme, host, port or _DEFAULT_PORTS.get(scheme, _SOCKS_PORT), bool(at))


def proxy_credentials(value: str) -> tuple[str, str | None] | None:
    """The (percent-decoded) user name and password in a proxy URL, for the proxy handshake only.

    Never store or print the result: it is the proxy's password.
    """
    from urllib.parse import unquote

    userinfo, at, _ = _scheme_authority(value)[1].rpartition("@")
    if not at:
        return None
    user, colon, password = userinfo.partition(":")
    return unquote(user), (unquote(password) if colon else None)


def _scheme_authority(value: str) -> tuple[str, str]:
    """``(scheme, authority)`` of a URL; no scheme means ``http``."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "http", value
    for stop in "/?#":
        rest = rest.split(stop, 1)[0]
    return scheme.lower(), rest


def split_host_port(host_port: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``host``, ``host:port`` or ``[v6]:port``, port 0 when absent; None when malformed.

    The port is not checked against 65535: callers that connect must (Codex keeps such a proxy and fails).
    """
    if host_port.startswith("["):
        host, bracket, tail = host_port[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            return None
        raw = tail[1:]
    else:
        host, _, raw = host_port.partition(":")
    if not host:
        return None
    if not raw:
        return host, 0
    if not raw.isdigit():
        return None
    return host, int(raw)  # an out-of-range port is kept: Codex tries it, and fails


def no_proxy_matches(env: Mapping[str, str], host: str) -> bool:
    """Whether ``NO_PROXY``/``no_proxy`` (the first one set) exempts ``host`` from the proxy."""
    name = first_set(env, NO_PAIR)
    if name is None:
        return False
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    address = _ip(host)
    for raw in env[name].split(","):
        entry = raw.strip()
        if not entry:
            continue
        network = _ip_network(entry)
        if network is not None:
            if address is not None and address.version == network.version and address in network:
                return True
            continue
        if address is not None:
            continue  # an IP address is only compared with IP entries, even "*"
        if entry == "*" or _domain_matches(entry.lower(), host.lower()):
            return True
    return False


def _domain_matches(entry: str, host: str) -> bool:
    if host in (entry, entry.removeprefix(".")):
        return True
    if host.endswith(entry):
        # ".example.com" matches any subdomain; "example.com" only across a dot.
        return entry.startswith(".") or host[-len(entry) - 1 : -len(entry)] == "."
    return False


def _ip(host: str) -> IPv4Address | IPv6Address | None:
    if not host or not (host[0].isdigit() or ":" in host):
        return None
    import ipaddress

    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _ip_network(entry: str) -> IPv4Network | IPv6Network | None:
    if not (entry[0].isdigit() or ":" in entry):
        return None
    import ipaddress

    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def ca_bundle(env: Mapping[str, str]) -> tuple[str, str] | None:
    """``(variable, path)`` of the CA bundle Codex adds to its trusted roots, if one is named."""
    for name in CA_ORDER:
        value = env.get(name)
        if value:
            return name, value
    return None


def native_roots(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """``(variable, path)`` for each of ``SSL_CERT_FILE``/``SSL_CERT_DIR`` that replaces the platform's roots.

    Only when Codex loads a bundle (:func:`ca_bundle`): then rustls-native-certs reads them instead of the
    platform store; without a bundle, ``SSL_CERT_DIR`` alone changes nothing for sign-in (observed).
    """
    if ca_bundle(env) is None:
        return ()
    return tuple((name, env[name]) for name in NATIVE_ROOT_VARS if name in env)
