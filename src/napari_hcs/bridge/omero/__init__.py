"""OMERO: read plates from an OMERO server and write results back (optional `[omero]` extra).

Nothing here imports `omero` at module level: `omero-py` is loaded only when a connection is
opened (see `binding.py`), so the package imports without the extra installed.

- `address.py`: `omero://host:port/plate/ID` URLs.
- `credentials.py`: credentials from the environment, connecting, and redaction of secrets.
- `source.py`: `OmeroPlateReader`, a `PlateReader` over an OMERO plate (planes read lazily).
- `writer.py`: `OmeroResultWriter`, the output backend (images, ROIs, tables, run record).
"""

SCHEME = "omero"
