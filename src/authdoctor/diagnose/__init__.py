"""Diagnose: rules turn evidence into findings.  No I/O happens here."""

from __future__ import annotations

from typing import NamedTuple

from authdoctor.collect.evidence import Evidence
from authdoctor.diagnose.finding import Finding, Severity
from authdoctor.diagnose.precedence import Resolution, resolve
from authdoctor.diagnose.rules import RULES, Facts

_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class Diagnosis(NamedTuple):
    evidence: Evidence
    resolution: Resolution
    findings: tuple[Finding, ...]
    passed: tuple[str, ...]  # what each quiet rule confirmed, for the verbose report


def diagnose(evidence: Evidence) -> Diagnosis:
    facts = Facts(evidence, resolve(evidence))
    findings: list[Finding] = []
    passed: list[str] = []
    for rule in RULES:
        found = list(rule.check(facts))
        findings.extend(found)
        if not found and rule.applies(facts):
            passed.append(rule.passed)
    findings.sort(key=lambda f: _ORDER[f.severity])
    return Diagnosis(evidence, facts.res, tuple(findings), tuple(passed))
