"""The Results page's "Run this in your warehouse": the query of the current roles, and its
result uploaded back, read as the rows themselves would be.

AppTest cannot upload files: the result is put in the session as the uploader's path leaves
it (``results_state._load`` on the file), and the browser test
tests/browser/test_warehouse_roundtrip.py goes through the real uploader. Expected numbers
come from the page's own readout of the demo file, which tests/test_page_results.py checks
against scipy and statsmodels.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from abcore import InputError, config, ingest, warehouse
from abcore.model import Mapping, MetricMapping
from ui import results_state as rs
from ui import warehouse_view as wv

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "results.py")
DECISION = str(ROOT / "app_pages" / "decision.py")
DEMO = ROOT / "sample_data" / "demo_experiment.parquet"
BAD = ROOT / "tests" / "data" / "bad" / "warehouse"
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \|[^|]*\|[^|]*\| InputError: `(?P<pattern>.+)` \|$")


def run_page(state: dict | None = None, page: str = PAGE) -> AppTest:
    at = AppTest.from_file(page, default_timeout=60)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def widget(elements, key: str):
    return next(e for e in elements if e.key == key)


def sql_blocks(at: AppTest) -> list[str]:
    return [c.value for c in at.code if c.language == "sql"]


def the_query(at: AppTest) -> str:
    blocks = sql_blocks(at)
    assert len(blocks) == 1, blocks
    return blocks[0]


def effects_table(at: AppTest) -> pd.DataFrame:
    for frame in at.dataframe:
        value = frame.value.data if hasattr(frame.value, "data") else frame.value
        if {"Metric", "Result"} <= set(value.columns):
            return value
    raise AssertionError("no effects table on the page")


# --- the section on the demo -----------------------------------------------------------------


def test_the_section_shows_the_query_of_the_demos_roles():
    at = run_page()
    assert "Run this in your warehouse" in [e.label for e in at.expander]
    sql = the_query(at)
    mapping = at.session_state["analysis"].aggregates.mapping
    # the page's current roles, in DuckDB, over the placeholder until a name is typed
    assert sql == warehouse.stats_query(mapping, wv.TABLE_PLACEHOLDER, dialect="duckdb")
    assert f'FROM "{wv.TABLE_PLACEHOLDER}"' in sql
    for column in ("variant", "user_id", "first_exposure", "platform", "pre_revenue", "clicks"):
        assert f'"{column}"' in sql
    captions = "\n".join(c.value for c in at.caption)
    assert "reads these columns, named as in demo_experiment.parquet" in captions
    assert "variant, user_id, first_exposure, platform, device, converted" in captions
    assert "Until you type the table's name" in captions
    text = "\n".join(m.value for m in at.markdown)
    assert "Save the result as CSV or Parquet and upload that file above" in text
    assert "same readout as from the rows" in text
    assert "only a few hundred rows of totals" in text
    assert len(at.get("download_button")) >= 2  # the query's and the effects'
    assert not at.warning


@pytest.mark.parametrize(
    ("dialect", "quoted"),
    [
        ("duckdb", '"shop"."my.data"."events"'),
        ("spark", "`shop`.`my.data`.`events`"),
        ("bigquery", "`shop`.`my.data`.`events`"),
        ("snowflake", '"shop"."my.data"."events"'),
        ("trino", '"shop"."my.data"."events"'),
        ("postgres", '"shop"."my.data"."events"'),
    ],
)
def test_dialect_and_table_name_shape_the_text(dialect, quoted):
    at = run_page()
    duckdb_sql = the_query(at)
    widget(at.text_input, "results__warehouse_table").set_value(' shop."my.data".events ').run()
    widget(at.selectbox, "results__warehouse_dialect").set_value(dialect).run()
    assert not at.exception, at.exception
    sql = the_query(at)
    assert f"FROM {quoted}" in sql
    assert wv.TABLE_PLACEHOLDER not in sql
    backticks = dialect in ("spark", "bigquery")
    assert ("CAST(`variant` AS" in sql) is backticks
    assert ('CAST("variant" AS' in sql) is not backticks
    if dialect == "bigquery":
        assert "FLOAT64" in sql
    if dialect != "duckdb":
        assert sql != duckdb_sql.replace(f'"{wv.TABLE_PLACEHOLDER}"', quoted)
    captions = "\n".join(c.value for c in at.caption)
    assert "Until you type the table's name" not in captions


def test_the_query_follows_the_roles_the_user_edits():
    at = run_page()
    assert "__ab_seg1" in the_query(at)  # platform and device
    segments = next(m for m in at.multiselect if m.label.startswith("Segments"))
    segments.set_value(["platform"]).run()
    assert not at.exception
    sql = the_query(at)
    assert '"platform"' in sql
    assert '"device"' not in sql
    assert sql == warehouse.stats_query(
        at.session_state["analysis"].aggregates.mapping, wv.TABLE_PLACEHOLDER
    )


def test_a_bad_table_name_is_a_sentence_and_capping_is_in_the_query():
    at = run_page()
    widget(at.text_input, "results__warehouse_table").set_value('shop."events').run()
    assert not at.exception
    assert sql_blocks(at) == []
    assert any("never closes" in w.value for w in at.warning), at.warning
    widget(at.text_input, "results__warehouse_table").set_value("shop.events").run()
    assert 'FROM "shop"."events"' in the_query(at)

    # the one-click cap: the query caps as the readout does (it refused to, before)
    widget(at.selectbox, "results__cap").set_value(0.99).run()
    assert not at.exception
    mapping = at.session_state["analysis"].aggregates.mapping
    assert mapping.metric("revenue").capping is not None
    assert the_query(at) == warehouse.stats_query(mapping, ("shop", "events"))
    assert "QUANTILE_CONT" in the_query(at)
    assert "revenue" in set(effects_table(at)["Metric"])  # the readout itself stays


# --- its result, uploaded --------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_readout() -> tuple[pd.DataFrame, object, str]:
    """The demo's effects table and analysis as the page shows them, and its query."""
    at = run_page()
    widget(at.text_input, "results__warehouse_table").set_value("events").run()
    return effects_table(at), at.session_state["analysis"], the_query(at)


def warehouse_result(sql: str, folder: Path) -> Path:
    """The query run where the data lives (a DuckDB table of the demo), saved as CSV."""
    con = duckdb.connect()
    con.execute("CREATE TABLE events AS SELECT * FROM read_parquet($p)", {"p": str(DEMO)})
    path = folder / "experiment_stats.csv"
    con.execute(sql).df().to_csv(path, index=False)
    con.close()
    return path


def uploaded(path: Path, monkeypatch) -> tuple[dict, rs.Loaded]:
    """The session state the uploader leaves after ``path``: the page's own loader."""
    con = ingest.connect()
    monkeypatch.setattr(rs, "get_connection", con.cursor)
    loaded = rs._load("upload-key", path.name, path, is_demo=False)
    state = {
        "duckdb_con": con,
        rs.DATASETS_KEY: {loaded.key: loaded},
        rs.CURRENT_KEY: loaded.key,
    }
    return state, loaded


def test_the_result_is_recognised_and_keeps_no_rows(demo_readout, tmp_path, monkeypatch):
    _, analysis, sql = demo_readout
    path = warehouse_result(sql, tmp_path)
    state, loaded = uploaded(path, monkeypatch)
    assert loaded.output is not None
    assert loaded.dataset is None  # nothing for the A/A to resample: it says so
    assert loaded.detected == analysis.aggregates.mapping
    assert loaded.output.rows == len(pd.read_csv(path)) < 200
    assert state["duckdb_con"].execute("SHOW TABLES").fetchall() == []


def test_the_uploaded_result_reads_as_the_rows_do(demo_readout, tmp_path, monkeypatch):
    table, analysis, sql = demo_readout
    state, _ = uploaded(warehouse_result(sql, tmp_path), monkeypatch)
    at = run_page(state)
    assert not at.error, [e.value for e in at.error]
    pd.testing.assert_frame_equal(effects_table(at), table)
    result = at.session_state["analysis"]
    assert at.session_state["analysis_source"] == "experiment_stats.csv"
    ours, theirs = result.effects, analysis.effects
    for col in ("rel_effect", "rel_ci_low", "rel_ci_high", "p_value", "p_value_adjusted"):
        np.testing.assert_allclose(ours[col], theirs[col], rtol=1e-9, atol=1e-12)
    assert result.srm.p_value == pytest.approx(analysis.srm.p_value, rel=1e-9)
    assert [(c.name, c.status) for c in result.checks] == [
        (c.name, c.status) for c in analysis.checks
    ]
    np.testing.assert_allclose(
        result.daily["rel_effect"], analysis.daily["rel_effect"], rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        result.segments["p_value_adjusted"], analysis.segments["p_value_adjusted"], rtol=1e-9
    )
    assert result.recommendation.verdict == analysis.recommendation.verdict
    # the roles came in the file: one line, no editor; capping does not apply
    assert "Columns and roles" not in [e.label for e in at.expander]
    assert any("Columns and roles came with this file" in c.value for c in at.caption)
    assert not any(s.label.startswith("Variant column") for s in at.selectbox)
    assert widget(at.selectbox, "results__cap").disabled
    assert any("The warehouse query's result: " in c.value for c in at.caption)
    # its own query comes back from the roles it carries
    assert the_query(at) == warehouse.stats_query(analysis.aggregates.mapping, "your_table")

    # the decision page reads the same analysis, and its A/A says it needs the rows
    published = {key: at.session_state[key] for key in ("analysis", "aggregates")}
    decision = run_page(published | state, page=DECISION)
    assert decision.session_state["analysis"] is result
    info = "\n".join(i.value for i in decision.info)
    assert "needs the uploaded rows" in info


def bad_files() -> dict[str, str]:
    text = (BAD / "README.md").read_text(encoding="utf-8")
    rows = (ROW.match(line.strip()) for line in text.splitlines())
    return {m["file"]: m["pattern"] for m in rows if m}


def test_the_bad_results_readme_lists_every_file():
    assert set(bad_files()) == {p.name for p in BAD.glob("*.csv")}
    assert len(bad_files()) >= 4


@pytest.mark.parametrize("name", sorted(bad_files()))
def test_a_spoiled_result_is_a_sentence(name, monkeypatch):
    con = ingest.connect()
    monkeypatch.setattr(rs, "get_connection", con.cursor)
    with pytest.raises(InputError, match=bad_files()[name]):
        rs._load(name, name, BAD / name, is_demo=False)
    assert con.execute("SHOW TABLES").fetchall() == []  # nothing left behind


def test_a_result_too_long_to_be_the_querys_is_refused(monkeypatch):
    con = ingest.connect()
    monkeypatch.setattr(config, "AGGREGATED_MAX_ROWS", 5)
    dataset = ingest.load(con, BAD / "warehouse_missing_column.csv")
    with pytest.raises(InputError, match=r"has 10 rows; .*at most 5 here"):
        rs.read_warehouse_output(con, dataset)


# --- converters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("events", ("events",)),
        ("  project.dataset.events ", ("project", "dataset", "events")),
        ("shop . events", ("shop", "events")),
        ('shop."events.v2"', ("shop", "events.v2")),
        ("`my-proj`.web.`hits.2026`", ("my-proj", "web", "hits.2026")),
        ('"say ""hi"""', ('say "hi"',)),
        ("", (wv.TABLE_PLACEHOLDER,)),
    ],
)
def test_table_parts(text, parts):
    assert wv.table_parts(text) == parts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a..b", "has an empty part"),
        ("a.b.", "ends with a dot"),
        (".a", "has an empty part"),
        ('shop."events', 'opens a " it never closes'),
        ("shop.`events", "opens a ` it never closes"),
        ('"a"b', "text right after a closing"),
        ('sh"op.events', "quote inside a part"),
        ("a.b.c.d", "has 4 parts; at most 3"),
    ],
)
def test_table_parts_refuses_with_a_sentence(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        wv.table_parts(text)


UNIT = Mapping(
    variant="arm", unit="uid", metrics=(MetricMapping("converted", "binary"),), control="a"
)


def test_warehouse_query_or_why_not():
    query = wv.warehouse_query(UNIT, "shop.events", "bigquery")
    assert query.problem is None
    assert "FROM `shop`.`events`" in query.sql
    assert wv.warehouse_query(None, "t", "duckdb").problem.startswith(
        "The query follows the columns and roles"
    )
    aggregated = Mapping(
        shape="aggregated",
        variant="arm",
        n_column="n",
        metrics=(MetricMapping("c", "binary", sum_column="c_sum"),),
    )
    problem = wv.warehouse_query(aggregated, "t", "duckdb").problem
    assert "already holds totals per arm" in problem
    revenue = dataclasses.replace(UNIT, metrics=(MetricMapping("revenue", "continuous"),))
    capped = wv.warehouse_query(revenue, "t", "postgres", cap=0.99).sql
    assert "PERCENTILE_CONT(0.99) WITHIN GROUP" in capped
    refused = wv.warehouse_query(revenue, "t", "trino", cap=0.99).problem
    assert refused.startswith("Trino / Presto / Athena has approximate percentiles only")
    bad = wv.warehouse_query(UNIT, "a..b", "duckdb")
    assert bad.sql is None
    assert "empty part" in bad.problem
    no_metric = Mapping(variant="arm", unit="uid")
    problem = wv.warehouse_query(no_metric, "t", "duckdb").problem
    assert problem.startswith("Mapping.metrics must hold at least one metric")
    assert wv.query_file_name("snowflake") == "experiment_stats_snowflake.sql"
