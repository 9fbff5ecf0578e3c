"""Cheap checks first (issue 23): a CSV's line lengths and header width are read before the
parse, and the sentence says what was found.

Before, a file with one 100 MB line was parsed and called "no consistent delimiter", and a
95 MB file of 5,000 columns was parsed in full (1.9 GB, 19 s) before the 1,000-column limit
refused it. The tests hold the parse to account directly: it must never start.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from abcore import config, ingest
from abcore.errors import InputError

load_module = importlib.import_module("abcore.ingest.load")

BAD = Path(__file__).parent / "data" / "bad"


def _corpus():
    spec = importlib.util.spec_from_file_location("make_bad_files", BAD / "make_bad_files.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_bad_files"] = module
    spec.loader.exec_module(module)
    return module


corpus = _corpus()


@pytest.fixture
def no_parse(monkeypatch):
    """Fail the test if DuckDB is ever asked to sniff or read the CSV."""

    def parse(*args, **kwargs):
        raise AssertionError("the file was parsed before the cheap checks refused it")

    monkeypatch.setattr(load_module, "_create_from_csv", parse)
    monkeypatch.setattr(load_module, "_sniff", parse)


@pytest.mark.usefixtures("no_parse")
@pytest.mark.parametrize("materialize", [True, False])
def test_a_95_mb_file_of_5000_columns_is_refused_from_its_header(tmp_path, materialize):
    path = corpus.write_wide(tmp_path / "features.csv")
    assert path.stat().st_size > 90 * 2**20
    with pytest.raises(InputError) as err:
        ingest.load(ingest.connect(), path, materialize=materialize)
    assert str(err.value).startswith(
        "features.csv has 5,000 columns in its header (comma-separated); at most 1,000 are "
        "supported."
    )


@pytest.mark.usefixtures("no_parse")
def test_a_100_mb_line_is_named_with_its_number_and_length(tmp_path):
    path = corpus.write_long_line(tmp_path / "documents.csv")
    with pytest.raises(InputError) as err:
        ingest.load(ingest.connect(), path.read_bytes(), name="documents.csv")
    message = str(err.value)
    assert message.startswith("documents.csv has a line of 100 MB (line 2); lines of at most")
    assert "no consistent delimiter" not in message


@pytest.mark.usefixtures("no_parse")
def test_a_file_without_line_breaks_says_so(tmp_path):
    path = corpus.write_long_line(tmp_path / "blob.csv", 3 * 2**20, breaks=False)
    with pytest.raises(InputError, match=r"^blob\.csv has no line breaks: 3 MB without one\."):
        ingest.load(ingest.connect(), path)


@pytest.mark.usefixtures("no_parse")
def test_a_gzipped_wide_file_is_refused_from_its_header(tmp_path):
    data = gzip.compress(corpus._wide(2_000), mtime=0)
    with pytest.raises(InputError, match=r"has 2,000 columns in its header \(comma-sep"):
        ingest.load(ingest.connect(), data, name="wide.csv.gz")


@pytest.mark.usefixtures("no_parse")
def test_a_semicolon_header_is_counted_with_its_delimiter(tmp_path):
    header = ";".join(f'"c;{i}"' for i in range(1_200))  # quoted names hold the delimiter
    path = tmp_path / "semi.csv"
    path.write_text(header + "\n" + ";".join(["1"] * 1_200) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"1,200 columns in its header \(semicolon-separated\)"):
        ingest.load(ingest.connect(), path)


def test_lines_at_the_limit_and_headers_at_the_limit_still_load(tmp_path):
    width = config.INGEST_MAX_COLUMNS
    header = ",".join(["user_id", "variant"] + [f"m{i}" for i in range(width - 2)])
    rows = [",".join([str(r), "ab"[r % 2]] + ["1"] * (width - 2)) for r in range(4)]
    path = tmp_path / "at_limit.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert ingest.load(ingest.connect(), path).n_rows == 4
    long_text = "y" * (config.INGEST_MAX_LINE_BYTES - 40)
    path = tmp_path / "long_but_fine.csv"
    path.write_text(f"user_id,variant,note\r\n1,a,{long_text}\r\n2,b,short\r\n", encoding="utf-8")
    assert ingest.load(ingest.connect(), path).n_rows == 2


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_the_longest_line_is_found_across_read_blocks(chunk):
    import io

    text = b"ab\r\ncdefgh\nij\n" + b"k" * 100 + b"\nlm"
    assert load_module._longest_line(io.BytesIO(text), 10**6, chunk) == (100, 4, True)
    assert load_module._longest_line(io.BytesIO(b"x" * 50), 10**6, chunk) == (50, 1, False)
