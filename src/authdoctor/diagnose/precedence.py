"""Which credential Codex really uses, and which ones it shadows.

The order below is what the real Codex 0.169.0 does (``codex login status``,
221 states: docs/codex-0.169.0-oracle.md §6), and tests/oracle checks it
against the binary on every CI run:

1. Workload identity -- ``OPENAI_FEDERATION_RULE_ID`` or
   ``OPENAI_IDENTITY_TOKEN_FILE`` set at all, even to "".
2. ``CODEX_ACCESS_TOKEN`` (trimmed; blank is unset): ``at-…`` personal access
   token, anything else an agent identity JWT.  Skipped entirely when
   ``forced_login_method = "api"``.
3. The store chosen by ``cli_auth_credentials_store``: nothing for
   ``ephemeral``, the OS keyring (no fallback) for ``keyring``, the keyring then
   ``auth.json`` for ``auto``, ``auth.json`` for ``file``.
4. ``forced_login_method`` and ``forced_chatgpt_workspace_id`` filter the stored
   login: a mismatch means "Not logged in" (and, at interactive start-up, a
   logout).

``CODEX_API_KEY`` is ignored by interactive ``codex`` and ``codex login
status``; ``codex exec``, review and the SDK put it first.  The desktop app's
host-managed tokens live in that app's memory and cannot be seen from outside.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePath
from typing import NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.codex.tokens import TokenKind, classify_access_token
from authdoctor.collect.evidence import AuthFileEvidence, Evidence, StoredLogin
from authdoctor.secret import Secret, fingerprint

INTERACTIVE = "codex"
EXEC = "codex exec"


class Credential(NamedTuple):
    """One credential Codex could use.  Holds a fingerprint, never the value."""

    source: str  # env:<VAR> | file:<path> | keyring | none
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
    usable: bool = True  # False when Codex refuses to load it at all
    workspace_account: str | None = None  # what the workspace filter compares (stored tokens.account_id)
    claim_account: str | None = None  # the id_token's chatgpt_account_id (start-up enforcement)

    @property
    def present(self) -> bool:
        return self.source != "none"


NONE = Credential(source="none", kind="none")


class Blocked(NamedTuple):
    """A credential Codex would otherwise use, filtered out by a login restriction."""

    credential: Credential
    by: str  # "forced_login_method" | "forced_chatgpt_workspace_id"


class Resolution(NamedTuple):
    interactive: Credential
    exec: Credential
    stored: Credential | None
    shadowed: tuple[Credential, ...]
    blocked: tuple[Blocked, ...] = ()

    @property
    def winner(self) -> Credential:
        return self.interactive


_KIND_BY_MODE = {
    K.MODE_APIKEY: TokenKind.API_KEY.value,
    K.MODE_CHATGPT: TokenKind.CHATGPT.value,
    K.MODE_CHATGPT_HOST: TokenKind.CHATGPT_HOST_MANAGED.value,
    K.MODE_AGENT_IDENTITY: TokenKind.AGENT_IDENTITY.value,
    K.MODE_PAT: TokenKind.PERSONAL_ACCESS_TOKEN.value,
    K.MODE_BEDROCK: TokenKind.BEDROCK_API_KEY.value,
    K.MODE_BEDROCK_KEYS: "bedrock-access-keys",
}


def stored_credential(source: str, login: StoredLogin) -> Credential:
    """Describe a stored login.  A ChatGPT login is named by its refresh-token chain."""
    kind = _KIND_BY_MODE.get(login.resolved_mode, TokenKind.UNKNOWN.value)
    secret: Secret | None
    expires_at = issued_at = None
    email = plan = None
    account_id = login.account_id
    claim_account = None
    if login.resolved_mode in (K.MODE_CHATGPT, K.MODE_CHATGPT_HOST):
        secret = login.refresh_token if login.refresh_token else login.access_token
        if login.access_claims:
            expires_at, issued_at = login.access_claims.expires_at, login.access_claims.issued_at
        claims = login.id_claims
        email = claims.email if claims else None
        claim_account = claims.account_id if claims else None
        plan = (claims.plan if claims else None) or (login.access_claims.plan if login.access_claims else None)
    elif login.resolved_mode == K.MODE_APIKEY:
        secret = login.api_key
    elif login.resolved_mode == K.MODE_AGENT_IDENTITY:
        secret = login.agent_identity
        if login.agent_claims:
            c = login.agent_claims
            expires_at, issued_at, email, plan = c.expires_at, c.issued_at, c.email, c.plan
            account_id = account_id or c.account_id
            claim_account = c.account_id
    elif login.resolved_mode == K.MODE_PAT:
        secret = login.personal_access_token
    elif login.resolved_mode == K.MODE_BEDROCK_KEYS:
        secret = login.bedrock_access_keys
    else:
        secret = login.bedrock_api_key
    if login.refused:
        problem: str | None = f"Codex refuses it: {login.refused}"
    elif login.incomplete:
        problem = "incomplete: " + "; ".join(login.incomplete)
    else:
        problem = None
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
        usable=login.refused is None,
        workspace_account=_workspace_account(login),
        claim_account=claim_account,
    )


def _workspace_account(login: StoredLogin) -> str | None:
    """The account the workspace filter compares, as the 0.169.0 binary behaves.

    It reads the stored tokens.account_id; when that is absent it falls back to
    the id_token's claim -- but only if last_refresh is present (observed:
    oracle rows workspace-claim-only and workspace-claim-only-no-refresh).
    """
    if login.tokens_account_id:
        return login.tokens_account_id
    if login.last_refresh is not None and login.id_claims is not None:
        return login.id_claims.account_id
    return None


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
        claim_account=c.account_id if c else None,
    )


def workload_identity_credential(ev: Evidence) -> Credential | None:
    rule, token_file = ev.present(K.WIF_RULE_ID), ev.present(K.WIF_TOKEN_FILE)
    if rule is None and token_file is None:
        return None
    problem = None
    if rule is None or token_file is None:
        problem = f"workload identity requires {K.WIF_TOKEN_FILE if rule is not None else K.WIF_RULE_ID}"
    elif not rule.set or not token_file.set:
        problem = f"workload identity variable {K.WIF_RULE_ID if not rule.set else K.WIF_TOKEN_FILE} is empty"
    elif not PurePath(token_file.value.reveal()).is_absolute():
        problem = f"{K.WIF_TOKEN_FILE} must be an absolute path"
    var = K.WIF_RULE_ID if rule is not None else K.WIF_TOKEN_FILE
    return Credential(source=f"env:{var}", kind="workload-identity", problem=problem, usable=problem is None)


def _file_credential(auth: AuthFileEvidence) -> Credential | None:
    if not auth.exists:
        return None
    if auth.login is None:
        reason = auth.problem.message if auth.problem else "unreadable"
        return Credential(source=f"file:{auth.path}", kind="unreadable", problem=reason, usable=False)
    return stored_credential(f"file:{auth.path}", auth.login)


def _keyring_credential(ev: Evidence) -> Credential | None:
    ring = ev.keyring
    where = f"service {K.KEYRING_SERVICE!r}, account {ring.account!r}"
    if ring.entry:
        return Credential(source="keyring", kind="unknown", note=f"an entry exists under {where}; authdoctor does not read it")
    if ring.entry is None and ring.usable:
        return Credential(source="keyring", kind="unknown", note=f"the keyring works but would not say whether it holds {where}")
    return None


def _persistent(ev: Evidence) -> tuple[Credential | None, list[Credential]]:
    """The stored credential Codex loads, plus stored ones it does not consult."""
    mode = ev.config.store_mode
    file_cred = _file_credential(ev.auth_file)
    if mode == K.STORE_FILE:
        return file_cred, []
    keyring_cred = _keyring_credential(ev)
    ignored_file = [file_cred._replace(note=f"not read: cli_auth_credentials_store = {mode!r}")] if file_cred else []
    if mode == K.STORE_KEYRING:
        # No fallback: with no usable keyring Codex fails instead of reading auth.json.
        return keyring_cred, ignored_file
    if mode == K.STORE_AUTO:
        if keyring_cred is not None and ev.keyring.entry:
            return keyring_cred, [file_cred._replace(note="not read while the keyring holds a login (auto mode)")] if file_cred else []
        return file_cred, []
    others = [c for c in (keyring_cred, file_cred) if c is not None]
    return None, [c._replace(note="not read: cli_auth_credentials_store = 'ephemeral'") for c in others]


def _policy_block(ev: Evidence, cred: Credential) -> str | None:
    """Which login restriction hides this stored credential from Codex, if any."""
    forced = ev.config.forced_login_method
    if forced == "api" and cred.kind in K.CHATGPT_FAMILY:
        return "forced_login_method"
    if forced == "chatgpt" and cred.kind in K.API_FAMILY:
        return "forced_login_method"
    allowed = ev.config.forced_workspace_ids
    if allowed and cred.kind in K.WORKSPACE_CHECKED_KINDS and cred.workspace_account not in allowed:
        return "forced_chatgpt_workspace_id"
    return None


def resolve(ev: Evidence) -> Resolution:
    stored, unread = _persistent(ev)
    blocked: list[Blocked] = []

    workload = workload_identity_credential(ev)
    access = ev.var(K.CODEX_ACCESS_TOKEN)
    access_seen = access_cred = access_token_credential(access.value) if access else None
    if access_cred is not None and ev.config.forced_login_method == "api":
        blocked.append(Blocked(access_cred, "forced_login_method"))
        access_cred = None
    api = ev.var(K.CODEX_API_KEY)
    api_cred = (
        Credential(source=f"env:{K.CODEX_API_KEY}", kind=TokenKind.API_KEY.value, fingerprint=fingerprint(api.value.reveal().strip()))
        if api
        else None
    )

    candidate = stored if stored is not None and stored.kind != "unreadable" else None
    if candidate is not None and (by := _policy_block(ev, candidate)) is not None:
        blocked.append(Blocked(candidate, by))
        candidate = None

    interactive = workload or access_cred or candidate or NONE
    exec_winner = api_cred or interactive

    def tag(c: Credential) -> Credential:
        users = tuple(u for u, w in ((INTERACTIVE, interactive), (EXEC, exec_winner)) if w is c)
        return c._replace(used_by=users)

    shadowed: list[Credential] = []
    for cand in (api_cred, workload, access_seen, stored, *unread):
        # An unreadable store shadows nothing: auth-file-unreadable reports it.
        if cand is None or cand is interactive or cand.kind == "unreadable":
            continue
        if cand is exec_winner:
            shadowed.append(tag(cand)._replace(note=cand.note or "used by codex exec; interactive codex ignores it"))
        elif any(b.credential is cand for b in blocked):
            by = next(b.by for b in blocked if b.credential is cand)
            shadowed.append(tag(cand)._replace(note=cand.note or f"not used: {by} in config.toml rejects it"))
        else:
            shadowed.append(tag(cand))
    tagged_interactive = tag(interactive) if interactive.present else interactive
    tagged_exec = tagged_interactive if exec_winner is interactive else tag(exec_winner)
    stored_tagged = None if stored is None else (tagged_interactive if stored is interactive else tag(stored))
    return Resolution(
        interactive=tagged_interactive,
        exec=tagged_exec,
        stored=stored_tagged,
        shadowed=tuple(shadowed),
        blocked=tuple(blocked),
    )
