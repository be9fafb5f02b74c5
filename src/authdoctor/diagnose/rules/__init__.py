"""The rules, one module per finding id (``diagnose/rules/<id_with_underscores>.py``)."""

from __future__ import annotations

from authdoctor.diagnose.rules import (
    access_token_invalid,
    access_token_overrides_login,
    api_key_env_overrides_login,
    auth_file_permissions,
    auth_file_unreadable,
    base_url_override,
    codex_home_override,
    config_unreadable,
    dotenv_override,
    dotenv_unreadable,
    keyring_unavailable,
    logged_error,
    login_method_mismatch,
    network_failure,
    not_logged_in,
    openai_api_key_ignored,
    refresh_conflict_risk,
    refresh_failed,
    refresh_token_stale,
    startup_file_problem,
    workload_identity_overrides_login,
    workspace_mismatch,
)
from authdoctor.diagnose.rules.base import Facts, Rule

RULES: tuple[Rule, ...] = (
    workload_identity_overrides_login.RULE,
    access_token_overrides_login.RULE,
    access_token_invalid.RULE,
    api_key_env_overrides_login.RULE,
    openai_api_key_ignored.RULE,
    base_url_override.RULE,
    codex_home_override.RULE,
    dotenv_override.RULE,
    dotenv_unreadable.RULE,
    config_unreadable.RULE,
    not_logged_in.RULE,
    auth_file_unreadable.RULE,
    auth_file_permissions.RULE,
    refresh_failed.RULE,
    refresh_conflict_risk.RULE,
    refresh_token_stale.RULE,
    network_failure.RULE,
    logged_error.RULE,
    login_method_mismatch.RULE,
    workspace_mismatch.RULE,
    keyring_unavailable.RULE,
    startup_file_problem.RULE,
)

__all__ = ["RULES", "Facts", "Rule"]
