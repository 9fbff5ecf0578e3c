"""abcore.funnel_sql: the DuckDB ordered funnel equals a plain pandas computation."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abcore.errors import InputError
from abcore.funnel_sql import (
    event_summary,
    load_event_log,
    ordered_funnel,
    ordered_funnel_sql,
    propose_columns,
    propose_stages,
)
from sample_data.generate import FUNNEL_STAGES, make_event_log

START = pd.Timestamp("2026-03-02")


BAD = Path(__file__).parent / "data" / "bad"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def reference_funnel(
    log: pd.DataFrame, stages: Sequence[str], window_days: float, *, unit: str = "user_id"
) -> list[int]:
    """Plain pandas, one unit at a time: enter at the first event of stage 1, then take the
    earliest event of each next stage not before the previous one and within the window."""
    window = np.timedelta64(pd.Timedelta(days=window_days))
    events = log[log["event"].isin(stages)]
    counts = [0] * len(stages)
    for _, rows in events.groupby(unit, sort=False):
        event, when = rows["event"].to_numpy(), rows["timestamp"].to_numpy()
        entry = when[event == stages[0]]
        if entry.size == 0:
            continue
        start = previous = entry.min()
        counts[0] += 1
        for k, stage in enumerate(stages[1:], start=1):
            ok = (event == stage) & (when >= previous) & (when <= start + window)
            if not ok.any():
                break
            previous = when[ok].min()
            counts[k] += 1
    return counts


def brute_force_funnel(log: pd.DataFrame, stages: Sequence[str], window_days: float) -> list[int]:
    """By definition, for tiny logs: a unit reaches stage k if some choice of one event per
    stage 1..k, starting at its first entry event, is in time order within the window."""
    window = pd.Timedelta(days=window_days)
    counts = [0] * len(stages)
    for _, rows in log.groupby("user_id"):
        times = [sorted(rows.loc[rows["event"] == s, "timestamp"]) for s in stages]
        if not times[0]:
            continue
        start = times[0][0]
        for k in range(len(stages)):
            paths = itertools.product(*times[1 : k + 1])
            if any(
                all(a <= b for a, b in itertools.pairwise((start, *path)))
                and all(t <= start + window for t in path)
                for path in paths
            ):
                counts[k] += 1
    return counts


def run(con, log: pd.DataFrame, stages: Sequence[str], window_days: float = 7.0):
    loaded = load_event_log(con, log, name="log")
    return ordered_funnel(
        con,
        loaded,
        unit="user_id",
        event="event",
        timestamp="timestamp",
        stages=stages,
        window_days=window_days,
    )


# ---- equality with pandas ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seed", "stages", "window"),
    [
        (1, FUNNEL_STAGES, 7.0),
        (2, FUNNEL_STAGES, 7.0),
        (3, FUNNEL_STAGES, 1.0),
        (3, FUNNEL_STAGES, 60.0),
        (3, ("visit", "add_to_cart", "purchase"), 7.0),
        (3, ("visit", "checkout", "add_to_cart"), 7.0),
        (3, ("product_view", "add_to_cart", "checkout"), 3.0),
    ],
)
def test_duckdb_funnel_equals_pandas_on_generated_logs(con, seed, stages, window):
    log = make_event_log(3_000, seed=seed, late=0.2, out_of_order=0.2, duplicates=0.05)
    result = run(con, log, stages, window)
    expected = reference_funnel(log, stages, window)
    assert list(result.funnel.users) == expected
    any_order = [
        log.loc[(log["event"] == s) & log["user_id"].isin(entrants), "user_id"].nunique()
        for s, entrants in zip(
            stages, itertools.repeat(set(log.loc[log["event"] == stages[0], "user_id"]))
        )
    ]
    assert list(result.any_order) == any_order


def test_generated_log_has_units_out_of_order_and_outside_the_window(con):
    """The comparison above is only worth something if the dirt is there and changes counts."""
    log = make_event_log(3_000, seed=1, late=0.2, out_of_order=0.2)
    in_window = run(con, log, FUNNEL_STAGES, 7.0).funnel.users
    no_window = run(con, log, FUNNEL_STAGES, 10_000.0)
    assert no_window.funnel.users[-1] > in_window[-1]  # late units
    assert no_window.any_order[-1] > no_window.funnel.users[-1]  # out-of-order units
    clean = make_event_log(3_000, seed=1, late=0.0, out_of_order=0.0)
    result = run(con, clean, FUNNEL_STAGES, 7.0)
    assert result.funnel.users == result.any_order


events_st = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", "u3", "u4"]),
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 12),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events_st, st.permutations(["a", "b", "c", "d"]), st.integers(2, 4), st.sampled_from([1, 3, 20])
)
def test_duckdb_funnel_equals_brute_force_on_tiny_logs(events, order, k, window_hours):
    log = pd.DataFrame(events, columns=["user_id", "event", "hour"])
    log["timestamp"] = START + pd.to_timedelta(log.pop("hour"), unit="h")
    stages = order[:k]
    window = window_hours / 24
    expected = brute_force_funnel(log, stages, window)
    assert expected == reference_funnel(log, stages, window)
    if expected[0] == 0:
        return
    with duckdb.connect() as con:
        assert list(run(con, log, stages, window).funnel.users) == expected


# ---- file formats and types ----------------------------------------------------------------
def test_csv_parquet_and_epoch_uploads_give_the_same_funnel(con):
    log = make_event_log(1_000, seed=3)
    expected = reference_funnel(log, FUNNEL_STAGES, 7.0)
    buffer = io.BytesIO()
    log.to_parquet(buffer)
    epoch = log.assign(timestamp=(log["timestamp"] - pd.Timestamp(0)).dt.total_seconds())
    for data, name in (
        (log.to_csv(index=False).encode(), "log.csv"),
        (log.to_csv(index=False, sep="\t").encode(), "log.tsv"),
        (buffer.getvalue(), "log.parquet"),
        (epoch.to_csv(index=False).encode(), "epoch.csv"),
    ):
        loaded = load_event_log(con, data, name=name)
        assert loaded.rows == len(log)
        result = ordered_funnel(
            con, loaded, unit="user_id", event="event", timestamp="timestamp", stages=FUNNEL_STAGES
        )
        assert list(result.funnel.users) == expected, name


def test_identifiers_are_quoted_and_stage_names_are_parameters(con):
    log = pd.DataFrame(
        {
            'user "id"': ["a", "a", "b"],
            "what; DROP TABLE x": ["it's", "o'clock", "it's"],
            "when": pd.to_datetime(["2026-01-01 10:00", "2026-01-01 11:00", "2026-01-01 12:00"]),
        }
    )
    loaded = load_event_log(con, log)
    result = ordered_funnel(
        con,
        loaded,
        unit='user "id"',
        event="what; DROP TABLE x",
        timestamp="when",
        stages=["it's", "o'clock"],
    )
    assert result.funnel.users == (2, 1)
    sql, params = ordered_funnel_sql(
        "t", unit="u", event="e", timestamp="t", stages=["it's", "x"], window_days=1
    )
    assert "it's" not in sql
    assert params == ["it's", "x", 86_400.0]


def test_each_connection_keeps_its_own_log():
    a, b = duckdb.connect(), duckdb.connect()
    run(a, make_event_log(200, seed=1), FUNNEL_STAGES)
    small = run(b, make_event_log(50, seed=2), FUNNEL_STAGES)
    again = ordered_funnel(
        a,
        load_event_log(a, make_event_log(200, seed=1)),
        unit="user_id",
        event="event",
        timestamp="timestamp",
        stages=FUNNEL_STAGES,
    )
    assert again.funnel.users[0] == 200
    assert small.funnel.users[0] == 50


# ---- bad logs --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"user_id,event,timestamp\n", "no data rows"),
        (b"user_id,event\nu1,visit\n", "needs three"),
    ],
)
def test_unreadable_logs_get_a_sentence(con, data, match):
    with pytest.raises(InputError, match=match):
        load_event_log(con, data, name="log.csv")


@pytest.mark.parametrize(
    ("name", "match"),
    [("excel_as_csv.csv", "Excel workbook"), ("binary_garbage.csv", "binary file")],
)
def test_files_that_are_not_tables_are_named_as_such(con, name, match):
    # The log is read as an experiment upload is (abcore.ingest.load): same sentences.
    with pytest.raises(InputError, match=match):
        load_event_log(con, (BAD / name).read_bytes(), name=name)


def test_latin1_and_semicolon_logs_read_like_utf8(con):
    log = make_event_log(300, seed=6).assign(event=lambda d: d["event"].str.replace("a", "à"))
    stages = [s.replace("a", "à") for s in FUNNEL_STAGES]
    expected = reference_funnel(log, stages, 7.0)
    for data in (
        log.to_csv(index=False, sep=";").encode("latin-1"),
        log.to_csv(index=False).encode("utf-8-sig"),
    ):
        loaded = load_event_log(con, data, name="log.csv")
        result = ordered_funnel(
            con, loaded, unit="user_id", event="event", timestamp="timestamp", stages=stages
        )
        assert list(result.funnel.users) == expected


def test_a_new_log_replaces_the_sessions_previous_one(con):
    load_event_log(con, make_event_log(100, seed=1))
    loaded = load_event_log(con, make_event_log(50, seed=2))
    tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    assert tables == [loaded.table]


def test_bad_mappings_and_stages_get_a_sentence(con):
    log = make_event_log(300, seed=4)
    loaded = load_event_log(con, log)
    cols = {"unit": "user_id", "event": "event", "timestamp": "timestamp"}
    with pytest.raises(InputError, match="no column 'uid' for the unit id"):
        ordered_funnel(con, loaded, **{**cols, "unit": "uid"}, stages=FUNNEL_STAGES)
    with pytest.raises(InputError, match="three different columns"):
        ordered_funnel(con, loaded, **{**cols, "timestamp": "event"}, stages=FUNNEL_STAGES)
    with pytest.raises(InputError, match="at least two stages"):
        ordered_funnel(con, loaded, **cols, stages=["visit"])
    with pytest.raises(InputError, match="only once"):
        ordered_funnel(con, loaded, **cols, stages=["visit", "purchase", "visit"])
    with pytest.raises(InputError, match="No unit has the event 'signup'"):
        ordered_funnel(con, loaded, **cols, stages=["signup", "purchase"])
    with pytest.raises(ValueError, match="window_days must be > 0"):
        ordered_funnel(con, loaded, **cols, stages=FUNNEL_STAGES, window_days=0)


def test_text_timestamps_that_do_not_parse(con):
    log = make_event_log(200, seed=5)
    junk = log.assign(timestamp="yesterday")
    with pytest.raises(InputError, match="reads as a date and time"):
        run(con, junk, FUNNEL_STAGES)
    partly = log.astype({"timestamp": str})
    partly.loc[partly.index[:10], "timestamp"] = "n/a"
    result = run(con, partly, FUNNEL_STAGES)
    assert result.bad_timestamps == 10
    assert any("10 events" in w for w in result.warnings)


def test_stages_in_the_wrong_order_are_flagged(con):
    log = make_event_log(2_000, seed=6)
    result = run(con, log, list(reversed(FUNNEL_STAGES)))
    assert any("right order" in w for w in result.warnings)
    assert result.reversed_share[0] > 0.9
    fine = run(con, log, FUNNEL_STAGES)
    assert fine.warnings == ()
    assert np.nanmax(fine.reversed_share) < 0.2


# ---- proposals ------------------------------------------------------------------------------
def test_column_and_stage_proposals(con):
    assert propose_columns({"uid": "VARCHAR", "action": "VARCHAR", "ts": "TIMESTAMP"}) == {
        "unit": "uid",
        "event": "action",
        "timestamp": "ts",
    }
    # the time column found by type when its name says nothing
    assert propose_columns({"a": "VARCHAR", "b": "VARCHAR", "c": "TIMESTAMP"})["timestamp"] == "c"
    log = make_event_log(2_000, seed=7)
    loaded = load_event_log(con, log.sample(frac=1, random_state=0))
    summary = event_summary(con, loaded, unit="user_id", event="event")
    assert propose_stages(summary) == list(FUNNEL_STAGES)
    assert summary.set_index("event")["units"]["visit"] == 2_000
