"""Session state of the Model launch page: uploads parsed once per content, per session.

Every upload goes through ``abcore.ingest.load`` into this session's own DuckDB connection
(``ui.state.get_connection``); the parsed :class:`abcore.ingest.Dataset` is remembered in
``st.session_state`` under a key made of the file name and a hash of its bytes, so a rerun does
not parse it again and two browser sessions never share a table. No statistics here, and
nothing shown: that is :mod:`ui.model_launch_view`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import streamlit as st

from abcore import InputError, ingest
from abcore.sql import drop_sql
from ui.state import get_connection, upload_refusal

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
DEMOS = {
    "interleaving": SAMPLE / "demo_launch_interleaving.csv",
    "interleaving_null": SAMPLE / "demo_launch_interleaving_null.csv",
    "canary": SAMPLE / "demo_launch_canary.csv",
    "canary_null": SAMPLE / "demo_launch_canary_null.csv",
    "shadow": SAMPLE / "demo_launch_shadow.csv",
    "drift_reference": SAMPLE / "demo_launch_drift_reference.parquet",
    "drift_current": SAMPLE / "demo_launch_drift_current.parquet",
    "drift_current_null": SAMPLE / "demo_launch_drift_current_null.parquet",
}
DATASETS_KEY = "launch_datasets"
MAX_DATASETS = 12
"""Tables kept per session (the demos and the last uploads); older ones are dropped."""


def _remember(key: str, load: Any) -> ingest.Dataset:
    cache: dict[str, ingest.Dataset] = st.session_state.setdefault(DATASETS_KEY, {})
    if key not in cache:
        cache[key] = load()
        while len(cache) > MAX_DATASETS:
            old = cache.pop(next(iter(cache)))
            get_connection().execute(drop_sql(old.table))
    return cache[key]


def demo_dataset(name: str) -> ingest.Dataset:
    """A bundled demo file, parsed once per session."""
    path = DEMOS[name]
    return _remember(f"demo:{name}", lambda: ingest.load(get_connection(), path))


def uploaded_dataset(upload: Any) -> ingest.Dataset:
    """An upload (Streamlit's ``UploadedFile``), parsed once per content.

    Raises:
        abcore.InputError: the file cannot be read as a table (the page shows the sentence).
    """
    refusal = upload_refusal(upload)
    if refusal:
        raise InputError(refusal)
    data = upload.getvalue()
    key = f"upload:{upload.name}:{hashlib.sha256(data).hexdigest()[:16]}"
    return _remember(key, lambda: ingest.load(get_connection(), data, name=upload.name))
