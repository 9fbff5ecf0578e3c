"""From upload to verdict, and the results link that reproduces the decision elsewhere."""

from __future__ import annotations

from conftest import wait_for_app
from playwright.sync_api import expect

from sample_data.generate import make_scenario

UPLOAD = "[data-testid=stFileUploader] input[type=file]"


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.wait_for_selector(f"h1:has-text('{title}')")
    wait_for_app(page, timeout=90_000)


def verdict(page) -> str:
    page.wait_for_selector("[data-testid=stAlert] h3", timeout=60_000)
    return page.locator("[data-testid=stAlert] h3").first.inner_text().strip()


def test_upload_to_verdict_and_shared_results(browser, page, app_url, tmp_path):
    page.goto(app_url)
    wait_for_app(page)
    go(page, "Validity & decision")
    assert verdict(page) == "Ship"  # the demo, with zero input

    harm = tmp_path / "guardrail_harm.csv"
    make_scenario("guardrail_harm").to_csv(harm, index=False)
    go(page, "Results")
    page.locator(UPLOAD).set_input_files(str(harm))
    # the uploader lists the file at once; the page's own "Data:" line means the run that
    # reads it has started, and only once that run ends is its readout stored for the next
    # page (switching pages mid-run would stop it): wait for both, not a fixed time
    data_line = page.get_by_test_id("stMarkdown").filter(has_text="Data: guardrail_harm.csv")
    expect(data_line.first).to_be_visible(timeout=90_000)
    wait_for_app(page, timeout=90_000)
    go(page, "Validity & decision")
    expect(page.locator("[data-testid=stAlert] h3").first).to_have_text("Don't ship")
    assert "page_load_ms is breached" in page.get_by_test_id("stAlert").first.inner_text()
    assert page.get_by_test_id("stException").count() == 0

    page.get_by_text("Share link", exact=True).click()
    link = page.get_by_test_id("stCode").last.inner_text().strip()
    assert "results=" in link
    assert "plan=" in link
    assert "u000001" not in link

    fresh = browser.new_context(viewport={"width": 1400, "height": 1800})
    other = fresh.new_page()
    other.goto(link)
    wait_for_app(other, timeout=90_000)
    assert verdict(other) == "Don't ship"
    assert "shared link" in other.get_by_test_id("stMain").inner_text()
    assert other.get_by_test_id("stException").count() == 0
    fresh.close()
    assert page.console_errors == []
