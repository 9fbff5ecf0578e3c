"""Two browser sessions on one server never see each other's uploads.

Each session gets its own DuckDB connection and its own ``st.session_state``; these tests
drive two browser contexts (two sessions, as two users would be) against the same
``streamlit run`` and interleave their uploads. The files differ in arm names, metric names and
file names, so anything of one session that leaked into the other would show up in its page.
Expected unit counts come from pandas on the generated files, not from the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ConsoleLog, effects_rows, wait_for_app

from abcore.decision import VERDICTS
from sample_data.generate import make_experiment

UPLOAD = "[data-testid=stFileUploader] input[type=file]"
REMOVE = "[data-testid=stFileChipDeleteBtn] button"
PlaywrightTimeout = pytest.importorskip("playwright.sync_api").TimeoutError
TIMEOUT = 60_000


@dataclass(frozen=True)
class Upload:
    """A generated experiment file and what its owner's pages must show."""

    path: Path
    arms: tuple[str, ...]
    spend: str  # the revenue column, renamed so that metric names differ too
    counts: dict[str, int]

    @property
    def name(self) -> str:
        return self.path.name

    def words(self) -> list[str]:
        """Strings only this file's pages can contain."""
        return [self.name, self.spend, *self.arms]


def make_upload(folder: Path, stem: str, arms: tuple[str, ...], seed: int) -> Upload:
    spend = f"{arms[0]}_spend"
    frame = make_experiment(3_000, arms=arms, seed=seed).rename(columns={"revenue": spend})
    path = folder / f"{stem}.csv"
    frame.to_csv(path, index=False)
    counts = {str(k): int(v) for k, v in frame["variant"].value_counts().items()}
    return Upload(path, arms, spend, counts)


def new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.console_errors = ConsoleLog()
    page.console_errors.attach(page)
    return page


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.wait_for_selector(f"h1:has-text('{title}')", timeout=TIMEOUT)
    wait_for_app(page, timeout=TIMEOUT)


def upload(page, data: Upload) -> None:
    """Replace the uploader's files with ``data`` (the uploader adds to its list otherwise)."""
    while page.locator(REMOVE).count():
        page.locator(REMOVE).first.click()
        page.wait_for_timeout(300)
        wait_for_app(page, timeout=TIMEOUT)
    page.locator(UPLOAD).set_input_files(str(data.path))
    page.wait_for_timeout(800)
    wait_for_app(page, timeout=TIMEOUT)
    page.wait_for_selector(f"h3:has-text('Results: {data.name}')", timeout=TIMEOUT)


def rerun_results(page, alpha: str) -> None:
    """Make the Results page run again in this session (after the other session uploaded).

    A number typed while a rerun is still drawing can be lost, so the value is typed again
    (at most three times) until the effects table shows the new confidence level.
    """
    box = page.get_by_label("Significance level (alpha)", exact=True)
    if not box.is_visible():
        page.get_by_text("Test settings", exact=True).click()
    header = f"[data-testid=stDataFrame] th:has-text('{1 - float(alpha):.0%} CI')"
    for _ in range(3):
        box.fill(alpha)
        box.press("Enter")
        wait_for_app(page, timeout=TIMEOUT)
        try:
            page.wait_for_selector(header, state="attached", timeout=15_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the Results page did not rerun with alpha = {alpha}")


def effect_metrics(page) -> set[str]:
    """Metric names in the effects table (the data frame headed Metric ... Result), once its
    rows are drawn (the grid can draw its header before them)."""
    return set(effects_rows(page, timeout=TIMEOUT))


def units_per_arm(page) -> dict[str, int]:
    """The 'Units per arm' tiles: arm name (after 'Control: ' / 'Treatment: ') to count."""
    out = {}
    for tile in page.get_by_test_id("stMetric").all():
        label = tile.get_by_test_id("stMetricLabel").inner_text().strip()
        value = tile.get_by_test_id("stMetricValue").inner_text().strip().replace(",", "")
        if label != "Days covered" and value.isdigit():
            out[label.removeprefix("Control: ").removeprefix("Treatment: ")] = int(value)
    return out


def assert_nothing_of(page, others: list[Upload]) -> None:
    """No string of another session's files anywhere in this page's document."""
    html = page.get_by_test_id("stApp").inner_html()
    for other in others:
        for word in other.words():
            assert word not in html, f"{word!r} of {other.name} leaked into this session"


def assert_results_show(page, own: Upload, others: list[Upload]) -> None:
    assert page.locator("h1").first.inner_text().strip() == "Results"
    assert f"Results: {own.name}" in page.locator("h3:has-text('Results:')").first.inner_text()
    assert units_per_arm(page) == own.counts
    metrics = effect_metrics(page)
    assert own.spend in metrics
    assert not {o.spend for o in others} & metrics
    assert page.get_by_test_id("stException").count() == 0
    assert_nothing_of(page, others)


def assert_decision_shows(page, own: Upload, others: list[Upload]) -> None:
    page.wait_for_selector("[data-testid=stAlert] h3", timeout=TIMEOUT)
    assert page.locator("[data-testid=stAlert] h3").first.inner_text().strip() in set(
        VERDICTS.values()
    )
    text = page.get_by_test_id("stMain").inner_text()
    assert f"Data: {own.name}" in text
    # the upload started this session's own experiment: its plan follows the file's arms
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert own.name.rsplit(".", 1)[0] in sidebar  # the experiment is named after the file
    assert "not this data's arms" not in text
    assert page.get_by_test_id("stException").count() == 0
    assert_nothing_of(page, others)


@pytest.fixture
def uploads(tmp_path) -> dict[str, Upload]:
    return {
        "a": make_upload(tmp_path, "alpha_export", ("apple", "avocado"), seed=101),
        "b": make_upload(tmp_path, "beta_export", ("banana", "blueberry"), seed=202),
        "b2": make_upload(tmp_path, "gamma_export", ("cherry", "coconut", "cranberry"), seed=303),
    }


def test_two_sessions_see_only_their_own_uploads(browser, app_url, uploads):
    a_file, b_file, b_again = uploads["a"], uploads["b"], uploads["b2"]
    a, b = new_page(browser), new_page(browser)
    try:
        # Both sessions open at once.
        a.goto(app_url)
        b.goto(app_url)
        wait_for_app(a, timeout=TIMEOUT)
        wait_for_app(b, timeout=TIMEOUT)
        go(a, "Results")
        go(b, "Results")

        # A uploads, then B uploads; A's page then runs again (a setting change) after B's.
        upload(a, a_file)
        upload(b, b_file)
        rerun_results(a, "0.1")
        assert_results_show(a, a_file, [b_file, b_again])
        rerun_results(b, "0.2")
        assert_results_show(b, b_file, [a_file, b_again])

        go(a, "Validity & decision")
        assert_decision_shows(a, a_file, [b_file, b_again])
        go(b, "Validity & decision")
        assert_decision_shows(b, b_file, [a_file, b_again])

        # B starts another experiment and uploads its file; A switches pages and still sees
        # only its own data.
        b.get_by_test_id("stSidebarNav").get_by_role("link", name="Start").click()
        b.get_by_role("button", name="Upload results").click()
        b.wait_for_selector("h1:has-text('Results')", timeout=TIMEOUT)
        wait_for_app(b, timeout=TIMEOUT)
        upload(b, b_again)
        assert_results_show(b, b_again, [a_file])
        go(a, "Plan")
        assert_nothing_of(a, [b_file, b_again])
        go(a, "Validity & decision")
        assert_decision_shows(a, a_file, [b_file, b_again])
        go(b, "Validity & decision")
        assert_decision_shows(b, b_again, [a_file])

        for page in (a, b):
            assert page.console_errors == [], page.console_errors
    finally:
        a.context.close()
        b.context.close()
