"""Browser tests: a real ``streamlit run`` on localhost driven by Playwright in Debian's chromium.

Locally a missing chromium skips these tests; with CI=true it fails them, so CI can never
pass without having run them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
# the real datasets follow one rule in every test (tests/real_data.py): skipped when absent
# locally, a failure under CI=true; browser tests import it from here
sys.path.insert(0, str(ROOT / "tests"))
from real_data import real  # noqa: E402

__all__ = ["real"]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Console noise that is not the app's fault: the sandbox has no network for Google's assets.
IGNORED_CONSOLE = ("ERR_NAME_NOT_RESOLVED", "ERR_INTERNET_DISCONNECTED", "favicon")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


# expect() retries for 5 s by default: too short for a rerun on a loaded machine (the
# browser tests run on two workers); the same bound as the tests' own waits
expect.set_options(timeout=30_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    port: int | None = None, *, args: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` and wait until it answers its health check; ``args``
    are more ``streamlit run`` options (``--secrets.files``...), ``env`` more variables."""
    port = port or _free_port()
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
    # ABCORE_SERVER_LOG=path keeps the server's log (its tracebacks) for debugging
    where = os.environ.get("ABCORE_SERVER_LOG")
    log = open(where, "a") if where else subprocess.DEVNULL  # noqa: SIM115 (the server's life)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            # Editing the code while a test runs must not reload modules under a session.
            "--server.fileWatcherType",
            "none",
            *args,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("streamlit did not start within 60 s")


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    proc, url = start_server()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + ": required with CI=true.")
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleLog(list):
    """Console errors of a page, without the sandbox's network noise."""

    def attach(self, page: object) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.append(f"pageerror: {exc}"))

    def _on_console(self, message: object) -> None:
        if message.type == "error" and not any(s in message.text for s in IGNORED_CONSOLE):
            self.append(message.text)


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.console_errors = ConsoleLog()
    page.console_errors.attach(page)
    yield page
    context.close()


def wait_for_app(page: object, timeout: float = 30_000) -> None:
    """Wait until the script has finished running and the page is drawn."""
    page.wait_for_selector("[data-testid=stApp]", timeout=timeout)
    page.wait_for_selector("[data-testid=stMain] h1", timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')"
        " || !document.querySelector('[data-testid=stStatusWidget]').innerText"
        ".includes('Running')",
        timeout=timeout,
    )
    page.wait_for_timeout(500)


def effects_rows(page: object, timeout: float = 60_000) -> dict[str, dict[str, str]]:
    """The Results page's effects table (the data frame headed Metric ... Result), keyed by
    metric, each row by column header."""
    page.wait_for_selector(
        "[data-testid=stDataFrame] table th:text-is('Result')", state="attached", timeout=timeout
    )
    # the grid can draw its header before its rows: wait until the table has a row
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stDataFrame] table')].some(t =>"
        " [...t.querySelectorAll('th')].some(h => h.innerText.trim() === 'Result')"
        " && t.querySelector('tbody tr td'))",
        timeout=timeout,
    )
    for frame in page.get_by_test_id("stDataFrame").all():
        headers = [h.strip() for h in frame.locator("table th").all_text_contents()]
        if {"Metric", "Result"} <= set(headers):
            rows = {}
            for tr in frame.locator("table tbody tr").all():
                cells = [c.strip() for c in tr.locator("td").all_text_contents()]
                if cells:
                    rows[cells[0]] = dict(zip(headers, cells, strict=False))
            return rows
    raise AssertionError("no effects table on the page")


def choose(page: object, key: str, option: str, timeout: float = 60_000) -> str:
    """Pick ``option`` in the select box with widget key ``key``; return what it shows once
    the run it started has ended."""
    box = page.locator(f".st-key-{key}")
    box.scroll_into_view_if_needed()
    for attempt in range(3):  # a click while a rerun redraws the box can be lost: again
        box.get_by_role("combobox").click()
        try:
            page.locator("[role=listbox]").wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            wait_for_app(page, timeout=timeout)
    page.get_by_role("option", name=option, exact=True).click()
    expect(box.get_by_role("combobox")).to_have_value(option)
    wait_for_app(page, timeout=timeout)
    return box.get_by_role("combobox").input_value()
