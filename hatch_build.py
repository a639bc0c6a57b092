"""Wheel build hook: compile the Fiji plugin (`fiji/`) and ship it with its library jars.

`make -C fiji dist` builds `fiji/build/dist/` (plugin jar, JeroMQ, Gson, licences); the wheel
carries it as `napari_hcs/fiji/jars/`, from where `napari-hcs fiji install` copies it into
Fiji. A wheel without the jar would install a `fiji install` that cannot install, so when the
JDK or the jars are missing the wheel build fails here, naming what to install. Editable
installs (`pip install -e`, `make test`) skip this: there the command uses `fiji/build/dist/`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class FijiJarBuildHook(BuildHookInterface):
    PLUGIN_NAME = "fiji-jar"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        fiji = Path(self.root) / "fiji"
        if shutil.which("make") is None:
            raise RuntimeError("building the napari-hcs wheel compiles the Fiji plugin with "
                               "`make -C fiji dist`, and make is missing (apt-get install make)")
        done = subprocess.run(["make", "-s", "-C", str(fiji), "dist"], capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise RuntimeError(
                "building the napari-hcs wheel needs the Fiji plugin jar, and `make -C fiji "
                f"dist` failed:\n{done.stdout}{done.stderr}\nOn Debian/Ubuntu: apt-get install "
                "default-jdk-headless imagej libjeromq-java libgoogle-gson-java (docs/fiji.md)")
        for jar in sorted((fiji / "build" / "dist").iterdir()):
            build_data["force_include"][str(jar)] = f"napari_hcs/fiji/jars/{jar.name}"
