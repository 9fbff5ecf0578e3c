"""Every page opens from the navigation with no exception box and no console error."""

from __future__ import annotations

import pytest
from conftest import wait_for_app

PAGES = ["Metrics", "Plan", "Results", "Validity & decision"]


def test_every_page_opens_from_the_navigation(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    for title in PAGES:
        page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
        wait_for_app(page)
        assert page.get_by_test_id("stException").count() == 0, title
        assert page.locator("[data-testid=stMain] h1").count() >= 1, title
    assert page.console_errors == []


@pytest.mark.parametrize("path", ["", "metrics", "results", "decision"])
def test_direct_urls_open_their_page(page, app_url, path):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page)
    assert page.get_by_test_id("stException").count() == 0
    assert "does not seem to exist" not in page.content()
