"""Which OMERO client library to talk through: `omero-py`, or a stand-in named by the environment.

A binding is any object (normally a module) with these attributes, named as in `omero-py`:
`BlitzGateway` (`omero.gateway.BlitzGateway`), `MapAnnotationWrapper`
(`omero.gateway.MapAnnotationWrapper`), `model` (`omero.model`), `rtypes` (`omero.rtypes`) and
`UnitsLength` (`omero.model.enums.UnitsLength`).

`NAPARI_HCS_OMERO_GATEWAY` may name another binding, as an importable module
(`my_pkg.my_binding`) or a file (`/path/to/fake_blitz.py`). It is an environment variable, not
an argument, because worker processes re-open the plate themselves from its URL
(`open_plate(plan.plate_root)`) and inherit the parent's environment, so they reach the same
binding. The test suite points it at `tests/bridge/omero/fake_blitz.py`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

BINDING_ENV = "NAPARI_HCS_OMERO_GATEWAY"


class OmeroUnavailable(RuntimeError):
    """omero-py is not installed (or the binding named by the environment cannot be loaded)."""


def load_binding() -> Any:
    """The binding to use now: the one `NAPARI_HCS_OMERO_GATEWAY` names, else `omero-py`."""
    spec = os.environ.get(BINDING_ENV, "").strip()
    if spec:
        return _load_named(spec)
    try:  # omero-py is optional: imported only here, when a connection is actually wanted
        import omero.gateway
        import omero.model
        import omero.rtypes
        from omero.model.enums import UnitsLength
    except ImportError as exc:
        raise OmeroUnavailable(
            "OMERO support needs omero-py: pip install 'napari-hcs[omero]' "
            f"(import failed: {exc})"
        ) from exc
    return SimpleNamespace(
        BlitzGateway=omero.gateway.BlitzGateway,
        MapAnnotationWrapper=omero.gateway.MapAnnotationWrapper,
        model=omero.model,
        rtypes=omero.rtypes,
        UnitsLength=UnitsLength,
    )


def _load_named(spec: str) -> ModuleType:
    if spec.endswith(".py"):
        path = Path(spec).expanduser().resolve()
        name = f"_napari_hcs_omero_binding_{path.stem}"
        if name in sys.modules:  # one module object per process, like a normal import
            return sys.modules[name]
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None or not path.is_file():
            raise OmeroUnavailable(f"{BINDING_ENV}={spec}: no such Python file")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(spec)
    except ImportError as exc:
        raise OmeroUnavailable(f"{BINDING_ENV}={spec}: cannot import it ({exc})") from exc
