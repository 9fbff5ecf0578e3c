"""Every test's saved experiments live in its own temporary SQLite file.

Without it a page test that saves or opens an experiment (Save in the sidebar, an
Experiments page, a ``?experiment=`` address) would create ``data/abcore.sqlite`` in the
checkout and read the experiments an earlier test left there. A test that sets
``ABCORE_DB_URL`` itself (its own fixture or ``monkeypatch.setenv``) overrides this one: the
app's registry is cached per URL (:func:`ui.experiments_state.registry`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from abcore import config


def _clear_registry_cache() -> None:
    # only when a test has imported the app's state: this file imports no Streamlit, so the
    # engine's tests stay as light as a notebook's import
    state = sys.modules.get("ui.experiments_state")
    if state is not None:
        state._open.clear()


@pytest.fixture(autouse=True)
def _own_registry(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    folder = tmp_path_factory.mktemp("registry")
    monkeypatch.setenv(config.REGISTRY_URL_ENV, f"sqlite:///{folder / 'abcore.sqlite'}")
    _clear_registry_cache()
    yield
    _clear_registry_cache()
