"""The Plan page end to end: inputs drive the numbers, the link reproduces them elsewhere."""

from __future__ import annotations

from conftest import wait_for_app
from playwright.sync_api import expect

METRICS = 3
"""Headline numbers on the Plan page: users per arm, total users, days."""


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


def test_share_link_restores_every_input(browser, page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first.wait_for()
    before = metric_values(page)

    set_number(page, "Baseline conversion rate (%)", "4")
    set_number(page, "Minimum detectable effect (% relative)", "8")
    set_number(page, "Daily eligible users", "7000")
    set_number(page, "Control share (%)", "40")
    page.get_by_text("One-sided (only in the good direction)").click()
    wait_for_app(page)
    # wait until the numbers move, rather than reading whatever is drawn first
    expect(page.get_by_test_id("stMetricValue")).not_to_have_text(before)
    after = metric_values(page)

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
