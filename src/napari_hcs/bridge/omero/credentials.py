"""OMERO credentials: read from the environment, used to connect, never written anywhere.

Environment: `OMERO_HOST`, `OMERO_PORT` (default 4064), and either `OMERO_USER` +
`OMERO_PASSWORD` or `OMERO_SESSION_KEY` (a session joined, e.g. from `omero login`); the
session key wins when both are set. `OMERO_SECURE=0` turns off whole-connection encryption
(login is always encrypted). A host/port in an `omero://` URL overrides `OMERO_HOST/PORT`.

Secrets reach no file and no log: `OmeroCredentials` hides them from `repr`, `redact()` scrubs
them from any JSON-like value (run.json goes through it) and `RedactingFilter` from log records.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .address import DEFAULT_PORT, OmeroAddress
from .binding import load_binding

REDACTED = "***"
SECRET_ENV = ("OMERO_PASSWORD", "OMERO_SESSION_KEY")
# Keys whose values are secret wherever they appear in a record (run.json, configs, events).
_SECRET_KEY = re.compile(r"pass(word|wd)?$|secret|token|session[_-]?(key|uuid)|^suuid$", re.I)


class OmeroLoginError(RuntimeError):
    """No usable credentials, or the server refused them; the message says which variables."""


@dataclass(frozen=True)
class OmeroCredentials:
    """Where and as whom to connect. `repr` shows no password or session key."""

    host: str
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    session_key: str | None = field(default=None, repr=False)
    secure: bool = True

    @classmethod
    def from_env(
        cls, address: OmeroAddress | None = None, environ: Mapping[str, str] | None = None
    ) -> OmeroCredentials:
        env = os.environ if environ is None else environ
        host = address.host if address else env.get("OMERO_HOST", "")
        port = address.port if address else int(env.get("OMERO_PORT") or DEFAULT_PORT)
        if not host:
            raise OmeroLoginError("no OMERO server: set OMERO_HOST or use an omero://HOST URL")
        creds = cls(
            host=host,
            port=port,
            username=env.get("OMERO_USER") or None,
            password=env.get("OMERO_PASSWORD") or None,
            session_key=env.get("OMERO_SESSION_KEY") or None,
            secure=env.get("OMERO_SECURE", "1").strip().lower() not in ("0", "false", "no"),
        )
        if not creds.session_key and not (creds.username and creds.password):
            raise OmeroLoginError(
                f"no OMERO credentials for {host}:{port}: set OMERO_USER and OMERO_PASSWORD, "
                "or OMERO_SESSION_KEY, in the environment"
            )
        return creds

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.session_key) if s)

    @property
    def joins_session(self) -> bool:
        """Whether connecting joins an existing session (which closing must then not kill)."""
        return bool(self.session_key)


def connect(creds: OmeroCredentials, binding: Any = None) -> Any:
    """Open a BlitzGateway connection; raises OmeroLoginError naming the server and user."""
    gateway = (binding or load_binding()).BlitzGateway
    if creds.session_key:
        conn = gateway(host=creds.host, port=creds.port, secure=creds.secure)
        ok = conn.connect(sUuid=creds.session_key)
        who = "with OMERO_SESSION_KEY"
    else:
        conn = gateway(
            creds.username, creds.password, host=creds.host, port=creds.port, secure=creds.secure
        )
        ok = conn.connect()
        who = f"as {creds.username!r}"
    if not ok:  # BlitzGateway.connect() returns False on a refused login rather than raising
        raise OmeroLoginError(
            f"OMERO at {creds.host}:{creds.port} refused the login {who}: check OMERO_USER/"
            "OMERO_PASSWORD or OMERO_SESSION_KEY (session keys expire)"
        )
    return conn


def disconnect(conn: Any, creds: OmeroCredentials) -> None:
    """Close a connection; a joined session stays alive for whoever else holds its key."""
    conn.close(hard=not creds.joins_session)


def env_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    env = os.environ if environ is None else environ
    return tuple(env[k] for k in SECRET_ENV if env.get(k))


def redact(value: Any, secrets: Iterable[str] | None = None) -> Any:
    """A copy of a JSON-like value with secrets removed.

    Values under secret-looking keys (`password`, `token`, `session_key`, ...) become `***`,
    and every occurrence of a known secret string (by default the OMERO_PASSWORD and
    OMERO_SESSION_KEY of this environment) is replaced inside any string.
    """
    known = tuple(s for s in (env_secrets() if secrets is None else secrets) if s)
    return _redact(value, known)


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) and v else
                _redact(v, secrets))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact(v, secrets) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that removes known secrets from each record's rendered message."""

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        super().__init__()
        self._secrets = tuple(secrets) if secrets is not None else None

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets if self._secrets is not None else env_secrets()
        message = record.getMessage()
        if any(s in message for s in secrets):
            record.msg, record.args = _redact(message, secrets), None
        return True


def install_log_redaction(
    target: logging.Logger | logging.Handler | None = None,
) -> RedactingFilter:
    """Attach a RedactingFilter to a logger or handler (default: the OMERO logger), once.

    A logger's filters see only records logged on that very logger; to scrub everything an
    application logs, attach one to its handlers (e.g. each of `logging.getLogger().handlers`).
    """
    target = target if target is not None else log
    for existing in target.filters:
        if isinstance(existing, RedactingFilter):
            return existing
    filt = RedactingFilter()
    target.addFilter(filt)
    return filt


#: The one logger of the OMERO bridge; every module here logs through it, so its filter sees all.
log = logging.getLogger("napari_hcs.bridge.omero")
install_log_redaction(log)
