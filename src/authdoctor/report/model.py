"""The check result as plain, already-redacted data: JSON schema version 1.

Everything a renderer sees comes from here.  Secrets never get this far: a
credential is described by its fingerprint, an origin by redacted text.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from authdoctor.codex import knowledge as K
from authdoctor.diagnose import Diagnosis
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.precedence import Credential
from authdoctor.report.envelope import envelope

if TYPE_CHECKING:
    from typing import Any

    from authdoctor.collect.online import OnlineEvidence, TargetResult


def _iso(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def credential_status(c: Credential, now: datetime) -> str:
    if not c.present:
        return "none"
    if c.problem:
        return "incomplete" if c.problem.startswith("incomplete") else "invalid"
    # A managed ChatGPT access token expires every few days and is refreshed;
    # only non-refreshable tokens are "expired".
    if c.expires_at is not None and c.expires_at <= now and c.kind not in ("chatgpt",):
        return "expired"
    return "ok"


def credential_json(c: Credential, now: datetime) -> dict[str, Any]:
    age = round((now - c.last_refresh).total_seconds() / 86400, 1) if c.last_refresh else None
    return {
        "source": c.source,
        "kind": c.kind,
        "fingerprint": c.fingerprint,
        "expires_at": _iso(c.expires_at),
        "issued_at": _iso(c.issued_at),
        "status": credential_status(c, now),
        "email": c.email,
        "plan": c.plan,
        "account_id": c.account_id,
        "last_refresh": _iso(c.last_refresh),
        "last_refresh_age_days": age,
        "used_by": list(c.used_by),
        "problem": c.problem,
        "note": c.note,
    }


def origin_json(o: Origin) -> dict[str, Any]:
    return {"path": o.path, "line": o.line, "context": o.context, "active": o.active, "text": o.text}


def fix_json(f: Fix) -> dict[str, Any]:
    return {"automatic": f.automatic, "summary": f.summary, "commands": list(f.commands)}


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "severity": f.severity.value,
        "title": f.title,
        "detail": f.detail,
        "origins": [origin_json(o) for o in f.origins],
        "fix": fix_json(f.fix),
    }


def online_json(online: OnlineEvidence | None) -> list[dict[str, Any]] | None:
    """The ``--online`` probe, one object per host; None when it was not asked for."""
    if online is None:
        return None
    ca = online.ca_bundle[0] if online.ca_bundle else None
    return [target_json(t, ca) for t in online.targets]


def target_json(t: TargetResult, ca_bundle: str | None = None) -> dict[str, Any]:
    via = None
    if t.proxy is not None:
        # The proxy's host:port only: its URL may hold a user name and password.
        via = {"variable": t.proxy.variable, "scheme": t.proxy.url.scheme, "proxy": t.proxy.url.address}
    return {
        "host": t.host,
        "port": t.port,
        "address": t.address,
        "via": via,
        "no_proxy": t.no_proxy,
        "ca_bundle": ca_bundle,
        "stages": list(t.stages),
        "failed_stage": t.failed,
        "error_kind": t.kind,
        "error": t.error,
        "note": t.note,
        "resolved": list(t.resolved),
        "tls_version": t.tls_version,
        "tls_issuer": t.tls_issuer,
        "tls_verified": t.tls_verified,
        "http_status": t.http_status,
        "server_date": _iso(t.server_date),
        "skew_seconds": t.skew_seconds,
        "elapsed_ms": t.elapsed_ms,
    }


class CheckReport(NamedTuple):
    """What ``authdoctor check`` says, ready for either renderer."""

    diagnosis: Diagnosis
    findings: tuple[Finding, ...]

    @classmethod
    def build(cls, diagnosis: Diagnosis) -> CheckReport:
        extra = tuple(
            Finding(
                id="collector-failed",
                severity=Severity.INFO,
                title=f"authdoctor could not read {fail.gatherer}",
                detail=f"This part of the check was skipped: {fail.message}. The rest of the report stands.",
                fix=Fix(summary="Re-run with --verbose and report it if it persists."),
            )
            for fail in diagnosis.evidence.failures
        )
        return cls(diagnosis, diagnosis.findings + extra)

    @property
    def now(self) -> datetime:
        return self.diagnosis.evidence.now

    def tally(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def to_json(self) -> dict[str, Any]:
        ev, res = self.diagnosis.evidence, self.diagnosis.resolution
        platform = "windows" if ev.platform.startswith("win") else "macos" if ev.platform == "darwin" else ev.platform
        return {
            **envelope(),
            "target": {
                "product": "codex",
                "version": ev.codex_version,
                "knowledge_version": K.CHECKED_AGAINST,
                "codex_home": str(ev.codex_home.path),
                "platform": platform,
            },
            "credential": credential_json(res.interactive, self.now),
            "shadowed": [credential_json(c, self.now) for c in res.shadowed],
            "findings": [finding_json(f) for f in self.findings],
            "online": online_json(ev.online),
        }
