"""workspace-mismatch: forced_chatgpt_workspace_id differs from the token's account."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.precedence import Credential
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login, env_origins

ID = "workspace-mismatch"

_CHECKED_KINDS = frozenset({"chatgpt", "chatgpt-host-managed", "agent-identity"})


def _offender(f: Facts) -> tuple[Credential, str | None] | None:
    """The credential a workspace restriction rejects, and the account it was judged by.

    Two checks exist in Codex 0.169.0: `codex login status` filters a stored
    ChatGPT login by its tokens.account_id (precedence marks it blocked), and
    start-up enforcement reads the id_token's (or agent identity's) account
    claim on the credential it loads with CODEX_API_KEY enabled.
    """
    allowed = f.ev.config.forced_workspace_ids
    # A stored login the filter hides matters only when no environment
    # credential wins anyway.
    for b in f.res.blocked:
        if b.by == "forced_chatgpt_workspace_id" and not f.res.interactive.present:
            return b.credential, b.credential.workspace_account
    cred = f.res.exec
    # Personal access tokens are checked against the workspace through a
    # network call; offline we cannot know their account, so we stay quiet.
    if cred.present and cred.kind in _CHECKED_KINDS and cred.claim_account not in allowed:
        return cred, cred.claim_account
    return None


def _toml(ids: tuple[str, ...]) -> str:
    quoted = [f'"{i}"' for i in ids]
    return quoted[0] if len(quoted) == 1 else f"[{', '.join(quoted)}]"


def check(f: Facts) -> Iterable[Finding]:
    allowed = f.ev.config.forced_workspace_ids
    found = _offender(f) if allowed else None
    if found is None:
        return []
    cred, account = found
    ids = ", ".join(allowed)
    if account is None:
        actual = "has no workspace identifier"
        message = f"Login is restricted to workspace(s) {ids}, but current credentials lack a workspace identifier. Logging out."
    else:
        actual = f"belongs to workspace {account}"
        message = f"Login is restricted to workspace(s) {ids}, but current credentials belong to {account}. Logging out."
    config = f.ev.config
    origins = [Origin(context="config", text=f"forced_chatgpt_workspace_id = {_toml(allowed)}", path=str(config.path))]
    if cred.source.startswith("env:"):
        origins.extend(env_origins(f, cred.source[len("env:") :]))
        fix = (
            f"Use a token issued for the allowed workspace in {cred.source[len('env:') :]}, or unset it and run `codex login`; "
            "fix forced_chatgpt_workspace_id if it is wrong."
        )
    else:
        fix = "Run `codex login` and pick the allowed workspace in the browser, or fix forced_chatgpt_workspace_id if it is wrong."
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title="Your login belongs to a workspace this configuration does not allow",
            detail=(
                f"{config.path} restricts Codex to workspace{'s' if len(allowed) > 1 else ''} {ids}, but "
                f"{describe_login(cred._replace(last_refresh=None), f.now)} {actual}. "
                f'Codex prints "{message}" and deletes the stored login, so every sign-in to another workspace is undone.'
            ),
            origins=tuple(origins),
            fix=Fix(summary=fix),
        )
    ]


def _applies(f: Facts) -> bool:
    return bool(f.ev.config.forced_workspace_ids)


RULE = Rule(ID, check, "the login's workspace is allowed", _applies)
