"""login-method-mismatch: forced_login_method contradicts the credential Codex would load."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, env_origin, kind_words, remove_hint, source_words

ID = "login-method-mismatch"

_CHATGPT_FAMILY = frozenset({"chatgpt", "chatgpt-host-managed", "agent-identity", "personal-access-token"})
_API_FAMILY = frozenset({"api-key", "bedrock-api-key"})


def check(f: Facts) -> Iterable[Finding]:
    forced = f.ev.config.forced_login_method
    # Codex enforces the restriction at start-up with CODEX_API_KEY enabled,
    # so the credential that counts is the one `codex exec` would use.
    cred = f.res.exec
    if forced is None or not cred.present:
        return []
    if forced == "chatgpt" and cred.kind in _API_FAMILY:
        message = "ChatGPT login is required, but an API key is currently being used. Logging out."
        want = "a ChatGPT login"
    elif forced == "api" and cred.kind in _CHATGPT_FAMILY:
        message = "API key login is required, but ChatGPT is currently being used. Logging out."
        want = "an API key"
    else:
        return []
    config = f.ev.config
    origins = [Origin(context="config", text=f'forced_login_method = "{forced}"', path=str(config.path))]
    login_cmd = "codex login" if forced == "chatgpt" else "printenv OPENAI_API_KEY | codex login --with-api-key"
    if cred.source.startswith("env:"):
        var = cred.source[len("env:") :]
        origins.append(env_origin(f.ev, var))
        consequence = (
            f"It then deletes whatever login is stored, and because {var} lives in your environment, "
            "signing in again loops back to the same message."
        )
        summary = (
            f"{remove_hint(f.ev, var)}. Then sign in with {want} (`{login_cmd}`) if Codex logged you out. "
            f"Leave forced_login_method alone if your administrator set it."
        )
    else:
        consequence = "It then deletes the stored login, so Codex keeps asking you to sign in."
        summary = (
            f"Sign in with {want} (`{login_cmd}`), or remove forced_login_method from {config.path} "
            "if it was not set by your administrator."
        )
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title=f'forced_login_method = "{forced}" rejects your {kind_words(cred.kind)} credential',
            detail=(
                f"{config.path} requires {want}, but Codex would use the {kind_words(cred.kind)} credential from "
                f'{source_words(cred)}. At start-up Codex prints "{message}" {consequence}'
            ),
            origins=tuple(origins),
            fix=Fix(summary=summary),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.ev.config.forced_login_method is not None


RULE = Rule(ID, check, "the credential matches forced_login_method", _applies)
