"""Two sessions again (see ``test_isolation.py``): a session that leaves the Results page and
comes back still sees its own upload, not the other session's. A file of its own, so the
suite's two browser workers run the isolation tests side by side."""

from __future__ import annotations

import pytest
from conftest import wait_for_app
from test_isolation import (
    TIMEOUT,
    Upload,
    assert_nothing_of,
    assert_results_show,
    go,
    make_upload,
    new_page,
    upload,
)


@pytest.fixture
def uploads(tmp_path) -> dict[str, Upload]:
    return {
        "a": make_upload(tmp_path, "alpha_export", ("apple", "avocado"), seed=101),
        "b": make_upload(tmp_path, "beta_export", ("banana", "blueberry"), seed=202),
    }


def test_results_keep_the_upload_after_visiting_another_page(browser, app_url, uploads):
    a_file, b_file = uploads["a"], uploads["b"]
    a, b = new_page(browser), new_page(browser)
    try:
        for page, data in ((a, a_file), (b, b_file)):
            page.goto(app_url)
            wait_for_app(page, timeout=TIMEOUT)
            go(page, "Results")
            upload(page, data)
        go(a, "Validity & decision")
        go(a, "Results")
        assert_nothing_of(a, [b_file])
        assert_results_show(a, a_file, [b_file])
    finally:
        a.context.close()
        b.context.close()
