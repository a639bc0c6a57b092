"""What every library source (scikit-image, scipy.ndimage, pyclesperanto, cucim) provides.

A source owns a name prefix (`skimage.`, `ndimage.`, `cle.`, `cucim.skimage.`); a registered
name is the prefix plus the library's own public path (`skimage.filters.gaussian`,
`ndimage.gaussian_filter`), so names stay stable across processes and versions of napari-hcs.
`target(name)` maps a name to the only module it may import, from a fixed list: names coming
from a pipeline document or the index file never import anything else.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from typing import Any


class Source:
    prefix = ""  # registered names start with prefix + "."
    import_name = ""  # the package imported to use the functions
    distribution = ""  # its distribution name (for the index key)
    backend = "numpy"  # how ExternalFunction calls it: numpy, opencl, cupy
    memory = "numpy"  # the memory type declared to the compiler
    extra = ""  # the napari-hcs extra that installs it
    #: Functions left out on purpose, each with its reason (dangerous or absurdly slow).
    deny: dict[str, str] = {}
    #: Functions registered per plane only, without trying them on a volume, each with its
    #: reason (their defaults make a 3-D call take minutes even on a tiny volume).
    plane_only: dict[str, str] = {}

    def available(self) -> bool:
        try:
            return importlib.util.find_spec(self.import_name) is not None
        except (ImportError, ValueError):
            return False

    def version(self) -> str | None:
        """The installed version, None when not installed (found without importing it)."""
        return installed_version(self.distribution, self.import_name)

    def namespaces(self) -> set[str]:
        """Dotted paths that are groups of functions, not functions (`skimage.filters`)."""
        parts = self.prefix.split(".")
        return {".".join(parts[: i + 1]) for i in range(len(parts))}

    def owns(self, name: str) -> bool:
        return name.startswith(self.prefix + ".")

    def target(self, name: str) -> tuple[str, str] | None:
        """`(module, attribute)` that `name` refers to, or None when it names nothing we load."""
        raise NotImplementedError

    def names(self) -> list[str]:
        """Every candidate name (imports the library)."""
        raise NotImplementedError

    def describe(self, name: str) -> tuple[dict[str, Any] | None, str]:
        """`(entry, "")` when `name` fits the pipeline, `(None, reason)` when it does not."""
        raise NotImplementedError

    def build(self, earlier: dict[str, dict[str, Any]]
              ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """`(entries, excluded)` for every candidate; `earlier` holds the sources before it."""
        entries, excluded = {}, {}
        for name in self.names():
            entry, reason = self.describe(name)
            if entry is None:
                excluded[name] = reason
            else:
                entries[name] = entry
        return entries, excluded

    def missing(self) -> str:
        return (f"{self.import_name} is not installed"
                + (f" (pip install napari-hcs[{self.extra}])" if self.extra else ""))

    def resolve_object(self, name: str) -> Any:
        target = self.target(name)
        if target is None:
            return None
        module, attr = target
        try:
            return getattr(importlib.import_module(module), attr, None)
        except ImportError:
            return None


def installed_version(distribution: str, module: str) -> str | None:
    """A distribution's version, or None; the cheap import-system lookup of its module first
    (reading package metadata means scanning every installed distribution)."""
    try:
        if importlib.util.find_spec(module) is None:
            return None
        return importlib.metadata.version(distribution)
    except (ImportError, ValueError, importlib.metadata.PackageNotFoundError):
        return None


def is_function(obj: Any) -> bool:
    return callable(obj) and not isinstance(obj, type) and not hasattr(obj, "__path__")
