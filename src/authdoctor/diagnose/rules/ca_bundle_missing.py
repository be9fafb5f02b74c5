"""ca-bundle-missing: the CA bundle Codex is told to load cannot be loaded, so every HTTPS request fails (FM-13).

Codex 0.169.0 loads ``CODEX_CA_CERTIFICATE`` (else ``SSL_CERT_FILE``) before its
first request and, when it cannot, stops every request on this machine with
``Failed to read CA certificate file … selected by …`` or ``Failed to load CA
certificates from …``: an error.

A broken ``SSL_CERT_FILE`` behind a good ``CODEX_CA_CERTIFICATE`` is not
loaded, but it still *replaces* the system's trusted certificates (so does a
set ``SSL_CERT_DIR`` then): Codex trusts only the ``CODEX_CA_CERTIFICATE``
bundle.  Behind a TLS-inspecting proxy that signs everything with that CA this
works; anywhere else every request fails with ``UnknownIssuer``.  That is a
warning.  (Both observed with the real binary; see
:mod:`authdoctor.collect.network`.)  ``SSL_CERT_DIR`` naming a missing folder
with no ``CODEX_CA_CERTIFICATE`` only costs the Responses WebSocket, and is
mentioned when there is a finding anyway.
"""

from __future__ import annotations

from collections.abc import Iterable

from authdoctor.collect.network import CODEX_CA, SSL_CERT_DIR, SSL_CERT_FILE, CaFile, NetworkEvidence
from authdoctor.diagnose.finding import Finding, Fix, Origin, Severity
from authdoctor.diagnose.rules.base import Facts, Rule, env_origins, remove_hint, shell_quote
from authdoctor.secret import REDACTED

ID = "ca-bundle-missing"
UNKNOWN_ISSUER = "invalid peer certificate: UnknownIssuer"


def check(f: Facts) -> Iterable[Finding]:
    net = f.ev.network
    if net is None:
        return []
    ca = net.ca(net.ca_in_effect)
    if ca is None:
        return []
    if ca.problem is not None:
        return [_broken(f, net, ca)]
    if ca.name == CODEX_CA:
        replaced = _replacing(net)
        if replaced:
            return [_roots_replaced(f, net, ca, replaced)]
    return []


def _path_words(c: CaFile) -> str:
    return "a name made only of spaces" if c.problem == "blank" else c.path


def _broken(f: Facts, net: NetworkEvidence, ca: CaFile) -> Finding:
    role = (
        "Codex adds the certificates in that file to the ones it trusts"
        if ca.name == CODEX_CA
        else "Codex trusts the certificates in that file instead of the system's"
    )
    detail = (
        f"{ca.name} ({_where(net, ca.source, ca.line)}) points Codex at {_path_words(ca)}, which {ca.message}. {role}, and when it "
        f"cannot load the file every HTTPS request stops before it leaves this machine: sign-in, token refresh and chat all fail "
        f"with `{ca.codex_error}: …`."
    )
    notes = [_other_note(net, c, ca) for c in net.ca_files if c.name != ca.name]
    dir_note = _cert_dir_note(net)
    return Finding(
        id=ID,
        severity=Severity.ERROR,
        title=f"{ca.name} names a CA bundle Codex cannot load",
        detail=" ".join([detail, *notes, *([dir_note] if dir_note else [])]),
        fix=Fix(summary=_fix(f, net, ca), commands=_commands(ca.name, ca.source)),
        origins=_origins(f, net, ca.name, ca.source, ca.line),
    )


def _replacing(net: NetworkEvidence) -> list[str]:
    """What empties the system's certificates while CODEX_CA_CERTIFICATE is loaded fine: a broken SSL_CERT_FILE, a missing SSL_CERT_DIR."""
    out = []
    cert_file = net.ca(SSL_CERT_FILE)
    if cert_file is not None and cert_file.problem is not None:
        out.append(SSL_CERT_FILE)
    if net.cert_dir is not None and net.cert_dir.missing:
        out.append(SSL_CERT_DIR)
    return out


def _roots_replaced(f: Facts, net: NetworkEvidence, ca: CaFile, names: list[str]) -> Finding:
    parts = []
    cert_file = net.ca(SSL_CERT_FILE)
    if SSL_CERT_FILE in names and cert_file is not None:
        parts.append(
            f"SSL_CERT_FILE ({_where(net, cert_file.source, cert_file.line)}) points at {_path_words(cert_file)}, which {cert_file.message}"
        )
    d = net.cert_dir
    if SSL_CERT_DIR in names and d is not None:
        parts.append(f"SSL_CERT_DIR ({_where(net, d.source, d.line)}) names {', '.join(d.missing)}, which does not exist")
    detail = (
        f"{'; '.join(parts)}. Codex loads its own bundle from {CODEX_CA} ({ca.path}, {ca.certificates} certificate(s)) and "
        f"ignores {' and '.join(names)} for that, but a set {' or '.join(names)} still replaces the system's trusted certificates "
        f"(checked with the real binary), so Codex trusts only the {CODEX_CA} bundle. Behind a TLS-inspecting proxy that signs every "
        f"site with that CA this works; anywhere else every request fails with `{UNKNOWN_ISSUER}`."
    )
    steps = [f"{_removal(f, net, n, *_source(net, n))}" for n in names]
    commands = tuple(c for n in names for c in _commands(n, _source(net, n)[0]))
    origins = tuple(o for n in names for o in _origins(f, net, n, *_source(net, n)))
    return Finding(
        id=ID,
        severity=Severity.WARNING,
        title=f"{' and '.join(names)} {'leaves' if len(names) == 1 else 'leave'} Codex trusting only the {CODEX_CA} bundle",
        detail=detail,
        fix=Fix(
            summary=f"Unless every site reaches you through a proxy that {CODEX_CA} trusts, remove {' and '.join(names)}: "
            + "; ".join(steps)
            + ".",
            commands=commands,
        ),
        origins=origins,
    )


def _source(net: NetworkEvidence, name: str) -> tuple[str, int | None]:
    if name == SSL_CERT_DIR and net.cert_dir is not None:
        return net.cert_dir.source, net.cert_dir.line
    c = net.ca(name)
    return (c.source, c.line) if c is not None else ("environment", None)


def _where(net: NetworkEvidence, source: str, line: int | None) -> str:
    if source == "dotenv":
        return f"{net.dotenv_path} line {line}"
    return "in your environment"


def _origins(f: Facts, net: NetworkEvidence, name: str, source: str, line: int | None) -> tuple[Origin, ...]:
    if source == "dotenv":
        return (Origin(context="dotenv", text=f"{name}={REDACTED}", path=str(net.dotenv_path), line=line),)
    return env_origins(f, name)


def _other_note(net: NetworkEvidence, other: CaFile, used: CaFile) -> str:
    where = _where(net, other.source, other.line)
    if used.name == CODEX_CA:
        state = f"it {other.message} too" if other.problem else "that file is fine"
        return (
            f"{other.name} ({where}) is set as well: Codex does not load it while {used.name} is set, but it still replaces the "
            f"system's trusted certificates; {state}."
        )
    return f"{other.name} ({where}) is set as well."


def _cert_dir_note(net: NetworkEvidence) -> str:
    d = net.cert_dir
    if d is None or not d.missing:
        return ""
    return (
        f"SSL_CERT_DIR ({_where(net, d.source, d.line)}) names {', '.join(d.missing)}, which does not exist: Codex's Responses "
        "WebSocket then trusts nothing (Codex falls back to plain HTTPS), and curl and other OpenSSL-based tools miss those certificates."
    )


def _removal(f: Facts, net: NetworkEvidence, name: str, source: str, line: int | None) -> str:
    if source == "dotenv":
        return f"delete line {line} ({name}=…) from {net.dotenv_path}, which only Codex loads, then restart Codex"
    text = remove_hint(f, name)
    return text[:1].lower() + text[1:]


def _fix(f: Facts, net: NetworkEvidence, ca: CaFile) -> str:
    if ca.problem == "relative":
        first = f"Set {ca.name} to the absolute path of the bundle"
    elif ca.problem == "not-pem" and "DER" in ca.message:
        convert = f"openssl x509 -inform der -in {shell_quote(ca.path)} -out bundle.pem"
        first = f"Convert the file to PEM (`{convert}`) and point {ca.name} at the result"
    else:
        first = f"Point {ca.name} at a readable PEM file that holds your organisation's CA certificates (your IT team has it)"
    steps = [f"{first}, or remove it so Codex trusts the system's certificates again: {_removal(f, net, ca.name, ca.source, ca.line)}"]
    if ca.name == SSL_CERT_FILE:
        steps.append(
            f"If you need a corporate CA, prefer {CODEX_CA}: Codex adds it to the system's certificates, while SSL_CERT_FILE replaces them"
        )
    else:
        steps.append("Behind a TLS-inspecting proxy (Zscaler and the like) Codex needs this variable: fix the file rather than dropping it")
    return ". ".join(steps) + "."


def _commands(name: str, source: str) -> tuple[str, ...]:
    return (f"unset {name}",) if source == "environment" else ()


def _applies(f: Facts) -> bool:
    return f.ev.network is not None and f.ev.network.ca_in_effect is not None


RULE = Rule(
    ID,
    check,
    "the CA bundle Codex is told to load (CODEX_CA_CERTIFICATE or SSL_CERT_FILE) is a readable PEM file with certificates",
    _applies,
)
