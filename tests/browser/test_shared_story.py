"""One story on two screens: the owner uploads raw ab_data.csv and shares the results link;
a reviewer opening it in a fresh browser reads the same checks, numbers, verdict and plan
fingerprint on the Decision page and on Results.

Before, the link dropped the row-level checks (units in two arms, duplicate rows): the
reviewer saw "Some checks need a look" and Results showed the bundled demo.
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import effects_rows, real, wait_for_app
from playwright.sync_api import expect

AB_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "ab_data.csv"
UPLOAD = "[data-testid=stFileUploader] input[type=file]"
FINGERPRINT = re.compile(r"fingerprint `?([0-9a-f]{12})`?", re.IGNORECASE)


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.wait_for_selector(f"h1:has-text('{title}')")
    wait_for_app(page, timeout=90_000)


def table(page, header: str) -> list[list[str]]:
    """The rows of the data frame with a column ``header``, each as its cells' text."""
    page.wait_for_function(
        "h => [...document.querySelectorAll('[data-testid=stDataFrame] table')].some(t =>"
        " [...t.querySelectorAll('th')].some(x => x.innerText.trim() === h)"
        " && t.querySelector('tbody tr td'))",
        arg=header,
        timeout=60_000,
    )
    for frame in page.get_by_test_id("stDataFrame").all():
        headers = [h.strip() for h in frame.locator("table th").all_text_contents()]
        if header in headers:
            return [
                [c.strip() for c in tr.locator("td").all_text_contents()]
                for tr in frame.locator("table tbody tr").all()
            ]
    raise AssertionError(f"no table with a {header!r} column")


def fingerprints(page) -> set[str]:
    text = (
        page.get_by_test_id("stSidebar").inner_text() + page.get_by_test_id("stMain").inner_text()
    )
    return set(FINGERPRINT.findall(text))


def alerts(page) -> list[str]:
    return [a.inner_text().strip() for a in page.get_by_test_id("stAlert").all()]


def results_view(page) -> dict[str, object]:
    """What Results says: the effects table, the summary and the checks box, the plan."""
    return {
        "effects": effects_rows(page),
        # what the readout says; not how the owner's upload was bound to the plan (a step
        # of the owner's session: the link carries the plan it ended with)
        "alerts": [
            a for a in alerts(page) if "shared link" not in a and "The plan follows" not in a
        ],
        "fingerprints": fingerprints(page),
    }


def decision_view(page) -> dict[str, object]:
    """What Decision says: the verdict, how each metric was judged, the checks table, the
    plan's fingerprint."""
    page.wait_for_selector("[data-testid=stAlert] h3", timeout=60_000)
    page.get_by_text("How each metric was judged", exact=True).click()
    return {
        "judged": table(page, "What it means"),
        "verdict": page.locator("[data-testid=stAlert] h3").first.inner_text().strip(),
        "reasons": page.locator("[data-testid=stAlert]").first.inner_text().strip(),
        "checks": table(page, "Check"),
        "fingerprints": fingerprints(page),
    }


def test_the_reviewer_reads_the_owners_story(browser, page, app_url):
    real("ab_data.csv")
    page.goto(app_url)
    wait_for_app(page)
    go(page, "Results")
    page.locator(UPLOAD).set_input_files(str(AB_DATA))
    data_line = page.get_by_test_id("stMarkdown").filter(has_text="Data: ab_data.csv")
    expect(data_line.first).to_be_visible(timeout=90_000)
    wait_for_app(page, timeout=90_000)
    expect(page.get_by_text("Units in more than one arm").first).to_be_visible(timeout=60_000)
    owner_results = results_view(page)
    assert "converted" in owner_results["effects"]
    assert any("Duplicate rows" in a for a in owner_results["alerts"])

    go(page, "Validity & decision")
    owner_decision = decision_view(page)
    checks = {row[1]: row[0] for row in owner_decision["checks"]}
    assert checks["Units in more than one arm"] == "Fail"
    assert checks["Duplicate rows"] == "Look"
    assert owner_decision["verdict"] == "Investigate"
    assert "1,895 units appear in more than one arm" in owner_decision["reasons"]
    assert len(owner_decision["fingerprints"]) == 1
    assert owner_decision["fingerprints"] == owner_results["fingerprints"]
    # the success metric's p-value and interval: the Results table's, two-sided as planned
    judged = next(row for row in owner_decision["judged"] if "converted" in row)
    adjusted = owner_results["effects"]["converted"]["Adjusted p"]
    assert any(f"p = {adjusted} after correction (two-sided, as planned" in c for c in judged)

    page.get_by_text("Share link", exact=True).click()
    link = page.get_by_test_id("stCode").last.inner_text().strip()
    assert "results=" in link

    fresh = browser.new_context(viewport={"width": 1400, "height": 1800})
    other = fresh.new_page()
    other.goto(link)
    wait_for_app(other, timeout=90_000)
    assert decision_view(other) == owner_decision
    go(other, "Results")
    expect(other.get_by_text("Units in more than one arm").first).to_be_visible(timeout=60_000)
    reviewer_results = results_view(other)
    assert reviewer_results["effects"] == owner_results["effects"]
    assert reviewer_results["alerts"] == owner_results["alerts"]
    assert reviewer_results["fingerprints"] == owner_decision["fingerprints"]
    assert other.get_by_test_id("stException").count() == 0
    fresh.close()
    assert page.console_errors == []
