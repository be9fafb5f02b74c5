"""The JSON renderer: schema version 1, stable for scripts and fleets."""

from __future__ import annotations

import json

from authdoctor.report.model import CheckReport


def render_json(report: CheckReport) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
