"""The other half of the refused files of ``test_bad_uploads.py`` (every other README row):
a second file, so the suite's two browser workers upload the corpus side by side."""

from __future__ import annotations

from test_bad_uploads import half, upload_refused


def test_the_other_refused_files_are_sentences(page, app_url):
    shown = upload_refused(page, app_url, half(1))
    assert len(shown) >= 7
    assert page.console_errors == [], page.console_errors
