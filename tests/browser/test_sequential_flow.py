"""A peeking-safe plan end to end in the browser: choose group sequential on the Plan page,
upload the demo file on Results, see the sequence over time and the verdict, then the
decision page saying which method decided.

Every wait is on a condition (a selector or the app's running indicator), never a sleep.
"""

from __future__ import annotations

from pathlib import Path

DEMO_CSV = Path(__file__).resolve().parents[2] / "sample_data" / "demo_experiment.csv"
UPLOAD = "[data-testid=stFileUploader] input[type=file]"
CHART = "[data-testid=stVegaLiteChart] svg, [data-testid=stVegaLiteChart] canvas"
TIMEOUT = 90_000


def settle(page) -> None:
    """Wait until the page is drawn and no script run is in progress."""
    page.wait_for_selector("[data-testid=stMain] h1", timeout=TIMEOUT)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')"
        " || !document.querySelector('[data-testid=stStatusWidget]').innerText"
        ".includes('Running')",
        timeout=TIMEOUT,
    )


def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def test_group_sequential_plan_then_results_show_the_sequence_and_verdict(page, app_url):
    page.goto(app_url)  # a direct /plan makes the frontend probe /plan/_stcore (404s logged)
    settle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Plan").click()
    page.wait_for_selector("h1:has-text('Plan the experiment')", timeout=TIMEOUT)

    page.get_by_text("Group sequential: a few planned looks", exact=True).click()
    page.wait_for_selector("text=vs fixed horizon", timeout=TIMEOUT)
    page.wait_for_selector("text=Planned looks (including the last)", timeout=TIMEOUT)
    settle(page)
    plan_text = main_text(page)
    assert "What each way of reading the results costs" in plan_text
    # the cost table marks the chosen method (data frames are canvases with a hidden table)
    page.wait_for_selector(
        "[data-testid=stDataFrame] table td:has-text('▶ Group sequential')",
        state="attached",
        timeout=TIMEOUT,
    )

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Results").click()
    page.wait_for_selector("h1:has-text('Results')", timeout=TIMEOUT)
    settle(page)
    page.locator(UPLOAD).set_input_files(str(DEMO_CSV))
    page.wait_for_selector("h3:has-text('demo_experiment.csv')", timeout=TIMEOUT)
    page.wait_for_selector("text=first excluded zero on", timeout=TIMEOUT)
    settle(page)

    text = main_text(page)
    assert "group-sequential" in text
    assert "Launch decision: Ship" in text
    assert "each day's group-sequential boundary" in text
    page.locator(CHART).first.wait_for(timeout=TIMEOUT)
    assert page.locator(CHART).count() >= 2  # effects at a glance and lift over time
    assert page.get_by_test_id("stException").count() == 0

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Validity & decision").click()
    page.wait_for_selector("h1:has-text('Validity & decision')", timeout=TIMEOUT)
    page.wait_for_selector("text=How the results were read: Group sequential", timeout=TIMEOUT)
    settle(page)
    decision = main_text(page)
    assert "Ship" in decision
    assert "converted improved" in decision
    assert page.get_by_test_id("stException").count() == 0
    assert not page.console_errors, page.console_errors
