"""napari-hcs: high-content screening pipelines that live inside napari."""

from .engine.functions.registry import register
from .engine.version import __version__  # the one place it is written

DOCS_URL = "https://github.com/napari-hcs/napari-hcs/tree/main/docs"
__all__ = ["register", "__version__", "DOCS_URL"]
