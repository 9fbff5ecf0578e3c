"""Data preparation end to end (issue 18, item 5): upload ab_data.csv, keep the users first
seen in the first week, and read the step with the rows it removed on Results and on the
Validity & decision page (the counts from pandas on the same file)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from conftest import real, wait_for_app
from playwright.sync_api import expect

AB_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "ab_data.csv"
UPLOAD = "[data-testid=stFileUploader] input[type=file]"


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.wait_for_selector(f"h1:has-text('{title}')")
    wait_for_app(page, timeout=90_000)


def expected_sentence() -> str:
    """pandas: the users whose first row falls on 2017-01-02 .. 2017-01-08, all their rows."""
    frame = pd.read_csv(AB_DATA)
    first = pd.to_datetime(frame["timestamp"]).groupby(frame["user_id"]).transform("min")
    day = first.dt.normalize()
    kept = frame[(day >= "2017-01-02") & (day <= "2017-01-08")]
    rows = len(frame) - len(kept)
    units = frame["user_id"].nunique() - kept["user_id"].nunique()
    return (
        "Kept the units ('user_id') first seen from 2017-01-02 to 2017-01-08 (by 'timestamp'), "
        f"with all their rows: {rows:,} rows removed ({units:,} units)."
    )


def test_a_date_window_on_ab_data_is_listed_on_results_and_decision(page, app_url):
    real("ab_data.csv")
    sentence = expected_sentence()
    page.goto(app_url)
    wait_for_app(page)
    go(page, "Results")
    page.locator(UPLOAD).set_input_files(str(AB_DATA))
    data_line = page.get_by_test_id("stMarkdown").filter(has_text="Data: ab_data.csv")
    expect(data_line.first).to_be_visible(timeout=90_000)
    wait_for_app(page, timeout=120_000)

    page.get_by_text("Data preparation", exact=True).click()
    window = page.get_by_text("first seen in a date window", exact=False)
    window.first.click()
    wait_for_app(page, timeout=120_000)
    expect(page.get_by_text("runs from 2017-01-02 to 2017-01-24").first).to_be_visible()
    # the whole span at first: nothing removed
    full = page.get_by_text("to 2017-01-24 (by 'timestamp'), with all their rows: 0 rows")
    expect(full.first).to_be_visible()
    day = page.get_by_role("spinbutton", name="day, To (included)")
    day.click()
    page.keyboard.type("08")
    page.keyboard.press("Enter")
    page.locator("h1:has-text('Results')").click()  # leaving the field commits the day
    wait_for_app(page, timeout=120_000)

    main = page.get_by_test_id("stMain")
    expect(main.get_by_text(sentence).first).to_be_visible(timeout=90_000)
    assert page.get_by_test_id("stException").count() == 0

    go(page, "Validity & decision")
    expect(page.get_by_text("Data preparation", exact=False).first).to_be_visible()
    expect(page.get_by_test_id("stMain").get_by_text(sentence).first).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    assert not page.console_errors, page.console_errors
