"""Evidence: everything the collectors found, as plain frozen data.

Secrets stay wrapped in :class:`~authdoctor.secret.Secret`; the diagnose stage
and the report only ever see fingerprints.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.codex.tokens import Claims
from authdoctor.collect.logs.model import LogEvidence
from authdoctor.collect.origins.model import OriginScan
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from authdoctor.collect.auth_copies import AuthCopy
    from authdoctor.collect.network import NetworkEvidence
    from authdoctor.collect.online import OnlineEvidence
    from authdoctor.collect.ports import PortEvidence
    from authdoctor.collect.processes import CodexProcess
    from authdoctor.collect.tmux import TmuxEvidence


class Problem(NamedTuple):
    """Why a file could not be used, in words fit for the person (never a secret)."""

    kind: str  # "unreadable" | "unparsable" | "incomplete" | "not-a-file" | "too-large" | "invalid-value"
    message: str


class CodexHomeEvidence(NamedTuple):
    """Where Codex keeps its state, resolved the way ``find_codex_home`` does."""

    path: Path
    from_env: bool
    env_value: str | None
    problem: str | None = None  # "missing" | "not-a-directory" | "unreadable"
    exists: bool = False
    default_path: Path | None = None


class StoredLogin(NamedTuple):
    """An ``auth.json``-shaped payload (from the file or the keyring), parsed."""

    auth_mode: str | None
    resolved_mode: str
    api_key: Secret | None = None
    id_token: Secret | None = None
    access_token: Secret | None = None
    refresh_token: Secret | None = None
    account_id: str | None = None
    last_refresh: datetime | None = None
    id_claims: Claims | None = None
    access_claims: Claims | None = None
    agent_identity: Secret | None = None
    agent_claims: Claims | None = None
    personal_access_token: Secret | None = None
    bedrock_api_key: Secret | None = None
    incomplete: tuple[str, ...] = ()
    bedrock_access_keys: Secret | None = None  # the secret access key ("bedrockAccessKeys" mode)
    tokens_account_id: str | None = None  # tokens.account_id exactly as stored (the workspace filter reads it)
    refused: str | None = None  # why Codex refuses to load this login at all


class AuthFileEvidence(NamedTuple):
    path: Path
    exists: bool
    problem: Problem | None = None
    mode: int | None = None
    uid: int | None = None
    is_symlink: bool = False
    login: StoredLogin | None = None
    mtime: float | None = None  # when Codex last wrote it (a login or a successful refresh)


class ProviderConfig(NamedTuple):
    id: str
    base_url: str | None = None
    env_key: str | None = None
    requires_openai_auth: bool | None = None


class ConfigEvidence(NamedTuple):
    path: Path
    exists: bool
    problem: Problem | None = None
    store_mode: str = "file"
    store_mode_raw: str | None = None
    forced_login_method: str | None = None
    forced_workspace_ids: tuple[str, ...] = ()
    openai_base_url: str | None = None
    model_provider: str | None = None
    providers: Mapping[str, ProviderConfig] = MappingProxyType({})
    log_dir: str | None = None  # `log_dir` as written (codex-tui.log, codex-login.log and, when set, logs_2.sqlite)
    sqlite_home: str | None = None  # `sqlite_home` as written (state and log databases)


class DotenvEntry(NamedTuple):
    key: str
    value: Secret
    line: int
    applies: bool  # Codex exports it (keys starting with CODEX_ are ignored)
    differs_from_shell: bool = False  # the shell has no value, or another one


class DotenvEvidence(NamedTuple):
    path: Path
    exists: bool
    problem: Problem | None = None
    entries: tuple[DotenvEntry, ...] = ()


class KeyringEvidence(NamedTuple):
    probed: bool
    account: str | None = None
    backend: str | None = None
    usable: bool = False
    entry: bool | None = None
    note: str = ""
    secrets_file: Path | None = None  # Windows "Secrets" backend: $CODEX_HOME/secrets/codex_auth.age
    secrets_file_exists: bool = False


class EnvValue(NamedTuple):
    """One variable as Codex would see it after loading ``$CODEX_HOME/.env``."""

    name: str
    value: Secret
    source: str  # "environment" | "dotenv" | "startup" (not in this terminal; new terminals get it)
    line: int | None = None
    shell_value_overridden: bool = False

    @property
    def set(self) -> bool:
        return bool(self.value)


class GathererFailure(NamedTuple):
    """A collector that could not finish: the run goes on and the report says why."""

    gatherer: str
    message: str


class Evidence(NamedTuple):
    now: datetime
    platform: str
    uid: int | None
    home: Path
    codex_home: CodexHomeEvidence
    auth_file: AuthFileEvidence
    config: ConfigEvidence
    dotenv: DotenvEvidence
    keyring: KeyringEvidence
    env: Mapping[str, EnvValue]
    default_home_auth: AuthFileEvidence | None = None
    codex_path: Path | None = None
    codex_version: str | None = None
    # Every place a watched variable is set (shell files, PAM, registry, …).
    origin_scans: tuple[OriginScan, ...] = ()
    # Where this terminal's environment most likely came from (tmux, an IDE, sudo …),
    # read only when some override here has no start-up origin.
    parent_chain: str | None = None
    env_shell: Mapping[str, str] | None = None  # SHELL, HOME and the display/SSH markers of this session
    failures: tuple[GathererFailure, ...] = ()
    logs: LogEvidence | None = None  # what the Codex logs say since the current login
    auth_copies: tuple[AuthCopy, ...] = ()  # ChatGPT logins stored outside auth.json (same refresh token or not)
    processes: tuple[CodexProcess, ...] | None = None  # running Codex processes; None: the process table cannot be seen
    tmux: TmuxEvidence | None = None  # every tmux server of this user and what it hands new panes; None: no tmux
    ports: PortEvidence | None = None  # who listens on the login callback ports; None: not looked at
    network: NetworkEvidence | None = None  # proxies, CA bundles, headless and WSL markers
    online: OnlineEvidence | None = None  # the opt-in `--online` probe; None: not asked for
    live: bool = False  # read from the running machine (not an image under --root, not a test's stand-in)

    def present(self, name: str) -> EnvValue | None:
        """The variable if it is set at all, even to an empty value."""
        return self.env.get(name)

    def var(self, name: str) -> EnvValue | None:
        """The variable if Codex would see it set to a non-blank value."""
        value = self.env.get(name)
        return value if value is not None and value.set else None
