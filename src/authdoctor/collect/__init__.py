"""Collect: read-only gatherers that turn a :class:`~authdoctor.host.Host` into :class:`Evidence`.

Each gatherer reads one family of evidence.  A gatherer that fails records why
and the run goes on with an empty result for that family.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from authdoctor.codex import knowledge as K
from authdoctor.collect.auth_file import collect_auth_file
from authdoctor.collect.codex_home import collect_codex_home
from authdoctor.collect.codex_install import CodexInstall, collect_codex_install
from authdoctor.collect.config import collect_config
from authdoctor.collect.dotenv import collect_dotenv
from authdoctor.collect.environment import collect_environment
from authdoctor.collect.evidence import (
    AuthFileEvidence,
    CodexHomeEvidence,
    ConfigEvidence,
    DotenvEvidence,
    EnvValue,
    Evidence,
    GathererFailure,
    KeyringEvidence,
)
from authdoctor.collect.keyring import collect_keyring
from authdoctor.collect.logs.model import LogEvidence
from authdoctor.collect.origins.model import OriginScan
from authdoctor.host import Host
from authdoctor.secret import Secret, scrub

if TYPE_CHECKING:
    from typing import TypeVar

    from authdoctor.collect.auth_copies import AuthCopy
    from authdoctor.collect.network import NetworkEvidence
    from authdoctor.collect.online import OnlineEvidence
    from authdoctor.collect.ports import PortEvidence
    from authdoctor.collect.processes import CodexProcess
    from authdoctor.collect.tmux import TmuxEvidence

    T = TypeVar("T")


def collect(host: Host, *, origins: bool = True, execute: bool = True, trace: bool = False, online: bool = False) -> Evidence:
    """Gather everything.  ``origins`` scans where watched variables are set; ``execute`` allows
    tracing the user's shell when the static reading cannot explain a value in this terminal;
    ``trace`` (for ``fix``, which must find every origin) traces whenever ``execute`` allows;
    ``online`` (opt-in, ``--online``) opens TLS connections to the auth and API hosts."""
    failures: list[GathererFailure] = []

    def guarded(name: str, fn: Callable[[], T], fallback: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one broken gatherer must not stop the check
            failures.append(GathererFailure(name, scrub(f"{type(exc).__name__}: {exc}")))
            return fallback()

    # tmux answers through a subprocess per server (10-30 ms): ask it while the files are read.
    tmux_job = Background(lambda: _tmux(host)) if _tmux_may_run(host) else None
    # Without /proc (macOS, Windows) the process table and the listeners come from other
    # programs (ps, lsof, tasklist, netstat: tens of milliseconds each): ask them meanwhile too.
    elsewhere = host.live and host.proc is None
    processes_job = Background(lambda: _processes(host)) if elsewhere else None
    ports_job = Background(lambda: _ports(host)) if elsewhere else None
    home = guarded("CODEX_HOME", lambda: collect_codex_home(host), lambda: _codex_home_fallback(host))
    auth_path = home.path / K.AUTH_FILENAME
    auth = guarded("auth.json", lambda: collect_auth_file(host, home.path), lambda: AuthFileEvidence(auth_path, False))
    config = guarded("config.toml", lambda: collect_config(host, home.path), lambda: ConfigEvidence(home.path / K.CONFIG_FILENAME, False))
    dotenv = guarded(".env", lambda: collect_dotenv(host, home.path), lambda: DotenvEvidence(home.path / K.DOTENV_FILENAME, False))
    keyring = guarded("keyring", lambda: collect_keyring(host, home, config), lambda: KeyringEvidence(probed=False))
    no_env: Mapping[str, EnvValue] = {}
    env = guarded("environment", lambda: collect_environment(host, dotenv), lambda: no_env)
    default_auth = None
    if home.from_env and home.default_path is not None and home.default_path != home.path:
        # Needed to tell "you are logged in, but in another home".
        default_path = home.default_path
        default_auth = guarded(
            "default auth.json", lambda: collect_auth_file(host, default_path), lambda: AuthFileEvidence(default_path, False)
        )
    no_scans: tuple[OriginScan, ...] = ()
    scans = guarded("origins", lambda: _origins(host, execute, trace) if origins else no_scans, lambda: no_scans)
    env = _with_startup_values(host, env, scans)
    chain = guarded("parent processes", lambda: _parent_chain(host, env, scans), lambda: None)
    install = guarded("codex install", lambda: collect_codex_install(host), lambda: CodexInstall(None, None))
    logs = guarded("logs", lambda: _logs(host, home.path, config, auth), lambda: None)
    no_copies: tuple[AuthCopy, ...] = ()
    copies = guarded("auth.json copies", lambda: _auth_copies(host, home.path, auth), lambda: no_copies)
    # Only refresh-conflict-risk reads the process table so far: a login without a
    # refresh token cannot conflict, and a check should not pay for the walk.
    processes = guarded("processes", lambda: processes_job.result(LIVE_WAIT) if processes_job else _processes(host), lambda: None)
    tmux = guarded("tmux", lambda: tmux_job.result(TMUX_WAIT), lambda: None) if tmux_job is not None else None
    ports = guarded("login ports", lambda: ports_job.result(LIVE_WAIT) if ports_job else _ports(host), lambda: None)
    network = guarded("network settings", lambda: _network(host, dotenv, home.path), lambda: None)
    probe = guarded("online check", lambda: _online(host, dotenv), lambda: None) if online else None
    evidence = Evidence(
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
        origin_scans=scans,
        parent_chain=chain,
        env_shell={k: v for k in _SESSION_VARS if (v := host.env.get(k)) is not None},
        failures=tuple(failures),
        logs=logs,
        auth_copies=copies,
        processes=processes,
        tmux=tmux,
        ports=ports,
        network=network,
        online=probe,
        live=host.live,
    )
    release_plain_values(evidence)
    return evidence


def release_plain_values(ev: Evidence) -> None:
    """Stop scrubbing values that name places (CODEX_HOME, a CA file, a password-less proxy, NO_PROXY) from the output.

    Every value read is wrapped in a Secret, which also registers it so any output
    that quotes it gets ``<redacted>``.  For these variables that hid the very thing a
    finding is about: the folder, the file, the port -- and every ``localhost`` in
    the report once ``NO_PROXY=localhost`` was read.  A value that also belongs
    to a credential variable, or that holds a password or a token, stays hidden.
    """
    plain: set[str] = set()
    kept: set[str] = set()

    def sort(name: str, value: Secret | None) -> None:
        if value is not None:
            (plain if name in K.PLAIN_VARS else kept).add(value.reveal().strip())

    for name, env_value in ev.env.items():
        sort(name, env_value.value)
    for entry in ev.dotenv.entries:
        sort(entry.key, entry.value)
    for scan in ev.origin_scans:
        for trail in scan.trails:
            for setting in trail.settings:
                sort(setting.var, setting.value)
    for proc in ev.processes or ():
        for name, proc_value in proc.values:
            sort(name, proc_value)
    candidates = plain - kept
    if not candidates:
        return
    from authdoctor.secret import REGISTRY, looks_secret

    for value in candidates:
        if "@" not in value and not looks_secret(value):
            REGISTRY.discard(value)


# tmux's own commands time out after a second or two; a server that never answers is skipped, and said so.
TMUX_WAIT = 5.0
# ps, lsof, tasklist and netstat run with their own timeouts of a second or two.
LIVE_WAIT = 5.0


_R = TypeVar("_R")


class Background(Generic[_R]):
    """Run one gatherer in a thread: for the ones that wait on another program, not on Python."""

    def __init__(self, fn: Callable[[], _R]) -> None:
        import threading

        self._fn = fn
        self._value: _R | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="authdoctor-gatherer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's guard in result()
            self._error = exc

    def result(self, timeout: float) -> _R | None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"no answer within {timeout:.0f} s; skipped so the check does not hang")
        if self._error is not None:
            raise self._error
        return self._value


# What a rule may know of the session: the user's shell (which start-up files a new
# terminal reads) and whether a browser can reach a login callback (headless-login).
_SESSION_VARS = ("SHELL", "HOME", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY", "CODESPACES")


def _auth_copies(host: Host, codex_home: Path, auth: AuthFileEvidence) -> tuple[AuthCopy, ...]:
    from authdoctor.collect.auth_copies import collect_auth_copies

    return collect_auth_copies(host, codex_home, auth)


def _processes(host: Host) -> tuple[CodexProcess, ...] | None:
    from authdoctor.collect.processes import codex_processes

    return codex_processes(host)


def _tmux_may_run(host: Host) -> bool:
    """Whether any tmux server could run: $TMUX, or a socket in tmux's folder that does not refuse a connection.

    Only then is collect/tmux.py imported and run (collect/tmux_sockets.py says why).
    """
    from authdoctor.collect.tmux_sockets import may_find_server

    try:
        return may_find_server(host)
    except Exception:  # noqa: BLE001 - then the collector runs, guarded, and says what went wrong
        return True


def _tmux(host: Host) -> TmuxEvidence | None:
    from authdoctor.collect.tmux import collect_tmux

    return collect_tmux(host)


def _ports(host: Host) -> PortEvidence | None:
    from authdoctor.collect.ports import collect_ports

    return collect_ports(host)


def _network(host: Host, dotenv: DotenvEvidence, codex_home: Path) -> NetworkEvidence | None:
    from authdoctor.collect.network import collect_network

    return collect_network(host, dotenv, codex_home)


def _online(host: Host, dotenv: DotenvEvidence) -> OnlineEvidence:
    from authdoctor.collect.online import collect_online

    return collect_online(host, dotenv)


def _logs(host: Host, codex_home: Path, config: ConfigEvidence, auth: AuthFileEvidence) -> LogEvidence:
    from authdoctor.collect.logs import collect_logs

    return collect_logs(host, codex_home, config, auth)


def _codex_home_fallback(host: Host) -> CodexHomeEvidence:
    """Where Codex would look when resolving CODEX_HOME itself failed: say so rather than guess."""
    default = host.home / K.DEFAULT_HOME_DIRNAME
    raw = host.getenv(K.CODEX_HOME)
    if raw:
        return CodexHomeEvidence(path=Path(raw), from_env=True, env_value=raw, problem="unreadable", default_path=default)
    return CodexHomeEvidence(path=default, from_env=False, env_value=None, default_path=default)


def _origins(host: Host, execute: bool, trace: bool = False) -> tuple[OriginScan, ...]:
    from authdoctor.collect.origins import TRACE_SOURCE, run_source, scan_origins
    from authdoctor.collect.origins.contexts import user_shell

    names = frozenset(K.CHECK_VARS)
    shell = user_shell(host.env, host.platform)
    scans = scan_origins(host, names, execute=False, focus="sh" if shell == "dash" else shell)
    if execute and (trace or _needs_trace(host, names, scans)):
        # Codex and the desktop app inherit from a login shell: that is the one a check confirms.
        scans = (*scans, run_source(host, names, *TRACE_SOURCE, {"static": scans, "modes": ("login+interactive",)}))
    return scans


def _needs_trace(host: Host, names: frozenset[str], scans: tuple[OriginScan, ...]) -> bool:
    """Trace only what reading cannot know: a value generated by ``eval "$(…)"``.

    Starting the user's shell costs as much as the whole check, so a value this
    terminal holds that no file sets is explained by the cheap provenance layer
    (tmux, direnv, parent processes) instead; ``authdoctor where`` traces always.
    """
    return any(s.blocker == "eval" and s.var in names for scan in scans for trail in scan.trails for s in trail.settings)


def _with_startup_values(host: Host, env: Mapping[str, EnvValue], scans: tuple[OriginScan, ...]) -> Mapping[str, EnvValue]:
    """A variable this terminal lacks but a new terminal gets still reaches Codex next time."""
    from authdoctor.collect.origins.contexts import new_terminal_winner

    merged = dict(env)
    for name in K.CHECK_VARS:
        if name in merged:
            continue
        won = new_terminal_winner(scans, name, host.env, host.platform)
        if won is not None and won.value is not None:
            merged[name] = EnvValue(name, won.value, "startup", won.line or None)
    return merged


def _parent_chain(host: Host, env: Mapping[str, EnvValue], scans: tuple[OriginScan, ...]) -> str | None:
    """The parent process chain, when some override in this terminal has no start-up origin."""
    found = {s.var for scan in scans for trail in scan.trails for s in trail.settings}
    if not any(v.source == "environment" and v.set and name not in found for name, v in env.items()):
        return None
    from authdoctor.collect.origins.provenance import describe_chain, process_chain

    chain = process_chain(host)
    return describe_chain(chain) if chain else None
