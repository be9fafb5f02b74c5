"""The environment as Codex will see it: the inherited variables, then ``$CODEX_HOME/.env``."""

from __future__ import annotations

from collections.abc import Mapping

from authdoctor.codex import knowledge as K
from authdoctor.collect.evidence import DotenvEvidence, EnvValue
from authdoctor.host import Host
from authdoctor.secret import Secret

WATCHED = K.CHECK_VARS


def collect_environment(host: Host, dotenv: DotenvEvidence) -> Mapping[str, EnvValue]:
    values: dict[str, EnvValue] = {}
    for name in WATCHED:
        raw = host.getenv(name)
        if raw is not None:
            values[name] = EnvValue(name, Secret(raw), "environment")
    for entry in dotenv.entries:
        if not entry.applies or entry.key not in WATCHED:
            continue
        inherited = values.get(entry.key)
        values[entry.key] = EnvValue(
            entry.key,
            entry.value,
            "dotenv",
            entry.line,
            shell_value_overridden=inherited is not None and inherited.source == "environment" and inherited.value != entry.value,
        )
    return values
