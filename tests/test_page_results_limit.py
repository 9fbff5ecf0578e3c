"""The Results page explains the upload size limit: the session's, at most Streamlit's option.

``.streamlit/config.toml`` sets ``server.maxUploadSize`` (the server's ceiling); a session's
own limit is its share of the memory budget (``abcore.hosting``), never above the option. The
uploader's help must state that number (not a copy of it) and say what to do with a bigger
experiment: upload its totals.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from abcore.hosting import current_limits

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "results.py")
CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


@pytest.fixture
def upload_limit() -> Iterator[None]:
    """Restore the option after a test that changes it."""
    before = st_config.get_option("server.maxUploadSize")
    yield
    st_config.set_option("server.maxUploadSize", before)


def uploader_help(limit_mb: int, expect: int | None = None) -> str:
    st_config.set_option("server.maxUploadSize", limit_mb)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    (uploader,) = at.get("file_uploader")
    # The browser enforces the limit the server sends with the widget.
    assert uploader.proto.max_upload_size_mb == (expect or limit_mb)
    return uploader.help


@pytest.mark.usefixtures("upload_limit")
def test_help_states_the_configured_limit_and_the_way_around_it():
    limit = CONFIG["server"]["maxUploadSize"]
    help_text = uploader_help(limit)
    assert f"limited to {limit:,} MB" in help_text
    assert "per-arm or per-day totals" in help_text
    assert "where the data lives" in help_text


@pytest.mark.usefixtures("upload_limit")
def test_help_follows_the_option_not_a_hard_coded_number():
    help_text = uploader_help(123)
    assert "limited to 123 MB" in help_text
    assert f"{CONFIG['server']['maxUploadSize']} MB" not in help_text


@pytest.mark.usefixtures("upload_limit")
def test_a_larger_option_does_not_raise_the_session_limit():
    session = current_limits().upload_mb
    help_text = uploader_help(session + 1_000, expect=session)
    assert f"limited to {session:,} MB per session" in help_text
