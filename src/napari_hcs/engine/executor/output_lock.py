"""One run per output folder: an OS lock on `OUT/.napari-hcs.lock`, held for the whole run.

The lock is the operating system's (`flock` on POSIX, `msvcrt.locking` on Windows), so it goes
away with the process that held it: a run killed with `kill -9` (or a crashed machine's NFS
client, once the server notices) never blocks the folder. The file itself stays; while a run
holds it, it says who (pid, host, start time, program) so the refusal can name the holder.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

from ..vfs.safe_files import UnsafeOutput, open_entry, output_folder

LOCK_FILE = ".napari-hcs.lock"
_WINDOWS_LOCK_OFFSET = 1 << 20  # msvcrt locks bytes: lock one far past the holder text


class OutputBusy(Exception):
    """Another run holds the output folder."""


class OutputLock:
    """Held from construction until `release()` (or the process ends)."""

    def __init__(self, out: Path) -> None:
        self.path = out / LOCK_FILE
        if out.exists() and not out.is_dir():
            raise OSError(f"output folder {out} is a file, not a folder: choose a folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(f"output folder {out} is not writable: {exc.strerror or exc}") \
                from exc
        try:  # no link followed, no second name: the lock must not truncate another file
            with output_folder(out) as folder:
                self.fd = open_entry(folder, out, LOCK_FILE, os.O_RDWR | os.O_CREAT)
        except UnsafeOutput as exc:
            raise OSError(f"cannot create the run lock: {exc}") from None
        except OSError as exc:
            raise OSError(f"cannot create the run lock {self.path} (output folder not "
                          f"writable, or the lock is a link): {exc.strerror or exc}") from exc
        try:
            locked = _try_lock(self.fd)
        except OSError as exc:  # e.g. ENOLCK on a file system without locks
            os.close(self.fd)
            raise OSError(f"cannot lock output folder {out}: {exc.strerror or exc}") from exc
        if not locked:
            holder = _describe(self.fd)
            os.close(self.fd)
            raise OutputBusy(f"output folder {out} is in use by another napari-hcs run "
                             f"({holder}); wait for it to finish, or choose another output "
                             "folder")
        self._write_holder()

    def _write_holder(self) -> None:
        # The program, not its whole command line: that may carry a password (omero://).
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "program": Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"}
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, json.dumps(holder).encode(), 0)
        except (OSError, AttributeError):  # a full disk: the lock holds, only the text is lost
            pass

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            os.ftruncate(self.fd, 0)
        except OSError:
            pass
        finally:
            _unlock(self.fd)
            os.close(self.fd)
            self.fd = -1


def _describe(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return (f"pid {holder['pid']} on {holder['host']}, started {holder['started']}, "
                f"program {holder['program']}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "its holder did not say who it is"


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
