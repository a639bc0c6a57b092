"""Suite-wide: the library-function index is built into a temporary cache directory.

The index normally lives in the user cache directory; the suite builds its own (once per
session, on first use) so that it neither reads nor writes the user's. Set before any test
runs, the variable also reaches every process the tests start (CLI runs, workers).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from napari_hcs.engine.functions.external.index import CACHE_ENV

_CACHE = tempfile.mkdtemp(prefix="napari-hcs-test-cache-")
os.environ[CACHE_ENV] = _CACHE


def pytest_unconfigure(config):  # noqa: ARG001 - pytest's hook signature
    shutil.rmtree(_CACHE, ignore_errors=True)
