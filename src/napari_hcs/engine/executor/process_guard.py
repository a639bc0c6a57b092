"""Worker processes follow their parent: they leave when it dies, and Ctrl-C is the parent's.

- **Parent death.** A spawned pool worker waits on a task queue whose both ends it holds, so it
  would never see the parent go (`kill -9`, out of memory) and would wait forever. Each worker
  watches multiprocessing's parent sentinel instead (a pipe the parent alone writes to on
  POSIX, the parent's process handle on Windows: it becomes ready the moment the parent is
  gone, without polling) and exits then. Its outputs are written atomically, so nothing is left
  half-written.
- **Ctrl-C.** A terminal sends SIGINT to the whole foreground process group, workers included.
  The parent decides (the first Ctrl-C cancels cooperatively, the second aborts and stops the
  workers), so workers ignore SIGINT. They must ignore it from their first instruction (a
  worker still importing numpy would die of a KeyboardInterrupt and break the pool), and only
  an ignored disposition survives `exec` (a blocked signal mask does not reach a spawned
  process): so the parent ignores SIGINT for the few milliseconds in which it starts them. A
  Ctrl-C in exactly that moment is lost; the next one counts.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator

#: Exit status of a worker whose parent died (it has no one to report to).
ORPHANED = 3


@contextlib.contextmanager
def children_ignore_sigint() -> Iterator[None]:
    """Ignore SIGINT in this process while it starts child processes, which keep ignoring it.

    Only the main thread may change signal handlers; elsewhere (the napari dock, the server)
    no terminal's Ctrl-C reaches the workers, and this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        # None: a handler installed outside Python, which cannot be put back; use Python's.
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None
                      else previous)


def follow_parent() -> None:
    """In a spawned worker: ignore SIGINT, and exit as soon as the parent process is gone."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # also where the parent could not
    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child (e.g. run in-process)
        return
    threading.Thread(target=_exit_with, args=(parent,), name="napari-hcs-parent-watch",
                     daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()  # returns when the parent's sentinel is ready: the parent has exited
    os._exit(ORPHANED)
