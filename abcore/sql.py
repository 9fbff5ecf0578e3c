"""The readout's queries, as pure generators: arguments in, ``(sql, params)`` out.

Nothing here touches a database, so the same query can run in DuckDB (the embedded default),
or, with the few DuckDB-isms noted below, in a warehouse where the data lives. Identifiers are
always double-quoted with embedded quotes doubled; values (percentiles, segment names, file
labels) always travel as ``$n`` parameters, never spliced into the text. The module holds
the sufficient statistics and checks of a readout and the quoting every query shares
(:func:`quote_ident`, :func:`table_ref`). The other queries, under the same rules, sit with
their concern: schema detection in :mod:`abcore.detect_sql`, loading an upload in
:mod:`abcore.load_sql`, the funnel of an event log in :mod:`abcore.funnel_sql`, the Model
launch readers in :mod:`abcore.launch.sql`.

The :class:`Mapping` says which column plays which role (:mod:`abcore.model`). It is the
user-editable output of schema detection (:func:`abcore.ingest.detect_schema`) and the only
input of the statistics' generators.

>>> m = Mapping(variant="group", metrics=(MetricMapping("converted", "binary"),))
>>> sql, params = sufficient_stats_sql("t", m)
>>> '"group"' in sql and "GROUPING SETS" in sql, params
(True, [])
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Any

from abcore import config
from abcore._checks import check_scalar
from abcore.capping import Capping
from abcore.model import (
    MOMENT_N,
    Mapping,
    MetricMapping,
    stat_column,
)

__all__ = [
    "cap_percentiles",
    "capped_mapping",
    "cell_checks_sql",
    "cell_count_sql",
    "finest_stats_sql",
    "normalize_name",
    "quote_ident",
    "rollup_stats_sql",
    "sufficient_stats_sql",
    "unit_checks_sql",
    "unit_day_checks_sql",
    "value_checks_sql",
]

DAY_ORDER = "__ab_day_order"
"""Extra output column (day labels only): the first row of each day, for file order."""


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL: wrap in double quotes, double any embedded quote.

    >>> quote_ident('a"b')
    '"a""b"'
    >>> quote_ident("x; DROP TABLE t")
    '"x; DROP TABLE t"'
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"identifier must be a non-empty string, got {name!r}.")
    if "\x00" in name:
        raise ValueError("identifier must not contain a NUL character.")
    return '"' + name.replace('"', '""') + '"'


def table_ref(table: str | Sequence[str]) -> str:
    """A table as one quoted identifier, or a qualified name given as a sequence of parts."""
    if isinstance(table, str):
        return quote_ident(table)
    return ".".join(quote_ident(part) for part in table)


class _Params:
    """Collects parameter values and hands out ``$n`` placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def cap_percentiles(mapping: Mapping, cap: float | dict[str, float] | None) -> dict[str, float]:
    """Resolve ``cap`` to ``{metric: percentile}`` for the continuous metrics it applies to.

    A single number caps every continuous metric; a dict caps the named ones. Capping only
    applies to unit-level rows (an aggregate cannot be capped after the fact).

    >>> m = Mapping(variant="v", metrics=[MetricMapping("x", "continuous"),
    ...                                   MetricMapping("b", "binary")])
    >>> cap_percentiles(m, 0.99)
    {'x': 0.99}
    """
    if cap is None:
        return {}
    if isinstance(cap, dict):
        wanted = dict(cap)
        for name in wanted:
            if not mapping.metric(name).metric_kind.cappable:
                raise ValueError(f"cap applies to continuous metrics only, not {name!r}.")
    else:
        wanted = {m.name: cap for m in mapping.metrics if m.metric_kind.cappable}
    for name, value in wanted.items():
        check_scalar(value, f"cap[{name!r}]", gt=0, lt=1)
    if wanted and mapping.is_aggregated:
        raise ValueError("cap needs unit-level rows; it cannot apply to an aggregated shape.")
    return {k: float(v) for k, v in wanted.items()}


def capped_mapping(mapping: Mapping, cap: float | dict[str, float] | None = None) -> Mapping:
    """The mapping with the old page's shortcut ``cap`` (one pooled upper percentile as a
    fraction, 0.99, for every continuous metric, or ``{metric: fraction}``) written into
    each metric's own :class:`~abcore.capping.Capping`; a metric that has its own capping
    keeps it. Checks that any capping applies: unit-level rows only.

    >>> m = Mapping(variant="v", metrics=[MetricMapping("x", "continuous")])
    >>> capped_mapping(m, 0.99).metrics[0].capping
    Capping(lower=None, upper=99.0, kind='percentile', ignore_zeros=False)
    """
    wanted = cap_percentiles(mapping, cap) if cap is not None else {}
    metrics = tuple(
        m
        if m.capping is not None or m.name not in wanted
        else dataclasses.replace(m, capping=Capping.pooled_percentile(wanted[m.name]))
        for m in mapping.metrics
    )
    if mapping.is_aggregated and any(m.capping is not None for m in metrics):
        raise ValueError("capping needs unit-level rows; it cannot apply to an aggregated shape.")
    return mapping if metrics == mapping.metrics else dataclasses.replace(mapping, metrics=metrics)


def _cappings(mapping: Mapping) -> dict[str, Capping]:
    return {m.name: m.capping for m in mapping.metrics if m.capping is not None}


def _resolve_by(mapping: Mapping, by: Iterable[str]) -> tuple[bool, tuple[str, ...]]:
    """``by`` → (whether to add the day level, the segment columns to break down by)."""
    if isinstance(by, str):
        by = (by,)
    by = tuple(by)
    day, segments = False, []
    for item in by:
        if item == "variant":
            continue
        if item == "day":
            if mapping.timestamp is None:
                raise ValueError("by includes 'day' but the mapping has no timestamp column.")
            day = True
        elif item == "segments":
            segments.extend(mapping.segments)
        elif item in mapping.segments:
            segments.append(item)
        else:
            allowed = ["variant", "day", "segments", *mapping.segments]
            raise ValueError(f"by must hold items of {allowed}, got {item!r}.")
    return day, tuple(dict.fromkeys(segments))


def _day_expr(mapping: Mapping) -> str:
    col = quote_ident(str(mapping.timestamp))
    return f"CAST({col} AS VARCHAR)" if mapping.day_label else f"CAST({col} AS DATE)"


def _require_variant(mapping: Mapping) -> str:
    if not mapping.variant:
        raise ValueError("mapping.variant must name the column that holds the arm.")
    return quote_ident(mapping.variant)


def _key_columns(mapping: Mapping, day: bool, segments: Sequence[str], row: bool) -> list[str]:
    """Projection of the grouping keys from the base table."""
    cols = [f"CAST({quote_ident(str(mapping.variant))} AS VARCHAR) AS __ab_variant"]
    if day:
        cols.append(f"{_day_expr(mapping)} AS __ab_day")
    cols += [f"CAST({quote_ident(s)} AS VARCHAR) AS __ab_seg{j}" for j, s in enumerate(segments)]
    if row:
        cols.append("rowid AS __ab_row")  # DuckDB's row position: day labels keep file order
    return cols


def _d(column: str | None) -> str:
    return f"CAST({quote_ident(str(column))} AS DOUBLE)"


def _unit_values(mapping: Mapping) -> list[str]:
    """Per-metric row values of unit-level data: ``__ab_y{i}`` and, for pairs, ``__ab_x{i}``."""
    cols = []
    for i, m in enumerate(mapping.metrics):
        if m.metric_kind.pair:
            cols += [f"{_d(m.numerator)} AS __ab_y{i}", f"{_d(m.denominator)} AS __ab_x{i}"]
        else:
            cols.append(f"{_d(m.column)} AS __ab_y{i}")
            if m.covariate is not None:
                cols.append(f"{_d(m.covariate)} AS __ab_x{i}")
        cols += [f"{_d(c)} AS __ab_c{i}_{j}" for j, c in enumerate(m.covariates)]
    return cols


def _aggregate_values(mapping: Mapping) -> list[str]:
    """Per-metric row values of aggregated data: sums ``__ab_s{i}``/``__ab_ss{i}`` or pairs."""
    n = _d(mapping.n_column) if mapping.n_column else "1.0"
    cols = [f"{n} AS __ab_n"]
    for i, m in enumerate(mapping.metrics):
        if m.metric_kind.pair and not m.adjusters:
            cols += [f"{_d(m.numerator)} AS __ab_y{i}", f"{_d(m.denominator)} AS __ab_x{i}"]
            continue
        if m.adjusters:
            raise ValueError(
                f"metric {m.name!r}: CUPED (covariate) needs unit-level rows, not aggregates."
            )
        if mapping.n_column is None:
            raise ValueError(
                f"metric {m.name!r}: an aggregated {m.kind} metric needs mapping.n_column."
            )
        s, ss = _aggregate_sums(m, n)
        cols += [f"{s} AS __ab_s{i}", f"{ss} AS __ab_ss{i}"]
    return cols


def _aggregate_sums(m: MetricMapping, n: str) -> tuple[str, str]:
    """Row-level sum and sum-of-squares expressions from whichever columns the metric has."""
    if m.sum_column is not None:
        s = _d(m.sum_column)
        if m.sum_sq_column is not None:
            return s, _d(m.sum_sq_column)
        if m.metric_kind.zero_one:
            return s, s
    elif m.mean_column is not None:
        mean = _d(m.mean_column)
        s = f"({n} * {mean})"
        if m.metric_kind.zero_one and m.sd_column is None and m.variance_column is None:
            return s, s
        if m.sd_column is not None:
            var = f"({_d(m.sd_column)} * {_d(m.sd_column)})"
        elif m.variance_column is not None:
            var = _d(m.variance_column)
        else:
            var = None
        if var is not None:
            return s, f"({var} * ({n} - 1) + {n} * {mean} * {mean})"
    raise ValueError(
        f"metric {m.name!r}: an aggregated {m.kind} metric needs sum_column and sum_sq_column, "
        "or mean_column and sd_column/variance_column"
        + (
            ", or just sum_column (conversions) or mean_column (the rate)."
            if m.metric_kind.zero_one
            else "."
        )
    )


def _clipped(i: int, capping: Capping) -> str:
    """A row's value clipped into its bounds. A CASE, not LEAST/GREATEST: those skip NULLs in
    DuckDB, so a missing value would become the bound. A bound that came to NULL (a
    percentile of no value) clips nothing; with ``ignore_zeros`` a zero stays zero."""
    y = f"__ab_y{i}"
    whens = [f"WHEN {y} = 0 THEN {y}"] if capping.ignore_zeros else []
    if capping.upper is not None:
        whens.append(f"WHEN {y} > __ab_cap{i} THEN __ab_cap{i}")
    if capping.lower is not None:
        whens.append(f"WHEN {y} < __ab_lo{i} THEN __ab_lo{i}")
    return f"CASE {' '.join(whens)} ELSE {y} END"


def _bound_columns(i: int, capping: Capping) -> list[str]:
    return [
        name
        for name, bound in ((f"__ab_cap{i}", capping.upper), (f"__ab_lo{i}", capping.lower))
        if bound is not None
    ]


def _capped_values(mapping: Mapping, caps: dict[str, Capping], aggregated: bool) -> list[str]:
    """Second projection: caps applied, pairs restricted to rows where both sides exist."""
    cols = []
    for i, m in enumerate(mapping.metrics):
        if aggregated and not m.metric_kind.pair:
            cols += [f"__ab_s{i}", f"__ab_ss{i}"]
            continue
        y = f"__ab_y{i}"
        if m.name in caps:
            y = _clipped(i, caps[m.name])
            cols += _bound_columns(i, caps[m.name])
        cols.append(f"{y} AS __ab_y{i}")
        if m.is_pair:
            ok = f"__ab_y{i} IS NOT NULL AND __ab_x{i} IS NOT NULL"
            cols += [
                f"__ab_x{i}",
                f"CASE WHEN {ok} THEN {y} END AS __ab_py{i}",
                f"CASE WHEN {ok} THEN __ab_x{i} END AS __ab_px{i}",
            ]
        cols += _moment_values(i, m, y)
    return cols


def _moment_variables(i: int, m: MetricMapping) -> list[str]:
    """The row variables of a regression-adjusted metric: its value (a ratio's numerator
    and denominator), then its covariates."""
    own = [f"__ab_y{i}", f"__ab_x{i}"] if m.metric_kind.pair else [f"__ab_y{i}"]
    return own + [f"__ab_c{i}_{j}" for j in range(len(m.covariates))]


def _moment_values(i: int, m: MetricMapping, y: str) -> list[str]:
    """``__ab_m<i>_<j>``: each variable on the rows where all are present (else NULL), the
    value capped; and the covariates passed on for a unit roll-up."""
    if not m.moments:
        return []
    names = _moment_variables(i, m)
    ok = " AND ".join(f"{v} IS NOT NULL" for v in names)
    exprs = [y, *names[1:]]
    out = [f"CASE WHEN {ok} THEN {e} END AS __ab_m{i}_{j}" for j, e in enumerate(exprs)]
    return [*out, *(f"__ab_c{i}_{j}" for j in range(len(m.covariates)))]


def _stat_quoter(metric: str) -> Any:
    def q(stat: str) -> str:
        return quote_ident(stat_column(metric, stat))

    return q


Shifts = dict[str, tuple[str | None, ...]]
"""Per metric, the placeholders of the constants its y and x sums (then its covariates')
are taken around."""


def _shift_params(
    mapping: Mapping, shifts: dict[str, tuple[float, ...]] | None, params: _Params
) -> Shifts:
    """Placeholders for the shifts of :class:`~abcore.model.Aggregates` (bound, not spliced):
    a metric's sums are then of ``value - shift``, whose squares keep the digits that raw
    squares lose when the mean dwarfs the spread. Unit-level rows only."""
    out: Shifts = {}
    for m in mapping.metrics:
        values = tuple((shifts or {}).get(m.name, ()))
        if any(values):
            out[m.name] = tuple(params.add(float(k)) if k else None for k in values)
    return out


def _minus(value: str, shift: str | None) -> str:
    return f"({value} - {shift})" if shift else value


def _metric_aggregates(
    mapping: Mapping, caps: dict[str, Capping], aggregated: bool, shifts: Shifts | None = None
) -> list[str]:
    """Outer aggregates: the sufficient statistics of every metric (sums around its shifts)."""
    cols = []
    for i, m in enumerate(mapping.metrics):
        q = _stat_quoter(m.name)
        ky, kx, *kc = (*(shifts or {}).get(m.name, ()), None, None)
        if aggregated and not m.metric_kind.pair:
            cols += [
                f"sum(CASE WHEN __ab_s{i} IS NOT NULL THEN __ab_n END) AS {q('n')}",
                f"sum(__ab_s{i}) AS {q('sum')}",
                f"sum(__ab_ss{i}) AS {q('sum_sq')}",
            ]
            continue
        y = _minus(f"__ab_y{i}", ky)
        if not m.metric_kind.pair:
            cols += [f"count(__ab_y{i}) AS {q('n')}", f"sum({y}) AS {q('sum')}"]
            cols.append(f"sum({y} * {y}) AS {q('sum_sq')}")
        if m.is_pair:  # complete pairs only: __ab_py / __ab_px are NULL unless both exist
            py, px = _minus(f"__ab_py{i}", ky), _minus(f"__ab_px{i}", kx)
            cols += [
                f"count(__ab_py{i}) AS {q('pair_n')}",
                f"sum({py}) AS {q('sum_y')}",
                f"sum({py} * {py}) AS {q('sum_y_sq')}",
                f"sum({px}) AS {q('sum_x')}",
                f"sum({px} * {px}) AS {q('sum_x_sq')}",
                f"sum({py} * {px}) AS {q('sum_xy')}",
            ]
        cols += _moment_aggregates(i, m, [ky, kx, *kc])
        if m.name in caps:
            cols += [
                f"max({b}) AS {q('cap' if b.startswith('__ab_cap') else 'floor')}"
                for b in _bound_columns(i, caps[m.name])
            ]
    return cols


def _moment_aggregates(i: int, m: MetricMapping, shifts: Sequence[str | None]) -> list[str]:
    """The moments of :func:`abcore.model.moment_fields`, each variable around its shift
    (``shifts``: the value's, the denominator's, then the covariates')."""
    k = m.moments
    if not k:
        return []
    q = _stat_quoter(m.name)
    own = 2 if m.metric_kind.pair else 1
    padded = [*shifts, *([None] * (2 + k))]
    keys = [*padded[:own], *padded[2 : 2 + k - own]]
    v = [_minus(f"__ab_m{i}_{j}", keys[j]) for j in range(k)]
    cols = [f"count(__ab_m{i}_0) AS {q(MOMENT_N)}"]
    cols += [f"sum({v[j]}) AS {q(f'mom_s{j}')}" for j in range(k)]
    cols += [f"sum({v[a]} * {v[b]}) AS {q(f'mom_c{a}_{b}')}" for a in range(k) for b in range(a, k)]
    return cols


def _level_columns(
    mapping: Mapping, grouped: set[str], segments: Sequence[str], params: _Params
) -> list[str]:
    """``level``, ``variant``, ``day``, ``segment``, ``segment_value`` of a GROUPING SETS row."""
    seg_keys = [f"__ab_seg{j}" for j in range(len(segments))]
    present = [k for k in seg_keys if k in grouped]
    day_type = "VARCHAR" if mapping.day_label else "DATE"
    if "__ab_day" in grouped or present:
        whens = []
        if "__ab_day" in grouped:
            whens.append("WHEN GROUPING(__ab_day) = 0 THEN 'day'")
        if present:
            whens.append(
                f"WHEN {' OR '.join(f'GROUPING({k}) = 0' for k in present)} THEN 'segment'"
            )
        level = f"CASE {' '.join(whens)} ELSE 'overall' END"
    else:
        level = "'overall'"
    day = "__ab_day" if "__ab_day" in grouped else f"CAST(NULL AS {day_type})"
    if present:
        names = " ".join(
            f"WHEN GROUPING({k}) = 0 THEN CAST({params.add(segments[int(k[8:])])} AS VARCHAR)"
            for k in present
        )
        values = " ".join(f"WHEN GROUPING({k}) = 0 THEN {k}" for k in present)
        seg_name, seg_value = f"CASE {names} END", f"CASE {values} END"
    else:
        seg_name = seg_value = "CAST(NULL AS VARCHAR)"
    return [
        f"{level} AS level",
        "__ab_variant AS variant",
        f"{day} AS day",
        f"{seg_name} AS segment",
        f"{seg_value} AS segment_value",
    ]


def _rollup_aggregates(mapping: Mapping, caps: dict[str, Capping], aggregated: bool) -> list[str]:
    """Outer aggregates over finest-grain cells: every statistic is a sum of the cells' sums
    (counts stay BIGINT, as ``count`` returns them), a cap the largest of the cells' caps."""
    total = "sum(__ab_count)" if aggregated else "CAST(sum(__ab_count) AS BIGINT)"
    cols = [f"{total} AS n"]
    for m in mapping.metrics:
        q = _stat_quoter(m.name)
        for stat in m.stat_fields:
            counted = stat in ("pair_n", MOMENT_N) or (stat == "n" and not aggregated)
            agg = f"CAST(sum({q(stat)}) AS BIGINT)" if counted else f"sum({q(stat)})"
            cols.append(f"{agg} AS {q(stat)}")
        if m.name in caps:
            bounds = ("cap", caps[m.name].upper), ("floor", caps[m.name].lower)
            cols += [f"max({q(b)}) AS {q(b)}" for b, v in bounds if v is not None]
    return cols


def _finest_select(
    mapping: Mapping,
    source: str,
    keys: Sequence[str],
    *,
    caps: dict[str, Capping],
    aggregated: bool,
    row: bool,
    checks: Sequence[str] = (),
    shifts: Shifts | None = None,
) -> str:
    """One row per combination of ``keys`` (arm x day x segment values): the cells."""
    n = "sum(__ab_n)" if aggregated else "count(*)"
    sums = _metric_aggregates(mapping, caps, aggregated, shifts)
    cols = [*keys, f"{n} AS __ab_count", *sums]
    if row:
        cols.append("min(__ab_row) AS __ab_row")
    cols += checks
    return f"SELECT {', '.join(cols)} FROM {source} GROUP BY {', '.join(keys)}"


def _group_select(
    mapping: Mapping,
    source: str,
    *,
    params: _Params,
    sets: list[tuple[str, ...]],
    segments: Sequence[str],
    caps: dict[str, Capping],
    aggregated: bool,
    day_order: bool,
    finest: bool = True,
    shifts: Shifts | None = None,
) -> str:
    """One ``SELECT ... GROUP BY GROUPING SETS`` over a row source with the standard columns.

    With ``finest`` the rows are first grouped into cells (one per arm and every key of the
    sets at once), and the grouping sets roll those few cells up: one hash table fed once per
    row instead of one per grouping set, about twice as fast when the cells are few.
    """
    grouped = {k for s in sets for k in s}
    cols = _level_columns(mapping, grouped, segments, params)
    row = day_order and "__ab_day" in grouped
    if finest:
        keys = [k for k in _cell_keys(len(segments)) if k in grouped]
        inner = _finest_select(
            mapping, source, keys, caps=caps, aggregated=aggregated, row=row, shifts=shifts
        )
        source = f"({inner}) AS __ab_cells"
        cols += _rollup_aggregates(mapping, caps, aggregated)
    else:
        n = "sum(__ab_n)" if aggregated else "count(*)"
        cols += [f"{n} AS n", *_metric_aggregates(mapping, caps, aggregated, shifts)]
    if day_order:
        cols.append(f"{'min(__ab_row)' if row else 'CAST(NULL AS BIGINT)'} AS {DAY_ORDER}")
    sets_sql = ", ".join("(" + ", ".join(s) + ")" for s in sets)
    return f"SELECT {', '.join(cols)}\nFROM {source}\nGROUP BY GROUPING SETS ({sets_sql})"


def _cell_keys(n_segments: int) -> list[str]:
    return ["__ab_variant", "__ab_day", *(f"__ab_seg{j}" for j in range(n_segments))]


def _caps_cte(mapping: Mapping, caps: dict[str, Capping], source: str, params: _Params) -> str:
    """One row: each capped metric's bounds, ``__ab_cap<i>`` (upper) and ``__ab_lo<i>``
    (lower). A percentile is ``quantile_cont`` (linear interpolation) over every arm's rows
    at once: one bound for both arms (:mod:`abcore.capping` says why), over the non-zero
    values with ``ignore_zeros`` (``quantile_cont`` skips NULLs)."""
    items = []
    for i, m in enumerate(mapping.metrics):
        if m.name not in caps:
            continue
        capping = caps[m.name]
        y = f"__ab_y{i}"
        values = f"CASE WHEN {y} <> 0 THEN {y} END" if capping.ignore_zeros else y
        for name, bound in (
            (f"__ab_cap{i}", capping.upper),
            (f"__ab_lo{i}", capping.lower),
        ):
            if bound is None:
                continue
            if capping.percentile:
                value = f"quantile_cont({values}, CAST({params.add(bound / 100)} AS DOUBLE))"
            else:
                value = f"CAST({params.add(bound)} AS DOUBLE)"
            items.append(f"{value} AS {name}")
    percentiles = any(c.percentile for c in caps.values())
    return f"SELECT {', '.join(items)}" + (f" FROM {source}" if percentiles else "")


def _unit_rollup(mapping: Mapping, segments: Sequence[str], *, day: bool, row: bool) -> list[str]:
    """Aggregates that roll the rows of a unit into one.

    The unit's day is its first day (of its first row, for day labels): each unit counts
    once, in the cohort of the day it was first exposed, so the daily level adds up to the
    overall one and the cumulative effect of the last day is the overall effect. Grouping
    unit-days instead would count a unit seen on 5 days as 5 independent units.
    """
    cols = ["__ab_variant"]
    if day:
        first = "arg_min(__ab_day, __ab_row)" if row else "min(__ab_day)"
        cols.append(f"{first} AS __ab_day")
    cols += [f"min(__ab_seg{j}) AS __ab_seg{j}" for j in range(len(segments))]
    if row:
        cols.append("min(__ab_row) AS __ab_row")
    for i, m in enumerate(mapping.metrics):
        # A unit converted if it converted on any row; amounts add up; a covariate is an
        # attribute of the unit repeated on its rows, so it is not summed.
        cols.append(f"{m.metric_kind.unit_rollup}(__ab_y{i}) AS __ab_y{i}")
        if m.is_pair:
            cols.append(f"{'sum' if m.metric_kind.pair else 'max'}(__ab_x{i}) AS __ab_x{i}")
        cols += [f"max(__ab_c{i}_{j}) AS __ab_c{i}_{j}" for j in range(len(m.covariates))]
    return cols


def sufficient_stats_sql(
    table: str | Sequence[str],
    mapping: Mapping,
    *,
    by: Iterable[str] = ("variant",),
    cap: float | dict[str, float] | None = None,
    finest: bool = True,
    shifts: dict[str, tuple[float, ...]] | None = None,
) -> tuple[str, list[Any]]:
    """SQL and parameters for per-group sufficient statistics, in one pass over the table.

    The result has one row per group: ``level`` ("overall", "day" or "segment"),
    ``variant``, ``day``, ``segment`` (the segment column's name), ``segment_value``, ``n``
    (units, or the sum of ``n_column`` for aggregated shapes) and per metric the columns
    ``<metric>__<stat>`` listed in :attr:`MetricMapping.stat_fields`, plus
    ``<metric>__cap`` / ``<metric>__floor`` for capped metrics and ``__ab_day_order`` for
    day labels.

    All levels come from one ``GROUP BY GROUPING SETS ((variant), (variant, day),
    (variant, segment), ...)``, so the overall, daily and segment breakdowns cost a single
    scan. With ``mapping.aggregate_units`` the rows of each unit are summed first (binary
    metrics take the maximum, covariates the unit's value), and the daily level counts each
    unit once, on its first day (the cohort it joined), not once per day it was seen.

    With ``finest`` (the default) the rows are first summed into cells, one per arm x day x
    segment values, and the grouping sets add up those cells (sums of sums: the same
    statistics, about twice as fast, since every row updates one hash table instead of one
    per level). Pass ``finest=False`` when the cells would be very many (several segments
    with hundreds of values over many days): each level is then grouped from the rows.

    Args:
        table: the table name (or a sequence of name parts for a qualified name).
        mapping: roles of the columns.
        by: "variant" plus optionally "day" (needs ``mapping.timestamp``), "segments" (every
            segment of the mapping) or individual segment columns.
        cap: the shortcut of :func:`capped_mapping`: winsorise continuous metrics at this
            upper percentile of the pooled arms (e.g. 0.99), or a dict of percentiles per
            metric. Each metric's own ``capping`` (:class:`abcore.capping.Capping`) comes
            first; the bounds are computed with ``quantile_cont`` in a CTE of the same query
            and returned as ``<metric>__cap`` (upper) and ``<metric>__floor`` (lower).
        finest: aggregate cells first, then roll them up (see above).
        shifts: per metric, the constants ``(y, x)`` its sums are taken around (bound as
            parameters; see :class:`abcore.model.Aggregates`); for unit-level rows.

    Returns:
        ``(sql, params)`` for ``con.execute(sql, params)``.

    >>> m = Mapping(variant="arm", timestamp="ts", segments=["country"],
    ...             metrics=[MetricMapping("revenue", "continuous")])
    >>> sql, params = sufficient_stats_sql("t", m, by=("variant", "day", "segments"), cap=0.99)
    >>> sql.count("GROUPING SETS"), params
    (1, [0.99, 'country'])
    """
    base = table_ref(table)
    variant = _require_variant(mapping)
    day, segments = _resolve_by(mapping, by)
    mapping = capped_mapping(mapping, cap)
    caps = _cappings(mapping)
    params = _Params()
    day_order = day and mapping.day_label
    aggregated = mapping.is_aggregated
    if mapping.aggregate_units and not aggregated and not mapping.unit:
        raise ValueError("mapping.aggregate_units needs mapping.unit.")
    unit = quote_ident(str(mapping.unit)) if mapping.unit else None

    keys = _key_columns(mapping, day, segments, day_order)
    values = _aggregate_values(mapping) if aggregated else _unit_values(mapping)
    where = f"{variant} IS NOT NULL"
    seg_sets = [("__ab_variant", f"__ab_seg{j}") for j in range(len(segments))]
    day_set = [("__ab_variant", "__ab_day")] if day else []
    ctes: list[str] = []

    common = dict(params=params, segments=segments, caps=caps, aggregated=aggregated, finest=finest)
    common["shifts"] = {} if aggregated else _shift_params(mapping, shifts, params)
    if not mapping.aggregate_units or aggregated:
        rows = f"(SELECT {', '.join(keys + values)} FROM {base} WHERE {where}) AS __ab_raw"
    else:
        unit_keys = [*keys, f"{unit} AS __ab_unit"]
        raw = (
            f"SELECT {', '.join(unit_keys + values)} FROM {base} "
            f"WHERE {where} AND {unit} IS NOT NULL"
        )
        ctes.append(f"__ab_raw AS ({raw})")
        rollup = _unit_rollup(mapping, segments, day=day, row=day_order)
        ctes.append(
            f"__ab_units AS (SELECT {', '.join(rollup)} FROM __ab_raw "
            "GROUP BY __ab_variant, __ab_unit)"
        )
        rows = "__ab_units"
    if caps:
        ctes.append(f"__ab_caps AS ({_caps_cte(mapping, caps, rows, params)})")
    source = _capped_source(keys, rows, "__ab_caps" if caps else None, mapping, caps)
    sets = [("__ab_variant",), *day_set, *seg_sets]
    select = _group_select(mapping, source, sets=sets, day_order=day_order, **common)
    with_sql = f"WITH {', '.join(ctes)}\n" if ctes else ""
    return with_sql + _ordered([select], day_order), params.values


def _ordered(selects: Sequence[str], day_order: bool) -> str:
    """The result in its fixed order: overall, days (in date or file order), segments."""
    day_key = f"min({DAY_ORDER}) OVER (PARTITION BY level, day)" if day_order else "day"
    order = (
        "ORDER BY CASE level WHEN 'overall' THEN 0 WHEN 'day' THEN 1 ELSE 2 END, "
        f"segment, {day_key}, segment_value, variant"
    )
    if len(selects) > 1 or day_order:
        body = "\nUNION ALL\n".join(selects)
        return f"SELECT * FROM (\n{body}\n) AS __ab_result\n{order}"
    return f"{selects[0]}\n{order}"


def spread_sql(
    table: str | Sequence[str], columns: Sequence[str], rows: int | None = None
) -> tuple[str, list]:
    """Mean and sample standard deviation of each column (over the first ``rows`` rows when
    given): one row, columns ``mean<j>`` and ``sd<j>``. Says which amounts need their sums
    taken around a shift (a mean that dwarfs the spread) and gives that shift.

    >>> sql, params = spread_sql("t", ["revenue"], 1000)
    >>> "stddev_samp" in sql, params
    (True, [1000])
    """
    params = _Params()
    items = []
    for j, c in enumerate(columns):
        value = _d(c)
        items += [f"avg({value}) AS mean{j}", f"stddev_samp({value}) AS sd{j}"]
    source = table_ref(table)
    if rows is not None:
        check_scalar(rows, "rows", gt=0)
        source = f"(SELECT * FROM {source} LIMIT {params.add(int(rows))}) AS __ab_head"
    return f"SELECT {', '.join(items)} FROM {source}", params.values


def finest_stats_sql(
    table: str | Sequence[str],
    mapping: Mapping,
    *,
    by: Iterable[str] = ("variant",),
    checks: bool = False,
    unit_sample: int | None = None,
    shifts: dict[str, tuple[float, ...]] | None = None,
) -> tuple[str, list[Any]]:
    """The cells behind :func:`sufficient_stats_sql`: one row per arm x day x segment values.

    Run it into a (temporary) table and :func:`rollup_stats_sql` gives the usual result from
    those few rows; with ``checks`` (unit-level rows) :func:`cell_checks_sql` also gives what
    :func:`value_checks_sql` would, so one scan of the data serves the statistics and the
    instrumentation checks. The rows without a variant are then kept, in cells whose
    ``__ab_variant`` is NULL (the roll-up leaves them out). Columns: the keys
    ``__ab_variant``, ``__ab_day``, ``__ab_seg<j>`` (those ``by`` asks for), ``__ab_count``
    (rows, or the sum of ``n_column``), the per-metric statistics as in
    :func:`sufficient_stats_sql`, ``__ab_row`` (day labels: first row) and with ``checks``
    ``__ab_rows_missing_unit`` and ``<metric>__out_of_range`` / ``__negative`` (missing
    values are the rows minus the metric's count).

    ``unit_sample`` (with ``checks`` and a unit) adds ``__ab_unit_hashes``: the list of the
    64-bit hashes of the unit ids whose hash is a multiple of ``unit_sample``, a sample of
    about one unit in ``unit_sample`` picked by id, so :func:`sampled_units_sql` can check
    those units for repeats and arms in the same scan (an exact check needs a hash table of
    every unit, a second pass).

    Capping and ``aggregate_units`` need the rows (a pooled percentile, a per-unit sum), so
    they are :func:`sufficient_stats_sql`'s job.

    >>> m = Mapping(variant="arm", unit="uid", metrics=[MetricMapping("b", "binary")])
    >>> sql, _ = finest_stats_sql("t", m, checks=True)
    >>> "GROUP BY __ab_variant" in sql and '"b__out_of_range"' in sql
    True
    """
    base = table_ref(table)
    variant = _require_variant(mapping)
    day, segments = _resolve_by(mapping, by)
    if mapping.aggregate_units and not mapping.is_aggregated:
        raise ValueError("finest_stats_sql cannot roll up units: use sufficient_stats_sql.")
    if checks and mapping.is_aggregated:
        raise ValueError("checks apply to unit-level rows only, not to an aggregated shape.")
    aggregated = mapping.is_aggregated
    day_order = day and mapping.day_label
    keys = _key_columns(mapping, day, segments, day_order)
    values = _aggregate_values(mapping) if aggregated else _unit_values(mapping)
    extra, check_cols = [], []
    if unit_sample is not None and not (checks and mapping.unit):
        raise ValueError("unit_sample needs checks=True and a unit column.")
    if checks:
        if mapping.unit:
            extra.append(f"{quote_ident(mapping.unit)} IS NULL AS __ab_no_unit")
            check_cols.append("count(*) FILTER (WHERE __ab_no_unit) AS __ab_rows_missing_unit")
        if unit_sample is not None:
            check_scalar(unit_sample, "unit_sample", gt=0)
            extra.append(f"hash({quote_ident(str(mapping.unit))}) AS __ab_h")
            # an int literal, not a parameter: DuckDB cannot fold a parameter into the
            # per-row filter (measured: 3.5x slower on 10M rows); int() admits nothing else
            every = int(unit_sample)
            check_cols.append(
                f"list(__ab_h) FILTER (WHERE NOT __ab_no_unit AND __ab_h % {every} = 0) "
                "AS __ab_unit_hashes"
            )
        for i, m in enumerate(mapping.metrics):
            y, x = f"__ab_y{i}", f"__ab_x{i}" if m.metric_kind.pair else None
            for check, cond in _row_checks(m, y, x).items():
                if check != "missing":  # rows minus the metric's count, in cell_checks_sql
                    name = quote_ident(stat_column(m.name, check))
                    # count_if, not count(*) FILTER: 15% faster on the whole scan (10M rows)
                    check_cols.append(f"count_if({cond}) AS {name}")
    where = "" if checks else f" WHERE {variant} IS NOT NULL"
    rows = f"(SELECT {', '.join(keys + values + extra)} FROM {base}{where}) AS __ab_raw"
    passed = [e.rsplit(" AS ", 1)[-1] for e in extra]
    source = _capped_source(keys, rows, None, mapping, {}, extra=passed)
    cells = [k for k in _cell_keys(len(segments)) if k != "__ab_day" or day]
    params = _Params()
    bound = {} if aggregated else _shift_params(mapping, shifts, params)
    sql = _finest_select(
        mapping,
        source,
        cells,
        caps={},
        aggregated=aggregated,
        row=day_order,
        checks=check_cols,
        shifts=bound,
    )
    return sql, params.values


def sampled_units_sql(cells: str | Sequence[str]) -> tuple[str, list[Any]]:
    """The hash sample of units of ``finest_stats_sql(unit_sample=...)`` (cells stored in the
    table ``cells``): one row, ``units`` (rows of sampled ids, with a variant: the sampled
    units when none repeats) and ``repeats`` (those rows beyond each id's first). No repeat
    means no sampled unit has two rows, so none is in two arms either.

    >>> sql, _ = sampled_units_sql("cells")
    >>> "unnest(__ab_unit_hashes)" in sql
    True
    """
    sql = (
        "SELECT count(*) AS units, count(*) - count(DISTINCT __ab_h) AS repeats FROM ("
        f"SELECT unnest(__ab_unit_hashes) AS __ab_h FROM {table_ref(cells)} "
        "WHERE __ab_variant IS NOT NULL) AS __ab_sampled"
    )
    return sql, []


def cell_count_sql(
    table: str | Sequence[str],
    mapping: Mapping,
    *,
    by: Iterable[str] = ("variant",),
    rows: int | None = None,
) -> tuple[str, list[Any]]:
    """About an upper bound on the cells of :func:`finest_stats_sql`: the product of the
    keys' distinct values (approximate counts), over the first ``rows`` rows when given (one
    column ``cells``, a DOUBLE). Cells are cheap while few; the product says when they are not.

    >>> m = Mapping(variant="arm", timestamp="ts", segments=["country"])
    >>> sql, params = cell_count_sql("t", m, by=("variant", "day", "segments"), rows=1000)
    >>> sql.count("approx_count_distinct"), params
    (3, [1000])
    """
    variant = _require_variant(mapping)
    day, segments = _resolve_by(mapping, by)
    keys = [f"CAST({variant} AS VARCHAR)", *([_day_expr(mapping)] if day else [])]
    keys += [quote_ident(s) for s in segments]
    # NULL is a key value too (a cell of its own), which approx_count_distinct leaves out
    product = " * ".join(
        f"greatest(approx_count_distinct({k}) + CAST(count({k}) < count(*) AS INTEGER), 1)"
        for k in keys
    )
    params = _Params()
    source = table_ref(table)
    if rows is not None:
        check_scalar(rows, "rows", gt=0)
        source = f"(SELECT * FROM {source} LIMIT {params.add(int(rows))}) AS __ab_head"
    return f"SELECT CAST({product} AS DOUBLE) AS cells FROM {source}", params.values


def rollup_stats_sql(
    cells: str | Sequence[str], mapping: Mapping, *, by: Iterable[str] = ("variant",)
) -> tuple[str, list[Any]]:
    """:func:`sufficient_stats_sql`'s result from the cells of :func:`finest_stats_sql`
    (stored in the table ``cells``, made with the same ``mapping`` and ``by``): every level
    is a sum over cells, so this reads a few hundred rows, not the data."""
    day, segments = _resolve_by(mapping, by)
    params = _Params()
    day_order = day and mapping.day_label
    seg_sets = [("__ab_variant", f"__ab_seg{j}") for j in range(len(segments))]
    sets = [("__ab_variant",), *([("__ab_variant", "__ab_day")] if day else []), *seg_sets]
    grouped = {k for s in sets for k in s}
    cols = _level_columns(mapping, grouped, segments, params)
    cols += _rollup_aggregates(mapping, {}, mapping.is_aggregated)
    if day_order:
        cols.append(f"min(__ab_row) AS {DAY_ORDER}")
    sets_sql = ", ".join("(" + ", ".join(s) + ")" for s in sets)
    select = (
        f"SELECT {', '.join(cols)}\nFROM {table_ref(cells)} WHERE __ab_variant IS NOT NULL\n"
        f"GROUP BY GROUPING SETS ({sets_sql})"
    )
    return _ordered([select], day_order), params.values


def cell_checks_sql(cells: str | Sequence[str], mapping: Mapping) -> tuple[str, list[Any]]:
    """:func:`value_checks_sql`'s result from the cells of ``finest_stats_sql(checks=True)``
    (same columns, same order)."""
    cols = ["CAST(__ab_variant AS VARCHAR) AS variant", "CAST(sum(__ab_count) AS BIGINT) AS rows"]
    if mapping.unit:
        cols.append("CAST(sum(__ab_rows_missing_unit) AS BIGINT) AS rows_missing_unit")
    for m in mapping.metrics:
        x = "x" if m.metric_kind.pair else None
        for check in _row_checks(m, "y", x):
            name = quote_ident(stat_column(m.name, check))
            if check == "missing":  # a row lacks the metric (or half its pair) unless counted
                counted = quote_ident(stat_column(m.name, "pair_n" if x else "n"))
                cols.append(f"CAST(sum(__ab_count) - sum({counted}) AS BIGINT) AS {name}")
            else:
                cols.append(f"CAST(sum({name}) AS BIGINT) AS {name}")
    sql = f"SELECT {', '.join(cols)} FROM {table_ref(cells)} GROUP BY 1 ORDER BY 1 NULLS FIRST"
    return sql, []


def _capped_source(
    keys: list[str],
    source: str,
    caps_name: str | None,
    mapping: Mapping,
    caps: dict[str, Capping],
    *,
    extra: Sequence[str] = (),
) -> str:
    """Capping projection over a row source: the keys pass through, metrics are capped."""
    join = f" CROSS JOIN {caps_name}" if caps_name else ""
    cols = [k.rsplit(" AS ", 1)[-1] for k in keys] + list(extra)
    if mapping.is_aggregated:
        cols.append("__ab_n")
    cols += _capped_values(mapping, caps, mapping.is_aggregated)
    return f"(SELECT {', '.join(cols)} FROM {source}{join}) AS __ab_rows"


def _check_expressions(mapping: Mapping, i: int, m: MetricMapping) -> dict[str, str]:
    """Per-metric row conditions counted by :func:`value_checks_sql`."""
    if mapping.is_aggregated and not m.metric_kind.pair:
        n = _d(mapping.n_column) if mapping.n_column else "NULL"
        present = [_d(c) for c in (m.sum_column, m.mean_column) if c is not None]
        checks = {"missing": " AND ".join(f"{p} IS NULL" for p in present) or "FALSE"}
        if m.metric_kind.zero_one:
            if m.sum_column is not None:
                s = _d(m.sum_column)
                checks["out_of_range"] = f"{s} < 0 OR {s} > {n}"
            else:
                mean = _d(m.mean_column)
                checks["out_of_range"] = f"{mean} < 0 OR {mean} > 1"
        return checks
    if m.metric_kind.pair:
        return _row_checks(m, _d(m.numerator), _d(m.denominator))
    return _row_checks(m, _d(m.column), None)


def _row_checks(m: MetricMapping, y: str, x: str | None) -> dict[str, str]:
    """Conditions on one unit-level row, given its value ``y`` (and denominator ``x``)."""
    if m.metric_kind.pair:
        checks = {"missing": f"{y} IS NULL OR {x} IS NULL"}
        if m.metric_kind.range_check == "out_of_range":
            checks["out_of_range"] = f"{y} < 0 OR {y} > {x}"
        else:
            checks["negative"] = f"{y} < 0 OR {x} < 0"
        return checks
    checks = {"missing": f"{y} IS NULL"}
    if m.metric_kind.range_check == "out_of_range":
        checks["out_of_range"] = f"{y} NOT IN (0, 1)"
    else:
        checks["negative"] = f"{y} < 0"
    return checks


def value_checks_sql(table: str | Sequence[str], mapping: Mapping) -> tuple[str, list[Any]]:
    """Per arm: rows, rows without a unit id, and per metric the rows that are missing,
    outside 0/1 (binary; successes above trials for counts) or negative (continuous, ratio).

    The arm ``NULL`` collects the rows without a variant. Columns: ``variant``, ``rows``,
    ``rows_missing_unit`` (unit-level only) and ``<metric>__missing``,
    ``<metric>__out_of_range`` / ``<metric>__negative``.

    >>> m = Mapping(variant="v", metrics=[MetricMapping("b", "binary")])
    >>> "NOT IN (0, 1)" in value_checks_sql("t", m)[0]
    True
    """
    variant = _require_variant(mapping)
    cols = [f"CAST({variant} AS VARCHAR) AS variant", "count(*) AS rows"]
    if mapping.unit and not mapping.is_aggregated:
        cols.append(
            f"count(*) FILTER (WHERE {quote_ident(mapping.unit)} IS NULL) AS rows_missing_unit"
        )
    for i, m in enumerate(mapping.metrics):
        for check, cond in _check_expressions(mapping, i, m).items():
            cols.append(
                f"count(*) FILTER (WHERE {cond}) AS {quote_ident(stat_column(m.name, check))}"
            )
    sql = f"SELECT {', '.join(cols)} FROM {table_ref(table)} GROUP BY 1 ORDER BY 1 NULLS FIRST"
    return sql, []


def unit_checks_sql(table: str | Sequence[str], mapping: Mapping) -> tuple[str, list[Any]]:
    """Units, units seen in more than one arm, units with several rows and the extra rows.

    One row with columns ``units``, ``units_in_multiple_arms``, ``units_with_several_rows``,
    ``duplicate_unit_rows`` (rows beyond each unit's first) and, when the mapping has a
    timestamp, ``duplicate_unit_day_rows`` (rows beyond the first per unit and day: in
    unit-day data several rows per unit are expected, several per unit *and day* are not).
    Rows without a variant or unit are left out.

    One ``GROUP BY`` unit answers all of it: a unit is in several arms when its smallest and
    largest arm differ (``count(DISTINCT arm)`` per unit is several times slower), and with a
    timestamp the rows are first counted per unit and day, so the unit-day duplicates are the
    rows minus the unit-days.

    >>> m = Mapping(variant="arm", unit="uid", timestamp="ts")
    >>> sql, _ = unit_checks_sql("t", m)
    >>> "DISTINCT" in sql, "duplicate_unit_day_rows" in sql
    (False, True)
    """
    variant = _require_variant(mapping)
    if not mapping.unit:
        raise ValueError("mapping.unit must name the unit id column for unit checks.")
    unit = quote_ident(mapping.unit)
    arm = f"CAST({variant} AS VARCHAR)"
    where = f"WHERE {unit} IS NOT NULL AND {variant} IS NOT NULL"
    cols = [
        "count(*) AS units",
        "count(*) FILTER (WHERE __ab_lo <> __ab_hi) AS units_in_multiple_arms",
        "count(*) FILTER (WHERE __ab_rows > 1) AS units_with_several_rows",
        "coalesce(sum(__ab_rows) - count(*), 0) AS duplicate_unit_rows",
    ]
    if mapping.timestamp:
        cols.append("coalesce(sum(__ab_rows) - sum(__ab_days), 0) AS duplicate_unit_day_rows")
        unit_days = (
            f"SELECT {unit} AS __ab_unit, count(*) AS __ab_k, min({arm}) AS __ab_lo, "
            f"max({arm}) AS __ab_hi FROM {table_ref(table)} {where} "
            f"GROUP BY {unit}, {_day_expr(mapping)}"
        )
        units = (
            "SELECT sum(__ab_k) AS __ab_rows, count(*) AS __ab_days, min(__ab_lo) AS __ab_lo, "
            f"max(__ab_hi) AS __ab_hi FROM ({unit_days}) AS __ab_unit_days GROUP BY __ab_unit"
        )
    else:
        units = (
            f"SELECT count(*) AS __ab_rows, min({arm}) AS __ab_lo, max({arm}) AS __ab_hi "
            f"FROM {table_ref(table)} {where} GROUP BY {unit}"
        )
    return f"SELECT {', '.join(cols)} FROM ({units}) AS __ab_units", []


def unit_day_checks_sql(table: str | Sequence[str], mapping: Mapping) -> tuple[str, list[Any]]:
    """Rows beyond the first per unit and day (``duplicate_unit_day_rows``): in unit-day data
    several rows per unit are expected, several per unit *and day* are not."""
    variant = _require_variant(mapping)
    if not mapping.unit or not mapping.timestamp:
        raise ValueError("unit-day checks need mapping.unit and mapping.timestamp.")
    unit = quote_ident(mapping.unit)
    sql = (
        "SELECT coalesce(sum(__ab_rows - 1), 0) AS duplicate_unit_day_rows "
        f"FROM (SELECT count(*) AS __ab_rows FROM {table_ref(table)} "
        f"WHERE {unit} IS NOT NULL AND {variant} IS NOT NULL "
        f"GROUP BY {unit}, {_day_expr(mapping)}) AS __ab_unit_days"
    )
    return sql, []


_NAME_RE = re.compile(r"[^0-9a-z]+")


def normalize_name(name: str) -> str:
    """Lower-case a column name and collapse every run of other characters to ``_``.

    >>> normalize_name("Test Group")
    'test_group'
    """
    return _NAME_RE.sub("_", str(name).lower()).strip("_")


def aa_simulation_sql(
    table: str,
    mapping: Mapping,
    metric: str,
    *,
    simulations: int = config.AA_SIMULATIONS,
    seed: int = config.DEMO_SEED,
    randomization_unit: str | None = None,
) -> tuple[str, list[Any]]:
    """SQL re-randomizing the control arm ``simulations`` times by hashing the unit.

    The control label, the number of simulations and the seed are parameters. Each
    simulated arm's count, sum and sum of squares (and pair sums for ratios) come back per
    simulation, so thousands of A/As cost one scan of the control arm. Rows are the analysis
    units, as the real analysis treats them (with ``aggregate_units`` a unit's rows are
    added up first); ``randomization_unit`` (a column) is what gets assigned, so rows of the
    same unit stay together, as in the real experiment.
    """
    spec = mapping.metric(metric)
    variant = _require_variant(mapping)
    unit_col = randomization_unit or mapping.unit
    key = f"CAST({quote_ident(unit_col)} AS VARCHAR)" if unit_col else "CAST(rowid AS VARCHAR)"
    if spec.metric_kind.pair:
        y, x = quote_ident(str(spec.numerator)), quote_ident(str(spec.denominator))
        values = f"CAST({y} AS DOUBLE) AS y, CAST({x} AS DOUBLE) AS x"
        present = f"{y} IS NOT NULL AND {x} IS NOT NULL"
    else:
        y = quote_ident(str(spec.column))
        values = f"CAST({y} AS DOUBLE) AS y, 0.0 AS x"
        present = f"{y} IS NOT NULL"
    if mapping.aggregate_units and mapping.unit:
        # the same roll-up as the analysis: a unit converted if any of its rows did
        agg = spec.metric_kind.unit_rollup
        roll = f"base AS (SELECT k, {agg}(y) AS y, sum(x) AS x FROM raw GROUP BY k), "
    else:
        roll = "base AS (SELECT k, y, x FROM raw), "
    sql = (
        f"WITH raw AS (SELECT {key} AS k, {values} FROM {table_ref(table)} "
        f"WHERE CAST({variant} AS VARCHAR) = ? AND {present}), "
        f"{roll}"
        "sims AS (SELECT range AS s FROM range(?)) "
        "SELECT s, CAST(hash(concat(k, ':', s, ':', ?)) % 2 AS INTEGER) AS g, count(*) AS n, "
        "sum(y) AS sy, sum(y * y) AS syy, sum(x) AS sx, sum(x * x) AS sxx, sum(x * y) AS sxy "
        "FROM base CROSS JOIN sims GROUP BY s, g ORDER BY s, g"
    )
    return sql, [str(mapping.control), int(simulations), int(seed)]


def create_temp_table_sql(name: str, query: str) -> str:
    """``query`` into a temporary table ``name`` (replacing one of that name)."""
    return f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS {query}"


def drop_sql(name: str, kind: str = "TABLE") -> str:
    """Drop the table or view ``name`` if it exists."""
    check_scalar(kind, "kind", in_=("TABLE", "VIEW"))
    return f"DROP {kind} IF EXISTS {quote_ident(name)}"
