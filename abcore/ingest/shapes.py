"""Files with every arm on one row, read as one row per arm.

A common export of experiment platforms holds, per experiment × metric × time, both arms
side by side: ``count_c, count_t, mean_c, mean_t, variance_c, variance_t`` (the ASOS Digital
Experiments Dataset's layout; ``_control/_treatment``, ``_a/_b`` and prefixes such as
``control_users`` are read the same way). Read as it is, each row would be a unit and an id
column an arm. :func:`load` turns such a file into per-arm totals right after reading it,
so detection, preparation and the statistics see the per-arm shape they know:

- a column naming the treatment variant of each row (``variant_id``) labels the treatment
  rows, the control's numbers being taken once;
- counts that only grow along a time column are cumulative snapshots: the last one holds
  the whole test and is the one read;
- columns that tell several experiments or metrics apart are named in
  ``Mapping.id_columns``; one of each is kept with a row filter (:func:`prepare`), and the
  statistics refuse to add several up.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from abcore.detect_sql import distinct_counts_sql
from abcore.ingest._base import Dataset
from abcore.ingest._run import _run, _run_data, _with_table
from abcore.ingest.findings import id_sentence
from abcore.ingest.load import _table_columns
from abcore.ingest.load import load as _load_file
from abcore.load_sql import count_rows_sql, create_table_as_sql
from abcore.model import Mapping, MetricMapping
from abcore.prepare_sql import cumulative_sql, last_time_sql, long_form_sql
from abcore.sql import drop_sql, normalize_name

__all__ = [
    "WideLayout",
    "load",
    "long_form",
    "side_by_side_sentence",
    "wide_layout",
    "wide_mapping",
]

_CONTROL_AFFIXES = {"c": "control", "control": "control", "ctrl": "control", "a": "A"}
_CONTROL_AFFIXES |= {"base": "baseline", "baseline": "baseline"}
_TREATMENT_AFFIXES = {"t": "treatment", "treatment": "treatment", "treat": "treatment"}
_TREATMENT_AFFIXES |= {"trt": "treatment", "test": "test", "variant": "variant", "b": "B"}
_LETTERS = {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}
_STATS = {
    "n": "n",
    "count": "n",
    "users": "n",
    "visitors": "n",
    "units": "n",
    "sample_size": "n",
    "samples": "n",
    "participants": "n",
    "exposures": "n",
    "observations": "n",
    "trials": "n",
    "size": "n",
    "mean": "mean",
    "avg": "mean",
    "average": "mean",
    "rate": "mean",
    "variance": "variance",
    "var": "variance",
    "sd": "sd",
    "std": "sd",
    "stdev": "sd",
    "stddev": "sd",
    "std_dev": "sd",
    "sum": "sum",
    "sum_sq": "sum_sq",
    "sumsq": "sum_sq",
    "sum_squares": "sum_sq",
    "sum_of_squares": "sum_sq",
    "conversions": "conversions",
    "successes": "conversions",
    "converted": "conversions",
}
_TIME_TOKENS = {"time", "date", "day", "days", "ts", "timestamp", "datetime", "week", "hour"}
_TREATMENT_ID_TOKENS = {"variant", "variation", "arm", "treatment", "bucket", "cell"}


@dataclass(frozen=True)
class WideLayout:
    """How a file with every arm on one row maps to one row per arm.

    ``arms`` is ``[(label, affix), ...]``, the control first; ``stats`` is ``{(metric,
    stat): {affix: column}}``; ``keys`` are the other columns (ids, time), ``time`` the one
    among them that orders snapshots, ``treatment_id`` the one naming each row's treatment.
    """

    arms: tuple[tuple[str, str], ...]
    stats: dict[tuple[str, str], dict[str, str]]
    keys: tuple[str, ...]
    time: str | None
    treatment_id: str | None


def _split(name: str) -> tuple[str, str, str] | None:
    """``(affix, metric, stat)`` of a column named like ``revenue_mean_t`` or ``c_count``."""
    tokens = normalize_name(name).split("_")
    if len(tokens) < 2:
        return None
    affixes = {**_CONTROL_AFFIXES, **_TREATMENT_AFFIXES, **_LETTERS}
    for affix, rest in ((tokens[-1], tokens[:-1]), (tokens[0], tokens[1:])):
        if affix not in affixes:
            continue
        for cut in range(len(rest)):
            stat = "_".join(rest[cut:])
            if stat in _STATS:
                return affix, "_".join(rest[:cut]), _STATS[stat]
            stat = "_".join(rest[: len(rest) - cut])
            if stat in _STATS:
                return affix, "_".join(rest[len(rest) - cut :]), _STATS[stat]
    return None


def wide_layout(columns: Sequence[tuple[str, str]]) -> WideLayout | None:
    """The layout of a file with every arm on one row, or None when it is not one.

    It is one when at least two arm affixes (``_c``/``_t``, ``_control``/``_treatment``,
    ``_a``/``_b``...), one of them a control's, carry the same statistics, among them a
    count of units and a mean, sum or number of conversions.

    >>> cols = [(n, "DOUBLE") for n in ("count_c", "count_t", "mean_c", "mean_t")]
    >>> wide_layout([("experiment_id", "VARCHAR"), *cols]).arms
    (('control', 'c'), ('treatment', 't'))
    >>> wide_layout([("revenue_a", "DOUBLE"), ("revenue_b", "DOUBLE")]) is None
    True
    """
    by_affix: dict[str, dict[tuple[str, str], str]] = {}
    for name, _ in columns:
        split = _split(name)
        if split is not None:
            affix, metric, stat = split
            by_affix.setdefault(affix, {})[(metric, stat)] = name
    # with letters, c is the third arm, not the control
    first = next((a for a in _CONTROL_AFFIXES if a in by_affix), None)
    control = "a" if "a" in by_affix else first
    if control is None:
        return None
    keys = set(by_affix[control])
    stats_found = {s for _, s in keys}
    if "n" not in stats_found or not stats_found & {"mean", "sum", "conversions"}:
        return None
    letters = control == "a"
    others = [
        a
        for a in by_affix
        if a != control
        and set(by_affix[a]) == keys
        and (a in _LETTERS if letters else a in _TREATMENT_AFFIXES and a not in _LETTERS)
    ]
    if not others:
        return None
    label = _LETTERS if letters else {**_CONTROL_AFFIXES, **_TREATMENT_AFFIXES}
    arms = ((label[control], control), *((label[a], a) for a in sorted(others)))
    used = {c for _, a in arms for c in by_affix[a].values()}
    rest = [(n, t) for n, t in columns if n not in used]
    time = next(
        (n for n, _ in rest if set(normalize_name(n).split("_")) & _TIME_TOKENS),
        None,
    )
    treatment_id = None
    if len(arms) == 2:
        treatment_id = next(
            (
                n
                for n, _ in rest
                if n != time and set(normalize_name(n).split("_")) & _TREATMENT_ID_TOKENS
            ),
            None,
        )
    stats = {k: {a: by_affix[a][k] for _, a in arms} for k in sorted(keys)}
    return WideLayout(arms, stats, tuple(n for n, _ in rest), time, treatment_id)


def side_by_side_sentence(columns: Sequence[tuple[str, str]]) -> str | None:
    """A sentence for a file whose rows hold arms side by side in a way :func:`wide_layout`
    cannot read (no count of units per arm), naming what to add; None otherwise.

    >>> side_by_side_sentence([("mean_c", "DOUBLE"), ("mean_t", "DOUBLE")])[:60]
    'Each row holds the arms side by side (mean_c, mean_t) but no'
    """
    by_affix: dict[str, list[str]] = {}
    for name, _ in columns:
        split = _split(name)
        if split is not None:
            by_affix.setdefault(split[0], []).append(name)
    control = next((a for a in _CONTROL_AFFIXES if a in by_affix), None)
    other = next((a for a in by_affix if a != control), None)
    if control is None or other is None:
        return None
    shown = ", ".join(by_affix[control][:2] + by_affix[other][:2])
    return (
        f"Each row holds the arms side by side ({shown}) but no count of units per arm: add "
        f"one per arm (count_{control}, count_{other}), or upload one row per unit with a "
        "column naming its arm."
    )


def _out_name(metric: str, stat: str) -> str:
    return "n" if stat == "n" else f"{metric or 'metric'}_{stat}"


def long_form(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> Dataset:
    """``dataset`` with one row per arm when it holds every arm on one row; else itself.

    The new table replaces the upload's (dropped: its numbers are all in the new one), and
    ``dataset.facts["wide"]`` keeps what :func:`wide_mapping` needs and the sentences.
    """
    layout = wide_layout(dataset.columns)
    if layout is None:
        return dataset
    taken = {normalize_name(k) for k in layout.keys}
    variant = next(v for v in ("variant", "arm", "ab_arm", "__ab_arm") if v not in taken)
    arms = [
        (label, [(cols[affix], _out_name(m, s)) for (m, s), cols in layout.stats.items()])
        for label, affix in layout.arms
    ]
    table = f"long_{uuid.uuid4().hex}"
    sql = long_form_sql(
        dataset.table, layout.keys, arms, variant=variant, treatment_id=layout.treatment_id
    )
    _with_table(con, dataset, lambda: _run_data(con, dataset, create_table_as_sql(table, sql)))
    pairs = ", ".join("/".join(cols[a] for _, a in layout.arms) for cols in layout.stats.values())
    notes = [
        f"Each row holds every arm side by side ({pairs}): the file is read as totals per "
        f"arm, with '{layout.arms[0][0]}' (the _{layout.arms[0][1]} columns) as the control."
    ]
    cumulative = False
    if layout.time is not None:
        group = [k for k in layout.keys if k != layout.time] + [variant]
        never_falls, grows, times = _run(
            con, cumulative_sql(table, group, layout.time, "n")
        ).fetchall()[0]
        if never_falls and grows and times > 1:
            cumulative = True
            last = f"long_{uuid.uuid4().hex}"
            _run(con, create_table_as_sql(last, last_time_sql(table, group, layout.time)))
            _run(con, drop_sql(table))
            table = last
            notes.append(
                f"The counts only grow along '{layout.time}': each row is a running total, so "
                "the last one (the whole test) is read."
            )
    if not dataset.in_place:
        _run(con, drop_sql(dataset.table))
    n_rows = int(_run(con, count_rows_sql(table)).fetchall()[0][0])
    out = Dataset(
        table=table,
        columns=tuple(_table_columns(con, table)),
        n_rows=n_rows,
        source=dataset.source,
    )
    out.facts["wide"] = {
        "variant": variant,
        "control": layout.arms[0][0],
        "metrics": sorted({m for m, _ in layout.stats}),
        "stats": sorted({(m, s) for m, s in layout.stats}),
        "time": None if cumulative else layout.time,
        "keys": [k for k in layout.keys if k not in (layout.time, layout.treatment_id)],
        "notes": notes,
    }
    return out


def load(con: duckdb.DuckDBPyConnection, source: Any, **kwargs: Any) -> Dataset:
    """:func:`abcore.ingest.load.load`, then :func:`long_form`: a file with every arm on
    one row comes back with one row per arm (see the module's docstring)."""
    return long_form(con, _load_file(con, source, **kwargs))


def wide_mapping(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> Mapping:
    """The mapping of a file :func:`long_form` turned into one row per arm.

    Every role is known from the column names, so nothing is guessed. Key columns with more
    than one value (several experiments or metrics) are named in ``id_columns`` with a
    sentence: one of each must be kept with a row filter before the file can be read.
    """
    wide = dataset.facts["wide"]
    stats = {tuple(x) for x in wide["stats"]}
    notes = list(wide["notes"])
    metrics = []
    for m in wide["metrics"]:
        name = m or "metric"
        has = {s for mm, s in stats if mm == m}
        col = {s: _out_name(m, s) for s in has}
        if "mean" in has and ("variance" in has or "sd" in has):
            metrics.append(
                MetricMapping(
                    name,
                    "continuous",
                    mean_column=col["mean"],
                    variance_column=col.get("variance"),
                    sd_column=None if "variance" in has else col["sd"],
                )
            )
        elif "sum" in has and "sum_sq" in has:
            metrics.append(
                MetricMapping(
                    name, "continuous", sum_column=col["sum"], sum_sq_column=col["sum_sq"]
                )
            )
        elif "conversions" in has or "sum" in has:
            metrics.append(
                MetricMapping(name, "binary", sum_column=col.get("conversions", col.get("sum")))
            )
        elif "mean" in has:
            metrics.append(MetricMapping(name, "binary", mean_column=col["mean"]))
    keys = list(wide["keys"])
    ids: tuple[str, ...] = ()
    if keys:
        counts = _run(
            con, distinct_counts_sql(dataset.table, [(k, False) for k in keys])
        ).fetchall()[0]
        several = [(k, int(c)) for k, c in zip(keys, counts, strict=True) if c > 1]
        ids = tuple(k for k, _ in several)
        if several:
            notes.append(id_sentence(several))
    timestamp = wide["time"]
    dated = timestamp is not None and dataset.types[timestamp].upper().startswith(
        ("DATE", "TIMESTAMP")
    )
    return Mapping(
        shape="daily" if dated else "aggregated",
        variant=wide["variant"],
        control=wide["control"],
        timestamp=timestamp if dated else None,
        metrics=tuple(metrics),
        n_column="n",
        notes=tuple(notes),
        id_columns=ids,
    )
