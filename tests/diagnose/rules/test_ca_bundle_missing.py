"""ca-bundle-missing: the CA bundle Codex is told to load cannot be loaded (real files; a real certificate from openssl)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from authdoctor.diagnose.finding import Severity
from authdoctor.sandbox import chatgpt_auth
from tests.conftest import Machine
from tests.diagnose.rules.conftest import dotenv_origin, env_origin, one, quiet

ID = "ca-bundle-missing"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("ca")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "key.pem"), "-out", str(d / "corp-ca.pem"),
         "-days", "2", "-subj", "/CN=Corp TLS inspection CA"],
        check=True, capture_output=True,
    )  # fmt: skip
    return d / "corp-ca.pem"


@pytest.fixture(autouse=True)
def _logged_in(machine: Machine) -> None:
    machine.write_auth(chatgpt_auth(machine.now))


def test_missing_ssl_cert_file(machine: Machine) -> None:
    missing = machine.root / "gone" / "bundle.pem"
    machine.env["SSL_CERT_FILE"] = str(missing)
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "SSL_CERT_FILE names a CA bundle Codex cannot load"
    assert f"points Codex at {missing}, which does not exist" in f.detail
    assert f"`Failed to read CA certificate file {missing} selected by SSL_CERT_FILE: …`" in f.detail
    assert "instead of the system's" in f.detail
    assert f.fix.commands == ("unset SSL_CERT_FILE",) and "prefer CODEX_CA_CERTIFICATE" in f.fix.summary
    env_origin(f, "SSL_CERT_FILE")


def test_codex_ca_certificate_with_only_a_private_key(machine: Machine, cert: Path) -> None:
    machine.env["CODEX_CA_CERTIFICATE"] = str(cert.parent / "key.pem")
    f = one(machine, ID, Severity.ERROR)
    assert f.title == "CODEX_CA_CERTIFICATE names a CA bundle Codex cannot load"
    assert "no `-----BEGIN CERTIFICATE-----`" in f.detail and "Failed to load CA certificates from" in f.detail
    assert "adds the certificates in that file" in f.detail
    assert "TLS-inspecting proxy" in f.fix.summary


def test_directory(machine: Machine) -> None:
    machine.env["SSL_CERT_FILE"] = str(machine.root)
    f = one(machine, ID, Severity.ERROR)
    assert "is a folder, not a file" in f.detail


def test_der_file_gets_a_conversion_command(machine: Machine, cert: Path) -> None:
    der = machine.root / "corp.der"
    subprocess.run(["openssl", "x509", "-in", str(cert), "-outform", "der", "-out", str(der)], check=True)
    machine.env["SSL_CERT_FILE"] = str(der)
    f = one(machine, ID, Severity.ERROR)
    assert f"openssl x509 -inform der -in {der} -out bundle.pem" in f.fix.summary


def test_relative_path(machine: Machine) -> None:
    machine.env["SSL_CERT_FILE"] = "certs/corp.pem"
    f = one(machine, ID, Severity.ERROR)
    assert "relative path" in f.detail and "absolute path" in f.fix.summary


def test_blank_codex_ca_certificate(machine: Machine, cert: Path) -> None:
    machine.env.update(CODEX_CA_CERTIFICATE="   ", SSL_CERT_FILE=str(cert))
    f = one(machine, ID, Severity.ERROR)
    assert "points Codex at a name made only of spaces, which is no file name at all" in f.detail
    assert "SSL_CERT_FILE (in your environment) is set as well" in f.detail


def test_dotenv_ssl_cert_file_names_the_line(machine: Machine) -> None:
    empty = machine.root / "empty.pem"
    empty.write_bytes(b"")
    machine.write_dotenv(f"OTHER=1\nSSL_CERT_FILE={empty}\n")
    f = one(machine, ID, Severity.ERROR)
    assert f"({machine.codex_home / '.env'} line 2)" in f.detail and "is empty" in f.detail
    assert f"delete line 2 (SSL_CERT_FILE=…) from {machine.codex_home / '.env'}" in f.fix.summary
    assert f.fix.commands == ()
    dotenv_origin(f, "SSL_CERT_FILE", machine, 2)


def test_in_effect_broken_mentions_the_other_and_cert_dir(machine: Machine, cert: Path) -> None:
    machine.env.update(CODEX_CA_CERTIFICATE=str(machine.root / "nope.pem"), SSL_CERT_FILE=str(cert), SSL_CERT_DIR="/nowhere/certs")
    f = one(machine, ID, Severity.ERROR)
    assert f.title.startswith("CODEX_CA_CERTIFICATE")
    assert "SSL_CERT_FILE (in your environment) is set as well" in f.detail and "that file is fine" in f.detail
    assert "SSL_CERT_DIR (in your environment) names /nowhere/certs, which does not exist" in f.detail


def test_broken_ssl_cert_file_behind_a_good_codex_ca_certificate_is_a_warning(machine: Machine, cert: Path) -> None:
    """Codex does not load it, but it still replaces the system's certificates (seen with the real binary)."""
    machine.env.update(CODEX_CA_CERTIFICATE=str(cert), SSL_CERT_FILE=str(machine.root / "stale.pem"))
    f = one(machine, ID, Severity.WARNING)
    assert f.title == "SSL_CERT_FILE leaves Codex trusting only the CODEX_CA_CERTIFICATE bundle"
    assert "does not exist" in f.detail and "1 certificate(s)" in f.detail and "UnknownIssuer" in f.detail
    assert f.fix.commands == ("unset SSL_CERT_FILE",)
    env_origin(f, "SSL_CERT_FILE")


def test_missing_cert_dir_behind_a_good_codex_ca_certificate_is_a_warning(machine: Machine, cert: Path) -> None:
    machine.env.update(CODEX_CA_CERTIFICATE=str(cert), SSL_CERT_DIR="/nowhere/certs")
    f = one(machine, ID, Severity.WARNING)
    assert "SSL_CERT_DIR" in f.title and "/nowhere/certs" in f.detail


# --- quiet --------------------------------------------------------------------------------------


def test_quiet_without_ca_variables(machine: Machine) -> None:
    quiet(machine, ID)


def test_quiet_with_a_good_bundle(machine: Machine, cert: Path) -> None:
    machine.env["SSL_CERT_FILE"] = str(cert)
    quiet(machine, ID)


def test_quiet_with_good_bundles_in_both(machine: Machine, cert: Path) -> None:
    machine.env.update(CODEX_CA_CERTIFICATE=str(cert), SSL_CERT_FILE=str(cert))
    quiet(machine, ID)


def test_missing_cert_dir_alone_is_quiet(machine: Machine) -> None:
    """Codex's sign-in does not read SSL_CERT_DIR; only its WebSocket does, and it falls back."""
    machine.env["SSL_CERT_DIR"] = "/nowhere/certs"
    quiet(machine, ID)


def test_codex_ca_certificate_in_dotenv_is_ignored_by_codex(machine: Machine) -> None:
    machine.write_dotenv(f"CODEX_CA_CERTIFICATE={machine.root / 'nope.pem'}\n")
    quiet(machine, ID)


def test_empty_value_counts_as_unset(machine: Machine) -> None:
    machine.env["SSL_CERT_FILE"] = ""
    quiet(machine, ID)
