"""The embedded engine: plates, functions, pipelines, compiler, VFS, executor. Never imports napari or Qt."""
