from authdoctor.cli import entry

entry()
