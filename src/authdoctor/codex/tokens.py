"""Reading tokens without verifying them and without touching the network.

Codex itself decodes ChatGPT JWT payloads without a signature check; we do the
same, only to learn expiry, issue time, account and plan.  Nothing here ever
returns a token's value.
"""

from __future__ import annotations

import binascii
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.secret import Secret

if TYPE_CHECKING:
    from typing import Any


class TokenKind(StrEnum):
    """What a credential is, in the words the JSON report uses."""

    AGENT_IDENTITY = "agent-identity"
    PERSONAL_ACCESS_TOKEN = "personal-access-token"
    API_KEY = "api-key"
    CHATGPT = "chatgpt"
    CHATGPT_HOST_MANAGED = "chatgpt-host-managed"
    BEDROCK_API_KEY = "bedrock-api-key"
    UNKNOWN = "unknown"


class Claims(NamedTuple):
    """The few JWT claims Codex reads.  No secret material."""

    expires_at: datetime | None = None
    issued_at: datetime | None = None
    email: str | None = None
    plan: str | None = None
    account_id: str | None = None
    user_id: str | None = None
    issuer: str | None = None
    audience: tuple[str, ...] = ()
    agent_runtime_id: str | None = None
    claim_names: frozenset[str] = frozenset()
    auth_time: datetime | None = None  # OIDC: when the person signed in (kept across refreshes), where the token says


class MalformedToken(ValueError):
    """The value is not a decodable JWT.  The message never contains the value."""


_URLSAFE = str.maketrans("-_", "+/")


def _b64url_json(segment: str) -> dict[str, Any]:
    try:
        # binascii, not base64: the same decoding without importing base64 and struct at start-up.
        raw = binascii.a2b_base64((segment + "=" * (-len(segment) % 4)).translate(_URLSAFE))
        obj = json.loads(raw)
    except (binascii.Error, ValueError):
        # ValueError covers non-ASCII text, invalid UTF-8 and bad JSON.  The
        # cause is dropped (``from None``): a JSONDecodeError carries the
        # decoded payload and a UnicodeDecodeError quotes its bytes, and a
        # --verbose traceback would print the chain.
        raise MalformedToken("a JWT segment is not base64url-encoded JSON") from None
    except RecursionError:
        # Deeply nested JSON ("[[[[…") exhausts the parser's stack.
        raise MalformedToken("a JWT segment nests JSON too deeply") from None
    if not isinstance(obj, dict):
        raise MalformedToken("a JWT segment is not a JSON object")
    return obj


def _timestamp(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def decode_claims(token: str) -> Claims:
    """Decode a JWT's payload without verifying it.  Raises :class:`MalformedToken`."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise MalformedToken(f"a JWT has 3 dot-separated parts, this value has {len(parts)}")
    if not all(parts[:2]):
        raise MalformedToken("a JWT's header and payload parts must not be empty")
    _b64url_json(parts[0])
    payload = _b64url_json(parts[1])
    auth = payload.get(K.AUTH_CLAIMS)
    auth = auth if isinstance(auth, dict) else {}
    profile = payload.get(K.PROFILE_CLAIMS)
    profile = profile if isinstance(profile, dict) else {}
    aud = payload.get("aud")
    audience = (aud,) if isinstance(aud, str) else tuple(a for a in aud if isinstance(a, str)) if isinstance(aud, list) else ()
    return Claims(
        expires_at=_timestamp(payload.get("exp")),
        issued_at=_timestamp(payload.get("iat")),
        email=_str(payload.get("email")) or _str(profile.get("email")),
        plan=_str(auth.get("chatgpt_plan_type")) or _str(payload.get("plan_type")),
        account_id=_str(auth.get("chatgpt_account_id")) or _str(payload.get("account_id")),
        user_id=_str(auth.get("chatgpt_user_id")) or _str(auth.get("user_id")) or _str(payload.get("chatgpt_user_id")),
        issuer=_str(payload.get("iss")),
        audience=audience,
        agent_runtime_id=_str(payload.get("agent_runtime_id")),
        claim_names=frozenset(payload),
        auth_time=_timestamp(payload.get("auth_time")),
    )


def try_decode(token: Secret | None) -> Claims | None:
    if token is None or not token:
        return None
    try:
        return decode_claims(token.reveal())
    except MalformedToken:
        return None


class AccessTokenShape(NamedTuple):
    """How Codex would read a ``CODEX_ACCESS_TOKEN`` value, and what is wrong with it."""

    kind: TokenKind
    claims: Claims | None
    problem: str | None


def classify_access_token(value: str) -> AccessTokenShape:
    """Classify a ``CODEX_ACCESS_TOKEN`` the way Codex does: ``at-`` prefix or agent-identity JWT."""
    value = value.strip()
    if value.startswith(K.PAT_PREFIX):
        if len(value) <= len(K.PAT_PREFIX) or any(c.isspace() for c in value):
            return AccessTokenShape(
                TokenKind.PERSONAL_ACCESS_TOKEN, None, "it starts with `at-` but is not a complete personal access token"
            )
        return AccessTokenShape(TokenKind.PERSONAL_ACCESS_TOKEN, None, None)
    try:
        claims = decode_claims(value)
    except MalformedToken as exc:
        return AccessTokenShape(
            TokenKind.UNKNOWN,
            None,
            f"it is neither a personal access token (`at-…`) nor an agent identity JWT: {exc}",
        )
    missing = [c for c in K.AGENT_IDENTITY_REQUIRED_CLAIMS if c not in claims.claim_names]
    if missing:
        hint = (
            " It looks like a ChatGPT access token, which belongs in auth.json, not here."
            if claims.account_id and "agent_runtime_id" in missing
            else ""
        )
        return AccessTokenShape(
            TokenKind.AGENT_IDENTITY,
            claims,
            f"it is a JWT but not an agent identity token (missing {', '.join(missing)}).{hint}",
        )
    if claims.issuer is not None and claims.issuer != K.AGENT_IDENTITY_ISSUER:
        return AccessTokenShape(TokenKind.AGENT_IDENTITY, claims, f"its issuer is {claims.issuer!r}, not Codex's agent identity service")
    return AccessTokenShape(TokenKind.AGENT_IDENTITY, claims, None)


def describe_age(delta_seconds: float) -> str:
    """Human words for a duration: ``3 days``, ``5 hours``, ``2 minutes``."""
    s = abs(delta_seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if s >= size:
            n = int(s // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


def relative(when: datetime, now: datetime) -> str:
    """``expired 3 days ago`` style wording helper: returns ``3 days ago`` / ``in 5 hours``."""
    delta = (when - now).total_seconds()
    return f"in {describe_age(delta)}" if delta > 0 else f"{describe_age(delta)} ago"
