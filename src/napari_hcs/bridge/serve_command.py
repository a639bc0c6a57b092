"""`napari-hcs serve`: the execution server from the command line (docs/server.md)."""

from __future__ import annotations

import secrets
import signal
import threading
from pathlib import Path
from typing import Any

from ..engine.executor.limits import DEFAULT_CANCEL_GRACE_S, DEFAULT_WELL_TIMEOUT_S
from .server import ExecutionServer, ServerConfig
from .submission import RequestError


def serve_from_cli(args: Any) -> int:
    """`napari-hcs serve`: print the address and token, then serve until Ctrl-C or SIGTERM;
    then cancel the runs and wait for each to write its run.json (`finish_runs`)."""
    if args.token_file:
        token = Path(args.token_file).read_text(encoding="utf-8").strip()
        if len(token) < 16:
            raise RequestError(f"{args.token_file}: the token must have at least 16 characters")
        if not token.isascii() or not token.isprintable() or any(c in token for c in ' "\\'):
            raise RequestError(f"{args.token_file}: the token must be printable ASCII without "
                               "spaces, quotes or backslashes")
    else:
        token = secrets.token_urlsafe(24)
    roots = tuple(Path(r) for r in args.root) or (Path.cwd(),)
    config = ServerConfig(host=args.host, port=args.port, token=token, roots=roots,
                          allowed_modules=tuple(args.allow_module),
                          omero_hosts=tuple(args.omero_host),
                          stream_bind_hosts=tuple(getattr(args, "stream_bind_host", ())),
                          max_memory=getattr(args, "max_memory", "auto"),
                          well_timeout_s=getattr(args, "well_timeout", DEFAULT_WELL_TIMEOUT_S),
                          cancel_grace_s=getattr(args, "cancel_grace", DEFAULT_CANCEL_GRACE_S))
    server = ExecutionServer(config)
    print(f"napari-hcs server on {server.address}", flush=True)
    print(f"roots: {', '.join(str(r) for r in server.roots)}", flush=True)
    if config.omero_hosts:
        print(f"omero hosts: {', '.join(config.omero_hosts)}", flush=True)
    if not args.token_file:
        print(f"token: {token}", flush=True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: server._stop.set())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server._stop.set()
    finally:
        server.finish_runs()
    return 0
