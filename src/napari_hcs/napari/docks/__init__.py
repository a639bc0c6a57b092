"""The Qt dock widgets (Plate, Pipeline, Config, Run) and their small Qt helpers; each is a
thin layer over the engine and over `plate_view/` and `results/`."""
