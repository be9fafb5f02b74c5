"""keyring-unavailable: the configured credential store is the keyring, and there is none."""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.codex import knowledge as K
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule

ID = "keyring-unavailable"


def check(f: Facts) -> Iterable[Finding]:
    ring, config = f.ev.keyring, f.ev.config
    if config.store_mode != K.STORE_KEYRING or not ring.probed or ring.usable:
        return []
    why = ring.note or "no OS credential store could be reached"
    if ring.entry:
        # Seen only in a cache (e.g. the Linux kernel keyring), which does not survive a reboot.
        effect = (
            "A Codex entry was still found in a cache, but without a working keyring Codex may not be able to save "
            "refreshed tokens, so the login can vanish and you are asked to sign in again."
        )
    else:
        effect = (
            'Codex cannot save a login there ("failed to write OAuth tokens to keyring"), so every sign-in is lost and you are asked again.'
        )
    return [
        Finding(
            id=ID,
            severity=Severity.WARNING,
            title="Codex is set to store logins in a keyring that is not available",
            detail=(f'{config.path} sets cli_auth_credentials_store = "keyring", but {why}. {effect}'),
            origins=(Origin(context="config", text='cli_auth_credentials_store = "keyring"', path=str(config.path)),),
            fix=Fix(
                summary=f'Set cli_auth_credentials_store = "auto" (keyring when available, else {K.AUTH_FILENAME}) '
                f'or "file" in {config.path}, then run `codex login`.'
            ),
        )
    ]


def _applies(f: Facts) -> bool:
    return f.ev.config.store_mode == K.STORE_KEYRING


RULE = Rule(ID, check, "the configured keyring is available", _applies)
