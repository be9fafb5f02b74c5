"""Resolve ``CODEX_HOME`` exactly as ``find_codex_home`` (codex-rs/utils/home-dir) does."""

from __future__ import annotations

import stat
from pathlib import Path

from authdoctor.codex import knowledge as K
from authdoctor.collect.evidence import CodexHomeEvidence
from authdoctor.host import Host


def collect_codex_home(host: Host) -> CodexHomeEvidence:
    default = host.home / K.DEFAULT_HOME_DIRNAME
    raw = host.getenv(K.CODEX_HOME)
    if not raw:
        # Codex does not check that the default exists; a missing ~/.codex just
        # means "not logged in yet".
        return CodexHomeEvidence(path=default, from_env=False, env_value=None, exists=default.is_dir(), default_path=default)
    # A relative CODEX_HOME is relative to Codex's working directory.  The Host
    # has no working directory of its own, so authdoctor's stands in for it:
    # right when it runs in the shell that starts Codex, a guess otherwise.
    target = host.path(raw) if Path(raw).is_absolute() else Path(raw)
    st = host.stat(target)
    if st is None:
        # Also a dangling symlink or a path we may not search (Codex would
        # report those as unreadable; the Host cannot tell them apart).
        return CodexHomeEvidence(path=target.absolute(), from_env=True, env_value=raw, problem="missing", default_path=default)
    if not stat.S_ISDIR(st.st_mode):
        return CodexHomeEvidence(path=target.absolute(), from_env=True, env_value=raw, problem="not-a-directory", default_path=default)
    try:
        canonical = target.resolve(strict=True)
    except (OSError, RuntimeError):
        return CodexHomeEvidence(path=target.absolute(), from_env=True, env_value=raw, problem="unreadable", default_path=default)
    return CodexHomeEvidence(path=canonical, from_env=True, env_value=raw, exists=True, default_path=default)
