"""Credentials from the environment, URL parsing, and redaction of secrets."""

from __future__ import annotations

import logging

import pytest

from napari_hcs.bridge.omero.address import is_omero_url, parse_address
from napari_hcs.bridge.omero.binding import BINDING_ENV, OmeroUnavailable, load_binding
from napari_hcs.bridge.omero.credentials import (
    OmeroCredentials,
    OmeroLoginError,
    RedactingFilter,
    redact,
)
from napari_hcs.engine.plate.model import PlateError


def test_urls_parse_with_and_without_the_collapsed_slash():
    a = parse_address("omero://omero.example.org:4065/plate/51?target=wells")
    assert (a.host, a.port, a.kind, a.id, a.options) == (
        "omero.example.org", 4065, "plate", 51, {"target": "wells"})
    assert parse_address("omero:/omero.example.org/plate/51").port == 4064
    assert parse_address(a.url) == a and is_omero_url(a.url) and not is_omero_url("/data/p")
    with pytest.raises(PlateError, match="omero://HOST"):
        parse_address("omero://host/image/3")


def test_credentials_in_a_url_are_refused_without_echoing_them():
    with pytest.raises(PlateError) as info:
        parse_address("omero://alice:hunter2@host:4064/plate/1")
    assert "hunter2" not in str(info.value) and "OMERO_PASSWORD" in str(info.value)


def test_credentials_from_the_environment():
    env = {"OMERO_HOST": "h", "OMERO_PORT": "4080", "OMERO_USER": "u", "OMERO_PASSWORD": "pw"}
    creds = OmeroCredentials.from_env(environ=env)
    assert (creds.host, creds.port, creds.username, creds.secure) == ("h", 4080, "u", True)
    assert not creds.joins_session and creds.secrets == ("pw",)
    assert "pw" not in repr(creds)
    url = parse_address("omero://other:4064/plate/2")
    keyed = OmeroCredentials.from_env(url, {"OMERO_SESSION_KEY": "k-123", "OMERO_SECURE": "0"})
    assert (keyed.host, keyed.joins_session, keyed.secure) == ("other", True, False)
    assert "k-123" not in repr(keyed)
    with pytest.raises(OmeroLoginError, match="OMERO_USER and OMERO_PASSWORD"):
        OmeroCredentials.from_env(environ={"OMERO_HOST": "h", "OMERO_USER": "u"})
    with pytest.raises(OmeroLoginError, match="OMERO_HOST"):
        OmeroCredentials.from_env(environ={})


def test_redact_scrubs_keys_and_known_secret_strings():
    record = {"password": "pw", "nested": [{"OMERO_SESSION_KEY": "k"}, "uses pw here"],
              "token": None, "wells": {"A01": "ok"}}
    assert redact(record, ("pw",)) == {
        "password": "***", "nested": [{"OMERO_SESSION_KEY": "***"}, "uses *** here"],
        "token": None, "wells": {"A01": "ok"}}


def test_log_filter_scrubs_formatted_messages():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "login %s", ("pw",), None)
    assert RedactingFilter(("pw",)).filter(record) and record.getMessage() == "login ***"


def test_without_omero_py_the_error_names_the_extra(monkeypatch):
    monkeypatch.delenv(BINDING_ENV, raising=False)
    try:
        import omero.gateway  # noqa: F401
    except ImportError:
        with pytest.raises(OmeroUnavailable, match=r"napari-hcs\[omero\]"):
            load_binding()
    else:  # omero-py is installed: the real binding loads
        assert hasattr(load_binding().BlitzGateway, "createImageFromNumpySeq")
    monkeypatch.setenv(BINDING_ENV, "no_such_module_xyz")
    with pytest.raises(OmeroUnavailable, match="no_such_module_xyz"):
        load_binding()
