"""`omero://host[:port]/plate/ID[?target=new|wells]`: where a plate (or an output) lives.

`pathlib.Path` collapses `omero://h` to `omero:/h`, and plate roots travel through the plate
model as `Path`s, so both spellings parse to the same address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from ...engine.plate.model import PlateError

DEFAULT_PORT = 4064
_URL = re.compile(r"^omero:/{1,2}(?P<host>[^/:?]+)(?::(?P<port>\d+))?/(?P<kind>\w+)/(?P<id>\d+)/?"
                  r"(?:\?(?P<query>.*))?$")


@dataclass(frozen=True)
class OmeroAddress:
    """One OMERO object on one server; `options` are the URL's query parameters."""

    host: str
    port: int
    kind: str
    id: int
    options: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def url(self) -> str:
        query = f"?{urlencode(self.options)}" if self.options else ""
        return f"omero://{self.host}:{self.port}/{self.kind}/{self.id}{query}"

    def __str__(self) -> str:
        return self.url


def is_omero_url(path: object) -> bool:
    """Whether `path` (a str or Path) names an OMERO object rather than a folder."""
    return str(path).startswith("omero:/")


def parse_address(path: object, kind: str = "plate") -> OmeroAddress:
    """Parse an `omero://` URL; raises PlateError saying what a valid URL looks like."""
    text = str(path)
    if "@" in text.split("/plate/")[0]:
        # never echo it: the part before "@" is likely a password
        raise PlateError(
            "OMERO URLs carry no credentials: use omero://HOST[:PORT]/plate/ID and set "
            "OMERO_USER/OMERO_PASSWORD or OMERO_SESSION_KEY in the environment"
        )
    m = _URL.match(text)
    if not m or m.group("kind").lower() != kind:
        raise PlateError(
            f"not an OMERO {kind} URL: {text!r} "
            f"(expected omero://HOST[:PORT]/{kind}/ID, e.g. omero://omero.example.org:4064/{kind}/51)"
        )
    return OmeroAddress(
        host=m.group("host"),
        port=int(m.group("port") or DEFAULT_PORT),
        kind=kind,
        id=int(m.group("id")),
        options=dict(parse_qsl(m.group("query") or "")),
    )
