"""Awkward files on the Results page: each one is a sentence, never a traceback.

The files and their expected messages come from tests/data/bad/README.md (the table that
tests/test_ingest.py checks at the engine level) and tests/data/bad/warehouse/README.md
(spoiled results of the warehouse query, checked by tests/test_page_results_warehouse.py);
here every file that needs no mapping edit and must be refused is uploaded in turn, in one
browser session, through the real uploader.
Each must show an ``st.error`` matching the README's pattern and no exception box; afterwards
a good file still analyses, with the rates pandas computes from it.
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import effects_rows, wait_for_app

from sample_data.generate import make_experiment

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
READMES = (BAD, BAD / "warehouse")
UPLOAD = "[data-testid=stFileUploader] input[type=file]"
REMOVE = "[data-testid=stFileChipDeleteBtn] button"
ERROR = "[data-testid=stAlertContentError]"
TIMEOUT = 60_000
ROW = re.compile(
    r"^\| `(?P<file>[^`]+)` \|[^|]*\|(?P<edits>[^|]*)\| InputError: `(?P<pattern>.+)` \|$"
)


def refused_files() -> dict[str, str]:
    """README rows that expect an InputError with no mapping edit: the file's path under
    tests/data/bad to its pattern."""
    found = {}
    for folder in READMES:
        text = (folder / "README.md").read_text(encoding="utf-8")
        rows = (ROW.match(line.strip()) for line in text.splitlines())
        for m in rows:
            if m and not m["edits"].strip():
                found[(folder / m["file"]).relative_to(BAD).as_posix()] = m["pattern"]
    return found


def remove_files(page) -> None:
    """Empty the uploader (it adds new files to the ones it holds)."""
    while page.locator(REMOVE).count():
        page.locator(REMOVE).first.click()
        page.wait_for_timeout(300)
        wait_for_app(page, timeout=TIMEOUT)


def upload(page, path: Path, previous: str | None = None) -> None:
    """Replace the uploaded file by ``path``; with ``previous`` (the last file's error),
    wait until a different error is drawn instead of for a fixed time."""
    remove_files(page)
    page.locator(UPLOAD).set_input_files(str(path))
    page.locator(f"[data-testid=stFileChipName][title='{path.name}']").wait_for(timeout=TIMEOUT)
    if previous is None:
        page.wait_for_timeout(800)
    else:
        page.wait_for_function(
            "([sel, prev]) => { const e = document.querySelector(sel);"
            " return e !== null && e.innerText.trim() !== prev; }",
            arg=[ERROR, previous],
            timeout=TIMEOUT,
        )
    wait_for_app(page, timeout=TIMEOUT)


def errors(page) -> list[str]:
    return [e.inner_text().strip() for e in page.locator(ERROR).all()]


def test_readme_lists_the_files_this_test_uploads():
    files = refused_files()
    # The README's own wording for the files the issue names (so a README edit is noticed).
    for name in (
        "empty.csv",
        "one_arm.csv",
        "excel_as_csv.csv",
        "thousands_of_columns.csv",
        "no_variant_column.csv",
        "warehouse/warehouse_missing_column.csv",
        "warehouse/warehouse_two_mappings.csv",
    ):
        assert name in files
    assert all((BAD / name).exists() for name in files)
    assert len(files) >= 14


def half(k: int) -> dict[str, str]:
    """Every other refused file (k = 0 or 1): the corpus is uploaded by two tests, in two
    files, so the suite's two browser workers share it."""
    return {n: p for i, (n, p) in enumerate(refused_files().items()) if i % 2 == k}


def upload_refused(page, app_url, files: dict[str, str]) -> dict[str, str]:
    """Upload each file on the Results page; return the sentence each one got."""
    # From the root and the navigation: a deep URL makes the frontend probe a 404 first.
    page.goto(app_url)
    wait_for_app(page, timeout=TIMEOUT)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Results").click()
    page.wait_for_selector("h1:has-text('Results')", timeout=TIMEOUT)
    wait_for_app(page, timeout=TIMEOUT)

    shown: dict[str, str] = {}
    previous = None
    for name, pattern in files.items():
        upload(page, BAD / name, previous)
        found = errors(page)
        match = [e for e in found if re.search(pattern, e)]
        assert match, f"{name}: no error matching {pattern!r} in {found}"
        assert page.get_by_test_id("stException").count() == 0, name
        shown[name] = match[0]
        previous = found[0]
    # Each message is specific to its file, not one catch-all sentence.
    assert len(set(shown.values())) == len(shown)
    return shown


def test_every_refused_file_is_a_sentence_then_a_good_file_works(page, app_url, tmp_path):
    """Half the corpus here, the other half in test_bad_uploads_other_half.py."""
    upload_refused(page, app_url, half(0))

    good = make_experiment(4_000, seed=7)
    path = tmp_path / "good_export.csv"
    good.to_csv(path, index=False)
    upload(page, path)
    page.wait_for_selector("h3:has-text('Results: good_export.csv')", timeout=TIMEOUT)
    assert errors(page) == []
    assert page.get_by_test_id("stException").count() == 0
    rows = effects_rows(page)
    assert {"converted", "revenue", "page_load_ms"} <= set(rows)
    rates = good.groupby("variant")["converted"].mean()
    converted = rows["converted"]
    assert converted["Control"] == f"{rates['control']:.2%}"
    assert converted["Treatment"] == f"{rates['treatment']:.2%}"
    page.locator("[data-testid=stVegaLiteChart]").first.wait_for(timeout=TIMEOUT)
    assert not page.console_errors, page.console_errors
