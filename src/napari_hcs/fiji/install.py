"""`napari-hcs fiji install FIJI_DIR`: the plugin jar into `plugins/`, JeroMQ and Gson beside
Fiji's own libraries when it has none (docs/fiji.md).

The jars come from the package (the wheel carries them under `napari_hcs/fiji/jars/`), so
installing needs no network and no JDK. Installing again is harmless: an identical jar is left
alone, an older napari-hcs plugin jar is replaced, a JeroMQ or Gson the installation already
has is kept (two copies of one library on Fiji's class path is what breaks plugins).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import __version__

PLUGIN = "napari_hcs_fiji"
# Libraries the plugin needs at run time: (artifact, what it is), bundled as `<artifact>.jar`.
LIBRARIES = (("jeromq", "JeroMQ (ZeroMQ for Java, MPL-2.0)"),
             ("gson", "Gson (JSON for Java, Apache-2.0)"))
PACKAGED = Path(__file__).resolve().parent / "jars"


class NotAnImageJFolder(ValueError):
    """The folder given is no Fiji or ImageJ 1.x installation."""


@dataclass(frozen=True)
class ImageJFolder:
    """Where an installation loads jars from: `plugins` (scanned for plugins.config) and
    `libraries` (Fiji's `jars/`; ImageJ 1.x loads libraries from `plugins/jars/`)."""

    root: Path
    kind: str  # "Fiji" or "ImageJ"
    plugins: Path
    libraries: Path


def imagej_folder(folder: str | Path) -> ImageJFolder:
    """The installation at `folder`; NotAnImageJFolder (one line) when it is none."""
    root = Path(folder).expanduser().resolve()
    plugins, jars = root / "plugins", root / "jars"
    has_ij = jars.is_dir() and ((jars / "ij.jar").is_file() or any(jars.glob("ij-*.jar")))
    if plugins.is_dir() and has_ij:
        return ImageJFolder(root, "Fiji", plugins, jars)
    if plugins.is_dir() and (root / "ij.jar").is_file():
        return ImageJFolder(root, "ImageJ", plugins, plugins / "jars")
    raise NotAnImageJFolder(
        f"{root} is not a Fiji or ImageJ installation (expected plugins/ and jars/ij-*.jar as "
        f"in Fiji.app, or plugins/ and ij.jar as in ImageJ 1.x); give the Fiji.app folder")


def bundled_jars() -> Path:
    """The folder holding `napari_hcs_fiji.jar` and the library jars this install carries."""
    if (PACKAGED / f"{PLUGIN}.jar").is_file():
        return PACKAGED
    checkout = Path(__file__).resolve().parents[3] / "fiji"  # src/napari_hcs/fiji -> repo
    if (checkout / "Makefile").is_file():  # an editable install of a source checkout
        built = checkout / "build" / "dist"
        if (built / f"{PLUGIN}.jar").is_file():
            return built
        raise FileNotFoundError(f"the Fiji plugin is not built in this checkout: run "
                                f"`make -C {checkout} dist` (needs a JDK, see docs/fiji.md)")
    raise FileNotFoundError("this napari-hcs installation carries no Fiji plugin jar; install "
                            "napari-hcs from a wheel (pip install napari-hcs)")


def jar_version(jar: Path) -> str | None:
    """The version Maven recorded in the jar (META-INF/maven/*/*/pom.properties), if any."""
    with zipfile.ZipFile(jar) as archive:
        for name in archive.namelist():
            if name.startswith("META-INF/maven/") and name.endswith("/pom.properties"):
                text = archive.read(name).decode("utf-8", "replace")
                found = re.search(r"^version=(\S+)$", text, re.MULTILINE)
                if found:
                    return found.group(1)
    return None


def _copy(source: Path, target: Path) -> None:
    """Copy atomically: Fiji starting meanwhile sees the old jar or the new one, never half."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _same(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def _jars_named(folder: Path, artifact: str) -> list[Path]:
    """`artifact.jar` or `artifact-<version>.jar` anywhere under `folder`."""
    pattern = re.compile(rf"^{re.escape(artifact)}(-\d[\w.+-]*)?\.jar$")
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.jar") if pattern.match(p.name))


def install(folder: str | Path, source: Path | None = None) -> list[str]:
    """Install into the Fiji/ImageJ at `folder`; one line per thing done or kept."""
    target = imagej_folder(folder)
    source = source or bundled_jars()
    done: list[str] = []

    def shown(path: Path) -> str:
        return str(path.relative_to(target.root))

    plugin = target.plugins / f"{PLUGIN}-{__version__}.jar"
    for old in _jars_named(target.plugins, PLUGIN):
        if old != plugin:
            old.unlink()
            done.append(f"removed {shown(old)} (an older napari-hcs plugin)")
    if plugin.is_file() and _same(plugin, source / f"{PLUGIN}.jar"):
        done.append(f"kept {shown(plugin)}: this version is there already")
    else:
        _copy(source / f"{PLUGIN}.jar", plugin)
        done.append(f"installed {shown(plugin)}")

    for artifact, what in LIBRARIES:
        present = _jars_named(target.root / "jars", artifact) + _jars_named(target.plugins, artifact)
        if present:
            name = what.split(" (")[0]
            done.append(f"kept {shown(present[0])}: {target.kind} has {name} already")
            continue
        bundled = source / f"{artifact}.jar"
        version = jar_version(bundled)
        library = target.libraries / (f"{artifact}-{version}.jar" if version else bundled.name)
        _copy(bundled, library)
        done.append(f"installed {shown(library)}: {what}, which {target.kind} lacked")
    done.append(f"restart {target.kind}; the commands are under Plugins > napari-hcs")
    return done
