"""proxy-misconfigured (stub)."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.diagnose.finding import Finding
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "proxy-misconfigured"


def check(f: Facts) -> Iterable[Finding]:
    return []


RULE = Rule(ID, check, "TODO")
