"""Read the auth-related keys of ``$CODEX_HOME/config.toml``."""

from __future__ import annotations

from pathlib import Path

from authdoctor.codex import knowledge as K
from authdoctor.collect.evidence import ConfigEvidence, Problem, ProviderConfig
from authdoctor.host import Host


def collect_config(host: Host, codex_home: Path) -> ConfigEvidence:
    path = codex_home / K.CONFIG_FILENAME
    if host.stat(path) is None:
        return ConfigEvidence(path=path, exists=host.stat(path, follow=False) is not None)
    try:
        data = host.read_bytes(path)
    except (OSError, ValueError) as exc:
        reason = (
            "permission denied"
            if isinstance(exc, PermissionError)
            else (str(exc) if isinstance(exc, ValueError) else exc.strerror or type(exc).__name__)
        )
        return ConfigEvidence(path, True, Problem("unreadable", f"it cannot be read ({reason})"))
    return parse_config(path, data)


def parse_config(path: Path, data: bytes) -> ConfigEvidence:
    import tomllib  # only paid for when a config file exists

    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ConfigEvidence(path, True, Problem("unparsable", f"it is not UTF-8 text (bad byte at offset {exc.start})"))
    try:
        # Codex's `toml` crate skips a leading byte-order mark; tomllib does not.
        doc = tomllib.loads(source.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        # tomllib messages give a position and quote at most one character.
        return ConfigEvidence(path, True, Problem("unparsable", f"it is not valid TOML: {exc}"))
    except RecursionError:
        return ConfigEvidence(path, True, Problem("unparsable", "it is not valid TOML: values are nested too deeply"))

    problems: list[str] = []

    def text(key: str) -> str | None:
        value = doc.get(key)
        if value is None or isinstance(value, str):
            return value
        problems.append(f"`{key}` must be a string")
        return None

    store_raw = text("cli_auth_credentials_store")
    store = store_raw if store_raw is not None else K.DEFAULT_STORE_MODE
    if store not in K.STORE_MODES:
        problems.append(f"cli_auth_credentials_store = {store_raw!r} is not one of {', '.join(K.STORE_MODES)}")
        store = K.DEFAULT_STORE_MODE
    forced_method = text("forced_login_method")
    if forced_method is not None and forced_method not in K.FORCED_LOGIN_METHODS:
        problems.append(f"forced_login_method = {forced_method!r} is not one of {', '.join(K.FORCED_LOGIN_METHODS)}")
    ws_raw = doc.get("forced_chatgpt_workspace_id")
    if isinstance(ws_raw, str):
        workspaces: tuple[str, ...] = (ws_raw,) if ws_raw.strip() else ()
    elif isinstance(ws_raw, list) and all(isinstance(w, str) for w in ws_raw):
        workspaces = tuple(w for w in ws_raw if w.strip())
    else:
        workspaces = ()
        if ws_raw is not None:
            problems.append("`forced_chatgpt_workspace_id` must be a string or a list of strings")

    providers: dict[str, ProviderConfig] = {}
    table = doc.get("model_providers")
    if isinstance(table, dict):
        for pid, spec in table.items():
            if not isinstance(spec, dict):
                continue
            env_key = spec.get("env_key")
            base_url = spec.get("base_url")
            requires = spec.get("requires_openai_auth")
            providers[pid] = ProviderConfig(
                id=pid,
                base_url=base_url if isinstance(base_url, str) else None,
                env_key=env_key if isinstance(env_key, str) and env_key else None,
                requires_openai_auth=requires if isinstance(requires, bool) else None,
            )
    # Read before the problem is put together, so their type errors are in it.
    base_url = text("openai_base_url")
    model_provider = text("model_provider")
    log_dir = text("log_dir")
    sqlite_home = text("sqlite_home")
    problem = Problem("invalid-value", "; ".join(problems)) if problems else None
    return ConfigEvidence(
        path=path,
        exists=True,
        problem=problem,
        store_mode=store,
        store_mode_raw=store_raw,
        forced_login_method=forced_method if forced_method in K.FORCED_LOGIN_METHODS else None,
        forced_workspace_ids=workspaces,
        openai_base_url=base_url,
        model_provider=model_provider,
        providers=providers,
        log_dir=log_dir or None,
        sqlite_home=sqlite_home or None,
    )
