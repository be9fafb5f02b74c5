"""Other copies of the login: the same refresh token stored in more than one place.

ChatGPT refresh tokens rotate and are single-use.  When two places hold the
same one and both refresh, the second gets ``refresh_token_reused`` and that
login is dead (failure-modes FM-01).  Copies come from another ``CODEX_HOME``
(the default ``~/.codex`` next to a custom one, ``~/.codex-work``,
``$XDG_CONFIG_HOME/codex…``), from ``cp auth.json auth.json.bak``, and from
account switchers and integrations that snapshot auth.json (FM-01, FM-17):
``~/.codex/accounts/``, ``~/.ae-mcp/codex-home``, Xcode's CodingAssistant home,
the Windows home seen from WSL, opencode's login store.

Bounded work: a fixed list of folders, each listed once (never a recursive
walk of the home), at most :data:`MAX_FILES` files of at most
:data:`MAX_BYTES` each.  Tokens are compared by fingerprint only.
authdoctor's own move-aside backups (``*.authdoctor-*``) and its journal (in the
state directory, never among these folders) are not copies.
"""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.collect.auth_file import parse_auth_bytes
from authdoctor.collect.evidence import AuthFileEvidence, StoredLogin
from authdoctor.host import Host
from authdoctor.secret import Secret

MAX_BYTES = 1024 * 1024
MAX_FILES = 64
_MAX_ENTRIES = 256  # candidate entries taken from one folder

# Kinds of copy.
HOME = "home"  # the auth.json of another Codex home
BACKUP = "backup"  # auth.json.bak, auth-work.json … next to an auth.json
SNAPSHOT = "snapshot"  # an account switcher's saved login (~/.codex/accounts/<name>.json)
OPENCODE = "opencode"  # opencode's login store, holding an `openai` OAuth entry

# Markers of files authdoctor writes itself (move-aside backups, atomic-write temporaries).
_OWN_MARKS = (".authdoctor-", "authdoctor-tmp")


class AuthCopy(NamedTuple):
    """A stored ChatGPT login found outside the current auth.json.  Holds no secret."""

    path: Path
    same_chain: bool  # holds the very refresh token of the current login
    kind: str  # HOME | BACKUP | SNAPSHOT | OPENCODE
    folder: Path  # the Codex home it lives in (for HOME, the one processes would name)
    last_refresh: datetime | None = None
    account_id: str | None = None


def collect_auth_copies(host: Host, codex_home: Path, auth: AuthFileEvidence) -> tuple[AuthCopy, ...]:
    """Logins stored elsewhere, when the current one is a ChatGPT login with a refresh token."""
    login = auth.login
    if login is None or login.resolved_mode != K.MODE_CHATGPT or not login.refresh_token:
        return ()
    chain = login.refresh_token.fingerprint
    current = host.stat(auth.path)
    seen: set[tuple[int, int]] = set()
    if current is not None:
        seen.add((current.st_dev, current.st_ino))
    found: list[AuthCopy] = []
    budget = MAX_FILES
    for path, kind, folder in _candidates(host, codex_home):
        if budget <= 0:
            break
        data = _read(host, path, seen)
        if data is None:
            continue
        budget -= 1
        copy = _opencode(path, folder, data, chain) if kind == OPENCODE else _codex(path, kind, folder, data, chain)
        if copy is not None:
            found.append(copy)
    return tuple(found)


# --- where to look -----------------------------------------------------------------


def _candidates(host: Host, codex_home: Path) -> list[tuple[Path, str, Path]]:
    """(file, kind, folder) for every place worth reading, in a fixed order."""
    home = host.home
    default = home / K.DEFAULT_HOME_DIRNAME
    homes: list[Path] = [codex_home, default]
    homes += _entries(host, home, (".codex-", ".codex_", ".codex."))
    config = _env_dir(host, "XDG_CONFIG_HOME") or home / ".config"
    homes += _entries(host, config, ("codex",))
    homes.append(home / ".ae-mcp" / "codex-home")
    if host.platform == "darwin":
        homes.append(home / "Library" / "Developer" / "Xcode" / "CodingAssistant" / "codex")
    if host.platform.startswith("linux") and host.env.get("WSL_DISTRO_NAME"):
        # The Windows side's home, when this is WSL (people copy auth.json across).
        homes += [user / K.DEFAULT_HOME_DIRNAME for user in _entries(host, host.path("/mnt/c/Users"))]
    out: list[tuple[Path, str, Path]] = []
    done: set[Path] = set()
    for folder in homes:
        real = host.realpath(folder)
        if real in done:
            continue
        done.add(real)
        out += _in_home(host, folder, real)
    for base in dict.fromkeys((host.realpath(codex_home), host.realpath(default))):
        accounts = base / "accounts"
        for entry in _entries(host, accounts):
            if entry.name.endswith(".json"):
                out.append((entry, SNAPSHOT, host.realpath(accounts)))
            else:
                # A per-account CODEX_HOME (codex-auth: ~/.codex/accounts/login-…).
                out.append((entry / K.AUTH_FILENAME, HOME, host.realpath(entry)))
    data_home = _env_dir(host, "XDG_DATA_HOME") or home / ".local" / "share"
    out.append((data_home / "opencode" / K.AUTH_FILENAME, OPENCODE, data_home / "opencode"))
    return out


def _in_home(host: Host, folder: Path, real: Path) -> list[tuple[Path, str, Path]]:
    """``auth.json`` and its copies (``auth*.json*``) in one folder."""
    out = []
    for entry in _entries(host, folder, ("auth",)):
        name = entry.name
        if name == K.AUTH_FILENAME:
            out.append((entry, HOME, real))
        elif name.startswith("auth") and ".json" in name:
            out.append((entry, BACKUP, real))
    return out


def _entries(host: Host, folder: Path, prefixes: tuple[str, ...] = ("",)) -> list[Path]:
    """The entries of ``folder`` whose name starts with one of ``prefixes`` (at most a few hundred)."""
    try:
        entries = host.list_dir(folder)
    except OSError:
        return []
    return [e for e in entries if e.name.startswith(prefixes) and not _ours(e.name)][:_MAX_ENTRIES]


def _ours(name: str) -> bool:
    return any(mark in name for mark in _OWN_MARKS)


def _env_dir(host: Host, name: str) -> Path | None:
    raw = host.env.get(name, "")
    # The XDG spec says a relative value is invalid and must be ignored.
    return Path(raw) if raw and Path(raw).is_absolute() else None


# --- reading ----------------------------------------------------------------------


def _read(host: Host, path: Path, seen: set[tuple[int, int]]) -> bytes | None:
    """The bytes of a small regular file not seen before (a symlink to a seen file is the same file)."""
    st = host.stat(path)
    if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES:
        return None  # never open a FIFO or a device: it could block
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return None
    seen.add(key)
    try:
        return host.read_bytes(path, limit=MAX_BYTES)
    except (OSError, ValueError):
        return None


def _codex(path: Path, kind: str, folder: Path, data: bytes, chain: str) -> AuthCopy | None:
    parsed = parse_auth_bytes(data)
    if not isinstance(parsed, StoredLogin) or not parsed.refresh_token:
        return None
    same = parsed.refresh_token.fingerprint == chain
    return AuthCopy(path, same, kind, folder, parsed.last_refresh, parsed.account_id)


def _opencode(path: Path, folder: Path, data: bytes, chain: str) -> AuthCopy | None:
    """opencode keeps ``{"openai": {"type": "oauth", "refresh": …, "access": …}}``."""
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        return None
    entry = payload.get("openai") if isinstance(payload, dict) else None
    refresh = entry.get("refresh") if isinstance(entry, dict) else None
    if not isinstance(refresh, str) or not refresh.strip():
        return None
    token = Secret(refresh)
    return AuthCopy(path, token.fingerprint == chain, OPENCODE, folder)
