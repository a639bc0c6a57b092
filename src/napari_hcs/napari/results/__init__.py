"""Results on the plate frame: live results streamed from a run (`stream_sink` receives,
`canvas` prepares layers off the GUI thread, `layers` names and converts them), reopened run
outputs (`output_zarr` reads, `output_canvas` places, `output_layers` makes the layers) and the
single-site preview (`preview`). No Qt widgets here: those are in `docks/`."""
