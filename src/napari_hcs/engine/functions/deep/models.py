"""Where a deep-learning model comes from: the user's own cache of the package, or a path.

Nothing is downloaded, ever: a run must not reach the network, and the machines that run
pipelines often cannot. A model parameter is either

* a *name* (`cpsam`, `2D_versatile_fluo`): looked up only in the package's local cache
  folder, where the package's own download (`cellpose` on first use, `StarDist2D.from_pretrained`)
  or the user put it; or
* a *path* (anything with a `/`, or starting with `~`): a model file (Cellpose) or model folder
  (StarDist) checked like every file the engine reads: regular files only, sizes bounded before
  anything is loaded.

A missing package or model is one line naming the function, the parameter and where it looked;
the compiler reports it before a run (`compile_check`), the functions again when called directly.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from ...roots import AllowedRoots, OutsideRootsError
from .. import registry

#: Largest model file accepted (Cellpose-SAM's weights are 1.2 GB; StarDist's a few MB).
MAX_MODEL_BYTES = 4 << 30
#: Largest JSON file of a model folder (StarDist's config.json, thresholds.json: < 1 KiB).
MAX_CONFIG_BYTES = 1 << 20
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


class ModelNotFound(FileNotFoundError):
    """A model name or path that does not lead to a usable model; the message says where."""


def package_installed(module: str) -> bool:
    """Whether `module` can be imported, without importing it (the run's parent process does
    not load torch or TensorFlow to compile a pipeline)."""
    return registry.module_installed(module)


def require_package(module: str, func: str, extra: str) -> None:
    if not package_installed(module):
        raise ImportError(missing_package(module, func, extra))


def missing_package(module: str, func: str, extra: str) -> str:
    return registry.missing_module(func, module, extra)


def is_path(value: str) -> bool:
    """Whether a model parameter names a path rather than a cached model's name."""
    return os.sep in value or "/" in value or value.startswith("~")


def regular_file(path: Path, limit: int, what: str) -> Path:
    """`path` (links resolved) when it is a regular file of at most `limit` bytes."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ModelNotFound(f"{what}: {path} does not exist ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelNotFound(f"{what}: {path} is not a regular file")
    if info.st_size > limit:
        raise ModelNotFound(f"{what}: {path} is {info.st_size} bytes, more than the "
                            f"{limit} a model file may have")
    return path


def check_name(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise ModelNotFound(f"{what}: {value!r} is neither a model name (letters, digits, "
                            "'._+-') nor a path")
    return value


def lookup(value: str, what: str, candidates: Callable[[str], list[Path]],
           accept: Callable[[Path, str], Path], cache_hint: str) -> Path:
    """Resolve a model parameter: a path is checked by `accept`; a name is looked up in the
    cache folders `candidates(name)` (first accepted wins), never downloaded."""
    if not isinstance(value, str) or not value:
        raise ModelNotFound(f"{what}: give a model name or a path, got {value!r}")
    if is_path(value):
        return accept(Path(value).expanduser().absolute(), what)
    places = candidates(check_name(value, what))
    for place in places:
        if place.exists():
            return accept(place, what)
    looked = ", ".join(str(p) for p in places)
    raise ModelNotFound(f"{what}: model {value!r} is not in the local cache (looked in "
                        f"{looked}); {cache_hint}. Models are never downloaded during a run")


def check_model(value: Any, resolve: Callable[[str], Path], roots: AllowedRoots,
                folder: bool = False) -> list[tuple[str, str]]:
    """The compile problem of a `model` parameter, if any: a path outside the run's roots
    (judged before the path is even looked at), a model that is not there, or one that
    resolves (links followed; every link inside a model folder too) outside the roots."""
    try:
        if isinstance(value, str) and is_path(value):
            roots.check(Path(value).expanduser(), "read the model")
        found = resolve(value)
        if folder:
            roots.check_tree(found, "read the model")
        else:
            roots.check(found, "read the model")
    except OutsideRootsError as exc:
        return [("model", str(exc))]
    except ModelNotFound as exc:  # the problem names the step and parameter itself
        return [("model", without_prefix(exc))]
    return []


def without_prefix(error: ModelNotFound) -> str:
    """The message of `error` after its "<function>: parameter 'model': " prefix."""
    return str(error).split("parameter 'model': ", 1)[-1]


class LoadedModels:
    """The model a worker process loaded last, kept for the next well: a run calls the
    function once per well with the same model, which is then read once per worker."""

    def __init__(self) -> None:
        self._key: Hashable = None
        self._model: Any = None

    def get(self, path: Path, extra: Hashable, load: Callable[[], Any]) -> Any:
        info = path.stat()
        key = (str(path), info.st_mtime_ns, info.st_size, extra)
        if key != self._key:
            self._model = self._key = None  # free the old model before loading the new one
            self._model, self._key = load(), key
        return self._model
