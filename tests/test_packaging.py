"""The package as users get it: dependencies a reviewer accepts, an sdist and a wheel that pass
`twine check`, and the wheel alone, in a fresh venv outside any checkout, running what users run.

The fresh venv gets the wheel with `--no-deps` and sees its dependencies through a `.pth`
entry naming a folder of links to this environment's installed packages, minus napari-hcs
itself (its editable hook and metadata). Python does not run `.pth` files found on such an
entry, so the checkout's `src/` cannot sneak in: every napari_hcs module the commands import
comes from the wheel. Installing napari, Qt and torch afresh instead would take minutes and a
gigabyte of downloads per test run, and prove nothing more about the wheel.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import venv
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from napari_hcs import DOCS_URL, __version__

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
QT_BINDINGS = ("pyqt5", "pyqt6", "pyside2", "pyside6")
# Required without an import of their own: pandas writes tables/*.parquet through pyarrow.
USED_INDIRECTLY = {"pyarrow"}


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")


def test_every_required_dependency_is_imported_by_the_package():
    imported = set()
    for path in (ROOT / "src" / "napari_hcs").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    provided = {_name(d): module for module, dists in packages_distributions().items()
                for d in dists}  # normalised as requirements are (docstring_parser)
    unused = [r for r in PYPROJECT["project"]["dependencies"]
              if _name(r) not in USED_INDIRECTLY and provided.get(_name(r)) not in imported]
    assert unused == []


def test_the_napari_extra_leaves_the_qt_binding_to_the_user():
    extras = PYPROJECT["project"]["optional-dependencies"]
    plugin = " ".join(extras["napari"]).lower()
    assert "napari" in plugin and not any(b in plugin for b in QT_BINDINGS)
    assert "[all]" not in plugin and "[qt" not in plugin and "[pyqt" not in plugin
    assert any(r.startswith("napari[all]") for r in extras["all"])  # a fresh env gets one here
    assert any("[pyqt6]" in r for r in extras["test"])  # and the tests drive a real viewer


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """The sdist, and the wheel built from it, as a release builds them."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                           str(ROOT)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return {"sdist": next(out.glob("*.tar.gz")), "wheel": next(out.glob("*.whl"))}


@pytest.mark.slow
def test_sdist_and_wheel_pass_twine_check_and_carry_what_users_run(dists):
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str,
                          dists.values())], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"napari_hcs-{__version__}.dist-info/METADATA").decode()
    for name in ("napari_hcs/napari.yaml", "napari_hcs/pipelines/stitch_segment.py",
                 "napari_hcs/engine/plate/generator.py", "napari_hcs/fiji/install.py",
                 f"napari_hcs-{__version__}.dist-info/licenses/LICENSE",
                 *(f"napari_hcs/fiji/jars/{jar}" for jar in (
                     "napari_hcs_fiji.jar", "jeromq.jar", "gson.jar", "THIRD_PARTY.md",
                     "MPL-2.0.txt", "Apache-2.0.txt"))):
        assert name in names
    assert f"Version: {__version__}" in metadata and "License-Expression: BSD-3-Clause" in metadata
    for field in ("Classifier: Framework :: napari", "Bug Tracker, https://", "Documentation, ",
                  "Source Code, https://", "User Support, https://"):
        assert field in metadata
    assert not re.search(r"^Requires-Dist: ome-zarr[^;]*$", metadata, re.MULTILINE)  # [test] only
    with tarfile.open(dists["sdist"]) as sdist:
        members = {m.split("/", 1)[1] for m in sdist.getnames() if "/" in m}
    assert {"LICENSE", "hatch_build.py", "fiji/Makefile", "fiji/plugins.config"} <= members
    assert not any(m.startswith("fiji/build") for m in members)


def _dependencies_view(into: Path) -> Path:
    """Links to this environment's installed packages, napari-hcs's own entries left out."""
    into.mkdir()
    for folder in {Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}:
        for entry in folder.iterdir():
            own = "napari_hcs" in entry.name or entry.name.startswith("__editable__")
            if not own and entry.suffix != ".pth" and not (into / entry.name).exists():
                (into / entry.name).symlink_to(entry)
    return into


@pytest.mark.slow
def test_the_wheel_alone_runs_sample_pipeline_npe2_and_fiji_install(dists, tmp_path):
    env_dir, work = tmp_path / "venv", tmp_path / "work"
    venv.create(env_dir, with_pip=False)
    python, bin_dir = env_dir / "bin" / "python", env_dir / "bin"
    site = Path(subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True).strip())
    (site / "dependencies.pth").write_text(f"{_dependencies_view(tmp_path / 'deps')}\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(dists["wheel"])], check=True, timeout=300)
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}

    def run(*command: str | Path, timeout: int = 300) -> str:
        done = subprocess.run([str(c) for c in command], cwd=work, env=env, capture_output=True,
                              text=True, timeout=timeout)
        assert done.returncode == 0, f"{command}:\n{done.stdout}{done.stderr}"
        return done.stdout

    where = json.loads(run(python, "-c", "import json, sys, napari_hcs; "
                           "print(json.dumps([napari_hcs.__file__, sys.path]))"))
    assert Path(where[0]).is_relative_to(site)
    assert not any(p and Path(p).resolve().is_relative_to(ROOT) for p in where[1])
    # napari-hcs[napari] is satisfied by what the venv sees (the wheel's own metadata)
    unmet = run(python, "-c", REQUIREMENTS_MET)
    assert unmet.strip() == "[]", unmet

    assert DOCS_URL in run(bin_dir / "napari-hcs", "--help")
    run(bin_dir / "napari-hcs", "sample", "plate", "--wells", "A01,B02", "--tile", "128")
    run(bin_dir / "napari-hcs", "run", "stitch_segment", "plate", "--out", "out",
        "--no-progress")
    assert (work / "out" / "plate.zarr").is_dir()
    assert (work / "out" / "tables" / "nuclei.parquet").is_file()
    record = json.loads((work / "out" / "run.json").read_text())
    assert Path(record["pipeline"]["file"]).is_relative_to(site)
    assert "valid" in run(python, "-m", "npe2", "validate", "napari-hcs", "--imports")

    app = work / "Fiji.app"
    (app / "plugins").mkdir(parents=True)
    (app / "jars").mkdir()
    (app / "jars" / "ij-1.54f.jar").write_bytes(b"")  # the install only looks at names
    said = run(bin_dir / "napari-hcs", "fiji", "install", app)
    assert f"installed plugins/napari_hcs_fiji-{__version__}.jar" in said
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        shipped = wheel.read("napari_hcs/fiji/jars/napari_hcs_fiji.jar")
    assert (app / "plugins" / f"napari_hcs_fiji-{__version__}.jar").read_bytes() == shipped


REQUIREMENTS_MET = """
import json
from importlib.metadata import PackageNotFoundError, requires, version
from packaging.requirements import Requirement
unmet = []
for text in requires("napari-hcs"):
    req = Requirement(text)
    if req.marker and not any(req.marker.evaluate({"extra": e}) for e in ("", "napari")):
        continue
    try:
        if not req.specifier.contains(version(req.name), prereleases=True):
            unmet.append(text)
    except PackageNotFoundError:
        unmet.append(text)
print(json.dumps(unmet))
"""
