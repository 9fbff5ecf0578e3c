"""Model launch in a real browser: reached from the sidebar, each tool shows its verdict and
its charts on the demo, the null twin clears, and a bad upload is a sentence, not a traceback."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_for_app

TIMEOUT = 90_000
BAD = Path(__file__).resolve().parents[1] / "data" / "bad" / "launch"
CHART = "[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg"


def open_tab(page, name: str):
    page.get_by_role("tab", name=name).click()
    panel = page.locator("[data-testid=stTabPanel]:visible").first
    panel.wait_for(timeout=TIMEOUT)
    return panel


def verdicts(panel) -> list[str]:
    panel.locator("[data-testid=stAlert] h3").first.wait_for(timeout=TIMEOUT)
    return [h.strip() for h in panel.locator("[data-testid=stAlert] h3").all_inner_texts()]


def test_model_launch_tools_show_their_verdicts(page, app_url):
    page.goto(app_url)
    wait_for_app(page, TIMEOUT)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Model launch").click()
    page.wait_for_selector("h1:has-text('Model launch')", timeout=TIMEOUT)
    wait_for_app(page, TIMEOUT)

    panel = open_tab(page, "Interleaving test")
    assert verdicts(panel) == ["Users prefer A"]
    panel.locator(CHART).first.wait_for(timeout=TIMEOUT)
    assert "fewer users" in panel.inner_text()

    panel = open_tab(page, "Canary, shadow & ramp")
    shown = verdicts(panel)
    assert shown[0] == "Roll back · score 50 / 100"
    assert shown[1].startswith("Agreement 97.")
    panel.locator(CHART).first.wait_for(timeout=TIMEOUT)
    assert "latency_ms is 14% higher on the canary" in panel.inner_text()

    panel = open_tab(page, "Drift monitoring")
    assert verdicts(panel) == ["Concept shift: retrain the model"]
    panel.locator(CHART).first.wait_for(timeout=TIMEOUT)
    assert "'income' moved" in panel.inner_text()

    # the null twin: nothing may be flagged
    panel.get_by_text("Demo: stable").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stAlert] h3')]"
        ".some(h => h.innerText.includes('Stable: nothing moved'))",
        timeout=TIMEOUT,
    )
    assert page.get_by_test_id("stException").count() == 0
    assert page.console_errors == []


def test_bad_interleaving_upload_is_a_sentence(page, app_url):
    page.goto(f"{app_url}/model-launch")
    wait_for_app(page, TIMEOUT)
    panel = open_tab(page, "Interleaving test")
    panel.get_by_text("My own file").click()
    upload = panel.locator("[data-testid=stFileUploader] input[type=file]")
    upload.wait_for(state="attached", timeout=TIMEOUT)
    upload.set_input_files(str(BAD / "interleaving_credit_is_user_id.csv"))
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stAlert]')]"
        ".some(a => a.innerText.includes('has more than 5 different values'))",
        timeout=TIMEOUT,
    )
    assert page.get_by_test_id("stException").count() == 0
