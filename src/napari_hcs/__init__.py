"""napari-hcs: high-content screening pipelines that live inside napari."""

from .engine.functions.registry import register

__version__ = "0.1.0"
__all__ = ["register", "__version__"]
