"""Read ``$CODEX_HOME/auth.json`` the way Codex 0.169.0 deserialises ``AuthDotJson``."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

from authdoctor.codex import knowledge as K
from authdoctor.codex.tokens import MalformedToken, decode_claims, try_decode
from authdoctor.collect.evidence import AuthFileEvidence, Problem, StoredLogin
from authdoctor.host import Host
from authdoctor.secret import Secret

_BOM = "\ufeff"


def collect_auth_file(host: Host, codex_home: Path) -> AuthFileEvidence:
    path = codex_home / K.AUTH_FILENAME
    lst = host.stat(path, follow=False)
    if lst is None:
        return AuthFileEvidence(path=path, exists=False)
    is_link = stat.S_ISLNK(lst.st_mode)
    st = host.stat(path)
    if st is None:
        return AuthFileEvidence(
            path, True, Problem("unreadable", "it is a symbolic link to a file that does not exist"), is_symlink=is_link
        )
    mode, uid = stat.S_IMODE(st.st_mode), st.st_uid
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        return AuthFileEvidence(path, True, Problem("not-a-file", f"it is {kind}"), mode, uid, is_link)
    try:
        data = host.read_bytes(path)
    except PermissionError:
        return AuthFileEvidence(path, True, Problem("unreadable", "permission denied: your user cannot read it"), mode, uid, is_link)
    except OSError as exc:
        return AuthFileEvidence(
            path, True, Problem("unreadable", f"it cannot be read ({exc.strerror or type(exc).__name__})"), mode, uid, is_link
        )
    except ValueError as exc:
        return AuthFileEvidence(path, True, Problem("too-large", str(exc)), mode, uid, is_link)
    parsed = parse_auth_bytes(data)
    if isinstance(parsed, Problem):
        return AuthFileEvidence(path, True, parsed, mode, uid, is_link)
    return AuthFileEvidence(path, True, None, mode, uid, is_link, parsed, st.st_mtime)


def parse_auth_bytes(data: bytes) -> StoredLogin | Problem:
    """Parse auth.json bytes.  Error messages never quote the file's content."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem("unparsable", f"it is not UTF-8 text (bad byte at offset {exc.start})")
    if text.startswith(_BOM):
        # serde_json (what Codex parses with) rejects a byte-order mark, which
        # some Windows editors add when saving.
        return Problem("unparsable", "it starts with a UTF-8 byte-order mark (BOM), which Codex's JSON parser rejects")
    if not text.strip():
        return Problem("unparsable", "it is empty")
    try:
        payload = json.loads(text, object_pairs_hook=_JsonObject.from_pairs)
    except json.JSONDecodeError as exc:
        # Position only: the message of JSONDecodeError can quote content.
        return Problem("unparsable", f"it is not valid JSON (line {exc.lineno}, column {exc.colno})")
    except RecursionError:
        return Problem("unparsable", "it nests JSON too deeply to be a Codex login")
    return parse_login(payload)


class _JsonObject(dict[str, object]):
    """A JSON object that remembers which keys it saw twice (json keeps the last one)."""

    duplicates: tuple[str, ...] = ()

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, object]]) -> _JsonObject:
        obj = cls(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            dups: set[str] = set()
            for key, _ in pairs:
                (dups if key in seen else seen).add(key)
            obj.duplicates = tuple(sorted(dups))
        return obj


def _duplicate(obj: dict[str, object], where: str) -> Problem | None:
    """serde rejects a struct field given twice; unknown fields may repeat."""
    dups = [k for k in getattr(obj, "duplicates", ()) if k in _KNOWN_FIELDS]
    if not dups:
        return None
    return Problem("unparsable", f"`{where}{dups[0]}` appears twice, which Codex rejects")


# Fields of AuthDotJson and TokenData (Codex 0.169.0): only these must be unique.
_KNOWN_FIELDS = frozenset(
    {
        "auth_mode",
        "OPENAI_API_KEY",
        "tokens",
        "last_refresh",
        "agent_identity",
        "personal_access_token",
        "bedrock_api_key",
        "bedrock_access_keys",
        "id_token",
        "access_token",
        "refresh_token",
        "account_id",
    }
)
# `auth_mode` values Codex 0.169.0 accepts beyond knowledge.AUTH_MODES (see the
# oracle notes, docs/codex-0.169.0-oracle.md §6); belongs in knowledge.py.
_MAX_QUOTED_MODE = 24  # the longest real mode, "personalAccessToken", has 19
# Required members of the persisted Agent Identity record (`email` is optional).
_AGENT_RECORD_FIELDS = ("agent_runtime_id", "agent_private_key", "account_id", "chatgpt_user_id", "plan_type", "chatgpt_account_is_fedramp")


def _str_members(raw: object, field: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, str] | Problem:
    """An object whose ``required`` members are strings (``optional`` ones string or null)."""
    if not isinstance(raw, dict):
        return Problem("unparsable", f"`{field}` must be an object")
    out: dict[str, str] = {}
    for key in required:
        value = raw.get(key)
        if not isinstance(value, str):
            return Problem("unparsable", f"`{field}.{key}` is missing or not a string, so Codex cannot read the file")
        out[key] = value
    for key in optional:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            return Problem("unparsable", f"`{field}.{key}` must be a string")
        if isinstance(value, str):
            out[key] = value
    return out


def _opt_str(obj: dict[str, object], key: str) -> str | Problem | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    return Problem("unparsable", f"`{key}` must be a string, not {type(value).__name__}")


# What chrono's ``DateTime<Utc>`` deserialiser accepts (checked against Codex
# 0.169.0): a date, a `T`, `t` or space, a time with optional fraction, and an
# offset `Z`/`z`, `±hh:mm` or `±hhmm`.  Anything else -- a date alone, a time
# without an offset -- makes serde fail, and with it the whole auth.json.
# As a pattern: \d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:?\d{2}),
# checked by hand below: compiling it costs more than the rest of reading auth.json.
# None stands for a digit (any Unicode decimal digit, as the pattern's \d).
_RFC3339_HEAD = (None, None, None, None, "-", None, None, "-", None, None, "Tt ", None, None, ":", None, None, ":", None, None)


def rfc3339_shape(raw: str) -> bool:
    """Whether ``raw`` has the shape chrono accepts (see above); the values are fromisoformat's business."""
    head = raw[: len(_RFC3339_HEAD)]
    if len(head) < len(_RFC3339_HEAD):
        return False
    for c, want in zip(head, _RFC3339_HEAD, strict=True):
        if not (c.isdecimal() if want is None else c in want):
            return False
    rest = raw[len(_RFC3339_HEAD) :]
    if rest[:1] == ".":
        end = 1
        while end < len(rest) and rest[end].isdecimal():
            end += 1
        if end == 1:
            return False
        rest = rest[end:]
    if rest in ("Z", "z"):
        return True
    if len(rest) == 6 and rest[3] == ":":
        rest = rest[:3] + rest[4:]
    return len(rest) == 5 and rest[0] in "+-" and rest[1:].isdecimal()


def _parse_time(raw: str) -> datetime | None:
    """An RFC 3339 timestamp, or None when Codex could not read it either."""
    if not rfc3339_shape(raw):
        return None
    try:
        when = datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1] in "Zz" else raw)
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else None


def parse_login(payload: object) -> StoredLogin | Problem:
    """Turn an ``AuthDotJson`` object into a :class:`StoredLogin` (or say why Codex cannot)."""
    if not isinstance(payload, dict):
        return Problem("unparsable", f"it holds a JSON {type(payload).__name__}, not an object")
    dup = _duplicate(payload, "")
    if dup is not None:
        return dup
    auth_mode = payload.get("auth_mode")
    if auth_mode is not None and not isinstance(auth_mode, str):
        return Problem("unparsable", f"`auth_mode` must be a string, not {type(auth_mode).__name__}")
    if auth_mode is not None and auth_mode not in K.AUTH_MODES:
        # A typo is worth quoting; something long may be a pasted credential.
        shown = repr(auth_mode) if len(auth_mode) <= _MAX_QUOTED_MODE else f"of {len(auth_mode)} characters"
        return Problem("unparsable", f"auth_mode {shown} is not a mode Codex {K.CHECKED_AGAINST} knows")
    fields: dict[str, str | None] = {}
    for key in ("OPENAI_API_KEY", "personal_access_token", "last_refresh"):
        value = _opt_str(payload, key)
        if isinstance(value, Problem):
            return value
        fields[key] = value
    last_refresh = _parse_time(fields["last_refresh"]) if fields["last_refresh"] is not None else None
    if fields["last_refresh"] is not None and last_refresh is None:
        return Problem("unparsable", "`last_refresh` is not an RFC 3339 timestamp with a time zone, so Codex cannot read the file")

    agent_raw = payload.get("agent_identity")
    agent_identity: Secret | None = None
    if isinstance(agent_raw, str):
        agent_identity = Secret(agent_raw)
    elif isinstance(agent_raw, dict):
        # Newer Codex persists a registered record rather than a JWT; its
        # private key is a secret too.
        private_key = agent_raw.get("agent_private_key")
        if isinstance(private_key, str):
            Secret(private_key)
        missing = [k for k in _AGENT_RECORD_FIELDS if agent_raw.get(k) is None]
        if missing:
            return Problem("unparsable", f"the `agent_identity` record lacks {', '.join(missing)}, so Codex cannot read the file")
        agent_identity = Secret(json.dumps(agent_raw, sort_keys=True))
    elif agent_raw is not None:
        return Problem("unparsable", "`agent_identity` has an unexpected shape")

    bedrock_raw = payload.get("bedrock_api_key")
    bedrock: Secret | None = None
    if bedrock_raw is not None:
        members = _str_members(bedrock_raw, "bedrock_api_key", ("api_key", "region"))
        if isinstance(members, Problem):
            return members
        bedrock = Secret(members["api_key"])
    access_keys_raw = payload.get("bedrock_access_keys")
    access_keys: Secret | None = None
    if access_keys_raw is not None:
        members = _str_members(access_keys_raw, "bedrock_access_keys", ("access_key_id", "secret_access_key"), ("session_token", "region"))
        if isinstance(members, Problem):
            return members
        if "session_token" in members:
            Secret(members["session_token"])
        access_keys = Secret(members["secret_access_key"])

    incomplete: list[str] = []
    tokens = payload.get("tokens")
    id_token = access_token = refresh_token = None
    account_id: str | None = None
    id_claims = access_claims = None
    if tokens is not None:
        if not isinstance(tokens, dict):
            return Problem("unparsable", "`tokens` must be an object")
        dup = _duplicate(tokens, "tokens.")
        if dup is not None:
            return dup
        for key in ("id_token", "access_token", "refresh_token"):
            if key not in tokens:
                return Problem("unparsable", f"`tokens.{key}` is missing, so Codex cannot read the login")
            if not isinstance(tokens[key], str):
                return Problem("unparsable", f"`tokens.{key}` must be a string")
        id_token, access_token, refresh_token = (Secret(str(tokens[k])) for k in ("id_token", "access_token", "refresh_token"))
        raw_account = tokens.get("account_id")
        if raw_account is not None and not isinstance(raw_account, str):
            return Problem("unparsable", "`tokens.account_id` must be a string")
        account_id = raw_account or None
        try:
            # Codex parses the id_token's claims while deserialising; a broken
            # one makes the whole file unreadable to it.
            id_claims = decode_claims(id_token.reveal())
        except MalformedToken as exc:
            return Problem("unparsable", f"`tokens.id_token` is not a valid JWT ({exc})")
        access_claims = try_decode(access_token)
        for key, secret in (("access_token", access_token), ("refresh_token", refresh_token)):
            if not secret:
                incomplete.append(f"tokens.{key} is empty")

    api_key = Secret(fields["OPENAI_API_KEY"]) if fields["OPENAI_API_KEY"] is not None else None
    pat = Secret(fields["personal_access_token"]) if fields["personal_access_token"] is not None else None

    if auth_mode is not None:
        resolved = str(auth_mode)
    elif pat is not None:
        resolved = K.MODE_PAT
    elif bedrock is not None:
        resolved = K.MODE_BEDROCK
    elif access_keys is not None:
        resolved = K.MODE_BEDROCK_KEYS
    elif api_key is not None:
        resolved = K.MODE_APIKEY
    else:
        resolved = K.MODE_CHATGPT

    if resolved == K.MODE_CHATGPT and tokens is None:
        incomplete.append("there are no ChatGPT tokens")
    if resolved == K.MODE_CHATGPT_HOST:
        # Host-managed tokens legitimately have an empty refresh token.
        incomplete = [p for p in incomplete if "refresh_token" not in p]
        if tokens is None:
            incomplete.append("there are no ChatGPT tokens")
    # Codex 0.169.0 refuses these outright ("Error checking login status: …"),
    # while it accepts the merely incomplete ones above and fails later.
    refused: str | None = None
    if resolved == K.MODE_APIKEY and api_key is None:
        refused = 'OPENAI_API_KEY is missing (Codex: "API key auth is missing a key.")'
    elif resolved == K.MODE_APIKEY and not api_key:
        incomplete.append("OPENAI_API_KEY is empty")
    if resolved == K.MODE_AGENT_IDENTITY and agent_identity is None:
        refused = "agent_identity is missing"
    if resolved == K.MODE_PAT and pat is None:
        refused = "personal_access_token is missing"
    elif resolved == K.MODE_PAT and not pat:
        incomplete.append("personal_access_token is empty")
    if resolved == K.MODE_BEDROCK and not bedrock:
        refused = "bedrock_api_key is missing"
    if resolved == K.MODE_BEDROCK_KEYS and not access_keys:
        refused = "bedrock_access_keys is missing"

    agent_claims = try_decode(agent_identity) if isinstance(agent_raw, str) else None
    return StoredLogin(
        auth_mode=str(auth_mode) if auth_mode is not None else None,
        resolved_mode=resolved,
        api_key=api_key,
        id_token=id_token,
        access_token=access_token,
        refresh_token=refresh_token,
        account_id=account_id or (id_claims.account_id if id_claims else None),
        tokens_account_id=account_id,
        refused=refused,
        last_refresh=last_refresh,
        id_claims=id_claims,
        access_claims=access_claims,
        agent_identity=agent_identity,
        agent_claims=agent_claims,
        personal_access_token=pat,
        bedrock_api_key=bedrock,
        bedrock_access_keys=access_keys,
        incomplete=tuple(incomplete),
    )
