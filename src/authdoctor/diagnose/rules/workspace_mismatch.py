"""workspace-mismatch: forced_chatgpt_workspace_id differs from the token's account."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login

ID = "workspace-mismatch"

_CHECKED_KINDS = frozenset({"chatgpt", "chatgpt-host-managed", "agent-identity"})


def check(f: Facts) -> Iterable[Finding]:
    allowed = f.ev.config.forced_workspace_ids
    cred = f.res.interactive
    # Personal access tokens are checked against the workspace through a
    # network call; offline we cannot know their account, so we stay quiet.
    if not allowed or not cred.present or cred.kind not in _CHECKED_KINDS:
        return []
    if cred.account_id in allowed:
        return []
    ids = ", ".join(allowed)
    if cred.account_id is None:
        actual = "has no workspace identifier"
        message = f"Login is restricted to workspace(s) {ids}, but current credentials lack a workspace identifier. Logging out."
    else:
        actual = f"belongs to workspace {cred.account_id}"
        message = f"Login is restricted to workspace(s) {ids}, but current credentials belong to {cred.account_id}. Logging out."
    return [
        Finding(
            id=ID,
            severity=Severity.ERROR,
            title="Your login belongs to a workspace this configuration does not allow",
            detail=(
                f"{f.ev.config.path} restricts Codex to workspace {ids}, but {describe_login(cred, f.now)} {actual}. "
                f'Codex prints "{message}" and deletes the stored login.'
            ),
            origins=(Origin(context="config", text=f"forced_chatgpt_workspace_id = {list(allowed)!r}", path=str(f.ev.config.path)),),
            fix=Fix(
                summary="Run `codex login` and pick the allowed workspace in the browser, "
                "or fix forced_chatgpt_workspace_id if it is wrong."
            ),
        )
    ]


def _applies(f: Facts) -> bool:
    return bool(f.ev.config.forced_workspace_ids)


RULE = Rule(ID, check, "the login's workspace is allowed", _applies)
