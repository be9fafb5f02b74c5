"""Error signatures: the strings Codex prints or logs, and what each one means.

One table, versioned with the rest of the Codex knowledge (:data:`CHECKED_AGAINST`).
The log scanner (``collect/logs``), the log rules and ``authdoctor explain`` all
read it, so a new Codex message is one row here.

Sources: the refresh lines were captured from the real Codex 0.169.0 binary
against a staged auth server (``scripts/capture_codex_logs.py``,
``tests/fixtures/codex-0.169.0``); the rest are the exact strings of
``../shared/reference/failure-modes.md`` (error-string index) and
``codex-auth.md`` (§3.5-§3.7, §4).

Order matters: a line is classified by the *first* row that matches it, so the
specific rows (``refresh token was already used``) come before the generic ones
(``Failed to refresh token``) that the same line also contains.  Patterns are
case-sensitive literals, exactly as Codex prints them, so that ``grep -F`` and
``grep -E`` find the same lines (the benchmark relies on it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from authdoctor.codex.knowledge import CHECKED_AGAINST

if TYPE_CHECKING:
    from typing import Final

SCHEMA_VERSION: Final = 1

# Categories: what kind of trouble a signature is evidence of.
REFRESH: Final = "refresh"  # the refresh token was rejected: the login is dead
TRANSPORT: Final = "transport"  # the request never got an answer: network, DNS, TLS, proxy
REGION: Final = "region"  # the service refused this location or client
ACCESS_TOKEN: Final = "access-token"  # CODEX_ACCESS_TOKEN / personal access token / agent identity
WORKSPACE: Final = "workspace"  # plan, workspace or entitlement
LOGIN: Final = "login"  # the browser / device-code login flow
STORAGE: Final = "storage"  # auth.json, keyring, CODEX_HOME
CONFIG: Final = "config"  # settings that send credentials to the wrong place
SERVER: Final = "server"  # the service invalidated the session itself

# Permanence: will simply trying again help?
PERMANENT: Final = "permanent"
TRANSIENT: Final = "transient"


class Signature(NamedTuple):
    id: str
    category: str
    patterns: tuple[str, ...]
    cause: str
    permanence: str  # PERMANENT | TRANSIENT
    finding: str  # the finding id this is evidence for
    next_step: str
    commands: tuple[str, ...] = ()
    fm: tuple[str, ...] = ()  # failure modes in ../shared/reference/failure-modes.md
    related: tuple[str, ...] = ()  # other finding ids worth cross-checking on this machine

    @property
    def permanent(self) -> bool:
        return self.permanence == PERMANENT


_RELOGIN = ("codex logout", "codex login")

SIGNATURES: Final[tuple[Signature, ...]] = (
    # --- refresh: the refresh token was rejected (specific codes first) ------------
    Signature(
        "refresh-token-reused",
        REFRESH,
        ("refresh_token_reused", "refresh token was already used", "has already been used to generate a new access token"),
        "The refresh token was already used. Refresh tokens are single-use and rotate: another Codex process, "
        "another tool, or a copy of auth.json refreshed first, and this copy is now dead.",
        PERMANENT,
        "refresh-failed",
        "Sign in again, then make sure only one Codex (or tool) uses this login: close the others, "
        "and never copy auth.json between machines or CODEX_HOMEs.",
        _RELOGIN,
        ("FM-01", "FM-12"),
        ("refresh-conflict-risk", "codex-home-override"),
    ),
    Signature(
        "refresh-token-invalidated",
        REFRESH,
        ("refresh_token_invalidated", "refresh token was revoked", "token_revoked"),
        "The refresh token was revoked: a `codex logout`, or a new login on another machine or app, "
        "invalidates the tokens held everywhere else.",
        PERMANENT,
        "refresh-failed",
        "Sign in again on this machine; a login elsewhere will revoke this one again.",
        _RELOGIN,
        ("FM-12", "FM-01"),
        ("refresh-conflict-risk",),
    ),
    Signature(
        "refresh-token-expired",
        REFRESH,
        ("refresh_token_expired", "refresh token has expired"),
        "The refresh token has expired: the login was not used (or not refreshed) for too long.",
        PERMANENT,
        "refresh-failed",
        "Sign in again. If it expires again soon, check the clock of this machine.",
        _RELOGIN,
        ("FM-01", "FM-26"),
        ("refresh-token-stale",),
    ),
    Signature(
        "refresh-account-changed",
        REFRESH,
        ("since logged out or signed in to another account",),
        "This Codex process still holds a login that was replaced: you logged out or signed in to another account after it started.",
        PERMANENT,
        "refresh-failed",
        "Restart the Codex process that printed it (CLI, IDE extension or desktop app); it will read the new login.",
        (),
        ("FM-16",),
        ("stale-process-environment",),
    ),
    # --- transport before the generic refresh rows: a refresh that never reached the server
    #     ("Failed to refresh token: error sending request for url …") is network trouble.
    Signature(
        "token-exchange-unreachable",
        TRANSPORT,
        ("Token exchange failed: error sending request for url", "oauth token exchange transport failure"),
        "The browser login worked, but Codex could not reach auth.openai.com to exchange the code for tokens.",
        TRANSIENT,
        "network-failure",
        "Check the proxy and CA settings Codex sees (`authdoctor where HTTPS_PROXY SSL_CERT_FILE`), then run `codex login` again.",
        ("codex login",),
        ("FM-09", "FM-08", "FM-13", "FM-03"),
        ("proxy-misconfigured", "ca-bundle-missing"),
    ),
    Signature(
        "tls-untrusted",
        TRANSPORT,
        ("UnknownIssuer", "CERTIFICATE_VERIFY_FAILED", "invalid peer certificate", "selected by SSL_CERT_FILE"),
        "TLS verification failed: something between you and OpenAI (a corporate proxy or antivirus) presents a "
        "certificate Codex does not trust, or SSL_CERT_FILE / CODEX_CA_CERTIFICATE names the wrong bundle.",
        PERMANENT,
        "network-failure",
        "Point CODEX_CA_CERTIFICATE (or SSL_CERT_FILE) at your organisation's PEM bundle, or unset a stale one.",
        (),
        ("FM-13",),
        ("ca-bundle-missing", "proxy-misconfigured"),
    ),
    Signature(
        "dns-failure",
        TRANSPORT,
        ("dns error", "failed to lookup address information", "Name or service not known", "No such host is known"),
        "Codex could not resolve the OpenAI host names: no network, a broken resolver, or a VPN/WSL DNS problem.",
        TRANSIENT,
        "network-failure",
        "Check the network and DNS (`getent hosts auth.openai.com`); under WSL, see the networking mode.",
        (),
        ("FM-08", "FM-03"),
        ("proxy-misconfigured",),
    ),
    Signature(
        "proxy-failure",
        TRANSPORT,
        ("unsuccessful tunnel", "407 Proxy Authentication Required", "proxy error"),
        "The proxy Codex uses refused or failed the connection.",
        TRANSIENT,
        "network-failure",
        "Check HTTPS_PROXY / https_proxy (both cases) and NO_PROXY: `authdoctor where HTTPS_PROXY https_proxy`.",
        (),
        ("FM-08",),
        ("proxy-misconfigured",),
    ),
    Signature(
        "connection-failed",
        TRANSPORT,
        (
            "error sending request for url",
            "Connection failed: error sending request",
            "stream disconnected before completion",
            "Reconnecting...",
            "os error 10061",
            "Connection refused (os error 111)",
        ),
        "The request never got an answer: no network, a firewall, or a proxy setting pointing at nothing. "
        "This is not a dead login; the tokens are fine until the server says otherwise.",
        TRANSIENT,
        "network-failure",
        "Check the network and the proxy variables Codex sees (`authdoctor where HTTPS_PROXY https_proxy ALL_PROXY`), then retry.",
        (),
        ("FM-08", "FM-09", "FM-03", "FM-15"),
        ("proxy-misconfigured", "ca-bundle-missing"),
    ),
    # --- the generic refresh rows ---------------------------------------------------------
    Signature(
        "refresh-token-rejected",
        REFRESH,
        (
            "Your access token could not be refreshed",
            "Encountered unknown response while refreshing token",
            "Failed to refresh token: 401",
            "Failed to refresh token status=401",
            "Failed to refresh token: 403",
            "Failed to refresh token status=403",
        ),
        "The auth server rejected the refresh token (401/403) without a more specific reason: the login is no longer valid.",
        PERMANENT,
        "refresh-failed",
        "Sign in again.",
        _RELOGIN,
        ("FM-01", "FM-12"),
        ("refresh-conflict-risk",),
    ),
    Signature(
        "refresh-server-error",
        SERVER,
        ("Failed to refresh token",),
        "A token refresh failed without the server rejecting the token (a 5xx or a garbled answer). Codex keeps "
        "the cached token and tries again later.",
        TRANSIENT,
        "network-failure",
        "Retry later; if it persists, check https://status.openai.com and the proxy settings.",
        (),
        ("FM-25",),
        ("proxy-misconfigured",),
    ),
    # After every refresh row: ``refresh_token_expired`` contains ``token_expired``, and a
    # "Failed to refresh token: 401 … token_expired" line stays a refresh rejection.
    Signature(
        "access-token-expired",
        SERVER,
        ("token_expired", "Provided authentication token is expired"),
        "The backend rejected an expired access token (`token_expired`). Codex refreshes it by itself, so seeing "
        "this means the refresh is not happening: a dead or idle login, or a clock that is off.",
        PERMANENT,
        "refresh-failed",
        "Sign in again. If it comes back within hours, resync this machine's clock "
        "(`sudo hwclock -s` or NTP; `w32tm /resync` on Windows; `wsl --shutdown` after a WSL sleep).",
        _RELOGIN,
        ("FM-01", "FM-26", "FM-25"),
        ("refresh-token-stale",),
    ),
    # --- access tokens --------------------------------------------------------------------------
    Signature(
        "agent-runtime-deleted",
        ACCESS_TOKEN,
        ("deleted_agent_runtime_id", "Agent runtime has been deleted", "agent runtime has been deleted"),
        "The agent identity behind CODEX_ACCESS_TOKEN was deleted on the server; the token can never work again.",
        PERMANENT,
        "access-token-invalid",
        "Remove CODEX_ACCESS_TOKEN (`authdoctor fix` does it) or create a new access token.",
        (),
        ("FM-24",),
        ("access-token-overrides-login",),
    ),
    Signature(
        "pat-owner-inactive",
        ACCESS_TOKEN,
        ("Personal access token owner is inactive",),
        "The account that created this personal access token is deactivated or left the workspace.",
        PERMANENT,
        "access-token-invalid",
        "Remove the token (CODEX_ACCESS_TOKEN, or `codex logout` if it was stored) and sign in with your own account.",
        (),
        ("FM-24",),
        ("access-token-overrides-login",),
    ),
    Signature(
        "agent-identity-failed",
        ACCESS_TOKEN,
        (
            "agent identity bootstrap unavailable",
            "retryable agent identity registration failure",
            "agent identity registration attempt failed",
            "agent task registration failed",
            "failed to request agent identity JWKS",
            "agent identity JWKS endpoint returned an error",
            "failed to verify agent identity JWT",
            "invalid agent identity JWT format",
            "agent identity JWT header does not include a kid",
            "agent identity JWT kid",
        ),
        "Codex could not verify or register the agent identity in CODEX_ACCESS_TOKEN (a stale or foreign token, "
        "or no network to the identity service).",
        TRANSIENT,
        "access-token-invalid",
        "If you did not mean to use an access token, remove CODEX_ACCESS_TOKEN (`authdoctor fix`); "
        "otherwise check the network and the token.",
        (),
        ("FM-24",),
        ("access-token-overrides-login",),
    ),
    Signature(
        "pat-metadata-failed",
        ACCESS_TOKEN,
        ("personal access token metadata request failed", "failed to request personal access token metadata"),
        "Codex could not look up the personal access token.",
        TRANSIENT,
        "access-token-invalid",
        "Check the token and the network; remove CODEX_ACCESS_TOKEN if it is not meant to be used.",
        (),
        ("FM-24",),
        ("access-token-overrides-login",),
    ),
    # --- workspace, plan and entitlement --------------------------------------------------
    Signature(
        "no-eligible-workspace",
        WORKSPACE,
        ("No eligible ChatGPT workspaces found", "chatgpt_account_missing", "codex_cli_workspace_disabled", "missing_codex_entitlement"),
        "The account has no workspace where Codex is enabled (plan, admin setting, or the wrong account).",
        PERMANENT,
        "workspace-mismatch",
        "Sign in with the account or workspace that has Codex, or ask the workspace admin to enable it.",
        _RELOGIN,
        ("FM-05",),
        ("login-method-mismatch",),
    ),
    Signature(
        "plan-usage-not-included",
        WORKSPACE,
        ("Usage not included with the plan", "upgrade to Plus"),
        "The signed-in plan does not include Codex usage (or the token still carries an old plan).",
        PERMANENT,
        "workspace-mismatch",
        "Check the plan of the account you are signed in with; after an upgrade, sign in again so the token carries it.",
        _RELOGIN,
        ("FM-05",),
    ),
    Signature(
        "workspace-restricted",
        WORKSPACE,
        ("Login is restricted to workspace",),
        "forced_chatgpt_workspace_id in config.toml does not match the account you signed in with.",
        PERMANENT,
        "workspace-mismatch",
        "Sign in to the required workspace, or correct forced_chatgpt_workspace_id.",
        ("codex login",),
        ("FM-05",),
    ),
    Signature(
        "login-method-forced",
        CONFIG,
        (
            "ChatGPT login is required, but an API key is currently being used",
            "API key login is required, but ChatGPT is currently being used",
        ),
        "forced_login_method in config.toml forbids the kind of login you have, so Codex logs you out at start-up.",
        PERMANENT,
        "login-method-mismatch",
        "Sign in the required way, or change forced_login_method.",
        (),
        ("FM-07",),
    ),
    Signature(
        "missing-scopes",
        CONFIG,
        ("Missing scopes: api.responses.write",),
        "ChatGPT tokens were sent to the API endpoint (a base URL override), which needs API-key scopes.",
        PERMANENT,
        "base-url-override",
        "Remove the OPENAI_BASE_URL / openai_base_url override, or sign in with an API key for that endpoint.",
        (),
        ("FM-04", "FM-05"),
    ),
    Signature(
        "base-url-deprecated",
        CONFIG,
        ("OPENAI_BASE_URL is deprecated",),
        "OPENAI_BASE_URL is no longer read by Codex; it was replaced by openai_base_url in config.toml.",
        PERMANENT,
        "base-url-override",
        "Remove OPENAI_BASE_URL; set openai_base_url in config.toml only if you really use another endpoint.",
        (),
        ("FM-04",),
    ),
    Signature(
        "backend-unauthorized",
        SERVER,
        ('{"detail":"Unauthorized"}', "exceeded retry limit, last status: 401"),
        "The Codex backend rejected the credential: it went to the wrong endpoint, belongs to the wrong kind of "
        "login, or was invalidated on the server.",
        PERMANENT,
        "base-url-override",
        "Run `authdoctor check` to see which credential Codex sends and where; then sign in again.",
        _RELOGIN,
        ("FM-04", "FM-07", "FM-23", "FM-25"),
        ("api-key-env-overrides-login", "access-token-overrides-login"),
    ),
    Signature(
        "session-invalidated",
        SERVER,
        ("token_invalidated", "authentication token has been invalidated"),
        "The server invalidated the session (a security event, a password change, or an account action).",
        PERMANENT,
        "refresh-failed",
        "Sign in again.",
        _RELOGIN,
        ("FM-25",),
    ),
    Signature(
        "region-blocked",
        REGION,
        ("unsupported_country_region_territory", "Just a moment...", "cf-mitigated", "token endpoint returned status 403"),
        "The service refused the request because of the location or network it came from (region block or a "
        "Cloudflare challenge), often through a VPN, proxy or WSL.",
        PERMANENT,
        "network-failure",
        "Try without the VPN or proxy (or with one in a supported region).",
        (),
        ("FM-15", "FM-03"),
        ("proxy-misconfigured",),
    ),
    # --- the login flow ---------------------------------------------------------------------
    Signature(
        "login-port-busy",
        LOGIN,
        ("Address in use", "Address already in use", "is already in use", "os error 10013"),
        "The login callback port (1455, then 1457) is taken, often by an earlier `codex login` still waiting.",
        TRANSIENT,
        "login-port-busy",
        "Stop the old `codex login` (or whatever listens on 127.0.0.1:1455), or use `codex login --device-auth`.",
        ("codex login --device-auth",),
        ("FM-10",),
    ),
    Signature(
        "login-state-mismatch",
        LOGIN,
        ("State mismatch", "state mismatch", "invalid_state", "400 Invalid Session"),
        "The browser returned to a different login attempt than the one waiting (an old tab, two logins at once).",
        TRANSIENT,
        "login-port-busy",
        "Close the old login tabs and run `codex login` once, finishing it in the tab it opens.",
        ("codex login",),
        ("FM-19",),
    ),
    Signature(
        "callback-unreachable",
        LOGIN,
        ("ERR_CONNECTION_REFUSED", "localhost refused to connect"),
        "The browser could not reach the login callback on localhost: Codex runs on another machine (SSH, "
        "container, WSL, Codespaces) or the login server already stopped.",
        TRANSIENT,
        "headless-login",
        "Use `codex login --device-auth`, or forward port 1455 from the machine Codex runs on.",
        ("codex login --device-auth",),
        ("FM-02", "FM-03", "FM-11"),
    ),
    Signature(
        "login-not-completed",
        LOGIN,
        ("Login was not completed", "Login cancelled"),
        "The login flow ended before the callback arrived.",
        TRANSIENT,
        "headless-login",
        "Run `codex login` again and finish it in the browser tab it opens; headless, use `--device-auth`.",
        ("codex login",),
        ("FM-11", "FM-19"),
    ),
    Signature(
        "token-exchange-failed",
        LOGIN,
        (
            "Token exchange failed",
            "token_exchange_failed",
            "login callback token exchange failed",
            "oauth token exchange returned non-success status",
        ),
        "The login callback arrived, but exchanging the code for tokens failed.",
        TRANSIENT,
        "network-failure",
        "Run `codex login` again; if it repeats, check the proxy and CA settings Codex sees.",
        ("codex login",),
        ("FM-09",),
        ("proxy-misconfigured", "ca-bundle-missing"),
    ),
    Signature(
        "device-code-disabled",
        LOGIN,
        ("enable device code authentication", "Enable device code authorization for Codex", "device code login is not enabled"),
        "Device-code login is turned off for this account or workspace.",
        PERMANENT,
        "headless-login",
        "Enable device code authorization in ChatGPT's security settings (or ask the admin), or use the browser login.",
        (),
        ("FM-14",),
    ),
    # --- storage ------------------------------------------------------------------------------
    Signature(
        "keyring-failure",
        STORAGE,
        ("failed to write OAuth tokens to keyring", "failed to load CLI auth from keyring"),
        "The OS keyring refused to store or return the login.",
        PERMANENT,
        "keyring-unavailable",
        'Unlock the keyring, or set cli_auth_credentials_store = "file" in config.toml and sign in again.',
        ("codex login",),
        ("FM-21",),
    ),
    Signature(
        "auth-file-damaged",
        STORAGE,
        ("Invalid 'refresh_token': empty string", "premature end of input", "Permission denied (os error 13)", "Read-only file system"),
        "auth.json is damaged, empty, or cannot be written, so Codex cannot keep the refreshed tokens.",
        PERMANENT,
        "auth-file-unreadable",
        "Run `authdoctor fix` (it moves the broken auth.json aside), then `codex login`.",
        ("codex login",),
        ("FM-18",),
        ("auth-file-permissions",),
    ),
    Signature(
        "codex-home-missing",
        STORAGE,
        ("CODEX_HOME points to",),
        "CODEX_HOME names a folder that does not exist (or is not a folder), so Codex refuses to start.",
        PERMANENT,
        "codex-home-override",
        "Unset CODEX_HOME or create the folder it names (`authdoctor where CODEX_HOME`).",
        (),
        ("FM-17",),
    ),
    Signature(
        "env-missing",
        CONFIG,
        ("Missing environment variable:", "account/read failed during TUI bootstrap", "missing api key"),
        "A provider's env_key variable is not set in the environment this Codex was started from.",
        PERMANENT,
        "openai-api-key-ignored",
        "Set the variable the provider's env_key names where Codex is started (a GUI app does not read ~/.zshrc).",
        (),
        ("FM-20", "FM-22"),
    ),
)

# Explain's "closest known causes" compare against these words as well as the patterns.
KEYWORDS: Final = {s.id: " ".join((s.id.replace("-", " "), s.category, *s.patterns)) for s in SIGNATURES}

BY_ID: Final = {s.id: s for s in SIGNATURES}


def classify(line: str) -> Signature | None:
    """The first signature (in table order) whose pattern occurs in ``line``."""
    for sig in SIGNATURES:
        for pattern in sig.patterns:
            if pattern in line:
                return sig
    return None


def all_patterns() -> tuple[str, ...]:
    """Every pattern, each once, in table order."""
    seen: dict[str, None] = {}
    for sig in SIGNATURES:
        for pattern in sig.patterns:
            seen.setdefault(pattern, None)
    return tuple(seen)


_ERE_SPECIAL = frozenset(".[]()*+?{}|^$\\")


def ere_escape(literal: str) -> str:
    """Escape a literal for POSIX ERE (``grep -E``), RE2 and Python ``re`` alike."""
    return "".join("\\" + ch if ch in _ERE_SPECIAL else ch for ch in literal)


def alternation() -> str:
    """All patterns as one ERE alternation: what ``grep -c -E`` gets in the benchmark."""
    return "|".join(ere_escape(p) for p in all_patterns())


__all__ = ["BY_ID", "CHECKED_AGAINST", "SIGNATURES", "Signature", "all_patterns", "alternation", "classify", "ere_escape"]
