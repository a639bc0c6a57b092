"""OpenHCS 0.8.6 as a benchmark peer: its own venv (`setup.sh`), plate preparation, runner."""
