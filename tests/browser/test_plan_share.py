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


ONE_SIDED = "One-sided (only in the good direction)"
STEPS = (
    ("Baseline conversion rate (%)", "4", lambda p: p.metrics[0].baseline == pytest.approx(0.04)),
    ("Minimum detectable effect (% relative)", "8", lambda p: p.metrics[0].mde == 0.08),
    ("Daily eligible users", "7000", lambda p: p.daily_units == 7000),
    ("Control share (%)", "40", lambda p: p.expected_shares[p.control] == pytest.approx(0.4)),
    (ONE_SIDED, None, lambda p: p.alternative != "two-sided"),
)
"""Each input, and how the share link shows it was taken."""


def apply_inputs(page) -> ExperimentPlan:
    """Give every input in turn and wait until the share link carries it before the next
    one: an input given while a rerun is still drawing can be reverted by Streamlit's front
    end under load, so an input not taken within 15 s is given again (three times at most).
    """
    plan = None
    for label, value, taken in STEPS:
        for attempt in range(3):
            if value is None:
                page.get_by_text(label).click()
                wait_for_app(page)
            else:
                set_number(page, label, value)
            try:
                plan = shown_plan(page, taken, timeout_s=15.0)
                break
            except AssertionError:
                if attempt == 2:
                    raise
    return plan


def test_share_link_restores_every_input(browser, page, app_url):
    page.goto(f"{app_url}/plan")
    wait_for_app(page)
    page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first.wait_for()
    before = metric_values(page)

    # the link shown carries every input (numbers read before may be a run behind), and the
    # numbers of that run are drawn above it
    apply_inputs(page)
    settled = shown_plan(page, lambda p: all(taken(p) for *_, taken in STEPS))
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
    page.goto(f"{app_url}/plan?plan=not-a-real-plan")
    wait_for_app(page)
    assert "could not be opened" in page.get_by_test_id("stAlert").first.inner_text()
    assert page.get_by_test_id("stException").count() == 0
    assert len(metric_values(page)) == METRICS


def test_bad_input_gets_a_sentence_not_a_traceback(page, app_url):
    page.goto(f"{app_url}/plan")
    wait_for_app(page)
    set_number(page, "Baseline conversion rate (%)", "0")
    # the sentence, waited for (the run the input started may end after set_number returns)
    expect(page.get_by_test_id("stAlert").first).to_contain_text("Baseline")
    assert page.get_by_test_id("stException").count() == 0
    set_number(page, "Baseline conversion rate (%)", "10")
    expect(page.get_by_test_id("stAlert").filter(has_text="Baseline")).to_have_count(0)
    assert len(metric_values(page)) == METRICS
