"""base-url-override: OPENAI_BASE_URL or openai_base_url redirects Codex's requests."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, env_origins, from_dotenv, kind_words

ID = "base-url-override"

_CHATGPT_TOKENS = frozenset({"chatgpt", "chatgpt-host-managed", "agent-identity", "personal-access-token"})

# The built-in `openai` provider's own default for each family of credential
# (ModelProviderInfo::to_api_provider).  Setting the override to exactly this
# value changes nothing.
_API_DEFAULT = "https://api.openai.com/v1"
_CHATGPT_DEFAULT = "https://chatgpt.com/backend-api/codex"


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def _normal(url: str) -> str:
    return url.strip().rstrip("/").lower()


def _shown(url: str) -> str:
    """The URL without user:password or query string, which can carry secrets."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable URL>"
    if not parts.scheme or not host:
        return "<URL without a host>"
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check(f: Facts) -> Iterable[Finding]:
    config = f.ev.config
    if config.model_provider and config.model_provider != "openai":
        # Both settings only change the built-in `openai` provider; another
        # provider brings its own base_url.
        return []
    env = f.ev.var(K.OPENAI_BASE_URL)
    settings: list[tuple[str, Origin]] = []
    if config.openai_base_url:
        settings.append(
            (
                config.openai_base_url,
                Origin(context="config", text=f'openai_base_url = "{_shown(config.openai_base_url)}"', path=str(config.path)),
            )
        )
    if env is not None and not K.OPENAI_BASE_URL_HONOURED:
        if not settings:
            return [_ignored_env(f)]
        env = None  # config.toml decides; the variable changes nothing
    if env is not None:
        settings.append((env.value.reveal(), env_origins(f, K.OPENAI_BASE_URL)[0]))
    if not settings:
        return []
    url = settings[0][0]  # config.toml wins over the environment variable
    cred = f.res.interactive
    chatgpt = cred.kind in _CHATGPT_TOKENS
    if (cred.kind == "api-key" and _normal(url) == _API_DEFAULT) or (chatgpt and _normal(url) == _CHATGPT_DEFAULT):
        return []
    host = _host(url)
    names = " and ".join("openai_base_url in config.toml" if o.context == "config" else "OPENAI_BASE_URL" for _, o in settings)
    if chatgpt and host == K.API_HOST:
        detail = (
            f"{names} sends Codex's requests to {K.API_HOST}, the API-key endpoint, while Codex signs them with your "
            f"{kind_words(cred.kind)} credential, which only chatgpt.com accepts. Every request fails with "
            '`401 … Missing scopes: api.responses.write` or `{"detail":"Unauthorized"}`.'
        )
        severity = Severity.ERROR
    else:
        where = f"to {host}" if host else "to a URL without a host name"
        detail = (
            f"{names} sends Codex's model requests {where} instead of the default endpoint. That is right for a proxy or "
            "relay you run on purpose; a leftover value silently sends your credential elsewhere and breaks sign-in."
        )
        severity = Severity.WARNING
    if env is not None and config.openai_base_url:
        detail += " openai_base_url in config.toml takes precedence over the environment variable."
    steps: list[str] = []
    commands: list[str] = []
    if config.openai_base_url:
        steps.append(f"remove openai_base_url from {config.path}")
    if env is not None and from_dotenv(f.ev, K.OPENAI_BASE_URL):
        steps.append(f"delete line {env.line} (OPENAI_BASE_URL=…) from {f.ev.dotenv.path}")
    elif env is not None:
        steps.append("run `unset OPENAI_BASE_URL` and delete the line that sets it from your shell start-up files")
        commands.append(f"unset {K.OPENAI_BASE_URL}")
    if severity is Severity.WARNING:
        summary = "Unless you use a proxy on purpose, " + ", and ".join(steps) + ", then restart Codex."
    else:
        summary = (
            ", and ".join(steps) + ", then restart Codex. If you meant to use the API, "
            "sign in with an API key instead (`printenv OPENAI_API_KEY | codex login --with-api-key`)."
        )
    return [
        Finding(
            id=ID,
            severity=severity,
            title="A base URL override redirects Codex's requests",
            detail=detail,
            origins=tuple(o for _, o in settings),
            fix=Fix(summary=summary[0].upper() + summary[1:], commands=tuple(commands)),
        )
    ]


def _ignored_env(f: Facts) -> Finding:
    """OPENAI_BASE_URL alone: Codex 0.169.0 ignores it, but it still misleads."""
    step = (
        f"delete line {f.ev.env[K.OPENAI_BASE_URL].line} from {f.ev.dotenv.path}"
        if from_dotenv(f.ev, K.OPENAI_BASE_URL)
        else "unset it and remove it from your shell start-up files"
    )
    return Finding(
        id=ID,
        severity=Severity.INFO,
        title="OPENAI_BASE_URL is set, but this Codex ignores it",
        detail=(
            f"Codex {K.CHECKED_AGAINST} no longer reads OPENAI_BASE_URL (it was removed in 2026), so it changes nothing "
            "for Codex now. Older Codex versions and other OpenAI tools still send your credential to that URL, and a "
            "ChatGPT login sent to the API endpoint fails with `401 … Missing scopes`."
        ),
        origins=env_origins(f, K.OPENAI_BASE_URL),
        fix=Fix(
            summary=f"If you relied on it for a proxy, set openai_base_url in {f.ev.config.path} instead; otherwise {step}.",
            commands=() if from_dotenv(f.ev, K.OPENAI_BASE_URL) else (f"unset {K.OPENAI_BASE_URL}",),
        ),
    )


RULE = Rule(ID, check, "no base URL override redirects Codex")
