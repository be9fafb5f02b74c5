"""base-url-override: OPENAI_BASE_URL or openai_base_url redirects Codex's requests."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, env_origin, kind_words

ID = "base-url-override"

_CHATGPT_TOKENS = frozenset({"chatgpt", "chatgpt-host-managed", "agent-identity", "personal-access-token"})


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def check(f: Facts) -> Iterable[Finding]:
    config = f.ev.config
    env = f.ev.var(K.OPENAI_BASE_URL)
    settings: list[tuple[str, Origin]] = []
    if config.openai_base_url:
        settings.append(
            (config.openai_base_url, Origin(context="config", text=f'openai_base_url = "{config.openai_base_url}"', path=str(config.path)))
        )
    if env is not None:
        settings.append((env.value.reveal(), env_origin(f.ev, K.OPENAI_BASE_URL)))
    if not settings:
        return []
    url = settings[0][0]
    cred = f.res.interactive
    chatgpt_to_api = cred.kind in _CHATGPT_TOKENS and _host(url) == K.API_HOST
    names = " and ".join("openai_base_url" if o.context == "config" else "OPENAI_BASE_URL" for _, o in settings)
    if chatgpt_to_api:
        detail = (
            f"{names} sends Codex's requests to {K.API_HOST}, the API-key endpoint, while Codex authenticates with "
            f"{kind_words(cred.kind)} tokens, which only chatgpt.com accepts. Every request fails with "
            '`401 … Missing scopes: api.responses.write` or `{"detail":"Unauthorized"}`.'
        )
        severity = Severity.ERROR
    else:
        detail = (
            f"{names} redirects Codex's model requests away from the default endpoint. That is right for a proxy or "
            "relay you run on purpose; a leftover value silently sends your credential elsewhere and breaks sign-in."
        )
        severity = Severity.WARNING
    if env is not None and config.openai_base_url:
        detail += " openai_base_url in config.toml takes precedence over the environment variable."
    return [
        Finding(
            id=ID,
            severity=severity,
            title="A base URL override redirects Codex's requests",
            detail=detail,
            origins=tuple(o for _, o in settings),
            fix=Fix(
                summary="Unless you use a proxy on purpose, unset OPENAI_BASE_URL and remove openai_base_url from config.toml.",
                commands=(f"unset {K.OPENAI_BASE_URL}",) if env else (),
            ),
        )
    ]


RULE = Rule(ID, check, "no base URL override redirects Codex")
