"""Two sessions' DuckDB connections never see each other's tables.

The app gives every browser session its own ``abcore.ingest.connect()`` connection (kept in
``st.session_state``); that separation is what keeps one user's upload away from another.
These tests pin it at the engine level: a table loaded in one connection is not listed, not
queryable and not droppable from the other, even under the very same table name.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from abcore import ingest
from sample_data.generate import make_experiment


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SHOW TABLES").fetchall()}


@pytest.fixture
def two_sessions() -> Iterator[tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection]]:
    a, b = ingest.connect(memory_limit="256MB"), ingest.connect(memory_limit="256MB")
    yield a, b
    a.close()
    b.close()


def test_uploads_stay_in_their_own_connection(two_sessions):
    a, b = two_sessions
    data_a = make_experiment(500, arms=("old_checkout", "new_checkout"), seed=11)
    data_b = make_experiment(700, arms=("blue", "green", "red"), seed=12)
    ds_a = ingest.load(a, data_a)
    assert tables(b) == set()  # b has loaded nothing: it sees nothing
    ds_b = ingest.load(b, data_b)

    assert ds_a.table in tables(a)
    assert ds_a.table not in tables(b)
    assert ds_b.table in tables(b)
    assert ds_b.table not in tables(a)
    assert {r[0] for r in b.execute("SELECT table_name FROM duckdb_tables()").fetchall()} == (
        tables(b)
    )
    # Knowing the other session's table name is not enough to read or drop it.
    for con, other in ((a, ds_b.table), (b, ds_a.table)):
        with pytest.raises(duckdb.CatalogException, match=other):
            con.execute(f'SELECT count(*) FROM "{other}"').fetchall()
        with pytest.raises(duckdb.CatalogException, match=other):
            con.execute(f'DROP TABLE "{other}"')

    # Each connection reads its own rows and arms only.
    for con, ds, frame in ((a, ds_a, data_a), (b, ds_b, data_b)):
        n, arms = con.execute(
            f'SELECT count(*), list(DISTINCT variant ORDER BY variant) FROM "{ds.table}"'
        ).fetchall()[0]
        assert n == len(frame)
        assert arms == sorted(frame["variant"].unique())


def test_the_same_table_name_holds_different_data_per_connection(two_sessions):
    a, b = two_sessions
    a.execute("CREATE TABLE upload AS SELECT 'a' AS who, range AS i FROM range(3)")
    with pytest.raises(duckdb.CatalogException):
        b.execute("SELECT * FROM upload").fetchall()
    b.execute("CREATE TABLE upload AS SELECT 'b' AS who, range AS i FROM range(5)")
    assert a.execute("SELECT DISTINCT who, count(*) OVER () FROM upload").fetchall() == [("a", 3)]
    assert b.execute("SELECT DISTINCT who, count(*) OVER () FROM upload").fetchall() == [("b", 5)]

    # Dropping in one connection leaves the other's table alone.
    a.execute("DROP TABLE upload")
    assert "upload" not in tables(a)
    assert b.execute("SELECT count(*) FROM upload").fetchall() == [(5,)]


def test_statistics_use_only_the_connections_own_data(two_sessions):
    a, b = two_sessions
    data_a = make_experiment(800, arms=("old_checkout", "new_checkout"), seed=21)
    data_b = make_experiment(900, arms=("blue", "green"), seed=22)
    ds_a, ds_b = ingest.load(a, data_a), ingest.load(b, data_b)
    agg_a = ingest.compute_stats(a, ds_a, ingest.detect_schema(a, ds_a))
    agg_b = ingest.compute_stats(b, ds_b, ingest.detect_schema(b, ds_b))
    assert set(agg_a.variants) == {"old_checkout", "new_checkout"}
    assert set(agg_b.variants) == {"blue", "green"}
    assert agg_a.counts() == data_a["variant"].value_counts().to_dict()
    assert agg_b.counts() == data_b["variant"].value_counts().to_dict()


def test_a_session_cursor_per_caller_runs_beside_a_busy_one():
    """Streamlit can start a session's next run while the last one is inside DuckDB; DuckDB
    2.0 refuses a second call on a busy connection. ``ui.state.get_connection`` hands each
    caller its own cursor on the session's database: both calls run, and see one table."""
    import threading

    import streamlit as st

    from ui.state import CONNECTION_KEY, get_connection

    st.session_state.pop(CONNECTION_KEY, None)
    first, second = get_connection(), get_connection()
    assert first is not second
    first.execute("CREATE TABLE big AS SELECT range AS x FROM range(3000000)")
    errors: list[BaseException] = []

    def slow() -> None:
        try:
            first.execute("SELECT sum(a.x * b.x) FROM big a, (SELECT * FROM big LIMIT 20) b")
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=slow)
    worker.start()
    assert second.execute("SELECT count(*) FROM big").fetchall() == [(3_000_000,)]
    worker.join()
    assert errors == []
    st.session_state.pop(CONNECTION_KEY, None)
