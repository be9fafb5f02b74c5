"""login-method-mismatch: forced_login_method contradicts the credential Codex would load."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.precedence import Credential
from authdoctor.diagnose.rules.base import Facts, Rule, env_origins, kind_words, remove_hint, source_words

ID = "login-method-mismatch"


def _offender(f: Facts) -> Credential | None:
    """The credential forced_login_method turns away, most consequential first."""
    forced = f.ev.config.forced_login_method
    by_method = [b.credential for b in f.res.blocked if b.by == "forced_login_method"]
    # A stored login it hides: `codex login status` says "Not logged in" and
    # interactive start-up logs out.
    for cred in by_method:
        if cred.source != f"env:{K.CODEX_ACCESS_TOKEN}" and not f.res.interactive.present:
            return cred
    # Start-up enforcement loads with CODEX_API_KEY enabled.
    if forced == "chatgpt" and f.res.exec.present and f.res.exec.kind in K.API_FAMILY:
        return f.res.exec
    # A CODEX_ACCESS_TOKEN that "api" makes Codex skip only matters when
    # nothing else lets Codex in.
    if by_method and not f.res.interactive.present:
        return by_method[0]
    return None


def check(f: Facts) -> Iterable[Finding]:
    forced = f.ev.config.forced_login_method
    cred = _offender(f)
    if forced is None or cred is None:
        return []
    if forced == "chatgpt" and cred.kind in K.API_FAMILY:
        message = "ChatGPT login is required, but an API key is currently being used. Logging out."
        want = "a ChatGPT login"
    elif forced == "api" and cred.kind in K.CHATGPT_FAMILY | {"invalid"}:
        message = "API key login is required, but ChatGPT is currently being used. Logging out."
        want = "an API key"
    else:
        return []
    config = f.ev.config
    origins = [Origin(context="config", text=f'forced_login_method = "{forced}"', path=str(config.path))]
    login_cmd = "codex login" if forced == "chatgpt" else "printenv OPENAI_API_KEY | codex login --with-api-key"
    if cred.source == f"env:{K.CODEX_ACCESS_TOKEN}":
        origins.extend(env_origins(f, K.CODEX_ACCESS_TOKEN))
        message = "Not logged in"
        consequence = 'because with forced_login_method = "api" Codex skips CODEX_ACCESS_TOKEN entirely, and nothing else is stored.'
        hint = remove_hint(f, K.CODEX_ACCESS_TOKEN)
        summary = f"Sign in with an API key (`{login_cmd}`), or {hint[0].lower()}{hint[1:]}."
    elif cred.source.startswith("env:"):
        var = cred.source[len("env:") :]
        origins.extend(env_origins(f, var))
        consequence = (
            f"It then deletes whatever login is stored, and because {var} lives in your environment, "
            "signing in again loops back to the same message."
        )
        summary = (
            f"{remove_hint(f, var)}. Then sign in with {want} (`{login_cmd}`) if Codex logged you out. "
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
                f'{source_words(cred)}. `codex login status` says "Not logged in", and at start-up Codex prints "{message}" {consequence}'
                if message != "Not logged in"
                else f'{config.path} requires {want}, so `codex login status` says "Not logged in" {consequence}'
            ),
            origins=tuple(origins),
            fix=Fix(summary=summary),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.ev.config.forced_login_method is not None


RULE = Rule(ID, check, "the credential matches forced_login_method", _applies)
