"""Which credential Codex really uses, and which ones it shadows.

This mirrors ``load_auth`` in codex-rs/login (checked against Codex
0.169.0 by the oracle tests in tests/oracle):

1. ``CODEX_API_KEY`` -- only where Codex enables it (``codex exec``, review,
   the SDK, ``codex doctor``); interactive ``codex`` and ``codex login status``
   ignore it.
2. ``CODEX_ACCESS_TOKEN`` -- ``at-…`` personal access token or agent identity JWT.
3. ``cli_auth_credentials_store = "ephemeral"`` -- nothing persistent is read.
4. The persistent store: ``auth.json`` (file), the OS keyring (keyring), or the
   keyring then the file (auto).

The host-managed ephemeral store of the desktop app lives in that app's memory
and cannot be seen from outside.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from authdoctor.codex import knowledge as K
from authdoctor.codex.tokens import TokenKind, classify_access_token
from authdoctor.collect.evidence import AuthFileEvidence, Evidence, StoredLogin
from authdoctor.secret import Secret, fingerprint

INTERACTIVE = "codex"
EXEC = "codex exec"


@dataclass(frozen=True)
class Credential:
    """One credential Codex could use.  Holds a fingerprint, never the value."""

    source: str  # env:CODEX_API_KEY | env:CODEX_ACCESS_TOKEN | file:<path> | keyring | none
    kind: str
    fingerprint: str | None = None
    expires_at: datetime | None = None
    issued_at: datetime | None = None
    email: str | None = None
    plan: str | None = None
    account_id: str | None = None
    last_refresh: datetime | None = None
    problem: str | None = None
    used_by: tuple[str, ...] = ()
    note: str | None = None

    @property
    def present(self) -> bool:
        return self.source != "none"


NONE = Credential(source="none", kind="none")


@dataclass(frozen=True)
class Resolution:
    interactive: Credential
    exec: Credential
    stored: Credential | None
    shadowed: tuple[Credential, ...]

    @property
    def winner(self) -> Credential:
        return self.interactive


_KIND_BY_MODE = {
    K.MODE_APIKEY: TokenKind.API_KEY,
    K.MODE_CHATGPT: TokenKind.CHATGPT,
    K.MODE_CHATGPT_HOST: TokenKind.CHATGPT_HOST_MANAGED,
    K.MODE_AGENT_IDENTITY: TokenKind.AGENT_IDENTITY,
    K.MODE_PAT: TokenKind.PERSONAL_ACCESS_TOKEN,
    K.MODE_BEDROCK: TokenKind.BEDROCK_API_KEY,
}


def stored_credential(source: str, login: StoredLogin) -> Credential:
    """Describe a stored login.  A ChatGPT login is named by its refresh-token chain."""
    kind = _KIND_BY_MODE.get(login.resolved_mode, TokenKind.UNKNOWN).value
    secret: Secret | None
    expires_at = issued_at = None
    email = plan = None
    account_id = login.account_id
    if login.resolved_mode in (K.MODE_CHATGPT, K.MODE_CHATGPT_HOST):
        secret = login.refresh_token if login.refresh_token else login.access_token
        if login.access_claims:
            expires_at, issued_at = login.access_claims.expires_at, login.access_claims.issued_at
        claims = login.id_claims
        email = claims.email if claims else None
        plan = (claims.plan if claims else None) or (login.access_claims.plan if login.access_claims else None)
    elif login.resolved_mode == K.MODE_APIKEY:
        secret = login.api_key
    elif login.resolved_mode == K.MODE_AGENT_IDENTITY:
        secret = login.agent_identity
        if login.agent_claims:
            c = login.agent_claims
            expires_at, issued_at, email, plan = c.expires_at, c.issued_at, c.email, c.plan
            account_id = account_id or c.account_id
    elif login.resolved_mode == K.MODE_PAT:
        secret = login.personal_access_token
    else:
        secret = login.bedrock_api_key
    problem = "incomplete: " + "; ".join(login.incomplete) if login.incomplete else None
    return Credential(
        source=source,
        kind=kind,
        fingerprint=secret.fingerprint if secret else None,
        expires_at=expires_at,
        issued_at=issued_at,
        email=email,
        plan=plan,
        account_id=account_id,
        last_refresh=login.last_refresh,
        problem=problem,
    )


def access_token_credential(value: Secret) -> Credential:
    shape = classify_access_token(value.reveal())
    c = shape.claims
    return Credential(
        source=f"env:{K.CODEX_ACCESS_TOKEN}",
        kind=shape.kind.value if shape.kind is not TokenKind.UNKNOWN else "invalid",
        fingerprint=fingerprint(value.reveal().strip()),
        expires_at=c.expires_at if c else None,
        issued_at=c.issued_at if c else None,
        email=c.email if c else None,
        plan=c.plan if c else None,
        account_id=c.account_id if c else None,
        problem=shape.problem,
    )


def _file_credential(auth: AuthFileEvidence) -> Credential | None:
    if not auth.exists:
        return None
    if auth.login is None:
        reason = auth.problem.message if auth.problem else "unreadable"
        return Credential(source=f"file:{auth.path}", kind="unreadable", problem=reason)
    return stored_credential(f"file:{auth.path}", auth.login)


def _keyring_credential(ev: Evidence) -> Credential | None:
    if ev.keyring.entry:
        return Credential(
            source="keyring",
            kind="unknown",
            note=f"an entry exists under service {K.KEYRING_SERVICE!r}, account {ev.keyring.account!r}; authdoctor does not read it",
        )
    return None


def _persistent(ev: Evidence) -> tuple[Credential | None, list[Credential]]:
    """The stored credential Codex loads, plus stored ones it does not consult."""
    mode = ev.config.store_mode
    file_cred = _file_credential(ev.auth_file)
    if mode == K.STORE_FILE:
        return file_cred, []
    keyring_cred = _keyring_credential(ev)
    ignored_file = [replace(file_cred, note=f"not read: cli_auth_credentials_store = {mode!r}")] if file_cred else []
    if mode == K.STORE_KEYRING:
        return keyring_cred, ignored_file
    if mode == K.STORE_AUTO:
        if keyring_cred is not None:
            return keyring_cred, [replace(file_cred, note="not read while the keyring holds a login (auto mode)")] if file_cred else []
        return file_cred, []
    # ephemeral: nothing persistent is read at all.
    others = [c for c in (keyring_cred, file_cred) if c is not None]
    return None, [replace(c, note="not read: cli_auth_credentials_store = 'ephemeral'") for c in others]


def resolve(ev: Evidence) -> Resolution:
    stored, unread = _persistent(ev)
    usable_stored = stored if stored is not None and stored.kind != "unreadable" else None

    access = ev.var(K.CODEX_ACCESS_TOKEN)
    access_cred = access_token_credential(access.value) if access else None
    api = ev.var(K.CODEX_API_KEY)
    api_cred = (
        Credential(source=f"env:{K.CODEX_API_KEY}", kind=TokenKind.API_KEY.value, fingerprint=fingerprint(api.value.reveal().strip()))
        if api
        else None
    )

    interactive = access_cred or usable_stored or NONE
    exec_winner = api_cred or interactive

    def tag(c: Credential) -> Credential:
        users = tuple(u for u, w in ((INTERACTIVE, interactive), (EXEC, exec_winner)) if w is c)
        return replace(c, used_by=users)

    shadowed: list[Credential] = []
    for cand in (api_cred, access_cred, stored, *unread):
        # An unreadable store shadows nothing: auth-file-unreadable reports it.
        if cand is None or cand is interactive or cand.kind == "unreadable":
            continue
        if cand is exec_winner:
            shadowed.append(replace(tag(cand), note=cand.note or "used by codex exec; interactive codex ignores it"))
        else:
            shadowed.append(tag(cand))
    tagged_interactive = tag(interactive) if interactive.present else interactive
    tagged_exec = tagged_interactive if exec_winner is interactive else tag(exec_winner)
    stored_tagged = None if stored is None else (tagged_interactive if stored is interactive else tag(stored))
    return Resolution(interactive=tagged_interactive, exec=tagged_exec, stored=stored_tagged, shadowed=tuple(shadowed))
