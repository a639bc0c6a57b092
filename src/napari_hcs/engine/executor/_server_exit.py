"""Imported only by the fork server (`fork_server.PRELOAD`): when the run stops it, the server
leaves at once (`os._exit`) instead of tearing down every module it preloaded (numpy, scipy,
pandas, zarr: a third of a second, paid at the very end of every run).

Its workers are not affected: forked children leave through `os._exit` already, and never run
exit handlers.
"""

from __future__ import annotations

import atexit
import os
import sys


def _leave() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


atexit.register(_leave)
