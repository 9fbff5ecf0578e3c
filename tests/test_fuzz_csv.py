"""A stream of random CSV files through the whole readout: nothing but InputError comes out.

Whatever a user uploads (ragged rows, stray quotes, a BOM, semicolons, Latin-1, binary junk,
empty columns, one arm, text in a number column, dates in three formats), ``abcore.analyze``
either reads it or raises :class:`abcore.InputError` with a sentence: the page shows that
sentence, never a traceback.

Each example costs one DuckDB connection and a full analysis (40 ms on average), so the
suite draws ``ABCORE_FUZZ_EXAMPLES`` files (default 300, 12 s); ``make fuzz`` draws 10,000
(about 7 minutes). Without a Hypothesis database every run draws new files.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abcore
from abcore import InputError

EXAMPLES = int(os.environ.get("ABCORE_FUZZ_EXAMPLES", "300"))

NAMES = [
    "variant",
    "group",
    "user_id",
    "converted",
    "revenue",
    "pre_revenue",
    "date",
    "platform",
    "clicks",
    "sessions",
    "users",
    "conversions",
    "",
    'we"ird',
    "a,b",
    "Ünïcödé",
    "=SUM(A1)",
    "1",
    "variant",  # a duplicate header
]

CELLS = st.one_of(
    st.sampled_from(["control", "treatment", "a", "b", "A", "B ", "ctrl", ""]),
    st.integers(-5, 5).map(str),
    st.integers(-(2**63), 2**63).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["TRUE", "false", "yes", "N", "NA", "null", "-", "#N/A", "nan", "inf"]),
    st.sampled_from(["2026-03-02", "03/04/2026", "Sat, Oct 11", "2026-13-45", "12:00"]),
    st.sampled_from(['"quoted, cell"', '"unterminated', "1,5", "1.234,5", "€12", "1e400"]),
    st.text(max_size=6),
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """Bytes of a CSV-like file and the variant column name a user would pick."""
    if draw(st.integers(0, 30)) == 0:
        return draw(st.binary(max_size=200)), "variant"
    width = draw(st.integers(1, 6))
    header = [draw(st.sampled_from(NAMES)) for _ in range(width)]
    if draw(st.booleans()):
        header[0] = "variant"
    sep = draw(st.sampled_from([",", ",", ";", "\t", "|"]))
    rows = []
    for _ in range(draw(st.integers(0, 40))):
        cells = [draw(CELLS) for _ in range(width + draw(st.sampled_from([0, 0, 0, -1, 1])))]
        rows.append(sep.join(cells))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join([sep.join(header), *rows]) + draw(st.sampled_from(["", newline]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    variant = draw(st.sampled_from([*header, "variant", "missing_column"]))
    return data, variant


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(csv_files())
def test_random_csvs_raise_nothing_but_input_error(file: tuple[bytes, str]) -> None:
    data, variant = file
    message = "read"
    try:
        abcore.analyze(data, variant=variant)
    except InputError as exc:
        message = str(exc).strip()
    assert message, "an InputError must carry a sentence"
