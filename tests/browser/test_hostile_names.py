"""User text is text: hostile names from a link and a file draw no image, link, LaTeX, icon,
colour or heading on any page, and no request leaves for a host named in them.

A plan link names the plan, its hypothesis, an arm and a metric with Markdown; an uploaded
file (its own name hostile too) carries the same in an arm value, a metric column and a
segment. Every page is opened and the rendered Markdown is searched for what those strings
would make if they were rendered as Markdown.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
from conftest import wait_for_app
from playwright.sync_api import expect

from abcore.plan import ExperimentPlan, MetricSpec

HOST = "pixel.invalid"
FORMULA = f'=HYPERLINK("http://{HOST}/formula","open")'
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hostile(tag: str) -> str:
    """A name that, drawn as Markdown, makes an image, a link, LaTeX, bold, an icon and red."""
    return (
        f"![{tag}](http://{HOST}/{tag}.png) [click](http://{HOST}/{tag}) "
        f"$\\frac{{1}}{{0}}$ **bold** :material/home: :red[red] {tag}"
    )


PAGES = ["Metrics", "Plan", "Results", "Validity & decision", "Model launch"]
FORBIDDEN = {
    "image": f"[data-testid=stMain] img[src*='{HOST}'], [data-testid=stSidebar] img[src*='{HOST}']",
    "link": f"a[href*='{HOST}']",
    "LaTeX": "[data-testid=stMarkdownContainer] .katex",
    "bold": "[data-testid=stMarkdownContainer] strong:text-is('bold')",
    "icon": "[data-testid=stMarkdownContainer] span[role=img][aria-label='home icon']",
    "colour": "[data-testid=stMarkdownContainer] .stMarkdownColoredText:text-is('red')",
}


def hostile_link(app_url: str) -> str:
    plan = ExperimentPlan(
        name=hostile("plan"),
        hypothesis=hostile("hypothesis"),
        control="control",
        expected_shares={"control": 0.5, hostile("arm"): 0.5},
        metrics=(MetricSpec(hostile("metric"), baseline=0.1, mde=0.05),),
    )
    query = "&".join(f"{k}={v}" for k, v in plan.to_query_params().items())
    return f"{app_url}/?{query}"


def hostile_file(folder) -> str:
    rng = np.random.default_rng(7)
    n = 2_000
    arm = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "variant": np.where(arm == 1, hostile("filearm"), "control"),
            "converted": rng.binomial(1, 0.1 + 0.02 * arm),
            hostile("column"): rng.normal(10, 2, n).round(2),
            FORMULA: rng.normal(5, 1, n).round(2),
            hostile("segment"): rng.choice([hostile("a"), hostile("b")], n),
        }
    )
    path = folder / "$x$ **bold** :red[red].csv"
    frame.to_csv(path, index=False)
    return str(path)


def assert_inert(page, where: str, requests: list[str]) -> None:
    for what, selector in FORBIDDEN.items():
        assert page.locator(selector).count() == 0, f"{where}: a name drew {what}"
    leaked = [url for url in requests if HOST in url]
    assert not leaked, f"{where}: the browser fetched {leaked}"


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_safe_downloads(page) -> None:
    """Streamlit's own table export is off; the app's effects CSV starts no cell with a
    formula character (a header or a metric named =HYPERLINK(...) included)."""
    labels = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=stElementToolbar] button')]"
        ".map(e => e.getAttribute('aria-label'))"
    )
    assert "Download as CSV" not in labels
    with page.expect_download() as download:
        page.get_by_role("button", name="Download effects (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert any("HYPERLINK" in cell for cell in cells), "the formula-named metric is exported"
    unsafe = [c for c in cells if c.startswith(FORMULA_START) and not is_number(c)]
    assert not unsafe, f"cells a spreadsheet would run: {unsafe[:5]}"


def test_hostile_names_are_shown_as_text_on_every_page(browser, app_url, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(hostile_link(app_url))
    wait_for_app(page)
    # the name reads as typed, in the sidebar, as text
    expect(page.get_by_test_id("stSidebar")).to_contain_text("**bold** :material/home:")
    path = hostile_file(tmp_path)
    for name in PAGES:
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
        wait_for_app(page, timeout=90_000)
        if name == "Results":
            page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(path)
            expect(page.get_by_text("$x$ **bold** :red[red].csv").first).to_be_visible(
                timeout=90_000
            )
            wait_for_app(page, timeout=90_000)
            assert_safe_downloads(page)
        assert_inert(page, name, requests)
    context.close()
