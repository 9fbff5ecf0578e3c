"""The Plan page's "plan from your own data" end to end: upload ab_data.csv (read from
../shared/data/real, never copied into the repo), adopt its estimates with one click, and
read the sample size and duration the plan then shows.

The expected numbers come from the engine on the same file: the control arm's conversion
rate (12.11%) and the 23 days' curve of unique users, put into the demo plan.
"""

from __future__ import annotations

from pathlib import Path

from conftest import real, wait_for_app
from playwright.sync_api import expect

from abcore import ingest, planning
from abcore.estimate import estimate, plan_with_estimates
from ui.state import demo_plan

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
AB_DATA = REAL / "ab_data.csv"
UPLOAD = "[data-testid=stFileUploader] input[type=file]"


def metric(page, label: str):
    """The value of the headline number labelled ``label``."""
    box = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return box.get_by_test_id("stMetricValue")


def expected() -> tuple[str, str, str]:
    """Users per arm, duration and baseline the demo plan has once it uses ab_data's values."""
    con = ingest.connect()
    ds = ingest.load(con, AB_DATA)
    est = estimate(con, ds, ingest.detect_schema(con, ds), arm="control")
    plan = plan_with_estimates(demo_plan(), est.metric("converted"), est.curve)
    sizing = planning.size_plan(plan)
    baseline = f"{est.metric('converted').baseline:.2%}"
    return f"{sizing.method_n_control:,}", f"{sizing.method_recommended_days} days", baseline


def test_upload_ab_data_and_adopt_its_estimates(page, app_url):
    real("ab_data.csv")
    n_control, duration, baseline = expected()
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Plan").click()
    page.wait_for_selector("h1:has-text('Plan the experiment')")
    wait_for_app(page)
    before = metric(page, "Users per arm").inner_text()

    page.locator(UPLOAD).set_input_files(str(AB_DATA))
    # the estimates beside the plan's values, once the file is read
    expect(metric(page, "Users per arm, from your data")).to_be_visible(timeout=90_000)
    expect(page.get_by_text(baseline, exact=True).filter(visible=True).first).to_be_visible()
    expect(page.get_by_text("reach the", exact=False).filter(visible=True).first).to_be_visible()
    wait_for_app(page)

    page.get_by_role("button", name="Use all of these").click()
    expect(metric(page, "Users per arm")).to_have_text(n_control, timeout=60_000)
    expect(metric(page, "Duration")).to_have_text(duration)
    expect(metric(page, "Duration, from your data")).to_have_text(duration)
    expect(metric(page, "Users per arm, from your data")).to_have_text(n_control)
    assert n_control != before
    # the form shows the adopted baseline
    expect(page.get_by_label("Baseline conversion rate (%)", exact=True)).to_have_value(
        baseline.rstrip("%")
    )
    assert page.get_by_test_id("stException").count() == 0
    assert not page.console_errors, page.console_errors
