"""refresh-token-stale: the stored ChatGPT login has not been refreshed for too long."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.codex import signatures as S
from authdoctor.codex.tokens import describe_age
from authdoctor.diagnose.finding import Finding, Fix, Severity
from authdoctor.diagnose.rules import _logs as L
from authdoctor.diagnose.rules.base import Facts, Rule, describe_login, expiry_words

ID = "refresh-token-stale"


def check(f: Facts) -> Iterable[Finding]:
    stored = f.res.stored
    if stored is None or stored.kind != "chatgpt" or stored.expires_at is None:
        return []
    now = f.now
    # An access token that expired recently is normal: Codex refreshes it on
    # the next request.  Only a long silence since the last refresh is a sign
    # that the refresh token itself has aged out.
    if stored.expires_at > now:
        return []
    if stored.last_refresh is not None and now - stored.last_refresh <= K.TOKEN_REFRESH_INTERVAL:
        return []
    # The logs settle the "probably": a rejected refresh is refresh-failed's (an error), not a guess.
    if L.summaries(f.ev.logs, (S.REFRESH,)):
        return []
    offline = L.summaries(f.ev.logs, (S.TRANSPORT,), auth_only=True)
    if stored.last_refresh is not None:
        age = (
            f"was last refreshed {describe_age((now - stored.last_refresh).total_seconds())} ago, "
            f"longer than the {K.TOKEN_REFRESH_INTERVAL.days}-day refresh interval of Codex"
        )
    else:
        age = "records no last refresh at all, so nothing shows it was refreshed recently"
    login = describe_login(stored._replace(last_refresh=None), now)
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title="The stored ChatGPT login has probably gone stale",
            detail=(
                f"The access token of {login} {expiry_words(stored, now)}, and the login {age}. "
                "Codex will try to refresh it on the next request, but the refresh token may have expired meanwhile "
                "or been used up by another copy of this login; if Codex shows `Failed to refresh token: 401 Unauthorized`, it has."
                + (
                    f" The logs show its last refresh attempts failing in transit ({L.count(offline)}×, {L.when(offline, now)}), "
                    "never reaching the auth server: fix the network first, the refresh token may still be good."
                    if offline
                    else ""
                )
            ),
            fix=Fix(
                summary="Start Codex once; if it reports a refresh failure, run `codex logout && codex login`. "
                "authdoctor never refreshes tokens itself (refresh tokens rotate).",
                commands=("codex logout", "codex login"),
            ),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.res.stored is not None and f.res.stored.kind == "chatgpt"


RULE = Rule(ID, check, "the stored ChatGPT login was refreshed recently", _applies)
