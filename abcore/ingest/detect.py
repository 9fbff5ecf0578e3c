"""Schema detection: which column plays which role, proposed from a profile of the data."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from abcore import config
from abcore.detect_sql import (
    count_bounds_sql,
    date_text_sql,
    distinct_count_sql,
    distinct_keys_sql,
    equal_columns_sql,
    levels_sql,
    profile_sql,
    repeated_hashes_sql,
)
from abcore.ingest._base import _NUMERIC_TYPES, Dataset
from abcore.ingest._run import _run, _run_data, _with_table
from abcore.ingest.findings import (
    arm_proxies,
    arm_value_score,
    empty_days,
    id_sentence,
    is_id_name,
    pick_control,
    pre_period_base,
)
from abcore.ingest.load import _variant_score
from abcore.ingest.shapes import side_by_side_sentence, wide_mapping
from abcore.model import (
    Mapping,
    MetricMapping,
)
from abcore.sql import normalize_name


@dataclass(frozen=True)
class _Profile:
    """What one scan learns about a column."""

    name: str
    type: str
    family: str
    non_null: int
    distinct: int
    min: float | None = None
    max: float | None = None
    integral: bool | None = None

    @property
    def norm(self) -> str:
        return normalize_name(self.name)

    @property
    def tokens(self) -> list[str]:
        return self.norm.split("_")

    @property
    def is_numeric(self) -> bool:
        return self.family in ("numeric", "bool")

    @property
    def is_binary(self) -> bool:
        if self.family == "bool":
            return True
        return bool(
            self.family == "numeric"
            and self.integral
            and self.min is not None
            and self.min >= 0
            and self.max is not None
            and self.max <= 1
        )

    @property
    def is_count(self) -> bool:
        return bool(self.family == "numeric" and self.integral and (self.min or 0) >= 0)


def _family(duck_type: str) -> str:
    t = duck_type.upper()
    if t == "BOOLEAN":
        return "bool"
    if t in _NUMERIC_TYPES or t.startswith("DECIMAL"):
        return "numeric"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t in ("VARCHAR", "UUID") or t.startswith("ENUM"):
        return "text"
    return "other"


def _profile(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> list[_Profile]:
    """Counts, approximate distinct counts and numeric ranges of every column, in one scan.

    A file read in place is profiled on its sample. Distinct values are counted only where
    detection reads them (text, boolean and other columns, numbers named like an arm or an
    id), not for dates and metrics, where they are the most expensive part of the scan.
    The profile is kept in ``dataset.facts``.
    """
    if "profile" in dataset.facts:
        return list(dataset.facts["profile"])
    layout: list[tuple[str, str, str, int]] = []
    asked: list[tuple[str, bool, bool]] = []
    offset = 0
    for name, duck_type in dataset.columns:
        fam = _family(duck_type)
        numeric = fam in ("numeric", "bool")
        layout.append((name, duck_type, fam, offset))
        asked.append((name, _distinct_read(name, fam), numeric))
        offset += 5 if numeric else 2
    row = _run(con, profile_sql(dataset.sample or dataset.table, asked)).fetchall()[0]
    out = []
    for name, duck_type, fam, i in layout:
        extra = row[i + 2 : i + 5] if fam in ("numeric", "bool") else (None, None, None)
        out.append(_Profile(name, duck_type, fam, int(row[i]), int(row[i + 1] or 0), *extra))
    dataset.facts["profile"] = tuple(out)
    return out


def _distinct_read(name: str, family: str) -> bool:
    """Whether detection looks at a column's distinct count: a possible arm, segment or id.

    Dates never; numbers only when named like an arm or an id (:func:`_pick_variant` and
    :func:`_unit_score` ignore the other numbers' distinct counts).
    """
    if family in ("date", "timestamp"):
        return False
    if family != "numeric":
        return True
    norm = normalize_name(name)
    tokens = set(norm.split("_"))
    return bool(
        _variant_score(name)
        or norm in _UNIT_NAMES
        or tokens & (_UNIT_TOKENS | {"player", "uid", "id"})
        or norm.endswith("id")
    )


def detect_schema(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> Mapping:
    """Propose the role of every column; the user confirms or edits the result.

    Heuristics, all from column names, types and one profiling scan:

    - variant: a text, boolean or integer column with 2 to ``VARIANT_MAX_LEVELS`` values
      named like variant / group / arm / version / test group / bucket / experiment, else
      the text column whose values look most like arms (control, treatment, A/B/C, v1/v2,
      of similar sizes: :func:`~abcore.ingest.findings.arm_value_score`);
    - control: the arm named like a control (``config.CONTROL_LABELS``, "No …", old,
      holdout...), else the clearly largest arm, else the first in natural order
      (:func:`~abcore.ingest.findings.pick_control`; a note says so);
    - unit: a high-cardinality column named like user / id / user_id / customer / visitor;
      ``aggregate_units`` is set when some unit has more than one row;
    - timestamp: a date or timestamp column (or a text column named date/day, then used as a
      day label when it does not parse as a date);
    - shape: "aggregated" when columns end in _sum/_sum_sq, _mean/_sd, _variance, or when rows
      are per arm (and day) with count columns; "daily" when such a file has a date;
    - metrics: binary (TRUE/FALSE or only 0/1) or continuous numbers; in aggregated count
      data each count column over the smallest column that bounds it on every row (Udacity:
      Enrollments / Clicks) as a proportion of counts;
    - covariates: numbers measured before the test (``pre_``, prior, before, previous,
      history, recency, ``last_30_days``...: :func:`~abcore.ingest.findings.pre_period_base`),
      never analysed as outcomes, attached to the metric of the same name for CUPED;
    - segments: other text columns with 2 to ``SEGMENT_MAX_LEVELS`` values, except those
      that restate the arm (``Mapping.arm_proxies``);
    - count pairs: in count data, every count over every count that bounds it row by row;
      days where a count is empty are named (``Mapping.empty_days``).

    Every choice that is a guess leaves a sentence in ``Mapping.notes``; a role taken with
    nothing in the file to back it (the variant from its values, the control by size or
    order, the unit count as the largest count) is also named in ``Mapping.guessed``. A
    file read in
    place (``load(..., materialize=False)``) is profiled on its first rows; its arms and
    rows per unit id come from the scan :func:`load` made of the whole file.
    """
    return _with_table(con, dataset, lambda: _detect_schema(con, dataset))


def _detect_schema(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> Mapping:
    if "wide" in dataset.facts:  # every arm was on one row: the roles are known by name
        return wide_mapping(con, dataset)
    prof = _profile(con, dataset)
    by_name = {p.name: p for p in prof}
    notes: list[str] = []
    guessed: list[str] = []
    variant = _pick_variant(con, dataset, prof, notes, guessed)
    levels = _levels(con, dataset, variant) if variant else []
    # a file read in place shows its first rows only (one arm, if it is sorted by arm): the
    # statistics' scan sees every arm and picks the control with the same rules
    known = not dataset.in_place or variant in dataset.facts.get("levels", {})
    control = _pick_control(levels, variant, notes, guessed) if levels and known else None
    timestamp, day_label = _pick_timestamp(con, dataset, prof, {variant}, notes)
    taken = {variant, timestamp}
    several = [
        (p.name, p.distinct)
        for p in prof
        if p.name not in taken and p.distinct > 1 and is_id_name(p.name)
    ]
    ids = tuple(name for name, _ in several)
    if several:
        notes.append(id_sentence(several))
        taken |= set(ids)
    shape, stats = _pick_shape(con, dataset, prof, taken, notes)
    segments = tuple(
        p.name
        for p in prof
        if p.family == "text"
        and p.name not in taken
        and 2 <= p.distinct <= config.SEGMENT_MAX_LEVELS
        and not _is_unit_candidate(p)
    )
    proxies: tuple[str, ...] = ()
    if variant and len(levels) > 1:
        candidates = [
            p.name
            for p in prof
            if p.name not in taken
            and (p.name in segments or p.family == "bool" or (p.is_binary and not p.is_count))
        ]
        proxies, proxy_notes = arm_proxies(con, dataset, variant, candidates)
        notes += proxy_notes
        segments = tuple(s for s in segments if s not in proxies)
        taken |= set(proxies)
    if shape != "unit":
        shape = "daily" if timestamp else "aggregated"
        n_column, metrics = _aggregated_metrics(con, dataset, prof, stats, taken, notes, guessed)
        days: tuple[str, ...] = ()
        if timestamp:
            counted = [c for m in metrics for c in m.aggregate_columns]
            days, day_notes = empty_days(
                con,
                dataset,
                timestamp,
                list(dict.fromkeys(counted)),
                file_order=day_label and not dataset.in_place,
            )
            notes += day_notes
        return Mapping(
            shape=shape,
            variant=variant,
            control=control,
            timestamp=timestamp,
            metrics=tuple(metrics),
            segments=segments,
            n_column=n_column,
            day_label=day_label,
            notes=tuple(notes),
            guessed=tuple(guessed),
            arm_proxies=proxies,
            empty_days=days,
            id_columns=ids,
        )
    unit, aggregate_units = _pick_unit(con, dataset, prof, taken, notes)
    taken |= {unit, *segments}
    covariates = [
        p.name for p in prof if p.is_numeric and p.name not in taken and _pre_base(p) is not None
    ]
    metrics: list[MetricMapping] = []
    for p in prof:
        if p.name in taken or p.name in covariates or not p.is_numeric:
            continue
        if p.non_null == 0:
            notes.append(f"'{p.name}' is empty in every row, so it is not proposed as a metric.")
            continue
        if p.tokens[-1] == "id" and p.integral:
            continue
        kind = "binary" if p.is_binary else "continuous"
        cov = next((c for c in covariates if _pre_base(by_name[c]) == p.norm), None)
        if cov:
            notes.append(f"'{cov}' is proposed as the pre-period covariate of '{p.name}' (CUPED).")
        metrics.append(MetricMapping(p.name, kind, covariate=cov))
    attached = {m.covariate for m in metrics}
    for cov in covariates:
        if cov not in attached:
            notes.append(
                f"'{cov}' looks measured before the test, so it is not analysed as an outcome; "
                "it is proposed as a covariate (CUPED): choose the metric it adjusts."
            )
    if not metrics:
        notes.append("No numeric or TRUE/FALSE column is left to analyse: add a metric.")
    return Mapping(
        shape="unit",
        variant=variant,
        control=control,
        unit=unit,
        timestamp=timestamp,
        metrics=tuple(metrics),
        segments=segments,
        covariates=tuple(covariates),
        day_label=day_label,
        aggregate_units=aggregate_units,
        notes=tuple(notes),
        guessed=tuple(guessed),
        arm_proxies=proxies,
        id_columns=ids,
    )


def _pick_variant(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    prof: list[_Profile],
    notes: list[str],
    guessed: list[str],
) -> str | None:
    usable = [
        p
        for p in prof
        if p.non_null > 0
        and (p.family in ("text", "bool") or (p.family == "numeric" and p.integral))
    ]
    named = [p for p in usable if _variant_score(p.name) > 0 and not is_id_name(p.name)]
    good = [p for p in named if 2 <= p.distinct <= config.VARIANT_MAX_LEVELS]
    if good:
        return max(good, key=lambda p: (_variant_score(p.name), -p.distinct)).name
    single = [p for p in named if p.distinct == 1]
    if single:
        return max(single, key=lambda p: _variant_score(p.name)).name
    scored = [
        (arm_value_score(_levels(con, dataset, p.name, head=True)), -i, p.name)
        for i, p in enumerate(usable)
        if p.family == "text"
        and 2 <= p.distinct <= config.VARIANT_MAX_LEVELS
        and not _is_unit_candidate(p)
    ]
    best = max(scored, default=(0, 0, ""))
    if best[0] >= 3:
        values = ", ".join(lvl for lvl, _ in _levels(con, dataset, best[2], head=True))
        notes.append(
            f"No column is named like a variant; '{best[2]}' was taken because its values "
            f"({values}) look like arms. Change it if that is wrong."
        )
        guessed.append("variant")
        return best[2]
    side_by_side = side_by_side_sentence(dataset.columns)
    notes.append(
        side_by_side
        or "No column looks like the variant (the arm each row belongs to): choose it, e.g. a "
        "column with values such as control / treatment. If each row holds every arm side by "
        "side, name its columns like count_c, count_t, mean_c, mean_t, variance_c, variance_t."
    )
    return None


def _levels(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, column: str, *, head: bool = False
) -> list[tuple[str, int]]:
    """Values of a column and their rows, in order (at most 1001): the arms.

    Known ones come from ``dataset.facts``. A file read in place answers from its sample
    (not cached: the statistics' scan finds every arm), so detection does not scan it;
    ``head`` asks for the sample's values of a table's sample too.
    """
    known = dataset.facts.get("levels", {}).get(column)
    if known is not None:
        return list(known)
    sampled = (head or dataset.in_place) and dataset.sample is not None
    sql = levels_sql(dataset.sample if sampled else dataset.table, column, 1001)
    levels = [(str(a), int(b)) for a, b in _run_data(con, dataset, sql).fetchall()]
    if not sampled:
        dataset.facts.setdefault("levels", {})[column] = levels
    return levels


def _pick_control(
    levels: Sequence[tuple[str, int]],
    variant: str | None,
    notes: list[str],
    guessed: list[str] | None = None,
) -> str:
    control, note = pick_control(levels, variant)
    if note is not None:
        notes.append(note)
        if guessed is not None:
            guessed.append("control")
    return control


_TIME_TOKENS = {"timestamp", "time", "date", "day", "ts", "dt", "datetime", "exposure", "assigned"}


def _pick_timestamp(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    prof: list[_Profile],
    taken: set[str | None],
    notes: list[str],
) -> tuple[str | None, bool]:
    typed = [
        p
        for p in prof
        if p.family in ("date", "timestamp") and p.non_null > 0 and p.name not in taken
    ]
    if typed:
        best = max(typed, key=lambda p: (bool(set(p.tokens) & _TIME_TOKENS), -prof.index(p)))
        return best.name, False
    for p in prof:
        named = p.norm in ("date", "day", "dt", "ds") or p.tokens[-1] == "date"
        if p.family != "text" or p.name in taken or p.non_null == 0 or not named:
            continue
        sql = date_text_sql(dataset.sample or dataset.table, p.name)
        dates, digits = _run(con, sql).fetchall()[0]
        if dates == p.non_null:
            return p.name, False
        if digits == p.non_null:
            notes.append(
                f"'{p.name}' holds dates without a year (e.g. 'Sat, Oct 11'); they are kept as "
                "day labels in the order of the file."
            )
            return p.name, True
    return None, False


_UNIT_NAMES = {
    "user_id": 10,
    "userid": 10,
    "user": 9,
    "uid": 8,
    "unit_id": 9,
    "unit": 8,
    "customer_id": 9,
    "customerid": 9,
    "customer": 8,
    "visitor_id": 9,
    "visitorid": 9,
    "visitor": 8,
    "client_id": 8,
    "cookie_id": 8,
    "cookie": 7,
    "device_id": 8,
    "account_id": 8,
    "member_id": 8,
    "player_id": 8,
    "playerid": 8,
    "id": 5,
}


_UNIT_TOKENS = {"user", "customer", "client", "visitor", "cookie", "device", "account", "member"}


def _unit_score(p: _Profile) -> int:
    if p.family not in ("text", "numeric", "other") or (p.family == "numeric" and not p.integral):
        return 0
    if p.norm in _UNIT_NAMES:
        return _UNIT_NAMES[p.norm]
    if set(p.tokens) & (_UNIT_TOKENS | {"player", "uid"}):
        return 6
    return 3 if p.tokens[-1] == "id" or p.norm.endswith("id") else 0


def _is_unit_candidate(p: _Profile) -> bool:
    """Named like an id and with many values (or, for a user-like name, one per row)."""
    score = _unit_score(p)
    if score == 0 or p.non_null == 0:
        return False
    many = p.distinct > config.VARIANT_MAX_LEVELS and p.distinct >= 0.01 * p.non_null
    return many or (score >= 5 and p.distinct >= p.non_null)


def _pick_unit(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    prof: list[_Profile],
    taken: set[str | None],
    notes: list[str],
) -> tuple[str | None, bool]:
    best = _unit_candidate(prof, taken)
    if best is None:
        return None, False
    distinct, rows = _unit_rows(con, dataset, best.name)
    if distinct < rows:
        notes.append(
            f"Some units have several rows ({rows:,} rows for {distinct:,} values of "
            f"'{best.name}'): each unit's rows are added up before the analysis (binary "
            "metrics: converted on any row)."
        )
        return best.name, True
    return best.name, False


def _unit_candidate(prof: Sequence[_Profile], taken: set[str | None]) -> _Profile | None:
    cands = [p for p in prof if p.name not in taken and _is_unit_candidate(p)]
    return max(cands, key=lambda p: (_unit_score(p), p.distinct)) if cands else None


def _unit_rows(con: duckdb.DuckDBPyConnection, dataset: Dataset, unit: str) -> tuple[int, int]:
    """(distinct values, rows with a value) of a unit column, over every row; kept in
    ``dataset.facts``, where :func:`instrumentation_stats` finds the proof that every unit
    has one row (then no unit can be in two arms or have duplicate rows).

    A file read in place whose sample has one row per unit is taken to have one row per unit
    (the sample's counts are returned, not cached): the statistics' scan checks a hash sample
    of every row's ids, and :func:`units_repeat` tells when that check found otherwise.
    """
    known = dataset.facts.get("unit_rows", {}).get(unit)
    if known is None and dataset.in_place and dataset.sample is not None:
        distinct, rows = _run(con, distinct_count_sql(dataset.sample, unit)).fetchall()[0]
        if distinct == rows:
            return int(distinct), int(rows)
    return known if known is not None else _counted_unit_rows(con, dataset, unit)


def unit_repeats(con: duckdb.DuckDBPyConnection, dataset: Dataset, unit: str) -> bool:
    """Whether some value of the column ``unit`` has more than one row (its rows must then be
    added up per unit before the analysis). Counted over every row, once per dataset."""
    distinct, rows = _with_table(con, dataset, lambda: _unit_rows(con, dataset, unit))
    return distinct < rows


def _counted_unit_rows(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, unit: str
) -> tuple[int, int]:
    """:func:`_unit_rows` over every row (one scan), cached in ``dataset.facts``."""
    known = dataset.facts.get("unit_rows", {}).get(unit)
    if known is None:
        sql = repeated_hashes_sql(dataset.table, unit)
        ids, repeats = _run_data(con, dataset, sql).fetchall()[0]
        if repeats:  # repeated units (or a hash collision): count them exactly
            sql = distinct_count_sql(dataset.table, unit)
            distinct, rows = _run_data(con, dataset, sql).fetchall()[0]
            known = (int(distinct), int(rows))
        else:
            known = (int(ids), int(ids))
        dataset.facts.setdefault("unit_rows", {})[unit] = known
    return known


def _pre_base(p: _Profile) -> str | None:
    """The metric a pre-period column shadows (``pre_revenue`` → ``revenue``), ``""`` for
    none, ``None`` when it is not a pre-period column (see
    :func:`~abcore.ingest.findings.pre_period_base`)."""
    return pre_period_base(p.name)


_STAT_RE = re.compile(
    r"^(?P<base>.+?)[\s_.\-]+(?P<stat>sum[\s_.\-]*(?:sq|squared|squares|of[\s_.\-]*squares)|"
    r"sumsq|sum2|sq[\s_.\-]*sum|sum|mean|avg|average|sd|std|stdev|stddev|std[\s_.\-]*dev|"
    r"variance|var|conversions|successes|rate)$",
    re.IGNORECASE,
)


_N_NAMES = {
    "n",
    "count",
    "users",
    "visitors",
    "units",
    "sample_size",
    "samples",
    "participants",
    "exposures",
    "observations",
    "n_users",
    "n_units",
    "num_users",
    "user_count",
    "users_count",
    "visitor_count",
    "total_users",
    "trials",
}


_CONVERSION_NAMES = {"conversions", "converted", "successes", "conversion_count"}


def _stat_kind(stat: str) -> str:
    s = normalize_name(stat)
    if s.startswith("sum_") or s in ("sumsq", "sum2", "sq_sum"):
        return "sum_sq"
    if s in ("mean", "avg", "average", "rate"):
        return "mean"
    if s in ("sd", "std", "stdev", "stddev", "std_dev"):
        return "sd"
    if s in ("variance", "var"):
        return "variance"
    if s in ("conversions", "successes"):
        return "conversions"
    return "sum"


def _stat_columns(prof: list[_Profile], taken: set[str | None]) -> dict[str, dict[str, str]]:
    """``{base: {stat: column}}`` for columns named like ``revenue_sum`` or ``revenue_sd``."""
    out: dict[str, dict[str, str]] = {}
    for p in prof:
        if not p.is_numeric or p.name in taken:
            continue
        match = _STAT_RE.match(p.name.strip())
        if match:
            out.setdefault(match["base"], {})[_stat_kind(match["stat"])] = p.name
    return out


def _pick_shape(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    prof: list[_Profile],
    taken: set[str | None],
    notes: list[str],
) -> tuple[str, dict[str, dict[str, str]]]:
    stats = _stat_columns(prof, taken)
    paired = any(
        ("sum" in s and "sum_sq" in s) or ("mean" in s and ("sd" in s or "variance" in s))
        for s in stats.values()
    )
    if paired:
        return "aggregated", stats
    keys = [p.name for p in prof if p.name in taken]
    has_unit = any(_is_unit_candidate(p) for p in prof)
    if not keys or has_unit or dataset.n_rows > config.AGGREGATED_MAX_ROWS:
        return "unit", stats
    counts = [p for p in prof if p.is_count and p.name not in taken and (p.max or 0) > 1]
    has_n = any(p.norm in _N_NAMES for p in prof if p.is_numeric)
    if not counts:
        return "unit", stats
    (combos,) = _run_data(con, dataset, distinct_keys_sql(dataset.table, keys)).fetchall()[0]
    if has_n or combos == dataset.n_rows:
        notes.append(
            "Each row holds totals for one arm"
            + (" and day" if len(keys) > 1 else "")
            + ", so the file is read as aggregated counts, not one row per unit."
        )
        return "aggregated", stats
    return "unit", stats


def _aggregated_metrics(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    prof: list[_Profile],
    stats: dict[str, dict[str, str]],
    taken: set[str | None],
    notes: list[str],
    guessed: list[str],
) -> tuple[str | None, list[MetricMapping]]:
    by_name = {p.name: p for p in prof}
    n_cands = [p for p in prof if p.is_numeric and p.name not in taken and p.norm in _N_NAMES]
    n_column = n_cands[0].name if n_cands else None
    used = set(taken) | {n_column}
    metrics: list[MetricMapping] = []
    checks = [(c["sum"], c["sum_sq"]) for c in stats.values() if "sum" in c and "sum_sq" in c]
    sql = equal_columns_sql(dataset.table, checks)
    equal = _run_data(con, dataset, sql).fetchall()[0] if checks else ()
    k = 0
    for base, cols in stats.items():
        col_set = set(cols.values())
        if "sum" in cols and "sum_sq" in cols:
            kind = "binary" if equal[k] else "continuous"
            k += 1
            metrics.append(
                MetricMapping(base, kind, sum_column=cols["sum"], sum_sq_column=cols["sum_sq"])
            )
        elif "mean" in cols and ("sd" in cols or "variance" in cols):
            metrics.append(
                MetricMapping(
                    base,
                    "continuous",
                    mean_column=cols["mean"],
                    sd_column=cols.get("sd"),
                    variance_column=None if "sd" in cols else cols.get("variance"),
                )
            )
        elif (
            "mean" in cols
            and by_name[cols["mean"]].min is not None
            and (by_name[cols["mean"]].min or 0) >= 0
            and (by_name[cols["mean"]].max or 0) <= 1
        ):
            metrics.append(MetricMapping(base, "binary", mean_column=cols["mean"]))
        elif "conversions" in cols or ("sum" in cols and by_name[cols["sum"]].is_count):
            column = cols.get("conversions") or cols["sum"]
            metrics.append(MetricMapping(base, "binary", sum_column=column))
        else:
            notes.append(
                f"'{base}' has {', '.join(sorted(cols))} but no matching sum of squares, standard "
                "deviation or variance, so its variance is unknown: add one to analyse it."
            )
            continue
        used |= col_set
    for p in prof:
        if p.name not in used and p.is_numeric and p.norm in _CONVERSION_NAMES:
            metrics.append(MetricMapping(p.name, "binary", sum_column=p.name))
            used.add(p.name)
    counts = [p for p in prof if p.is_count and p.name not in used and p.non_null > 0]
    if counts:
        n_column, more = _count_metrics(con, dataset, counts, n_column, notes, guessed)
        metrics += more
    if n_column is None and any(not m.metric_kind.pair for m in metrics):
        notes.append("No column holds the number of units per row (n, users, visitors): pick it.")
    return n_column, metrics


def _count_metrics(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    counts: list[_Profile],
    n_column: str | None,
    notes: list[str],
    guessed: list[str],
) -> tuple[str | None, list[MetricMapping]]:
    """Count columns as proportions: each over every column that bounds it row by row
    (Enrollments/Clicks, Payments/Clicks and Payments/Enrollments); over the unit count it
    is a conversion of units."""
    cols = [p.name for p in counts] + ([n_column] if n_column else [])
    sql, pairs = count_bounds_sql(dataset.table, cols)
    row = _run_data(con, dataset, sql).fetchall()[0]
    total = {c: float(row[i] or 0) for i, c in enumerate(cols)}
    bounded = {pair: bool(row[len(cols) + i]) for i, pair in enumerate(pairs)}
    order = {c: i for i, c in enumerate(cols)}
    if n_column is None:
        n_column = max(cols, key=lambda c: (total[c], -order[c]))
        notes.append(
            f"No column is named like a unit count (n, users, visitors): '{n_column}', the "
            "largest count column, was taken as the number of units."
        )
        guessed.append("n_column")
    metrics = []
    for c in cols:
        if c == n_column:
            continue
        above = [
            d
            for d in cols
            if d != c
            and bounded[(c, d)]
            and (total[d] > total[c] or (total[d] == total[c] and order[d] < order[c]))
        ]
        if not above:
            notes.append(f"'{c}' is not bounded by any count column, so it is not proposed.")
            continue
        ranked = sorted(above, key=lambda d: (total[d], order[d]))
        if len(cols) > config.COUNT_PAIRS_MAX_COLUMNS:
            ranked = ranked[:1]
        for den in ranked:
            if den == n_column:
                metrics.append(MetricMapping(c, "binary", sum_column=c))
            else:
                metrics.append(
                    MetricMapping(
                        f"{c}/{den}", "proportion_of_counts", numerator=c, denominator=den
                    )
                )
    return n_column, metrics
