"""`napari-hcs serve`: the execution server from the command line (docs/server.md)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from .server import ExecutionServer, ServerConfig
from .submission import RequestError


def serve_from_cli(args: Any) -> int:
    """`napari-hcs serve`: print the address and token, then serve until Ctrl-C."""
    if args.token_file:
        token = Path(args.token_file).read_text(encoding="utf-8").strip()
        if len(token) < 16:
            raise RequestError(f"{args.token_file}: the token must have at least 16 characters")
    else:
        token = secrets.token_urlsafe(24)
    roots = tuple(Path(r) for r in args.root) or (Path.cwd(),)
    config = ServerConfig(host=args.host, port=args.port, token=token, roots=roots,
                          allowed_modules=tuple(args.allow_module),
                          omero_hosts=tuple(args.omero_host))
    server = ExecutionServer(config)
    print(f"napari-hcs server on {server.address}", flush=True)
    print(f"roots: {', '.join(str(r) for r in server.roots)}", flush=True)
    if config.omero_hosts:
        print(f"omero hosts: {', '.join(config.omero_hosts)}", flush=True)
    if not args.token_file:
        print(f"token: {token}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server._stop.set()
    return 0
