"""How Codex picks its proxy and its trusted CA bundle, from the environment it runs with.

Codex (Rust, reqwest 0.12 over hyper-util) reads the proxy from the
environment with these rules (hyper-util ``proxy::matcher::Builder::from_env``):

* each scheme takes the first of its upper-case and lower-case variable that is
  set: ``HTTPS_PROXY`` then ``https_proxy``, ``HTTP_PROXY`` then ``http_proxy``
  (ignored in a CGI context, when ``REQUEST_METHOD`` is set), ``ALL_PROXY``
  then ``all_proxy`` as the fallback for both;
* ``NO_PROXY`` then ``no_proxy``: comma-separated; ``*`` disables the proxy;
  a domain (with or without a leading dot) matches itself and its subdomains;
  an IP address or CIDR block matches addresses.

curl and many other tools read the *lower-case* variables first, which is why
upper- and lower-case variants that disagree make Codex fail where curl works
(FM-08, openai/codex#13811).

Codex loads ``$CODEX_HOME/.env`` into its own environment before any of this,
so a proxy there overrides the shell's.

Trust: ``CODEX_CA_CERTIFICATE`` names a PEM bundle that replaces the trust
store; without it ``SSL_CERT_FILE`` does the same (FM-13).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from authdoctor.codex import knowledge as K

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


class ProxyChoice(NamedTuple):
    """The proxy Codex would use for one request: which variable named it, and its value (may hold a password)."""

    name: str
    url: str


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
    if no_proxy_matches(env, host):
        return None
    pairs: tuple[tuple[str, ...], ...] = (HTTPS_PAIR, ALL_PAIR) if scheme == "https" else (HTTP_PAIR, ALL_PAIR)
    for pair in pairs:
        if pair is HTTP_PAIR and "REQUEST_METHOD" in env:
            continue  # CGI: HTTP_PROXY may come from a request header (httpoxy)
        name = first_set(env, pair)
        if name is not None and env[name].strip():
            return ProxyChoice(name, env[name].strip())
    return None


def no_proxy_matches(env: Mapping[str, str], host: str) -> bool:
    """Whether ``NO_PROXY``/``no_proxy`` (the first one set) exempts ``host`` from the proxy."""
    name = first_set(env, NO_PAIR)
    if name is None:
        return False
    host = host.lower().rstrip(".")
    for raw in env[name].split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if _ip_entry_matches(entry, host):
            return True
        domain = entry.lstrip(".").rstrip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def _ip_entry_matches(entry: str, host: str) -> bool:
    if not (entry[:1].isdigit() or ":" in entry):
        return False
    import ipaddress

    try:
        net = ipaddress.ip_network(entry, strict=False)
        return ipaddress.ip_address(host) in net
    except ValueError:
        return False


def ca_bundle(env: Mapping[str, str]) -> tuple[str, str] | None:
    """``(variable, path)`` of the CA bundle that replaces Codex's trust store, if one is named."""
    for name in CA_ORDER:
        value = env.get(name)
        if value:
            return name, value
    return None
