"""Diagnose: rules turn evidence into findings.  No I/O happens here."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.collect.evidence import Evidence
from authdoctor.collect.origins.contexts import user_shell
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.diagnose.precedence import Resolution, resolve
from authdoctor.diagnose.rules import RULES, Facts
from authdoctor.diagnose.where import VariableReport, analyse


def origin_reports(ev: Evidence) -> dict[str, VariableReport]:
    """Where each watched variable is set, and what wins where (empty when origins were not scanned)."""
    if not ev.origin_scans:
        return {}
    here = {n: v.value.reveal() for n, v in ev.env.items() if v.source == "environment"}
    shell = user_shell(ev.env_shell or {}, ev.platform)
    reports = analyse(ev.origin_scans, K.CHECK_VARS, env=here, shell=shell, platform=ev.platform)
    return {r.name: r for r in reports}


_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class Diagnosis(NamedTuple):
    evidence: Evidence
    resolution: Resolution
    findings: tuple[Finding, ...]
    passed: tuple[str, ...]  # what each quiet rule confirmed, for the verbose report
    origins: Mapping[str, VariableReport] = MappingProxyType({})  # where each watched variable is set (for fix)


def diagnose(evidence: Evidence) -> Diagnosis:
    facts = Facts(evidence, resolve(evidence), origin_reports(evidence))
    findings: list[Finding] = []
    passed: list[str] = []
    for rule in RULES:
        found = list(rule.check(facts))
        findings.extend(found)
        if not found and rule.applies(facts):
            passed.append(rule.passed)
    findings.sort(key=lambda f: _ORDER[f.severity])
    return Diagnosis(evidence, facts.res, tuple(findings), tuple(passed), facts.origins)
