"""Per-session limits that add up to the host, and sessions that leave nothing behind.

Issue 22: every session used to get DuckDB's 2 GB and 2 threads whatever the host and the
number of users, and nothing said how big an upload might be. :func:`session_limits` splits
a memory budget and the cores between a configured number of sessions; the server's
settings (``.streamlit/config.toml``) hold the same upload ceiling; a session's database and
its spill folder go when the session goes.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from abcore import config, ingest
from abcore.errors import InputError
from abcore.hosting import (
    MB,
    UPLOAD_MB,
    SessionDatabase,
    SessionLimits,
    check_upload,
    parse_size,
    session_limits,
)

ROOT = Path(__file__).resolve().parents[1]
STREAMLIT = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


# ---- the split ---------------------------------------------------------------------------


@pytest.mark.parametrize("budget_gb", [1.5, 3, 6, 18, 48, 192])
@pytest.mark.parametrize("sessions", [1, 2, 4, 10, 25])
@pytest.mark.parametrize("cores", [1, 2, 8, 64])
def test_sessions_add_up_to_the_budget(budget_gb, sessions, cores):
    budget = int(budget_gb * 2**30)
    if (budget - config.SERVER_BASE_MEMORY) / sessions < config.SESSION_MIN_MEMORY:
        # too little for so many: a sentence naming what to change
        with pytest.raises(ValueError, match="Lower ABCORE_MAX_SESSIONS or raise ABCORE_MEM"):
            session_limits(budget, cores, sessions=sessions)
        return
    lim = session_limits(budget, cores, sessions=sessions)
    # Each session holds its DuckDB database and its upload twice (Streamlit's copy, the
    # parse's copy); with the server's own memory, all of them fit the budget.
    used = config.SERVER_BASE_MEMORY + sessions * (lim.memory_bytes + 2 * lim.upload_mb * MB)
    assert used <= budget
    assert used > budget - sessions * 2 * MB  # and the budget is used, not left idle
    assert lim.memory_bytes >= config.SESSION_MIN_MEMORY // 2
    assert lim.memory_bytes >= 2 * lim.upload_mb * MB - 2 * MB  # DuckDB gets at least half
    assert 1 <= lim.upload_mb <= config.UPLOAD_MAX_MB
    assert lim.threads == max(1, cores // sessions)
    assert lim.threads * sessions <= max(cores, sessions)


def test_the_duckdb_setting_is_the_computed_limit():
    lim = session_limits(6 * 2**30, 4, sessions=3)
    db = SessionDatabase(lim)
    try:
        (limit, threads) = (
            db.cursor()
            .execute("SELECT current_setting('memory_limit'), current_setting('threads')")
            .fetchall()[0]
        )
    finally:
        db.close()
    assert threads == lim.threads == 1
    # DuckDB prints its limit back rounded to 0.1 GiB ('1.4 GiB')
    assert abs(parse_size(limit.replace(" ", "")) - lim.memory_bytes) <= 0.05 * 2**30


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ABCORE_MAX_SESSIONS": "2", "ABCORE_MEMORY_BUDGET": "8GB", "ABCORE_THREADS": "8"}, 2),
        ({"ABCORE_MAX_SESSIONS": "8", "ABCORE_MEMORY_BUDGET": "8GB", "ABCORE_THREADS": "8"}, 8),
    ],
)
def test_the_settings_come_from_the_environment(env, expected):
    code = (
        "import json; from abcore.hosting import current_limits as c; l = c(); "
        "print(json.dumps([l.sessions, l.memory_bytes, l.threads, l.upload_mb]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    sessions, memory, threads, upload = json.loads(out.stdout)
    want = session_limits(8 * 2**30, 8, sessions=expected)
    assert (sessions, memory, threads, upload) == (
        expected,
        want.memory_bytes,
        want.threads,
        want.upload_mb,
    )


def test_a_bad_setting_is_a_sentence_naming_it():
    code = "from abcore.hosting import current_limits; current_limits()"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "ABCORE_MEMORY_BUDGET": "plenty"},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "ValueError: ABCORE_MEMORY_BUDGET must be a size such as '16GB'" in out.stderr


def test_uploads_over_the_session_limit_are_refused_with_a_sentence():
    lim = SessionLimits(4, 8 * 2**30, 2**30, 1, 50)
    # The browser's megabyte is 10**6 bytes: it refuses 50,000,001 bytes at a limit of 50.
    check_upload("ok.csv", 50 * UPLOAD_MB, lim)  # the limit itself is allowed
    with pytest.raises(InputError, match=r"big\.csv is 50\.1 MB: .* up to 50 MB per session"):
        check_upload("big.csv", 50 * UPLOAD_MB + 70_000, lim)


# ---- the server's settings -----------------------------------------------------------------


def test_server_settings_match_the_limits():
    server, client = STREAMLIT["server"], STREAMLIT["client"]
    # The browser refuses what the server would refuse: one number in two places.
    assert server["maxUploadSize"] == config.UPLOAD_MAX_MB
    assert server["maxMessageSize"] < server["maxUploadSize"]  # pages, not uploads
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server.get("enableAgentApi", False) is False
    # "none" shows a generic message, never the exception's text or traceback (1.67).
    assert client["showErrorDetails"] == "none"


# ---- sessions that end ---------------------------------------------------------------------


def _experiment_csv(path: Path, rows: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    pd.DataFrame(
        {
            "user_id": np.arange(rows),
            "variant": rng.choice(["control", "treatment"], rows),
            "converted": rng.integers(0, 2, rows),
            "revenue": rng.exponential(5.0, rows).round(2),
            "note": [f"row {i} of the upload" for i in range(rows)],
        }
    ).to_csv(path, index=False)
    return path


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_ten_sessions_upload_and_leave_nothing_behind(tmp_path):
    root = tmp_path / "spill"
    data = _experiment_csv(tmp_path / "upload.csv", 300_000, seed=7).read_bytes()
    # a limit small enough that the last session's upload spills to its folder
    small = SessionLimits(10, 2**32, 96 * MB, 1, 100)
    tiny = SessionLimits(10, 2**32, 32 * MB, 1, 100)

    def session(limits: SessionLimits) -> tuple[SessionDatabase, int]:
        db = SessionDatabase(limits, root=str(root))
        con = db.cursor()
        ds = ingest.load(con, data, name="upload.csv")
        assert ds.n_rows == 300_000
        used = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
        return db, int(used)

    warm, _ = session(small)  # imports and allocator pools, before the baseline
    warm.close()
    gc.collect()
    start = _rss_mb()
    sessions = [session(small) for _ in range(9)]
    spilling, _ = session(tiny)
    sessions.append((spilling, 0))
    con = spilling.cursor()  # a sort of the upload in 32 MB: DuckDB spills to the folder
    (table,) = [t for (t,) in con.execute("SHOW TABLES").fetchall()]
    con.execute(f"CREATE TABLE sorted AS SELECT * FROM {table} ORDER BY note DESC")
    spilled = con.execute("SELECT sum(temporary_storage_bytes) FROM duckdb_memory()").fetchone()
    assert spilled[0] > 0
    del con
    peak = _rss_mb()
    assert len(list(root.iterdir())) == 10  # one folder per session
    assert sum(used for _, used in sessions) > 9 * 5 * MB  # DuckDB's own count: tables held
    assert list((spilling.folder / "spill").glob("duckdb_temp_*")), "spill files, in its folder"

    # The sessions end: Streamlit drops their state, and with it the last reference.
    del sessions, spilling
    gc.collect()
    assert list(root.iterdir()) == []  # no database folder, no spill file left
    end = _rss_mb()
    print(f"\nRSS: start {start:.0f} MB, ten sessions {peak:.0f} MB, after they left {end:.0f} MB")
    assert peak - start > 100  # the sessions did hold memory...
    assert end - start < 0.35 * (peak - start)  # ...and gave (nearly) all of it back


def test_a_streamlit_session_releases_its_database(tmp_path):
    """The app keeps the database in st.session_state only: when a session's state goes
    (Streamlit drops a session after ``server.disconnectedSessionTTL``), so does the database
    with its folder; nothing else (a module global, a cache) keeps it alive."""
    path = _experiment_csv(tmp_path / "u.csv", 2_000, seed=3)

    def script(path: str) -> None:
        import streamlit as st

        from abcore import ingest
        from ui.state import CONNECTION_KEY, get_connection

        ds = ingest.load(get_connection(), path)
        st.write(str(st.session_state[CONNECTION_KEY].folder), ds.n_rows)

    at = AppTest.from_function(script, args=(str(path),), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    folder = Path(at.markdown[0].value.split()[0])
    assert folder.is_dir()
    assert folder.name.startswith("abcore-session-")
    del at
    gc.collect()
    assert not folder.exists()


def test_the_app_refuses_files_whose_total_is_over_the_session_limit(monkeypatch):
    """The browser checks each file; the app checks what it is asked to read together."""
    from types import SimpleNamespace

    import abcore.hosting
    from ui.state import upload_limit_mb, upload_refusal

    small = SessionLimits(8, 4 * 2**30, 300 * MB, 1, 100)
    monkeypatch.setattr(abcore.hosting, "current_limits", lambda: small)
    assert upload_limit_mb() == 100  # the session's share, below server.maxUploadSize
    a = SimpleNamespace(name="a.csv", size=60 * UPLOAD_MB)
    b = SimpleNamespace(name="b.csv", size=60 * UPLOAD_MB)
    assert upload_refusal(a) is None
    assert upload_refusal(None) is None
    assert upload_refusal([a, b]).startswith(
        "The 2 files (a.csv + b.csv) are 120.0 MB together: this server takes uploads of up "
        "to 100 MB per session."
    )
