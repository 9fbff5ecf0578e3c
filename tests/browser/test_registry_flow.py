"""A saved experiment outlives the server (issue 19): start one, save it, register its plan,
upload its results, record a decision; restart the server on the same database; reopen it
from the Experiments page: the plan, the verdict and the decision record are unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import start_server, wait_for_app
from playwright.sync_api import expect

COOKIE_CATS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "cookie_cats.csv"

UPLOAD = "[data-testid=stFileUploader] input[type=file]"
RATIONALE = "Level 40 gate keeps fewer players a week later."


def go(page, title: str, heading: str | None = None) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.wait_for_selector(f"h1:has-text('{heading or title}')")
    wait_for_app(page, timeout=90_000)


def fingerprint(page) -> str:
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text("Plan fingerprint")
    return re.search(r"Plan fingerprint (\w+)", sidebar.inner_text()).group(1)


def verdict(page) -> str:
    heading = page.locator("[data-testid=stAlert] h3").first
    expect(heading).to_be_visible(timeout=90_000)
    return heading.inner_text().strip()


def test_save_register_decide_restart_reopen(browser, tmp_path, monkeypatch):
    if not COOKIE_CATS.exists():
        pytest.skip(f"{COOKIE_CATS} is missing")
    monkeypatch.setenv("ABCORE_DB_URL", f"sqlite:///{tmp_path / 'abcore.sqlite'}")
    proc, url = start_server()
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1800})
        page = context.new_page()
        page.goto(url)
        wait_for_app(page)
        page.get_by_label("Name").fill("Cookie gates")
        page.get_by_label("Name").press("Enter")
        wait_for_app(page)
        page.get_by_role("button", name="Plan it").click()
        page.wait_for_selector("h1:has-text('Plan the experiment')")
        wait_for_app(page, timeout=90_000)

        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_role("button", name="Save").click()
        expect(sidebar).to_contain_text("Saved ")
        wait_for_app(page)
        page.get_by_role("button", name="Register the plan").click()
        expect(page.get_by_test_id("stMain")).to_contain_text("Registered ", timeout=60_000)
        wait_for_app(page)

        go(page, "Results")
        page.locator(UPLOAD).set_input_files(str(COOKIE_CATS))
        data_line = page.get_by_test_id("stMarkdown").filter(has_text="Data: cookie_cats.csv")
        expect(data_line.first).to_be_visible(timeout=90_000)
        wait_for_app(page, timeout=90_000)

        go(page, "Validity & decision")
        before = verdict(page)
        page.get_by_role("textbox", name=re.compile(r"^Why ")).fill(RATIONALE)
        page.get_by_role("button", name="Record the decision").click()
        expect(page.get_by_test_id("stMain")).to_contain_text(
            "recorded by local on", timeout=60_000
        )
        wait_for_app(page)
        planned = fingerprint(page)
        assert page.get_by_test_id("stException").count() == 0
        context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    proc, url = start_server()  # a new process: nothing but the database carries over
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1800})
        page = context.new_page()
        page.goto(f"{url}/experiments")
        wait_for_app(page, timeout=90_000)
        main = page.get_by_test_id("stMain")
        expect(main).to_contain_text("1 of 1 experiments")
        listing = page.get_by_test_id("stDataFrame").first
        expect(listing).to_contain_text("Cookie gates")
        expect(listing).to_contain_text("Decided")
        page.locator(".st-key-experiments__open button").click()
        page.wait_for_selector("h1:has-text('Results')")  # its saved readout, no file
        wait_for_app(page, timeout=90_000)
        expect(page.get_by_test_id("stMain")).to_contain_text("its saved totals, no file needed")
        assert fingerprint(page) == planned

        go(page, "Validity & decision")
        assert verdict(page) == before
        record = page.get_by_test_id("stMain")
        expect(record).to_contain_text(RATIONALE)
        expect(record).to_contain_text(f"{before}, recorded by local on")
        expect(record).to_contain_text("the saved readout of")
        assert fingerprint(page) == planned
        assert page.get_by_test_id("stException").count() == 0
        context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
