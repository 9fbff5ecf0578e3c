"""The Metrics page end to end: a funnel stage and a guardrail chosen here are on the Plan page."""

from __future__ import annotations

from conftest import choose, wait_for_app
from playwright.sync_api import expect

from sample_data.generate import make_event_log


def open_metrics(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_text("Metrics", exact=True).click()
    wait_for_app(page)
    page.locator(
        "[data-testid=stVegaLiteChart] svg, [data-testid=stVegaLiteChart] canvas"
    ).first.wait_for()


def test_template_stage_and_guardrail_reach_the_plan_page(browser, page, app_url):
    open_metrics(page, app_url)
    assert choose(page, "metrics__template", "SaaS sign-up") == "SaaS sign-up"
    assert choose(page, "metrics__success", "Account created conversion") == (
        "Account created conversion"
    )
    guardrail = page.locator(".st-key-metrics__catalogue").get_by_role("combobox").input_value()
    assert guardrail.startswith("Error rate")
    page.locator(".st-key-metrics__add_guardrail button").click()
    wait_for_app(page)
    # the summary is redrawn by the click's run: wait for it rather than read a run behind
    page.wait_for_function(
        "() => { const t = [...document.querySelectorAll('[data-testid=stAlert]')]"
        ".map(e => e.innerText).join(' ');"
        " return t.includes('Account created conversion') && t.includes('delta method'); }",
        timeout=60_000,
    )
    alerts = " ".join(page.get_by_test_id("stAlert").all_inner_texts())
    assert "Account created conversion" in alerts
    assert "baseline 4.40% of funnel entrants" in alerts
    assert "delta method" in alerts  # error rate is counted per page view, users randomized
    assert page.get_by_test_id("stException").count() == 0

    page.get_by_test_id("stSidebarNav").get_by_text("Plan", exact=True).click()
    wait_for_app(page)
    # the Plan page's own run may draw its inputs after wait_for_app returns: wait for them
    expect(page.get_by_label("Metric", exact=True)).to_have_value("Account created conversion")
    # SaaS template: 8% start signing up, 55% of them create an account
    expect(page.get_by_label("Baseline conversion rate (%)", exact=True)).to_have_value("4.40")
    expect(page.get_by_test_id("stMain")).to_contain_text("alone needs")
    text = page.get_by_test_id("stMain").inner_text().lower()
    assert "guardrail error rate alone needs" in text
    assert page.get_by_test_id("stException").count() == 0

    link = page.get_by_test_id("stCode").first.inner_text().strip()
    fresh = browser.new_context(viewport={"width": 1400, "height": 1800})
    other = fresh.new_page()
    open_metrics(other, link)
    assert other.locator(".st-key-metrics__template").get_by_role("combobox").input_value() == (
        "SaaS sign-up"
    )
    assert other.locator(".st-key-metrics__success").get_by_role("combobox").input_value() == (
        "Account created conversion"
    )
    fresh.close()
    assert page.console_errors == []


def test_uploaded_event_log_and_a_bad_one(page, app_url, tmp_path):
    good = tmp_path / "events.csv"
    make_event_log(500, seed=11).to_csv(good, index=False)
    bad = tmp_path / "broken.csv"
    bad.write_text("user,when\nu1,2026-01-01\n")

    open_metrics(page, app_url)
    page.get_by_text("Our event log", exact=True).click()
    wait_for_app(page)
    page.get_by_text("Upload your own (CSV or Parquet)", exact=True).click()
    wait_for_app(page)
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.set_input_files(str(bad))
    wait_for_app(page)
    # conditions, not a fixed wait: under load the rerun can start after wait_for_app returns
    expect(page.get_by_test_id("stAlert").filter(has_text="needs three")).to_have_count(1)
    assert page.get_by_test_id("stException").count() == 0

    uploader.set_input_files(str(good))
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    expect(main).not_to_contain_text("needs three", timeout=30_000)
    expect(main).to_contain_text("events.csv")
    page.locator(".st-key-metrics__use_log button").click()
    wait_for_app(page)
    expect(main).to_contain_text("Source: event log events.csv", timeout=30_000)
    assert page.get_by_test_id("stException").count() == 0
