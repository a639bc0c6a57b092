"""The Fiji plugin as `make -C fiji dist` builds it, and Fiji-shaped folders to install it into."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JAVA = Path("/usr/share/java")
IJ_JAR = JAVA / "ij.jar"


@pytest.fixture(scope="session")
def fiji_dist() -> Path:
    """fiji/build/dist: the plugin jar, jeromq.jar, gson.jar (what the wheel carries)."""
    if not (shutil.which("java") and shutil.which("javac") and shutil.which("make")):
        pytest.skip("needs a JDK (java, javac) and make")
    if not all((JAVA / jar).exists() for jar in ("ij.jar", "jeromq.jar", "gson.jar")):
        pytest.skip("needs Debian's imagej, libjeromq-java and libgoogle-gson-java")
    subprocess.run(["make", "-s", "-C", str(ROOT / "fiji"), "dist"], check=True, timeout=300)
    return ROOT / "fiji" / "build" / "dist"


@pytest.fixture
def fiji_app(tmp_path: Path, fiji_dist: Path) -> Path:
    """A folder laid out as Fiji.app is: plugins/, and jars/ with ImageJ 1.x's ij-VERSION.jar."""
    app = tmp_path / "Fiji.app"
    (app / "plugins").mkdir(parents=True)
    (app / "jars").mkdir()
    shutil.copyfile(IJ_JAR, app / "jars" / IJ_JAR.resolve().name.replace("ij.jar", "ij-1.x.jar"))
    return app
