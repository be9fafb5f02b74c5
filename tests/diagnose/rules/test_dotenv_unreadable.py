"""dotenv-unreadable: Codex silently skips lines of $CODEX_HOME/.env it cannot read."""

from __future__ import annotations

from authdoctor.diagnose.finding import Severity
from tests.conftest import Machine
from tests.diagnose.rules.conftest import one, quiet

ID = "dotenv-unreadable"


def test_bad_line_is_a_warning(machine: Machine) -> None:
    machine.write_dotenv("GOOD=1\nthis is not a setting\n")
    f = one(machine, ID, Severity.WARNING)
    assert "silently" in f.detail
    assert f.origins[0].context == "dotenv"


def test_quiet_for_a_clean_file(machine: Machine) -> None:
    machine.write_dotenv("# comment\nGOOD=1\n")
    quiet(machine, ID)
