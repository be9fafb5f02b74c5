"""Everything authdoctor knows about how Codex handles credentials.

Each fact here was checked against the real Codex CLI named in
:data:`CHECKED_AGAINST` (``docs/codex-0.169.0-oracle.md``, 221 observed
states) and, where the binary cannot show it offline, the Rust sources
(``../shared/reference/codex-auth.md``).  When a new Codex release changes one
of them, this module -- with ``diagnose/precedence.py`` and the oracle tests in
``tests/oracle`` -- is the reviewable change.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from authdoctor._hash import sha256_hex

if TYPE_CHECKING:
    from typing import Final

CHECKED_AGAINST: Final = "0.169.0"

# --- environment variables -------------------------------------------------

CODEX_API_KEY: Final = "CODEX_API_KEY"
CODEX_ACCESS_TOKEN: Final = "CODEX_ACCESS_TOKEN"
OPENAI_API_KEY: Final = "OPENAI_API_KEY"
OPENAI_BASE_URL: Final = "OPENAI_BASE_URL"
CODEX_HOME: Final = "CODEX_HOME"
# Workload identity federation: either variable set -- even to "" -- makes
# Codex use workload identity ahead of every other credential (oracle rows 4p-4s).
WIF_RULE_ID: Final = "OPENAI_FEDERATION_RULE_ID"
WIF_TOKEN_FILE: Final = "OPENAI_IDENTITY_TOKEN_FILE"
WORKLOAD_IDENTITY_VARS: Final = (WIF_RULE_ID, WIF_TOKEN_FILE)

# Variables whose presence changes which credential or endpoint Codex uses.
OVERRIDE_VARS: Final = (CODEX_ACCESS_TOKEN, CODEX_API_KEY, OPENAI_API_KEY, OPENAI_BASE_URL, CODEX_HOME, *WORKLOAD_IDENTITY_VARS)

# What `authdoctor where` traces by default: every variable that can change
# which credential or endpoint Codex uses, or how it reaches the network.
PROXY_VARS: Final = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")
CA_VARS: Final = ("SSL_CERT_FILE", "CODEX_CA_CERTIFICATE")
WHERE_VARS: Final = (CODEX_ACCESS_TOKEN, CODEX_API_KEY, OPENAI_API_KEY, OPENAI_BASE_URL, CODEX_HOME, *PROXY_VARS, *CA_VARS)
# Variables whose values name places, not credentials: a folder, a CA file, a proxy address, a
# host list.  A finding about them must be able to show the value (unless it holds a password).
PLAIN_VARS: Final = (CODEX_HOME, OPENAI_BASE_URL, *PROXY_VARS, *CA_VARS, "SSL_CERT_DIR")

# What a check collects and traces to its origins: the overrides, and how Codex reaches the network.
CHECK_VARS: Final = (*OVERRIDE_VARS, *PROXY_VARS, *CA_VARS)

# OPENAI_BASE_URL is read by neither `codex`, `codex exec` nor `codex doctor`
# in 0.169.0 (it was removed upstream in 2026); only `openai_base_url` in
# config.toml redirects the built-in provider.
OPENAI_BASE_URL_HONOURED: Final = False

# `$CODEX_HOME/.env` is loaded with dotenvy and every key is exported with
# set_var, overriding the inherited value -- except keys whose upper-case form
# starts with this prefix (codex-rs/arg0 `load_dotenv`, ILLEGAL_ENV_VAR_PREFIX).
DOTENV_FILENAME: Final = ".env"
DOTENV_FORBIDDEN_PREFIX: Final = "CODEX_"

# --- CODEX_HOME layout -----------------------------------------------------

DEFAULT_HOME_DIRNAME: Final = ".codex"
AUTH_FILENAME: Final = "auth.json"
CONFIG_FILENAME: Final = "config.toml"

# --- credential storage ----------------------------------------------------

STORE_FILE: Final = "file"
STORE_KEYRING: Final = "keyring"
STORE_AUTO: Final = "auto"
STORE_EPHEMERAL: Final = "ephemeral"
STORE_MODES: Final = (STORE_FILE, STORE_KEYRING, STORE_AUTO, STORE_EPHEMERAL)
DEFAULT_STORE_MODE: Final = STORE_FILE

KEYRING_SERVICE: Final = "Codex Auth"

# auth.json `auth_mode` values (serde names of protocol AuthMode).
MODE_APIKEY: Final = "apikey"
MODE_CHATGPT: Final = "chatgpt"
MODE_CHATGPT_HOST: Final = "chatgptAuthTokens"
MODE_AGENT_IDENTITY: Final = "agentIdentity"
MODE_PAT: Final = "personalAccessToken"
MODE_BEDROCK: Final = "bedrockApiKey"
MODE_BEDROCK_KEYS: Final = "bedrockAccessKeys"
# Exactly the values 0.169.0 accepts (case-sensitive); "callerProvided" is rejected.
AUTH_MODES: Final = (MODE_APIKEY, MODE_CHATGPT, MODE_CHATGPT_HOST, MODE_AGENT_IDENTITY, MODE_PAT, MODE_BEDROCK, MODE_BEDROCK_KEYS)

# --- tokens ---------------------------------------------------------------

PAT_PREFIX: Final = "at-"
AUTH_CLAIMS: Final = "https://api.openai.com/auth"
PROFILE_CLAIMS: Final = "https://api.openai.com/profile"
AGENT_IDENTITY_ISSUER: Final = "https://chatgpt.com/codex-backend/agent-identity"
AGENT_IDENTITY_AUDIENCE: Final = "codex-app-server"
AGENT_IDENTITY_REQUIRED_CLAIMS: Final = ("agent_runtime_id", "account_id", "exp")

# Codex refreshes a managed ChatGPT login when the access token expires within
# this window, or -- when `exp` cannot be read -- after TOKEN_REFRESH_INTERVAL.
ACCESS_TOKEN_REFRESH_WINDOW: Final = timedelta(minutes=5)
TOKEN_REFRESH_INTERVAL: Final = timedelta(days=8)

# --- endpoints ------------------------------------------------------------

CHATGPT_BACKEND_HOST: Final = "chatgpt.com"
API_HOST: Final = "api.openai.com"
BUILTIN_PROVIDERS: Final = ("openai", "amazon-bedrock", "ollama", "lmstudio")

# --- login flow -----------------------------------------------------------

LOGIN_CALLBACK_PORTS: Final = (1455, 1457)
FORCED_LOGIN_METHODS: Final = ("chatgpt", "api")
# Which credential kinds each forced_login_method lets through (login status
# hides the others: "Not logged in"; interactive start-up logs out).
CHATGPT_FAMILY: Final = frozenset({"chatgpt", "chatgpt-host-managed", "agent-identity", "personal-access-token"})
API_FAMILY: Final = frozenset({"api-key", "bedrock-api-key", "bedrock-access-keys"})
# The workspace restriction filters ChatGPT logins by the *stored*
# tokens.account_id (login status, oracle rows 6-ws-*); start-up enforcement
# reads the id_token's chatgpt_account_id claim.  Both must match.
WORKSPACE_CHECKED_KINDS: Final = frozenset({"chatgpt", "chatgpt-host-managed"})


def keyring_account(canonical_codex_home: str) -> str:
    """The keyring account Codex stores a login under (storage.rs ``compute_store_key``)."""
    digest = sha256_hex(canonical_codex_home.encode("utf-8", "surrogateescape"))
    return f"cli|{digest[:16]}"


def dotenv_key_applies(key: str) -> bool:
    """Whether Codex exports a `$CODEX_HOME/.env` key into its own environment."""
    return not key.upper().startswith(DOTENV_FORBIDDEN_PREFIX)
