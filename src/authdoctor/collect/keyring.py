"""Whether Codex's keyring entry exists, without reading it and without prompting."""

from __future__ import annotations

from authdoctor.codex import knowledge as K
from authdoctor.collect.evidence import CodexHomeEvidence, ConfigEvidence, KeyringEvidence
from authdoctor.host import Host


def collect_keyring(host: Host, codex_home: CodexHomeEvidence, config: ConfigEvidence) -> KeyringEvidence:
    if config.store_mode not in (K.STORE_KEYRING, K.STORE_AUTO):
        # The file store never consults the keyring, so neither do we: probing
        # costs time and may wake a keychain daemon.
        return KeyringEvidence(probed=False)
    # compute_store_key canonicalises the home (falling back to the path as
    # given when that fails).  An explicit CODEX_HOME is already canonical; the
    # default ~/.codex is not when the home directory is reached via a symlink.
    account = K.keyring_account(str(host.realpath(codex_home.path)))
    secrets_file = codex_home.path / "secrets" / "codex_auth.age"
    secrets_exists = host.stat(secrets_file) is not None
    if host.keyring is None:
        # Nothing was asked, so nothing may be concluded (an image under --root
        # has no running keyring to ask).
        return KeyringEvidence(False, account, None, False, None, "the keyring was not checked", secrets_file, secrets_exists)
    status = host.keyring.probe(host, account)
    return KeyringEvidence(True, account, status.backend, status.usable, status.entry, status.note, secrets_file, secrets_exists)
