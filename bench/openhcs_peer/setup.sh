#!/usr/bin/env bash
# Creates bench/.openhcs-venv with OpenHCS 0.8.6, the benchmark peer.
# OpenHCS is never a dependency of napari-hcs; it lives in its own venv so its
# pins (torch, cupy extras, PyQt) cannot disturb ours.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${OPENHCS_VENV:-$HERE/.openhcs-venv}"
PYTHON="${PYTHON:-python3}"
if [ -f "$VENV/.installed" ]; then
  exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "openhcs==0.8.6" psutil
touch "$VENV/.installed"
