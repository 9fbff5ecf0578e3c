"""A bounded load test: sessions at once through the whole flow, against one server.

The suite runs 3 sessions (``ABCORE_LOAD_SESSIONS``); ``make bench-load`` runs 10 and shows
the timings. Playwright's sync API must stay on one thread, so the browser contexts are
driven in lock step: each phase starts an action in every page (the server then runs every
session at once), then waits for every page in turn. Each session opens the Plan page,
changes an input, uploads its own small generated file on Results and reads a verdict on
Validity & decision.
The server is this test's own, so its peak memory (VmHWM of the ``streamlit`` process) is
this test's alone; it is printed and held under a generous bound.

Time is reported, never asserted: on a busy machine the same run took 161 s against a bound
of 150 s. The phase timings are printed and recorded as test properties (``--junitxml``);
``make bench-load`` runs this test alone with its output shown (see bench/README.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import ConsoleLog, start_server, wait_for_app

from abcore.decision import VERDICTS
from sample_data.generate import make_experiment

SESSIONS = int(os.environ.get("ABCORE_LOAD_SESSIONS", "3"))
UNITS = 2_000
TIMEOUT = 60_000
PEAK_MEMORY_BOUND_MB = 3_000
UPLOAD = "[data-testid=stFileUploader] input[type=file]"
VERDICT = "[data-testid=stAlert] h3"


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


@pytest.fixture
def own_server(monkeypatch) -> Iterator[tuple[int, str]]:
    """A server for this test alone (not the session's), without the source file watcher.

    With the watcher on, an edit to the source tree during the test would reload modules in
    the middle of the run; a load test measures serving, not hot reloading.
    """
    if not Path("/proc/self/status").exists():
        pytest.skip("peak memory is read from /proc (Linux)")
    monkeypatch.setenv("STREAMLIT_SERVER_FILE_WATCHER_TYPE", "none")
    proc, url = start_server()
    try:
        yield proc.pid, url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def each(pages: list, action: Callable[[int, object], None]) -> None:
    for i, page in enumerate(pages):
        action(i, page)


def go(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()


def arrived(page, title: str) -> None:
    page.wait_for_selector(f"h1:has-text('{title}')", timeout=TIMEOUT)
    wait_for_app(page, timeout=TIMEOUT)


@pytest.mark.slow
def test_sessions_through_the_whole_flow(browser, own_server, tmp_path, record_property):
    pid, url = own_server
    files = []
    for i in range(SESSIONS):
        path = tmp_path / f"load_{i:02d}.csv"
        make_experiment(UNITS, seed=1_000 + i).to_csv(path, index=False)
        files.append(path)
    daily = [str(10_000 + 1_000 * i) for i in range(SESSIONS)]

    start = time.monotonic()
    timings: dict[str, float] = {}
    contexts = [
        browser.new_context(viewport={"width": 1400, "height": 1800}) for _ in range(SESSIONS)
    ]
    try:
        pages = [c.new_page() for c in contexts]
        for page in pages:
            page.console_errors = ConsoleLog()
            page.console_errors.attach(page)

        def phase(name: str, begin: Callable, finish: Callable) -> None:
            t0 = time.monotonic()
            each(pages, begin)
            each(pages, finish)
            timings[name] = time.monotonic() - t0

        def plan_input(i: int, page) -> None:
            box = page.get_by_label("Daily eligible users", exact=True)
            box.fill(daily[i])
            box.press("Enter")

        def plan_kept(i: int, page) -> None:
            wait_for_app(page, timeout=TIMEOUT)
            assert page.get_by_label("Daily eligible users", exact=True).input_value() == daily[i]

        def uploaded(i: int, page) -> None:
            page.wait_for_selector(f"h3:has-text('Results: {files[i].name}')", timeout=TIMEOUT)
            wait_for_app(page, timeout=TIMEOUT)

        def verdict(i: int, page) -> None:
            arrived(page, "Validity & decision")
            page.wait_for_selector(VERDICT, timeout=TIMEOUT)
            assert page.locator(VERDICT).first.inner_text().strip() in set(VERDICTS.values())
            # Each session decides on its own file, even with nine others uploading.
            assert f"Data: {files[i].name}" in page.get_by_test_id("stMain").inner_text()

        phase(
            "open",
            lambda i, p: p.goto(url, wait_until="commit", timeout=TIMEOUT),
            lambda i, p: arrived(p, "Plan the experiment"),
        )
        phase("plan input", plan_input, plan_kept)
        phase("results", lambda i, p: go(p, "Results"), lambda i, p: arrived(p, "Results"))
        phase("upload", lambda i, p: p.locator(UPLOAD).set_input_files(str(files[i])), uploaded)
        phase("decision", lambda i, p: go(p, "Validity & decision"), verdict)

        for i, page in enumerate(pages):
            assert page.get_by_test_id("stException").count() == 0, f"session {i}"
            assert page.console_errors == [], (i, page.console_errors)
    finally:
        for context in contexts:
            context.close()
    elapsed = time.monotonic() - start
    peak = peak_memory_mb(pid)
    print(
        f"\n{SESSIONS} sessions in {elapsed:.1f} s ("
        + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        + f"); server peak memory (VmHWM) {peak:.0f} MB"
    )
    for name, seconds in {"total": elapsed, **timings}.items():
        record_property(f"seconds_{name.replace(' ', '_')}", round(seconds, 2))
    record_property("peak_memory_mb", round(peak))
    assert peak < PEAK_MEMORY_BOUND_MB
