"""not-logged-in: no usable credential anywhere."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "not-logged-in"


def keyring_unknown(f: Facts) -> bool:
    """The keyring works but could not tell whether Codex has an entry without prompting."""
    ring = f.ev.keyring
    return f.ev.config.store_mode in (K.STORE_KEYRING, K.STORE_AUTO) and ring.probed and ring.usable and ring.entry is None


def _windows_login(f: Facts) -> str:
    """In WSL, a login of Codex on Windows is no login here (FM-03)."""
    wsl = f.ev.network.wsl if f.ev.network is not None else None
    if wsl is None or wsl.windows_auth is None:
        return ""
    return (
        f" WSL keeps its own login; Codex on Windows is logged in at {wsl.windows_auth.parent} — run `codex login` here rather than "
        "copying that file: copies of one refresh token break each other, because each refresh uses the token up."
    )


def check(f: Facts) -> Iterable[Finding]:
    # CODEX_API_KEY alone is enough for `codex exec`; api-key-env-overrides-login
    # tells the rest of that story.
    if f.res.interactive.present or f.res.exec.present:
        return []
    if keyring_unknown(f):
        # A login may well sit in the keyring: saying "not logged in" would be a guess.
        return []
    ev = f.ev
    reasons: list[str] = []
    fix = (
        "Run `codex login` (`codex login --device-auth` over SSH), "
        "or `printenv OPENAI_API_KEY | codex login --with-api-key` to use an API key."
    )
    commands: tuple[str, ...] = ("codex login",)
    if ev.codex_home.problem:
        reasons.append("CODEX_HOME is broken (see codex-home-override)")
        fix = "Fix CODEX_HOME first (see codex-home-override), then run `codex login`."
    elif ev.config.store_mode == K.STORE_EPHEMERAL:
        reasons.append('cli_auth_credentials_store = "ephemeral" keeps logins in memory only, so none survives the process')
        fix = (
            f'Unless an app manages your login for you, set cli_auth_credentials_store = "file" (or "auto") in {ev.config.path}, '
            "then run `codex login`."
        )
    elif ev.config.store_mode == K.STORE_KEYRING:
        if ev.keyring.probed and not ev.keyring.usable:
            reasons.append('cli_auth_credentials_store = "keyring", but no keyring is available (see keyring-unavailable)')
            fix = f'Set cli_auth_credentials_store = "auto" or "file" in {ev.config.path}, then run `codex login`.'
        else:
            reasons.append('cli_auth_credentials_store = "keyring" and no Codex entry was found in the keyring')
    elif ev.auth_file.exists:
        reasons.append(f"{ev.auth_file.path} exists but Codex cannot read it (see auth-file-unreadable)")
    else:
        keyring = " and the keyring holds no Codex entry" if ev.config.store_mode == K.STORE_AUTO and ev.keyring.entry is False else ""
        reasons.append(f"there is no {ev.auth_file.path}{keyring}")
    if ev.env.get(K.CODEX_ACCESS_TOKEN) is not None and ev.var(K.CODEX_ACCESS_TOKEN) is None:
        reasons.append("CODEX_ACCESS_TOKEN is set but blank, which Codex treats as unset")
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title="Codex is not logged in",
            detail=f"No credential Codex would use was found: {'; '.join(reasons)}.{_windows_login(f)}",
            fix=Fix(summary=fix, commands=commands),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.res.interactive.present or f.res.exec.present or not keyring_unknown(f)


RULE = Rule(ID, check, "Codex has a credential to use", _applies)
