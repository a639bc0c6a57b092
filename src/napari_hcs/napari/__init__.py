"""The napari plugin. The npe2 contributions (`napari.yaml`) point at the modules here:
`_reader`, `_writer`, `_sample_data` and the docks in `docks/`. Rooms: `plate_view/` (the raw
plate), `results/` (live and reopened results), `docks/` (Qt widgets). `session` holds the
plate, pipeline and configuration the docks share; `pipeline_edit`, `run_settings` and
`remote_run` are the docks' Qt-free models."""
