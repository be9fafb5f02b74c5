"""login-method-mismatch: forced_login_method contradicts the credential Codex would load."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, kind_words, source_words

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
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title=f'forced_login_method = "{forced}" rejects your {kind_words(cred.kind)} credential',
            detail=(
                f"{f.ev.config.path} requires {want}, but Codex would use the {kind_words(cred.kind)} credential from "
                f'{source_words(cred)}. At start-up Codex prints "{message}" and deletes the stored login, '
                "so signing in the other way loops."
            ),
            origins=(Origin(context="config", text=f'forced_login_method = "{forced}"', path=str(f.ev.config.path)),),
            fix=Fix(
                summary=f"Sign in with {want} (`codex login{'' if forced == 'chatgpt' else ' --with-api-key'}`), or remove "
                f"forced_login_method from {f.ev.config.path} if it was not set by your administrator."
            ),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.ev.config.forced_login_method is not None


RULE = Rule(ID, check, "the credential matches forced_login_method", _applies)
