"""Write the corpus of awkward upload files, and its README, byte for byte the same each run.

Each case is a file a real user might upload (empty, Excel saved as .csv, Latin-1, one arm,
infinite values...), the mapping edits the user would make, and what must happen: either
the file analyses fine (``expect=None``), or ``abcore.InputError`` is raised with a message
matching ``expect`` (a regular expression). ``tests/test_ingest.py`` runs every case, and
checks that the committed files equal what this script writes.

Regenerate with::

    python tests/data/bad/make_bad_files.py
"""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    """One file: its name, bytes, the mapping edits to apply, the expected outcome."""

    name: str
    data: bytes
    expect: str | None
    why: str
    overrides: dict[str, Any] = field(default_factory=dict)
    """Mapping fields to replace after detection; ``metrics`` as (name, kind) pairs or dicts."""


def _csv(text: str) -> bytes:
    return text.encode("utf-8")


def _rows(header: str, rows: list[str], newline: str = "\n") -> bytes:
    return (newline.join([header, *rows]) + newline).encode("utf-8")


def _unit_rows(n: int = 8) -> list[str]:
    return [
        f"{i + 1},{'control' if i % 2 == 0 else 'treatment'},{i % 3 == 0:d},{1.5 * i:.1f}"
        for i in range(n)
    ]


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, body in (
            ("[Content_Types].xml", "<Types/>"),
            ("xl/workbook.xml", "<workbook/>"),
            ("xl/worksheets/sheet1.xml", "<worksheet/>"),
        ):
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), body)
    return buffer.getvalue()


def _garbage() -> bytes:
    rng = random.Random(20260302)
    return bytes(rng.randrange(256) for _ in range(4096))


def _wide(columns: int = 1500) -> bytes:
    header = ",".join(["user_id", "variant"] + [f"m{i:04d}" for i in range(columns - 2)])
    rows = [",".join([str(r), "ab"[r % 2]] + ["1"] * (columns - 2)) for r in range(3)]
    return _rows(header, rows)


def write_wide(path: Path, columns: int = 5_000, target_bytes: int = 95 * 2**20) -> Path:
    """A feature dump of ``columns`` columns and about ``target_bytes`` (95 MB: the case of
    issue 23, parsed in full, 1.9 GB and 19 s, before the column limit refused it). Too big
    to commit: tests write it into their own temporary folder."""
    header = ",".join(["user_id", "variant"] + [f"m{i:04d}" for i in range(columns - 2)])
    row_tail = "," + ",".join(["1"] * (columns - 2)) + "\n"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(header + "\n")
        r, written = 0, 0
        while written < target_bytes:
            line = f"{r},{'ab'[r % 2]}{row_tail}"
            fh.write(line)
            written += len(line)
            r += 1
    return path


def write_long_line(path: Path, line_bytes: int = 100 * 2**20, *, breaks: bool = True) -> Path:
    """A CSV whose second line is ``line_bytes`` long (a text field holding a whole document),
    or, without ``breaks``, one line of that length with no line break at all."""
    with path.open("wb") as fh:
        if breaks:
            fh.write(b"user_id,variant,comment\n1,control,")
        block = b"x" * (1 << 20)
        for _ in range(line_bytes // len(block)):
            fh.write(block)
        if breaks:
            fh.write(b"\n2,treatment,short\n")
    return path


UNIT_HEADER = "user_id,variant,converted,revenue"

CASES: tuple[Case, ...] = (
    Case("empty.csv", b"", "is empty", "a zero-byte upload"),
    Case("header_only.csv", _csv(UNIT_HEADER + "\n"), "no data rows", "a header, no rows"),
    Case(
        "one_arm.csv",
        _rows(UNIT_HEADER, [f"{i},control,{i % 2},{i}.5" for i in range(1, 9)]),
        "single arm",
        "only the control arm was exported",
    ),
    Case(
        "no_variant_column.csv",
        _rows("user_id,converted,revenue", [f"{i},{i % 2},{i}.5" for i in range(1, 9)]),
        "No variant column",
        "nothing says which arm a row is in",
    ),
    Case(
        "non_numeric_metric.csv",
        _rows(UNIT_HEADER, [r.replace(",4.5", ",abc") for r in _unit_rows()]),
        r"holds text, not numbers \(e\.g\. 'abc'",
        "a word in a numeric column; the user maps it as a metric anyway",
        {"metrics": [("revenue", "continuous")]},
    ),
    Case(
        "all_missing_metric.csv",
        _rows(UNIT_HEADER, [r.rsplit(",", 1)[0] + "," for r in _unit_rows()]),
        "every row is missing",
        "the revenue column is empty; the user maps it as a metric anyway",
        {"metrics": [("revenue", "continuous")]},
    ),
    Case("binary_garbage.csv", _garbage(), "binary file", "random bytes with a .csv name"),
    Case("excel_as_csv.csv", _xlsx(), "Excel workbook", "an .xlsx workbook renamed to .csv"),
    Case(
        "latin1.csv",
        (
            "user_id,variant,city,revenue\n"
            + "".join(
                f"{i},{'AB'[i % 2]},{('Zürich', 'São Paulo', 'Köln')[i % 3]},{i}.5\n"
                for i in range(1, 9)
            )
        ).encode("latin-1"),
        None,
        "Latin-1 text (not UTF-8): read with the Latin-1 fallback",
    ),
    Case(
        "semicolon_decimal_comma.csv",
        _rows(
            "user_id;variant;converted;revenue",
            [f"{i};{'AB'[i % 2]};{i % 2};{i},{i % 10}5" for i in range(1, 9)],
        ),
        None,
        "European CSV: semicolons between fields, decimal commas",
    ),
    Case(
        "duplicate_columns.csv",
        _rows(
            "user_id,variant,revenue,revenue", [f"{i},{'AB'[i % 2]},{i},{i * 2}" for i in range(8)]
        ),
        "duplicate column names: 'revenue'",
        "two columns with the same name",
    ),
    Case(
        "unknown_control.csv",
        _rows(UNIT_HEADER, [f"{i},{('blue', 'green')[i % 2]},{i % 2},{i}.5" for i in range(8)]),
        "The control arm 'control' is not a value of 'variant'",
        "the plan says 'control' but the arms are blue and green",
        {"control": "control"},
    ),
    Case(
        "one_unit_per_arm.csv",
        _rows(UNIT_HEADER, ["1,control,1,3.5", "2,treatment,0,1.5"]),
        "has only 1 unit",
        "one user per arm: no variance",
    ),
    Case(
        "infinite_values.csv",
        _rows(UNIT_HEADER, [r.replace(",3.0", ",inf") for r in _unit_rows()]),
        "infinite values",
        "an 'inf' from a division by zero upstream",
    ),
    Case(
        "quoted_newlines.csv",
        _rows(
            "user_id,variant,comment,revenue",
            [f'{i},{"AB"[i % 2]},"line one\nline two, with a comma",{i}.5' for i in range(1, 9)],
        ),
        None,
        "a quoted text field spanning two lines: parses fine",
    ),
    Case(
        "thousands_of_columns.csv",
        _wide(),
        r"1,500 columns in its header \(comma-separated\); at most 1,000",
        "a feature dump, not an experiment export (its header is counted before the parse)",
    ),
    Case(
        "ragged_rows.csv",
        _rows(UNIT_HEADER, ["1,control,1,2.5", "2,treatment,0,1.5,7", "3,control,1"]),
        "(different number of fields|could not be split)",
        "rows with missing and extra fields",
    ),
    Case(
        "no_header.csv",
        _rows("1,0,1,2.5", ["2,1,0,1.5", "3,0,1,4.5"]),
        "no header row",
        "the first line is data",
    ),
    Case(
        "html_page.csv",
        _csv("<!DOCTYPE html>\n<html><body><table><tr><td>1</td></tr></table></body></html>\n"),
        "web page",
        "a 'Save link as' that saved the page around the file",
    ),
    Case(
        "single_column.csv",
        _rows("user_id", [str(i) for i in range(8)]),
        "single column",
        "only one column",
    ),
    Case(
        "user_id_as_variant.csv",
        _rows(UNIT_HEADER, _unit_rows(40)),
        "40 different values; a variant column names 2 to 10 arms",
        "the user picks the user id as the variant",
        {"variant": "user_id"},
    ),
    Case(
        "aggregated_missing_sum_sq.csv",
        _rows("variant,n,revenue_sum", ["control,1000,5230.5", "treatment,1010,5391.0"]),
        "needs sum_column and sum_sq_column",
        "per-arm sums without sums of squares: the variance is unknown",
        {"metrics": [{"name": "revenue", "kind": "continuous", "sum_column": "revenue_sum"}]},
    ),
    Case(
        "tab_separated.tsv",
        _rows("user_id\tvariant\tconverted", [f"{i}\t{'AB'[i % 2]}\t{i % 2}" for i in range(8)]),
        None,
        "tab-separated",
    ),
    Case(
        "pipe_separated.txt",
        _rows("user_id|variant|converted", [f"{i}|{'AB'[i % 2]}|{i % 2}" for i in range(8)]),
        None,
        "pipe-separated, .txt name",
    ),
    Case(
        "utf8_bom_crlf.csv",
        b"\xef\xbb\xbf" + _rows(UNIT_HEADER, _unit_rows(), newline="\r\n"),
        None,
        "Excel's 'CSV UTF-8': a byte-order mark and CRLF line ends",
    ),
    Case(
        "utf16.csv",
        "\n".join([UNIT_HEADER, *_unit_rows()]).encode("utf-16"),
        None,
        "UTF-16 with a byte-order mark (Excel's 'Unicode text')",
    ),
    Case(
        "yes_no_booleans.csv",
        _rows(
            "user_id,variant,converted,churned",
            [
                f"{i},{'AB'[i % 2]},{('yes', 'No')[i % 2]},{('TRUE', 'false')[i % 3 == 0]}"
                for i in range(8)
            ],
        ),
        None,
        "yes/no and TRUE/false text read as booleans",
    ),
    Case(
        "na_tokens.csv",
        _rows(
            UNIT_HEADER,
            [r if i % 3 else r.rsplit(",", 1)[0] + ",NA" for i, r in enumerate(_unit_rows())],
        ),
        None,
        "R's NA for missing numbers",
    ),
    Case(
        "gzipped.csv.gz",
        gzip.compress(_rows(UNIT_HEADER, _unit_rows()), mtime=0),
        None,
        "a gzip-compressed CSV",
    ),
)


def readme() -> str:
    lines = [
        "# Awkward upload files",
        "",
        "Generated by `make_bad_files.py` (run it to rewrite them; the test suite checks that",
        "the committed files match). `tests/test_ingest.py` loads each file, detects the schema,",
        "applies the mapping edits listed and computes the statistics: files with an expected",
        "message must raise `abcore.InputError` matching it; files marked *analyses* must go",
        "through.",
        "",
        "| file | what it is | mapping edits | expected |",
        "|---|---|---|---|",
    ]
    for case in CASES:
        edits = ", ".join(f"{k}={v!r}" for k, v in case.overrides.items()) or ""
        expect = f"InputError: `{case.expect}`" if case.expect else "analyses"
        lines.append(f"| `{case.name}` | {case.why} | {edits} | {expect} |")
    return "\n".join(lines) + "\n"


def write_all(directory: Path = HERE) -> list[Path]:
    """Write every case and the README into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in CASES:
        path = directory / case.name
        path.write_bytes(case.data)
        paths.append(path)
    (directory / "README.md").write_text(readme(), encoding="utf-8")
    return [*paths, directory / "README.md"]


if __name__ == "__main__":
    for written in write_all():
        print(written.name)
