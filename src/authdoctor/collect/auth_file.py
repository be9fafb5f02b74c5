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
    return AuthFileEvidence(path, True, None, mode, uid, is_link, parsed)


def parse_auth_bytes(data: bytes) -> StoredLogin | Problem:
    """Parse auth.json bytes.  Error messages never quote the file's content."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem("unparsable", f"it is not UTF-8 text (bad byte at offset {exc.start})")
    if not text.strip():
        return Problem("unparsable", "it is empty")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        # Position only: the message of JSONDecodeError can quote content.
        return Problem("unparsable", f"it is not valid JSON (line {exc.lineno}, column {exc.colno})")
    return parse_login(payload)


def _opt_str(obj: dict[str, object], key: str) -> str | Problem | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    return Problem("unparsable", f"`{key}` must be a string, not {type(value).__name__}")


def _parse_time(raw: object) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_login(payload: object) -> StoredLogin | Problem:
    """Turn an ``AuthDotJson`` object into a :class:`StoredLogin` (or say why Codex cannot)."""
    if not isinstance(payload, dict):
        return Problem("unparsable", f"it holds a JSON {type(payload).__name__}, not an object")
    auth_mode = payload.get("auth_mode")
    if auth_mode is not None and auth_mode not in K.AUTH_MODES:
        return Problem("unparsable", f"auth_mode {auth_mode!r} is not a mode Codex {K.CHECKED_AGAINST} knows")
    fields: dict[str, str | None] = {}
    for key in ("OPENAI_API_KEY", "personal_access_token", "last_refresh"):
        value = _opt_str(payload, key)
        if isinstance(value, Problem):
            return value
        fields[key] = value

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
        agent_identity = Secret(json.dumps(agent_raw, sort_keys=True))
    elif agent_raw is not None:
        return Problem("unparsable", "`agent_identity` has an unexpected shape")

    bedrock_raw = payload.get("bedrock_api_key")
    bedrock: Secret | None = None
    if isinstance(bedrock_raw, dict) and isinstance(bedrock_raw.get("api_key"), str):
        bedrock = Secret(str(bedrock_raw["api_key"]))

    incomplete: list[str] = []
    tokens = payload.get("tokens")
    id_token = access_token = refresh_token = None
    account_id: str | None = None
    id_claims = access_claims = None
    if tokens is not None:
        if not isinstance(tokens, dict):
            return Problem("unparsable", "`tokens` must be an object")
        for key in ("id_token", "access_token", "refresh_token"):
            if key not in tokens:
                return Problem("unparsable", f"`tokens.{key}` is missing, so Codex cannot read the login")
            if not isinstance(tokens[key], str):
                return Problem("unparsable", f"`tokens.{key}` must be a string")
        id_token, access_token, refresh_token = (Secret(str(tokens[k])) for k in ("id_token", "access_token", "refresh_token"))
        raw_account = tokens.get("account_id")
        account_id = raw_account if isinstance(raw_account, str) and raw_account else None
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
    if resolved == K.MODE_CHATGPT and fields["last_refresh"] is None and tokens is not None:
        incomplete.append("last_refresh is missing")
    if resolved == K.MODE_APIKEY and not api_key:
        incomplete.append("OPENAI_API_KEY is empty")
    if resolved == K.MODE_AGENT_IDENTITY and not agent_identity:
        incomplete.append("agent_identity is missing")
    if resolved == K.MODE_PAT and not pat:
        incomplete.append("personal_access_token is missing")
    if resolved == K.MODE_BEDROCK and not bedrock:
        incomplete.append("bedrock_api_key is missing")

    agent_claims = try_decode(agent_identity) if isinstance(agent_raw, str) else None
    return StoredLogin(
        auth_mode=str(auth_mode) if auth_mode is not None else None,
        resolved_mode=resolved,
        api_key=api_key,
        id_token=id_token,
        access_token=access_token,
        refresh_token=refresh_token,
        account_id=account_id or (id_claims.account_id if id_claims else None),
        last_refresh=_parse_time(fields["last_refresh"]),
        id_claims=id_claims,
        access_claims=access_claims,
        agent_identity=agent_identity,
        agent_claims=agent_claims,
        personal_access_token=pat,
        bedrock_api_key=bedrock,
        incomplete=tuple(incomplete),
    )
