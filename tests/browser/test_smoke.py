"""Every page opens from the navigation with no exception box and no console error."""

from __future__ import annotations

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

PAGES = ["Start", "Metrics", "Plan", "Results", "Validity & decision", "Model launch"]


def test_every_page_opens_from_the_navigation(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    for title in PAGES:
        page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        wait_for_app(page)
        expect(page.locator("[data-testid=stMain] h1").first).to_be_visible()
        assert page.get_by_test_id("stException").count() == 0, title
    assert page.console_errors == []


HEADINGS = {
    "": "A/B planner & interpreter",
    "metrics": "Choose what to measure",
    "plan": "Plan the experiment",
    "results": "Results",
    "decision": "Validity & decision",
    "model-launch": "Model launch",
}


@pytest.mark.parametrize("path", list(HEADINGS))
def test_direct_urls_open_their_page(page, app_url, path):
    """Every page's own address opens it (the home is its own page, so /plan is Plan's)."""
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)
    expect(page.locator("[data-testid=stMain] h1").first).to_contain_text(HEADINGS[path])
    assert page.get_by_test_id("stException").count() == 0
    assert "does not seem to exist" not in page.content()
