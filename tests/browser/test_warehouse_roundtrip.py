"""The round trip of "Run this in your warehouse", as a user makes it.

On the demo: open the section, pick the engine, type the table's name, copy the query shown,
run it where the data lives (here: DuckDB in the test process, on a table of that name made
from sample_data/demo_experiment.csv), save the result as CSV and upload it on the Results
page. The effects table read from the page must be the demo's, cell for cell.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from conftest import choose, effects_rows, wait_for_app
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
DEMO_CSV = ROOT / "sample_data" / "demo_experiment.csv"
UPLOAD = "[data-testid=stFileUploader] input[type=file]"
CODE = "[data-testid=stCode] code"
SECTION = "Run this in your warehouse"
TIMEOUT = 60_000


def open_results(page, app_url: str) -> None:
    # From the root and the navigation: a deep URL makes the frontend probe a 404 first.
    page.goto(app_url)
    wait_for_app(page, timeout=TIMEOUT)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Results").click()
    page.wait_for_selector("h1:has-text('Results')", timeout=TIMEOUT)
    wait_for_app(page, timeout=TIMEOUT)


def run_where_the_data_lives(sql: str, folder: Path) -> Path:
    """The warehouse: a DuckDB database with the demo rows under the typed name."""
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA analytics")
        con.execute(
            "CREATE TABLE analytics.demo_events AS SELECT * FROM read_csv($p)", {"p": str(DEMO_CSV)}
        )
        out = folder / "experiment_stats.csv"
        con.execute(sql).df().to_csv(out, index=False)
    finally:
        con.close()
    return out


def test_the_query_run_in_duckdb_and_uploaded_gives_the_demos_readout(page, app_url, tmp_path):
    open_results(page, app_url)
    expect(page.locator("h3:has-text('Results:')").first).to_contain_text("demo")
    demo = effects_rows(page)
    assert {"converted", "revenue", "page_load_ms", "clicks_per_session"} <= set(demo)

    page.get_by_text(SECTION, exact=True).click()
    code = page.locator(CODE)
    expect(code).to_contain_text('FROM "your_table"')
    choose(page, "results__warehouse_dialect", "BigQuery")
    expect(code).to_contain_text("FROM `your_table`")
    choose(page, "results__warehouse_dialect", "DuckDB")
    box = page.get_by_label("Table name", exact=True)
    box.fill("analytics.demo_events")
    box.press("Enter")
    expect(code).to_contain_text('FROM "analytics"."demo_events"')
    wait_for_app(page, timeout=TIMEOUT)
    sql = code.text_content()
    assert sql.startswith("WITH ")

    result = run_where_the_data_lives(sql, tmp_path)
    page.locator(UPLOAD).set_input_files(str(result))
    page.wait_for_selector("h3:has-text('Results: experiment_stats.csv')", timeout=TIMEOUT)
    wait_for_app(page, timeout=TIMEOUT)
    expect(page.get_by_text("Columns and roles came with this file").first).to_be_visible()
    assert page.get_by_text("Columns and roles", exact=True).count() == 0  # no editor
    uploaded = effects_rows(page)
    assert uploaded == demo
    for metric in ("converted", "revenue"):  # the headline numbers, named for the reader
        assert uploaded[metric]["p-value"] == demo[metric]["p-value"]
        assert uploaded[metric]["Relative effect"] == demo[metric]["Relative effect"]
    assert page.get_by_test_id("stException").count() == 0
    assert not page.locator("[data-testid=stAlertContentError]").count()
    assert not page.console_errors, page.console_errors
