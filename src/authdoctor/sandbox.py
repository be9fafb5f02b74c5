"""Synthetic Codex homes for the demo, the benchmark and the tests.

Every token is made up at run time (random bytes, unsigned JWTs), so no real
credential is ever written or committed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from authdoctor.codex import knowledge as K


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: dict[str, Any], *, alg: str = "RS256") -> str:
    header = {"alg": alg, "typ": "JWT", "kid": "sandbox"}
    signature = secrets.token_bytes(32)
    return ".".join((_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()), _b64url(signature)))


def _ts(when: datetime) -> int:
    return int(when.timestamp())


def chatgpt_claims(*, email: str, plan: str, account_id: str, user_id: str) -> dict[str, Any]:
    return {K.AUTH_CLAIMS: {"chatgpt_plan_type": plan, "chatgpt_account_id": account_id, "chatgpt_user_id": user_id}, "email": email}


def chatgpt_auth(
    now: datetime,
    *,
    email: str = "dev@example.com",
    plan: str = "plus",
    account_id: str = "acct-sandbox-1",
    access_expires_in: timedelta = timedelta(days=9),
    last_refresh_ago: timedelta = timedelta(hours=2),
    api_key: str | None = None,
) -> dict[str, Any]:
    """An ``auth.json`` payload as a browser ``codex login`` writes it."""
    base = chatgpt_claims(email=email, plan=plan, account_id=account_id, user_id="user-sandbox-1")
    issued = now + access_expires_in - timedelta(days=10)
    id_token = make_jwt(
        {**base, "iss": "https://auth.openai.com", "aud": ["app_sandbox"], "iat": _ts(issued), "exp": _ts(issued + timedelta(hours=1))}
    )
    access = make_jwt({**base, "iss": "https://auth.openai.com", "iat": _ts(issued), "exp": _ts(now + access_expires_in)})
    return {
        "auth_mode": K.MODE_CHATGPT,
        "OPENAI_API_KEY": api_key,
        "tokens": {
            "id_token": id_token,
            "access_token": access,
            "refresh_token": "rt_" + secrets.token_urlsafe(32),
            "account_id": account_id,
        },
        "last_refresh": (now - last_refresh_ago).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def agent_identity_jwt(now: datetime, *, expires_in: timedelta, account_id: str = "acct-sandbox-1") -> str:
    """A token shaped like a Codex agent identity (unsigned: it would fail verification anyway)."""
    return make_jwt(
        {
            "iss": K.AGENT_IDENTITY_ISSUER,
            "aud": K.AGENT_IDENTITY_AUDIENCE,
            "iat": _ts(now + expires_in - timedelta(days=30)),
            "exp": _ts(now + expires_in),
            "agent_runtime_id": "ar_" + secrets.token_hex(8),
            "agent_private_key": _b64url(secrets.token_bytes(48)),
            "account_id": account_id,
            "chatgpt_user_id": "user-sandbox-1",
            "email": "agent@example.com",
            "plan_type": "business",
            "chatgpt_account_is_fedramp": False,
        }
    )


def personal_access_token() -> str:
    return K.PAT_PREFIX + secrets.token_urlsafe(32)


def api_key() -> str:
    return "sk-proj-" + secrets.token_urlsafe(40).replace("-", "x").replace("_", "y")


def write_private(path: Path, text: str | bytes, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    path.chmod(mode)
    return path


def write_auth(codex_home: Path, payload: dict[str, Any] | str | bytes, mode: int = 0o600) -> Path:
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload, indent=2)
    return write_private(codex_home / K.AUTH_FILENAME, body, mode)


class SeedHome(NamedTuple):
    """The seed story: a valid ChatGPT login plus an expired CODEX_ACCESS_TOKEN exported from ``.zshrc``."""

    home: Path
    codex_home: Path
    zshrc: Path
    export_line: int
    access_token: str


SEED_ZSHRC = """\
# ~/.zshrc
export EDITOR=vim
export CODEX_ACCESS_TOKEN={token}
alias ll='ls -l'
"""


def build_seed_home(home: Path, now: datetime) -> SeedHome:
    codex_home = home / K.DEFAULT_HOME_DIRNAME
    codex_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_auth(codex_home, chatgpt_auth(now))
    token = agent_identity_jwt(now, expires_in=-timedelta(days=300))
    zshrc = write_private(home / ".zshrc", SEED_ZSHRC.format(token=token), 0o644)
    return SeedHome(home=home, codex_home=codex_home, zshrc=zshrc, export_line=3, access_token=token)
