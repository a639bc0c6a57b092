"""The function index: every library function that fits the pipeline, in one JSON file.

Building it imports every library module and probes each candidate on a tiny image (a few
seconds), so it is built once per combination of napari-hcs, the libraries' versions and this
package's own source, into `functions-<key>.json` in the user cache directory
(`platformdirs.user_cache_dir("napari-hcs")`, or `$NAPARI_HCS_CACHE_DIR`), and read from there
(a few milliseconds) by every later process: the Pipeline dock lists 400 functions without
importing scikit-image. The file is JSON, never pickle, and is validated when read: an entry
can only name a function of a known source, so a tampered file cannot make us import anything
else. A cache directory that cannot be written just means the index lives in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .clesperanto_source import ClesperantoSource
from .cucim_source import CucimSource
from .ndimage_source import NdimageSource
from .skimage_source import SkimageSource
from .source import Source, installed_version

SCHEMA = 1
SOURCES: tuple[Source, ...] = (SkimageSource(), NdimageSource(), ClesperantoSource(),
                               CucimSource())
#: Optional packages that change which scikit-image functions work (wavelets, GMMs):
#: (distribution, module).
OPTIONAL_DISTRIBUTIONS = (("PyWavelets", "pywt"), ("scikit-learn", "sklearn"))
CACHE_ENV = "NAPARI_HCS_CACHE_DIR"
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$")


@dataclass
class Index:
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> entry
    excluded: dict[str, str] = field(default_factory=dict)  # name -> why it is left out
    versions: dict[str, str | None] = field(default_factory=dict)


def source_of(name: str) -> Source | None:
    """The source whose prefix `name` carries (the longest prefix wins: cucim.skimage.)."""
    owners = [s for s in SOURCES if s.owns(name)]
    return max(owners, key=lambda s: len(s.prefix)) if owners else None


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    import platformdirs

    return Path(platformdirs.user_cache_dir("napari-hcs"))


@lru_cache(maxsize=1)
def index_key() -> tuple[str, dict[str, str | None]]:
    """A hash of everything the index depends on, and the library versions it records."""
    from ...version import __version__

    versions: dict[str, str | None] = {"napari-hcs": __version__,
                                       "python": ".".join(map(str, sys.version_info[:2]))}
    for source in SOURCES:
        versions[source.distribution] = source.version()
    for dist, module in OPTIONAL_DISTRIBUTIONS:
        versions[dist] = installed_version(dist, module)
    digest = hashlib.sha256(json.dumps([SCHEMA, versions], sort_keys=True).encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20], versions


def index_path() -> Path:
    return cache_dir() / f"functions-{index_key()[0]}.json"


_LOCK = threading.Lock()
_INDEX: Index | None = None


def get_index(build: bool = True) -> Index | None:
    """The index of this process: from memory, from the cache file, or built (and written)."""
    global _INDEX
    if _INDEX is not None:
        return _INDEX
    with _LOCK:
        if _INDEX is None:
            _INDEX = load_index(index_path())
        if _INDEX is None and build:
            _INDEX = build_index()
            write_index(_INDEX, index_path())
    return _INDEX


def load_index(path: Path) -> Index | None:
    """The index in `path`, or None when it is missing, unreadable or not a valid index."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return validate(data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def build_index() -> Index:
    """Describe every candidate of every installed source."""
    index = Index(versions=dict(index_key()[1]))
    for source in SOURCES:
        if not source.available():
            continue
        entries, excluded = source.build(index.functions)
        index.functions.update(entries)
        index.excluded.update(excluded)
    return index


def write_index(index: Index, path: Path) -> bool:
    """Write atomically (a temp file renamed over the target); False when it cannot be written."""
    data = {"schema": SCHEMA, "versions": index.versions, "functions": list(
        index.functions.values()), "excluded": index.excluded}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=None, separators=(",", ":"))
        os.replace(tmp, path)
        return True
    except OSError:
        return False


def validate(data: Any) -> Index:
    """An `Index` from parsed JSON; raises ValueError on anything an index would not hold."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError("not a function index of this schema")
    index = Index(versions={str(k): (None if v is None else str(v))
                            for k, v in dict(data["versions"]).items()})
    for entry in data["functions"]:
        check_entry(entry)
        index.functions[entry["name"]] = entry
    for name, reason in dict(data["excluded"]).items():
        if not isinstance(name, str) or not isinstance(reason, str):
            raise ValueError("bad excluded entry")
        index.excluded[name] = reason
    return index


def check_entry(entry: Any) -> None:
    """Raise ValueError unless `entry` is a well-formed entry naming a function we may load."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ValueError("entry without a name")
    name = entry["name"]
    source = source_of(name)
    if not _NAME.match(name) or source is None or source.target(name) is None:
        raise ValueError(f"{name!r} is not a function of a known library")
    for key, kind in (("category", str), ("summary", str), ("dims", str), ("input", str),
                      ("output_dtype", str), ("parameters", list), ("arrays", list),
                      ("fixed", dict), ("example", dict), ("example_reason", str)):
        if not isinstance(entry.get(key), kind):
            raise ValueError(f"{name}: {key} is not a {kind.__name__}")
    if entry["dims"] not in ("2d", "nd"):
        raise ValueError(f"{name}: dims {entry['dims']!r}")
    names = set()
    for p in entry["parameters"]:
        if not isinstance(p, dict) or not str(p.get("name", "")).isidentifier():
            raise ValueError(f"{name}: bad parameter {p!r}")
        if not isinstance(p.get("type"), list) or not isinstance(p.get("doc", ""), str):
            raise ValueError(f"{name}: bad parameter {p['name']!r}")
        names.add(p["name"])
    if not set(entry["arrays"]) <= names or not set(entry["example"]) <= names:
        raise ValueError(f"{name}: arrays/example name unknown parameters")
    if not all(str(k).isidentifier() for k in entry["fixed"]):
        raise ValueError(f"{name}: bad fixed parameter")
