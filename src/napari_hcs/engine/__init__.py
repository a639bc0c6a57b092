"""The embedded engine: plates, functions, pipelines, compiler, VFS, executor.

It never imports napari or Qt (nor `napari_hcs.bridge` / `napari_hcs.napari`).
"""
