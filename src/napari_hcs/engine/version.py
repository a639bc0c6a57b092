"""The version of napari-hcs, in the one place it is written: pyproject.toml reads it
(`tool.hatch.version`), `napari_hcs.__version__` re-exports it. It lives in the engine so that
engine code (the code writer's header, the library index's key) can name it without importing
the package root, which the engine never does."""

__version__ = "0.1.0"
