"""Collect: read-only gatherers that turn a :class:`~authdoctor.host.Host` into :class:`Evidence`.

Each gatherer reads one family of evidence.  A gatherer that fails records why
and the run goes on with an empty result for that family.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from authdoctor.codex import knowledge as K
from authdoctor.collect.auth_file import collect_auth_file
from authdoctor.collect.codex_home import collect_codex_home
from authdoctor.collect.codex_install import CodexInstall, collect_codex_install
from authdoctor.collect.config import collect_config
from authdoctor.collect.dotenv import collect_dotenv
from authdoctor.collect.environment import collect_environment
from authdoctor.collect.evidence import (
    AuthFileEvidence,
    ConfigEvidence,
    DotenvEvidence,
    Evidence,
    GathererFailure,
    KeyringEvidence,
)
from authdoctor.collect.keyring import collect_keyring
from authdoctor.host import Host
from authdoctor.secret import scrub

if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")


def collect(host: Host) -> Evidence:
    failures: list[GathererFailure] = []

    def guarded(name: str, fn: Callable[[], T], fallback: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one broken gatherer must not stop the check
            failures.append(GathererFailure(name, scrub(f"{type(exc).__name__}: {exc}")))
            return fallback()

    home = collect_codex_home(host)
    auth_path = home.path / K.AUTH_FILENAME
    auth = guarded("auth.json", lambda: collect_auth_file(host, home.path), lambda: AuthFileEvidence(auth_path, False))
    config = guarded("config.toml", lambda: collect_config(host, home.path), lambda: ConfigEvidence(home.path / K.CONFIG_FILENAME, False))
    dotenv = guarded(".env", lambda: collect_dotenv(host, home.path), lambda: DotenvEvidence(home.path / K.DOTENV_FILENAME, False))
    keyring = guarded("keyring", lambda: collect_keyring(host, home, config), lambda: KeyringEvidence(probed=False))
    env = collect_environment(host, dotenv)
    default_auth = None
    if home.from_env and home.default_path is not None and home.default_path != home.path:
        # Needed to tell "you are logged in, but in another home".
        default_path = home.default_path
        default_auth = guarded(
            "default auth.json", lambda: collect_auth_file(host, default_path), lambda: AuthFileEvidence(default_path, False)
        )
    install = guarded("codex install", lambda: collect_codex_install(host), lambda: CodexInstall(None, None))
    return Evidence(
        now=host.now(),
        platform=host.platform,
        uid=host.uid,
        home=host.home,
        codex_home=home,
        auth_file=auth,
        config=config,
        dotenv=dotenv,
        keyring=keyring,
        env=env,
        default_home_auth=default_auth,
        codex_path=install.path,
        codex_version=install.version,
        failures=tuple(failures),
    )
