"""The Plan page end to end: inputs drive the numbers, the link reproduces them elsewhere."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

from abcore.plan import ExperimentPlan

METRICS = 3
"""Headline numbers on the Plan page: users per arm, total users, days."""


def shown_plan(page, ready, timeout_s: float = 30.0) -> ExperimentPlan:
    """The plan in the share link on the page, once ``ready(plan)`` holds (polled)."""
    deadline = time.monotonic() + timeout_s
    while True:
        link = page.get_by_test_id("stCode").first.inner_text().strip()
        plan = ExperimentPlan.from_query_params(parse_qs(urlparse(link).query))
        if ready(plan):
            return plan
        if time.monotonic() > deadline:
            raise AssertionError(f"the share link never showed the expected plan: {plan}")
        page.wait_for_timeout(200)


def metric_values(page) -> list[str]:
    """Every headline number, once all of them are drawn (not as soon as the first is)."""
    values = page.get_by_test_id("stMetricValue")
    expect(values).to_have_count(METRICS)
    return values.all_inner_texts()


def set_number(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_for_app(page)


INPUTS = (
    ("Baseline conversion rate (%)", "4"),
    ("Minimum detectable effect (% relative)", "8"),
    ("Daily eligible users", "7000"),
    ("Control share (%)", "40"),
)
ONE_SIDED = "One-sided (only in the good direction)"


def apply_inputs(page) -> None:
    """Type each input whose box does not show it yet; pick one-sided unless picked."""
    for label, value in INPUTS:
        shown = page.get_by_label(label, exact=True).input_value().replace(",", "")
        if float(shown or "nan") != float(value):
            set_number(page, label, value)
    if not page.get_by_role("radio", name=ONE_SIDED).is_checked():
        page.get_by_text(ONE_SIDED).click()
        wait_for_app(page)


def every_input_taken(plan: ExperimentPlan) -> bool:
    return (
        plan.alternative != "two-sided"
        and plan.daily_units == 7000
        and plan.expected_shares.get(plan.control) == pytest.approx(0.4)
        and plan.metrics[0].baseline == pytest.approx(0.04)
    )


def test_share_link_restores_every_input(browser, page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first.wait_for()
    before = metric_values(page)

    # wait for the run that drew the last input (numbers read before may be a run behind):
    # the link shown carries every input, the numbers of that run are drawn above it. An
    # input typed while a rerun is still drawing can be reverted by Streamlit's front end
    # under load, so inputs not taken are typed again (at most three rounds)
    for attempt in range(3):
        apply_inputs(page)
        try:
            settled = shown_plan(page, every_input_taken, timeout_s=20.0)
            break
        except AssertionError:
            if attempt == 2:
                raise
    assert settled.expected_shares[settled.control] == pytest.approx(0.4)
    after = metric_values(page)
    assert after != before

    link = page.get_by_test_id("stCode").first.inner_text().strip()
    assert "plan=" in link
    assert "plan=" in page.url  # the address bar is the share link too

    fresh = browser.new_context(viewport={"width": 1400, "height": 1800})
    other = fresh.new_page()
    other.goto(link)
    wait_for_app(other)
    expect(other.get_by_test_id("stMetricValue")).to_have_text(after)
    assert other.get_by_label("Baseline conversion rate (%)", exact=True).input_value() == "4.00"
    assert other.get_by_label("Daily eligible users", exact=True).input_value() == "7000"
    assert other.get_by_label("Control share (%)", exact=True).input_value() == "40"
    fresh.close()


def test_bad_link_shows_a_sentence_and_the_demo(page, app_url):
    page.goto(f"{app_url}/?plan=not-a-real-plan")
    wait_for_app(page)
    assert "could not be opened" in page.get_by_test_id("stAlert").first.inner_text()
    assert page.get_by_test_id("stException").count() == 0
    assert len(metric_values(page)) == METRICS


def test_bad_input_gets_a_sentence_not_a_traceback(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    set_number(page, "Baseline conversion rate (%)", "0")
    alert = page.get_by_test_id("stAlert").first.inner_text()
    assert "Baseline" in alert
    assert page.get_by_test_id("stException").count() == 0
    set_number(page, "Baseline conversion rate (%)", "10")
    assert len(metric_values(page)) == METRICS
