# Two commands on a fresh Debian machine with Python 3.11: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# ngio (Fractal's reader) pins pandas < 3, so it checks our tables from a venv of its own.
NGIO_VENV := .venv-ngio
PY := $(VENV)/bin/python
SAMPLE := sample_data/demo_plate
RESULTS := results
# The local CPU wheel; an unpinned torch would pull several GB of CUDA packages.
TORCH_PIN := torch==2.13.0
APT_PACKAGES := xvfb xauth libgl1-mesa-dri libglx-mesa0 libegl1 libxkbcommon-x11-0 \
	libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
	libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libxcb-xkb1 libdbus-1-3 \
	libfontconfig1 imagej libjeromq-java libgoogle-gson-java default-jdk-headless \
	pocl-opencl-icd

.PHONY: run test napari bench lint sysdeps fiji clean

run: $(VENV)/.installed
	$(PY) -m napari_hcs.cli sample $(SAMPLE) --format imagexpress --force
	$(PY) -m napari_hcs.cli info $(SAMPLE)
	$(PY) -m napari_hcs.cli run stitch_segment $(SAMPLE) --out $(RESULTS) --workers 2
	@echo "Results: $(abspath $(RESULTS)) (plate.zarr, tables/*.parquet, run.json)"

test: sysdeps $(VENV)/.installed $(NGIO_VENV)/.installed fiji
	$(VENV)/bin/ruff check src tests bench hatch_build.py
	$(VENV)/bin/npe2 validate napari-hcs
	NAPARI_HCS_NGIO_PYTHON=$(abspath $(NGIO_VENV))/bin/python $(PY) -m pytest -q -p no:cacheprovider

napari: sysdeps $(VENV)/.installed
	test -d $(SAMPLE) || $(PY) -m napari_hcs.cli sample $(SAMPLE) --format imagexpress
	$(VENV)/bin/napari --plugin napari-hcs $(SAMPLE)

bench: $(VENV)/.installed
	$(PY) -m bench

# The Fiji plugin and the jars the wheel ships (tests/fiji, tests/test_packaging.py use them).
fiji: sysdeps
	$(MAKE) -C fiji dist

# Installs Debian packages only when one is missing (needs root, or sudo).
sysdeps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIN)
	$(PY) -m pip install -q -e ".[test,gpu-torch]"
	touch $@

$(NGIO_VENV)/.installed:
	test -x $(NGIO_VENV)/bin/python || $(PYTHON) -m venv $(NGIO_VENV)
	$(NGIO_VENV)/bin/python -m pip install -q "ngio>=1.1"
	touch $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench hatch_build.py

clean:
	rm -rf $(VENV) $(NGIO_VENV) $(RESULTS) $(SAMPLE) fiji/build
