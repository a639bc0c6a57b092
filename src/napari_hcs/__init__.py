"""napari-hcs: high-content screening pipelines that live inside napari."""

from .engine.functions.registry import register

__version__ = "0.1.0"  # the one place: pyproject.toml reads it (tool.hatch.version)
DOCS_URL = "https://github.com/napari-hcs/napari-hcs/tree/main/docs"
__all__ = ["register", "__version__", "DOCS_URL"]
