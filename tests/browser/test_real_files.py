"""Every real file, as a new user meets the app (issue 18's "done when"): start a new
experiment, upload the file, bind its metrics, read the Validity & decision page: the
published result, and nothing of the demo.

Published results (../shared/data/real/README.md, never copied here):
- ab_data.csv, cleaned: control 17,489 / 145,274, treatment 17,264 / 145,310; no significant
  difference (two-sided p ~ 0.19);
- cookie_cats.csv: 7-day retention 19.02% (gate_30) vs 18.20% (gate_40), significant;
- Udacity free trial: gross conversion (enrollments / clicks) falls significantly;
- marketing_AB (2% sample): designed 96% ad / 4% psa, which is no sample-ratio mismatch.
"""

from __future__ import annotations

from pathlib import Path

from conftest import choose, effects_rows, real, wait_for_app
from playwright.sync_api import expect

UPLOAD = "[data-testid=stFileUploader] input[type=file]"
DEMO_LEFTOVERS = (
    "page_load_ms",
    "demo_experiment",
    "Demo: one-page checkout",
    "clicks_per_session",
)


def real_files(*names: str) -> list[Path]:
    return [real(n) for n in names]


def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    wait_for_app(page, timeout=90_000)


def new_experiment_from(page, app_url: str, name: str, files: list[Path]) -> None:
    """Start page → New experiment from your data → upload → the plan follows the file."""
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Upload results").click()
    page.wait_for_selector("h1:has-text('Results')", timeout=60_000)
    expect(page.get_by_text("No data yet", exact=False).first).to_be_visible()
    page.locator(UPLOAD).set_input_files([str(p) for p in files])
    expect(page.get_by_text("The plan follows the file", exact=False).first).to_be_visible(
        timeout=120_000
    )
    wait_for_app(page, timeout=120_000)
    effects_rows(page, timeout=120_000)  # the readout is drawn: the run that stores it ended


def verdict(page) -> str:
    heading = page.locator("[data-testid=stAlert] h3").first
    try:
        expect(heading).to_be_visible(timeout=90_000)
    except AssertionError:
        page.screenshot(path="/tmp/verdict_fail.png", full_page=True)
        raise
    return heading.inner_text().strip()


def assert_no_demo(page) -> None:
    text = main_text(page) + page.get_by_test_id("stSidebar").inner_text()
    for leftover in DEMO_LEFTOVERS:
        assert leftover not in text, leftover
    assert "the bundled demo" not in page.get_by_test_id("stSidebar").inner_text()


def tick(page, label: str) -> None:
    """Tick a data-preparation step by its label (the label takes the click)."""
    page.get_by_text(label, exact=False).first.click()
    wait_for_app(page, timeout=120_000)


def test_ab_data_cleaned_reads_no_significant_change(page, app_url):
    files = real_files("ab_data.csv")
    new_experiment_from(page, app_url, "New landing page", files)
    page.get_by_text("Data preparation", exact=True).click()
    tick(page, "Drop rows where landing_page disagrees with the arm")
    expect(page.get_by_text("rows removed", exact=False).first).to_be_visible(timeout=120_000)
    tick(page, "Keep the first row of each unit")
    text = main_text(page)
    assert "145,274" in text  # the published cleaned counts
    assert "145,310" in text
    go(page, "Validity & decision")
    assert verdict(page) in ("Keep running", "Don't ship")
    assert "converted shows no significant improvement" in main_text(page)
    assert_no_demo(page)
    assert "New landing page" in page.get_by_test_id("stSidebar").inner_text()


def test_cookie_cats_on_seven_day_retention_is_refused(page, app_url):
    files = real_files("cookie_cats.csv")
    new_experiment_from(page, app_url, "Gate at level 40", files)
    assert choose(page, "results__bind__success", "retention_7") == "retention_7"
    go(page, "Validity & decision")
    assert verdict(page) == "Don't ship"
    assert "retention_7 got significantly worse" in main_text(page)
    assert_no_demo(page)


def test_udacity_gross_conversion_falls(page, app_url):
    files = real_files(
        "udacity_free_trial/control_data.csv", "udacity_free_trial/experiment_data.csv"
    )
    new_experiment_from(page, app_url, "Free trial screener", files)
    go(page, "Validity & decision")
    assert verdict(page) == "Don't ship"
    assert "Enrollments/Clicks got significantly worse" in main_text(page)
    assert_no_demo(page)


def test_marketing_designed_96_4_is_no_sample_ratio_mismatch(page, app_url):
    files = real_files("marketing_AB_sample_ferilab.csv")
    new_experiment_from(page, app_url, "Ads vs PSA", files)
    assert "read as a 4/96 design" in main_text(page)
    go(page, "Validity & decision")
    verdict(page)
    text = main_text(page)
    assert "rerun the test" not in text
    assert "sample ratio mismatch" not in text.lower()
    assert_no_demo(page)


def test_a_file_that_cannot_be_analysed_shows_no_verdict(page, app_url, tmp_path):
    """One arm only: a sentence on Results, and on Decision no verdict (not the demo's Ship)."""
    path = tmp_path / "one_arm.csv"
    rows = "\n".join(f"{i},only_arm,{i % 2}" for i in range(300))
    path.write_text("user_id,bucket,converted\n" + rows + "\n", encoding="utf-8")
    page.goto(app_url)
    wait_for_app(page)
    go(page, "Results")
    page.locator(UPLOAD).set_input_files(str(path))
    expect(page.get_by_test_id("stAlert").first).to_be_visible(timeout=90_000)
    wait_for_app(page, timeout=90_000)
    go(page, "Validity & decision")
    expect(page.get_by_text("has no results yet", exact=False).first).to_be_visible()
    assert page.locator("[data-testid=stAlert] h3").count() == 0  # no verdict banner
    assert_no_demo(page)
