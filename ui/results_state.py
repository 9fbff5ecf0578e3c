"""Session state and presentation helpers of the Results page.

Everything a session loads or computes lives in ``st.session_state``, never in a module
global or ``st.cache_data`` (which would share one user's upload with every other user). An
upload is parsed once per distinct content: its key is the file names, sizes and a hash of
the bytes. Statistics stay in :mod:`abcore`; this module remembers what the engine computed
and for which inputs, and turns the numbers into text a product manager can read.

An upload of the warehouse query's result (:mod:`abcore.warehouse`: a file with an
``abcore_mapping`` column) carries its own statistics and roles: it is read once into
:attr:`Loaded.output` and analysed as an upload of the rows would be.

Session-state keys (other pages may read the first three):

- ``analysis``: the current :class:`abcore.Analysis` (the Validity & decision page reads it);
- ``aggregates``: its :class:`abcore.ingest.Aggregates`;
- ``analysis_source``: a label of the data it came from;
- ``results_datasets``, ``results_current``, ``results_failed_uploads``,
  ``results_file_hashes``, ``results_stats_cache``, ``results_analysis_cache``,
  ``results_levels_cache`` and widget keys
  starting with ``results__``: this page's own bookkeeping.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from abcore import analysis as engine
from abcore import config, ingest, stats, warehouse
from abcore.errors import InputError
from abcore.plan import ExperimentPlan
from abcore.sql import Mapping, distinct_counts_sql, distinct_values_sql, drop_sql
from abcore.validity import Check
from ui.state import get_connection, upload_refusal

DEMO_PATH = Path(__file__).resolve().parent.parent / "sample_data" / "demo_experiment.parquet"
DEMO_KEY = "demo"
PREFIX = "results__"

ANALYSIS_KEY = "analysis"
AGGREGATES_KEY = "aggregates"
SOURCE_KEY = "analysis_source"
DATASETS_KEY = "results_datasets"
CURRENT_KEY = "results_current"
FAILED_KEY = "results_failed_uploads"
HASHES_KEY = "results_file_hashes"
STATS_CACHE_KEY = "results_stats_cache"
ANALYSIS_CACHE_KEY = "results_analysis_cache"
LEVELS_KEY = "results_levels_cache"
MAX_DATASETS = 3
"""Datasets kept per session (the demo and the last uploads); older tables are dropped."""
MAX_CACHED = 4


# --------------------------------------------------------------------------------------------
# Uploads: parse once per content, keep the last good dataset
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WarehouseOutput:
    """The result of the warehouse query, uploaded: its statistics, value checks and rows."""

    aggregates: ingest.Aggregates
    checks: tuple[Check, ...]
    rows: int


@dataclass(frozen=True)
class Loaded:
    """A parsed upload (or the demo) and the roles detection proposed for it.

    ``output`` is set for the result of the warehouse query: its roles (``detected``) and
    statistics came in the file, there is nothing to detect or compute, and no rows to keep
    (``dataset`` is None, so the decision page's simulated A/A says it needs the rows).
    """

    key: str
    label: str
    dataset: ingest.Dataset | None
    detected: Mapping
    is_demo: bool = False
    output: WarehouseOutput | None = None

    @property
    def widget_prefix(self) -> str:
        """Prefix of this dataset's widget keys, so a new file starts from its own detection."""
        return f"{PREFIX}ds_{self.key[:12]}__"


def _file_digest(file: Any) -> str:
    """Hash of an uploaded file's bytes, computed once per upload (Streamlit's ``file_id``)."""
    hashes = st.session_state.setdefault(HASHES_KEY, {})
    file_id = getattr(file, "file_id", None)
    if file_id is not None and file_id in hashes:
        return hashes[file_id]
    digest = hashlib.sha256(bytes(file.getvalue())).hexdigest()
    if file_id is not None:
        hashes[file_id] = digest
    return digest


def upload_key(files: Sequence[Any]) -> str:
    """One key per distinct set of files: names, sizes and content hashes.

    The same file uploaded again (even under a new Streamlit ``file_id``) maps to the same
    key, so it is never parsed twice in a session.
    """
    parts = sorted(
        (str(getattr(f, "name", "")), int(getattr(f, "size", 0)), _file_digest(f)) for f in files
    )
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _drop_table(loaded: Loaded) -> None:
    if loaded.dataset is not None:
        get_connection().execute(drop_sql(loaded.dataset.table))


def _load(key: str, label: str, source: Any, *, is_demo: bool) -> Loaded:
    """Parse and detect (or read the warehouse query's result); on failure leave no table
    behind."""
    con = get_connection()
    dataset = ingest.load(con, source)
    try:
        if is_warehouse_output(dataset):
            output = read_warehouse_output(con, dataset)
            con.execute(drop_sql(dataset.table))  # the statistics are read: no rows to keep
            return Loaded(key, label, None, output.aggregates.mapping, is_demo, output)
        detected = ingest.detect_schema(con, dataset)
    except (InputError, ValueError):
        con.execute(drop_sql(dataset.table))
        raise
    return Loaded(key, label, dataset, detected, is_demo)


def is_warehouse_output(dataset: ingest.Dataset) -> bool:
    """Whether an upload is the warehouse query's result: it names its own mapping."""
    return warehouse.MAPPING_COLUMN in dataset.names


def read_warehouse_output(con: Any, dataset: ingest.Dataset) -> WarehouseOutput:
    """The statistics and value checks of an uploaded result of the warehouse query.

    Raises:
        InputError: the file is not the query's whole result (a sentence says why).
    """
    if dataset.n_rows > config.AGGREGATED_MAX_ROWS:
        raise InputError(
            f"This file has {dataset.n_rows:,} rows; the warehouse query returns one per arm, "
            f"day and segment value (at most {config.AGGREGATED_MAX_ROWS:,} here). Upload "
            "the query's result unchanged."
        )
    aggregates, instrumentation = warehouse.read_output(con.table(dataset.table).df())
    checks = tuple(engine.instrumentation_checks(instrumentation))
    return WarehouseOutput(aggregates, checks, dataset.n_rows)


def _remember(loaded: Loaded) -> None:
    datasets: dict[str, Loaded] = st.session_state.setdefault(DATASETS_KEY, {})
    datasets[loaded.key] = loaded
    while len(datasets) > MAX_DATASETS:
        oldest = next(k for k in datasets if k != loaded.key)
        _drop_table(datasets.pop(oldest))


def demo_label() -> str:
    return f"{DEMO_PATH.name} (the bundled demo)"


@dataclass(frozen=True)
class Selection:
    """What the page shows: a dataset, plus why it may not be the one just uploaded."""

    loaded: Loaded
    error: str | None = None
    new: bool = False


def select_data(files: Sequence[Any] | None, *, keep: bool = False) -> Selection:
    """The dataset to show for the uploader's current files.

    No files: the bundled demo, unless ``keep`` (the uploader is empty only because the user
    came back from another page, which resets it): then the last dataset shown stays. New
    files are parsed once; if they cannot be read, the error sentence comes back with the
    previously shown dataset, whose results stay.
    """
    datasets: dict[str, Loaded] = st.session_state.setdefault(DATASETS_KEY, {})
    failed: dict[str, str] = st.session_state.setdefault(FAILED_KEY, {})
    previous = st.session_state.get(CURRENT_KEY)
    error = None
    new = False
    if files:
        key = upload_key(files)
        if key in datasets:
            current = key
        elif key in failed:
            error, current = failed[key], previous
        else:
            names = " + ".join(str(getattr(f, "name", "upload")) for f in files)
            try:
                refusal = upload_refusal(files)
                if refusal:
                    raise InputError(refusal)
                source = list(files) if len(files) > 1 else files[0]
                _remember(_load(key, names, source, is_demo=False))
                current, new = key, True
            except (InputError, ValueError) as exc:
                failed[key] = str(exc)
                error, current = str(exc), previous
    elif keep and previous in datasets:
        current = previous
    else:
        current = DEMO_KEY
    if current is None or current not in datasets:
        current = DEMO_KEY
        if DEMO_KEY not in datasets:
            _remember(_load(DEMO_KEY, demo_label(), DEMO_PATH, is_demo=True))
    if current != previous:
        _forget_widgets(datasets[current])
    st.session_state[CURRENT_KEY] = current
    return Selection(datasets[current], error, new)


def _forget_widgets(keep: Loaded) -> None:
    """Drop the widget state of datasets no longer shown, so a re-upload starts afresh."""
    for key in [k for k in st.session_state if str(k).startswith(f"{PREFIX}ds_")]:
        if not str(key).startswith(keep.widget_prefix):
            del st.session_state[key]


# --------------------------------------------------------------------------------------------
# Mapping helpers
# --------------------------------------------------------------------------------------------


def column_levels(loaded: Loaded, column: str, limit: int) -> list[str]:
    """Distinct values of ``column`` (at most ``limit``), for the control picker.

    Remembered per dataset and column, so a rerun does not scan the table again.
    """
    cache: dict[tuple[str, str, int], list[str]] = st.session_state.setdefault(LEVELS_KEY, {})
    key = (loaded.key, column, int(limit))
    if key not in cache:
        sql = distinct_values_sql(loaded.dataset.table, column, limit)
        rows = get_connection().execute(sql).fetchall()
        cache[key] = [str(r[0]) for r in rows]
    return cache[key]


def numeric_columns(dataset: ingest.Dataset) -> list[str]:
    """Columns that can hold a metric: numbers and TRUE/FALSE."""
    numeric = ("INT", "FLOAT", "DOUBLE", "REAL", "DECIMAL", "BOOLEAN", "NUMERIC")
    return [
        n
        for n, t in dataset.columns
        if any(w in t.upper() for w in numeric) and not t.upper().startswith("INTERVAL")
    ]


def with_plan_metrics(mapping: Mapping, plan: ExperimentPlan, dataset: ingest.Dataset) -> Mapping:
    """Add the plan's ratio metrics whose numerator and denominator columns are in the file.

    Detection cannot know that ``clicks / sessions`` is a metric; the plan says so.
    """
    if mapping.is_aggregated:
        return mapping
    have = {m.name for m in mapping.metrics}
    extra = [m for m in engine.plan_metric_mappings(plan, dataset.names) if m.name not in have]
    return dataclasses.replace(mapping, metrics=(*mapping.metrics, *extra)) if extra else mapping


# --------------------------------------------------------------------------------------------
# The warehouse query: the same readout from a result computed where the data lives
# --------------------------------------------------------------------------------------------

TABLE_PLACEHOLDER = "your_table"
"""The table the query reads until the user names theirs."""
_QUOTES = {'"': '"', "`": "`"}


def table_parts(text: str) -> tuple[str, ...]:
    """A table name as typed, split on dots into its parts (catalog, schema, table).

    A part in double quotes or backticks keeps its dots; inside, a doubled quote is a quote.
    Empty text gives ``(TABLE_PLACEHOLDER,)``.

    >>> table_parts("project.dataset.events")
    ('project', 'dataset', 'events')
    >>> table_parts('shop."events.v2"'), table_parts("`my-proj`.web.`hits.2026`")
    (('shop', 'events.v2'), ('my-proj', 'web', 'hits.2026'))

    Raises:
        ValueError: a sentence naming what is wrong (an empty part, an open quote, more than
            three parts).
    """
    text = text.strip()
    if not text:
        return (TABLE_PLACEHOLDER,)
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] in _QUOTES:
            quote, i, part = text[i], i + 1, []
            while True:
                if i >= n:
                    raise ValueError(f"The table name {text!r} opens a {quote} it never closes.")
                if text[i] == quote:
                    if i + 1 < n and text[i + 1] == quote:
                        part.append(quote)
                        i += 2
                        continue
                    i += 1
                    break
                part.append(text[i])
                i += 1
            name = "".join(part)
            while i < n and text[i].isspace():
                i += 1
            if i < n and text[i] != ".":
                raise ValueError(
                    f"The table name {text!r} has text right after a closing {quote}: put a "
                    "dot between the parts."
                )
        else:
            end = text.find(".", i)
            end = n if end < 0 else end
            name = text[i:end].strip()
            if any(q in name for q in _QUOTES):
                raise ValueError(
                    f"The table name {text!r} has a quote inside a part: quote the whole part, "
                    'as in shop."events.v2".'
                )
            i = end
        if not name:
            raise ValueError(f"The table name {text!r} has an empty part (two dots in a row?).")
        parts.append(name)
        if i >= n:
            break
        i += 1  # the dot
        if i >= n:
            raise ValueError(f"The table name {text!r} ends with a dot.")
    if len(parts) > 3:
        raise ValueError(
            f"The table name {text!r} has {len(parts)} parts; at most 3 (catalog, schema, "
            "table). Quote a part that holds a dot."
        )
    return tuple(parts)


def mapping_columns(mapping: Mapping) -> list[str]:
    """The columns a mapping reads, each once, in the order of its roles.

    >>> from abcore.sql import MetricMapping
    >>> m = Mapping(variant="arm", unit="uid", segments=("os",), metrics=(
    ...     MetricMapping("revenue", "continuous", covariate="pre"),
    ...     MetricMapping("ctr", "ratio", numerator="clicks", denominator="views")))
    >>> mapping_columns(m)
    ['arm', 'uid', 'os', 'revenue', 'pre', 'clicks', 'views']
    """
    names = [mapping.variant, mapping.unit, mapping.timestamp, *mapping.segments]
    for m in mapping.metrics:
        names += [m.column, m.covariate, m.numerator, m.denominator]
    return [n for n in dict.fromkeys(names) if n]


def output_roles_sentence(mapping: Mapping) -> str:
    """The roles an uploaded warehouse result carries, in one line.

    >>> from abcore.sql import MetricMapping
    >>> m = Mapping(variant="arm", control="a", timestamp="ts", segments=("os", "country"),
    ...     metrics=(MetricMapping("converted", "binary"), MetricMapping("revenue", "continuous")))
    >>> print(output_roles_sentence(m))
    arms in 'arm', control arm 'a'; metrics converted and revenue; by day; segments os and country.
    """
    parts = [
        f"arms in '{mapping.variant}'"
        + (f", control arm '{mapping.control}'" if mapping.control else "")
    ]
    parts.append(
        f"metric{'s' if len(mapping.metrics) > 1 else ''} "
        + _and([m.name for m in mapping.metrics])
    )
    if mapping.timestamp:
        parts.append("by day")
    if mapping.segments:
        parts.append(
            f"segment{'s' if len(mapping.segments) > 1 else ''} " + _and(list(mapping.segments))
        )
    return "; ".join(parts) + "."


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class WarehouseQuery:
    """The query to show, or why there is none."""

    sql: str | None
    problem: str | None = None


def query_file_name(dialect: str) -> str:
    """The name of the downloaded query: ``experiment_stats_bigquery.sql``."""
    return f"experiment_stats_{dialect}.sql"


def warehouse_query(
    mapping: Mapping | None, table: str, dialect: str, *, capped: bool
) -> WarehouseQuery:
    """The sufficient-statistics query of the page's current mapping over ``table`` (as
    typed), in ``dialect``; or a sentence saying why it cannot be written."""
    if mapping is None:
        return WarehouseQuery(
            None, "The query follows the columns and roles: fix them above to see it."
        )
    if mapping.is_aggregated:
        return WarehouseQuery(
            None,
            "This file already holds totals per arm, which is what the query would return: "
            "there is nothing to run. The query reads one row per user (or per user and day).",
        )
    if capped:
        return WarehouseQuery(
            None,
            "Capping extreme values is on (Test settings), and the query does not cap, so its "
            "result would not match this readout: turn capping off to see the query.",
        )
    try:
        return WarehouseQuery(warehouse.stats_query(mapping, table_parts(table), dialect=dialect))
    except ValueError as exc:
        message = str(exc)
        return WarehouseQuery(None, message[:1].upper() + message[1:])


# --------------------------------------------------------------------------------------------
# Computing: once per mapping and options, remembered in the session
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Computed:
    """The sufficient statistics of one mapping and the instrumentation checks beside them."""

    key: str
    aggregates: ingest.Aggregates
    checks: tuple[Check, ...] = field(default=())


def _remember_in(cache_key: str, key: str, value: Any) -> Any:
    cache: dict[str, Any] = st.session_state.setdefault(cache_key, {})
    cache[key] = value
    while len(cache) > MAX_CACHED:
        cache.pop(next(iter(cache)))
    return value


def compute(loaded: Loaded, mapping: Mapping, cap: float | None) -> Computed:
    """Sufficient statistics (and instrumentation checks for unit-level data), once per input.

    An uploaded result of the warehouse query brings its own: ``mapping`` and ``cap`` do not
    apply to it.

    Raises:
        InputError: the mapping does not fit the file (a sentence says what to change).
    """
    if loaded.output is not None:  # the warehouse computed them; the query does not cap
        return Computed(loaded.key, loaded.output.aggregates, loaded.output.checks)
    key = hashlib.sha256(
        json.dumps([loaded.key, mapping.to_dict(), cap], sort_keys=True, default=str).encode()
    ).hexdigest()
    cached = st.session_state.get(STATS_CACHE_KEY, {}).get(key)
    if cached is not None:
        return cached
    check_role_sizes(loaded, mapping)
    con = get_connection()
    aggregates = ingest.compute_stats(con, loaded.dataset, mapping, cap=cap)
    checks: tuple[Check, ...] = ()
    if not aggregates.mapping.is_aggregated:
        inst = ingest.instrumentation_stats(con, loaded.dataset, aggregates.mapping)
        checks = tuple(engine.instrumentation_checks(inst))
    return _remember_in(STATS_CACHE_KEY, key, Computed(key, aggregates, checks))


def check_role_sizes(loaded: Loaded, mapping: Mapping) -> None:
    """Refuse a hand-picked date or segment column with far too many values.

    Every day and every segment value becomes its own comparison, so a user id picked as
    the date would mean 50,000 "days": a sentence now beats a page that never returns.

    Raises:
        InputError: naming the column, its number of values and the limit.
    """
    types = loaded.dataset.types
    checks: list[tuple[str, bool, int, str]] = []
    if mapping.timestamp and mapping.timestamp in types:
        dated = any(w in types[mapping.timestamp].upper() for w in ("DATE", "TIMESTAMP"))
        checks.append((mapping.timestamp, dated, config.RESULTS_MAX_DAYS, "days"))
    for segment in mapping.segments:
        if segment in types:
            checks.append((segment, False, config.RESULTS_MAX_SEGMENT_VALUES, "segment values"))
    if not checks:
        return
    sql = distinct_counts_sql(loaded.dataset.table, [(c, dated) for c, dated, _, _ in checks])
    row = get_connection().execute(sql).fetchall()[0]
    for (column, _, limit, what), n in zip(checks, row, strict=True):
        if n > limit:
            role = "date" if what == "days" else "segment"
            raise InputError(
                f"Column '{column}' has {n:,} different values, too many {what} (at most "
                f"{limit:,}): it does not look like a {role} column. Pick another one, or none."
            )


def plan_for(aggregates: ingest.Aggregates, plan: ExperimentPlan) -> ExperimentPlan | None:
    """The plan, when its arms are the data's arms with the same control; else None."""
    same_arms = set(plan.expected_shares) == set(aggregates.variants)
    return plan if same_arms and plan.control == aggregates.control else None


def analyse(
    computed: Computed,
    *,
    alpha: float,
    correction: str,
    relative_method: str,
    cuped: bool,
    shares: dict[str, float] | None,
    plan: ExperimentPlan | None,
) -> engine.Analysis:
    """:func:`abcore.analysis.analyze_aggregates` with this session's options, once per input."""
    key = json.dumps(
        [
            computed.key,
            alpha,
            correction,
            relative_method,
            cuped,
            shares,
            plan.fingerprint() if plan else None,
        ],
        default=str,
    )
    cached = st.session_state.get(ANALYSIS_CACHE_KEY, {}).get(key)
    if cached is not None:
        return cached
    result = engine.analyze_aggregates(
        computed.aggregates,
        expected_shares=shares,
        alpha=alpha,
        correction=correction,
        relative_method=relative_method,
        cuped=cuped,
        plan=plan,
        checks=computed.checks,
    )
    return _remember_in(ANALYSIS_CACHE_KEY, key, result)


def publish(result: engine.Analysis, source: str) -> None:
    """Make ``result`` the session's current analysis, for this page and the decision page."""
    st.session_state[ANALYSIS_KEY] = result
    st.session_state[AGGREGATES_KEY] = result.aggregates
    st.session_state[SOURCE_KEY] = source


def relative_interval_columns(result: engine.Analysis, cuped: bool) -> pd.DataFrame:
    """Fieller, log and delta relative intervals of every row of the effects table."""
    rows = []
    for row in result.effects.itertuples(index=False):
        comparison = engine.compare_metric(
            result.aggregates,
            row.metric,
            row.arm,
            dataclasses.replace(result.options, cuped=cuped),
            alternative=str(row.alternative),
        )
        out: dict[str, Any] = {"metric": row.metric, "arm": row.arm}
        for method, (low, high) in stats.relative_intervals(comparison).items():
            out[f"rel_ci_low_{method}"] = float(low)
            out[f"rel_ci_high_{method}"] = float(high)
        rows.append(out)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Presentation: numbers as a product manager reads them
# --------------------------------------------------------------------------------------------


def _bad(x: Any) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def fmt_p(p: Any) -> str:
    """p-values as people quote them.

    >>> [fmt_p(p) for p in (0.0004, 0.0031, 0.0146, 0.37, 1.0, float("nan"))]
    ['<0.001', '0.003', '0.015', '0.37', '1.00', '—']
    """
    if _bad(p):
        return "—"
    p = float(p)
    if p < 0.001:
        return "<0.001"
    if p < 0.1:
        return f"{p:.3f}"
    return f"{p:.2f}"


def _digits(size: float) -> int:
    return 2 if size < 0.1 else 1 if size < 1 else 0


def fmt_pct(x: Any, *, signed: bool = True, digits: int | None = None) -> str:
    """Percentages with as many decimals as their size deserves.

    >>> [fmt_pct(x) for x in (0.0674, -0.0043, 1.4067, float("inf"))]
    ['+6.74%', '-0.43%', '+141%', 'unbounded']
    """
    if _bad(x):
        return "—"
    x = float(x)
    if math.isinf(x):
        return "unbounded"
    sign = "+" if signed else ""
    digits = _digits(abs(x)) if digits is None else digits
    return f"{x:{sign}.{digits}%}"


def fmt_number(x: Any, *, signed: bool = False) -> str:
    """Means and differences with about four significant digits.

    >>> [fmt_number(x) for x in (861.9555, 52.456, 0.0123456, 12345.6)]
    ['862.0', '52.46', '0.0123', '12,346']
    """
    if _bad(x):
        return "—"
    x = float(x)
    sign = "+" if signed else ""
    size = abs(x)
    if size >= 1000:
        return f"{x:{sign},.0f}"
    if size >= 100:
        return f"{x:{sign}.1f}"
    if size >= 1 or size == 0:
        return f"{x:{sign}.2f}"
    return f"{x:{sign}.3g}"


def is_rate(kind: str) -> bool:
    return kind in ("binary", "proportion_of_counts")


def fmt_mean(x: Any, kind: str) -> str:
    """A rate as a percentage, anything else as a number."""
    if is_rate(kind) and not _bad(x):
        return f"{float(x):.2%}"
    return fmt_number(x)


def fmt_difference(x: Any, kind: str) -> str:
    """Absolute differences: percentage points for rates."""
    if _bad(x):
        return "—"
    if is_rate(kind):
        return f"{float(x) * 100:+.2f} pp"
    return fmt_number(x, signed=True)


def fmt_interval(low: Any, high: Any) -> str:
    """A relative interval; infinite ends read "unbounded" (Fieller, control near zero).

    >>> fmt_interval(0.013, 0.1249), fmt_interval(float("-inf"), float("inf"))
    ('+1.3% to +12.5%', 'unbounded')
    >>> fmt_interval(0.013, float("inf"))
    'above +1.30%'
    """
    if _bad(low) or _bad(high):
        return "—"
    low, high = float(low), float(high)
    if math.isinf(low) and math.isinf(high):
        return "unbounded"
    if math.isinf(high):  # one-sided, as a one-sided plan tests its success metric
        return f"above {fmt_pct(low)}"
    if math.isinf(low):
        return f"below {fmt_pct(high)}"
    digits = _digits(max(abs(float(low)), abs(float(high))))
    return f"{fmt_pct(low, digits=digits)} to {fmt_pct(high, digits=digits)}"


@dataclass(frozen=True)
class Role:
    """What the plan says about a metric of the same name."""

    role: str
    direction: str
    margin: float | None = None


def plan_roles(plan: ExperimentPlan | None) -> dict[str, Role]:
    if plan is None:
        return {}
    return {m.name: Role(m.role, m.direction, m.margin) for m in plan.metrics}


def guardrail_margins(roles: dict[str, Role]) -> dict[str, float]:
    """The relative effect each guardrail must not cross, signed by its bad direction."""
    return {
        name: (r.margin if r.direction == "decrease" else -r.margin)
        for name, r in roles.items()
        if r.role == "guardrail" and r.margin
    }


ROLE_LABELS = {"success": "Success", "guardrail": "Guardrail", "secondary": "Exploratory"}
FAMILY_ORDER = {"success": 0, "guardrail": 1, "secondary": 2, "all": 3}
METHOD_INTERVALS = {
    "fixed": "CI",
    "always_valid": "always-valid CI",
    "group_sequential": "group-sequential CI",
}
"""What the table calls its interval under each analysis method."""
METHOD_BANDS = {
    "fixed": "confidence interval",
    "always_valid": "confidence sequence",
    "group_sequential": "group-sequential boundary",
}
"""What the charts call the interval (band) under each analysis method."""
# Symbols every system font has (DejaVu too), unlike colour emoji.
RESULT_BETTER = "✔ Better"
RESULT_WORSE = "✖ Worse"
RESULT_UP = "▲ Higher"
RESULT_DOWN = "▼ Lower"
RESULT_NONE = "– No clear change"
RESULT_BEFORE = "– Not after correction"
RESULT_ERROR = "⚠ Cannot test"


def result_label(row: dict[str, Any], alpha: float, direction: str | None) -> str:
    """A verdict word per row: significant (on the adjusted p-value) and in which direction."""
    if _bad(row.get("p_value")):
        return RESULT_ERROR
    if not bool(row.get("significant")):
        return RESULT_BEFORE if float(row["p_value"]) < alpha else RESULT_NONE
    up = float(row["abs_effect"]) > 0
    if direction is None:
        return RESULT_UP if up else RESULT_DOWN
    return RESULT_BETTER if up == (direction == "increase") else RESULT_WORSE


def error_sentences(effects: pd.DataFrame) -> list[str]:
    """One sentence per row whose comparison carries an error code."""
    out = []
    for row in effects.to_dict("records"):
        code = row.get("error")
        if isinstance(code, str) and code:
            sentence = stats.ERRORS.get(code, code.replace("_", " "))
            where = f"{row['metric']}"
            if row.get("segment_value") is not None:
                where += f" in {row['segment']} = {row['segment_value']}"
            out.append(f"{where} ({row['arm']}): {sentence}")
    return out


def arm_header(role: str, arm: str) -> str:
    """'Control' for an arm called control, else 'Control: gate_30'.

    >>> arm_header("Control", "control"), arm_header("Treatment", "gate_40")
    ('Control', 'Treatment: gate_40')
    """
    return role if arm.strip().lower() == role.lower() else f"{role}: {arm}"


def effects_display(
    effects: pd.DataFrame,
    *,
    alpha: float,
    roles: dict[str, Role],
    method: str,
    control: str | None = None,
    intervals: pd.DataFrame | None = None,
    label: str = "metric",
    analysis_method: str = "fixed",
) -> pd.DataFrame:
    """The effects table as text: a verdict, means, differences, intervals and p-values.

    Rows come grouped by family (success, guardrail, exploratory) when the effects carry
    one, and the Role column names the family, so the reader sees which correction each
    adjusted p-value went through. ``analysis_method`` names the interval (a confidence
    sequence is not a one-look interval).

    With a single treatment arm the arms go into the column headers instead of a column of
    their own; the Role column appears only when the plan names one of the metrics.
    ``intervals`` (from :func:`relative_interval_columns`) adds the other two relative
    intervals beside the chosen one.
    """
    level = f"{1 - alpha:.0%}" if round((1 - alpha) * 100, 6).is_integer() else f"{1 - alpha:.1%}"
    interval = METHOD_INTERVALS.get(analysis_method, "CI")
    if "family" in effects.columns and label == "metric":
        order = effects["family"].map(FAMILY_ORDER).fillna(3)
        effects = effects.assign(_order=order).sort_values("_order", kind="stable")
    records = effects.to_dict("records")
    arms = list(dict.fromkeys(str(r["arm"]) for r in records))
    one_arm = len(arms) == 1
    show_roles = label == "metric" and (
        any(str(r["metric"]) in roles for r in records)
        or any(r.get("family") in ROLE_LABELS for r in records)
    )
    control_col = arm_header("Control", control) if control else "Control"
    treat_col = arm_header("Treatment", arms[0]) if one_arm else "Treatment"
    extra = {}
    if intervals is not None and not intervals.empty:
        extra = {(r["metric"], r["arm"]): r for r in intervals.to_dict("records")}
    rows = []
    for r in records:
        kind = str(r.get("kind", "continuous"))
        role = roles.get(str(r["metric"]))
        out: dict[str, Any] = {}
        if label != "metric":
            out[label.replace("_", " ").capitalize()] = str(r[label])
        out["Metric"] = str(r["metric"])
        if show_roles:
            family = r.get("family") if r.get("family") in ROLE_LABELS else None
            family = family or (role.role if role else "secondary")
            out["Role"] = ROLE_LABELS.get(family, family)
        if not one_arm:
            out["Treatment arm"] = str(r["arm"])
        out["Result"] = result_label(r, alpha, role.direction if role else None)
        out[control_col] = fmt_mean(r.get("control_mean"), kind)
        out[treat_col] = fmt_mean(r.get("treatment_mean"), kind)
        out["Difference"] = fmt_difference(r.get("abs_effect"), kind)
        out["Relative effect"] = fmt_pct(r.get("rel_effect"))
        out[f"{level} {interval} ({method})"] = fmt_interval(
            r.get("rel_ci_low"), r.get("rel_ci_high")
        )
        if extra:
            x = extra.get((r["metric"], r["arm"]), {})
            for other in ("fieller", "log", "delta"):
                if other != method:
                    out[f"{level} {interval} ({other})"] = fmt_interval(
                        x.get(f"rel_ci_low_{other}"), x.get(f"rel_ci_high_{other}")
                    )
        out["p-value"] = fmt_p(r.get("p_value"))
        out["Adjusted p"] = fmt_p(r.get("p_value_adjusted"))
        rows.append(out)
    return pd.DataFrame(rows)


def export_frame(
    effects: pd.DataFrame, roles: dict[str, Role], intervals: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The effects table with the plan's roles (and extra intervals), raw numbers kept."""
    frame = effects.copy()
    frame.insert(1, "role", [roles[m].role if m in roles else "" for m in frame["metric"]])
    if intervals is not None and not intervals.empty:
        frame = frame.merge(intervals, on=["metric", "arm"], how="left")
    return frame


def summary_sentence(
    effects: pd.DataFrame,
    roles: dict[str, Role],
    alpha: float,
    correction: str,
    recommendation: Any = None,
) -> str:
    """The page's headline: one story with the verdict.

    With a plan, the comparisons are read family by family, as the decision reads them:
    the success metric (the plan's sidedness and correction), the guardrails, and the
    exploratory metrics (a false-discovery correction of their own); then the verdict,
    which reads the same success and guardrail tests. Without a plan, one family.
    """
    how = {"holm": "Holm", "bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}.get(correction)
    families = set(effects["family"]) if "family" in effects.columns else {"all"}
    if families <= {"all"}:
        return _one_family_sentence(effects, roles, alpha, how)
    parts = []
    sig = effects["significant"].fillna(False).astype(bool)
    for r in effects[effects["family"] == "success"].to_dict("records"):
        role = roles.get(str(r["metric"]))
        word = result_label(r, alpha, role.direction if role else None)
        verdict = {
            RESULT_BETTER: "a significant improvement",
            RESULT_WORSE: "significantly worse",
            RESULT_UP: "significantly higher",
            RESULT_DOWN: "significantly lower",
            RESULT_ERROR: "not testable",
        }.get(word, "no significant change")
        one_sided = math.isinf(float(r["rel_ci_high"])) or math.isinf(float(r["rel_ci_low"]))
        parts.append(
            f"**Success metric {r['metric']}** ({r['arm']}): {fmt_pct(r['rel_effect'])} "
            f"({fmt_interval(r['rel_ci_low'], r['rel_ci_high'])}, adjusted p = "
            f"{fmt_p(r['p_value_adjusted'])}): {verdict}"
            + (", tested one-sided as the plan says" if one_sided else "")
        )
    guards = effects[effects["family"] == "guardrail"]
    if len(guards):
        worse = [
            r["metric"]
            for r in guards.to_dict("records")
            if result_label(r, alpha, _direction(roles, r)) == RESULT_WORSE
        ]
        parts.append(
            f"**Guardrails**: {', '.join(dict.fromkeys(worse))} got significantly worse"
            if worse
            else f"**Guardrails**: none of {len(guards)} got significantly worse"
        )
    explore = effects[effects["family"] == "secondary"]
    if len(explore):
        hits = explore[sig[explore.index]]
        listed = "; ".join(
            f"{r['metric']} ({r['arm']}) {fmt_pct(r['rel_effect'])}"
            for r in hits.to_dict("records")[:4]
        )
        parts.append(
            f"**Exploratory metrics** ({len(explore)} comparisons, false-discovery "
            "correction): "
            + (f"{len(hits)} significant: {listed}" if len(hits) else "none significant")
        )
    text = ". ".join(parts) + "."
    if recommendation is not None:
        text += (
            f" **Launch decision: {recommendation.label}**, from these same success and "
            "guardrail tests (and each guardrail's margin); details on Validity & decision."
        )
    return text


def _direction(roles: dict[str, Role], row: dict[str, Any]) -> str | None:
    role = roles.get(str(row["metric"]))
    return role.direction if role else None


def _one_family_sentence(
    effects: pd.DataFrame, roles: dict[str, Role], alpha: float, how: str | None
) -> str:
    total = len(effects)
    sig = effects[effects["significant"].fillna(False).astype(bool)]
    after = f" after {how} correction" if how else ""
    if total == 1:
        lead = f"**The comparison is {'' if len(sig) else 'not '}significant** at {alpha:g}"
    elif not len(sig):
        lead = f"**None of the {total} comparisons is significant** at {alpha:g}{after}"
    else:
        verb = "is" if len(sig) == 1 else "are"
        lead = f"**{len(sig)} of {total} comparisons {verb} significant** at {alpha:g}{after}"
    parts = [lead]
    if 0 < len(sig) <= 4 and total > 1:
        parts[0] += ": " + "; ".join(
            f"{r['metric']} ({r['arm']}) {fmt_pct(r['rel_effect'])}" for r in sig.to_dict("records")
        )
    return ". ".join(p[0].upper() + p[1:] for p in parts) + "."


METHOD_NOTES = {
    "fixed": "Read with a **fixed horizon**: the intervals and p-values are valid read once, "
    "at the planned end. Stopping early on a good-looking day inflates false wins.",
    "always_valid": "Read with the **always-valid** method (a confidence sequence): every "
    "interval and p-value stays valid however often you look, so the test may stop as soon "
    "as the result is clear. The price: wider intervals than a one-look test.",
    "group_sequential": "Read with a **group-sequential** design: intervals and p-values use "
    "the boundary of the current look (the share of the planned users reached so far), so "
    "a result that crosses it may stop the test at this look.",
}


def progress_sentence(result: engine.Analysis) -> str:
    """How far along the plan the data is, for a peeking-safe readout ('' for fixed)."""
    t = result.information_fraction
    if result.method == "fixed" or t is None:
        return ""
    planned = int(result.options.planned_n or result.options.tuning_n)
    held = f"The data holds {round(t * planned):,} of the {planned:,} users planned"
    if len(result.aggregates.treatments) > 1:
        held += " for the control and each arm"
    if result.look is not None:
        k, looks = result.look
        last = " (the last)" if k == looks else ""
        return f"{held}: look {k} of {looks}{last}."
    return f"{held}."


def daily_display(daily: pd.DataFrame) -> pd.DataFrame:
    """The lift over time as text: day, units so far, lift, its interval, whether it
    excludes zero (one metric and arm)."""
    rows = []
    for r in daily.to_dict("records"):
        day = r["day"]
        rows.append(
            {
                "Day": f"{day:%b %d}" if isinstance(day, pd.Timestamp) else str(day),
                "Units so far": f"{int(r['n_control']) + int(r['n_treatment']):,}",
                "Lift so far": fmt_pct(r["rel_effect"]),
                "Interval": fmt_interval(r["rel_ci_low"], r["rel_ci_high"]),
                "Excludes 0": "yes" if r.get("excludes_zero") else "",
            }
        )
    return pd.DataFrame(rows)


def first_day_sentence(daily: pd.DataFrame, method: str) -> str:
    """When the interval first left zero behind, and what that day means under the method."""
    first = daily["first_day_excluding_zero"].iloc[0] if len(daily) else None
    days = list(dict.fromkeys(daily["day"]))
    if first is None or pd.isna(first) or first not in days:  # NaT for dates, NaN otherwise
        when = "The interval has not excluded zero on any day yet"
    else:
        label = f"{first:%b %d}" if isinstance(first, pd.Timestamp) else str(first)
        when = (
            f"The interval first excluded zero on **{label}** (day {days.index(first) + 1} of "
            f"{len(days)})"
        )
    meaning = {
        "fixed": ": with a fixed horizon that day means little, since a one-look interval "
        "read every day leaves zero by luck far more often than alpha. Decide at the planned end.",
        "always_valid": ". The band is a confidence sequence, valid on every day at once: the "
        "day it leaves zero behind is a day the test could have stopped.",
        "group_sequential": ". The band uses each day's group-sequential boundary; the test "
        "may stop at a planned look where the band has left zero behind.",
    }[method]
    return when + meaning


def bayes_display(frame: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The Bayesian view as text: chance to beat control, expected losses, credible interval."""
    level = f"{1 - alpha:.0%}"
    return pd.DataFrame(
        {
            "Metric": frame["metric"],
            "Arm": frame["arm"],
            "Chance to beat control": [
                f"{p:.1%}" if not _bad(p) else "—" for p in frame["chance_to_beat"]
            ],
            "Expected loss if you ship": [
                fmt_pct(x, signed=False) for x in frame["expected_loss_ship"]
            ],
            "Expected loss if you don't": [
                fmt_pct(x, signed=False) for x in frame["expected_loss_keep"]
            ],
            f"{level} credible interval": [
                fmt_interval(lo, hi)
                for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)
            ],
        }
    )


def bayes_sentence(frame: pd.DataFrame, metric: str | None) -> str:
    """What the success metric's posterior says, in words, and what it does not say."""
    rows = frame[frame["metric"] == metric] if metric in set(frame["metric"]) else frame.head(1)
    if rows.empty:
        return ""
    r = rows.iloc[0]
    if _bad(r["chance_to_beat"]):
        return f"{r['metric']} has no posterior: its standard error could not be computed."
    better = "higher" if r["direction"] == "increase" else "lower"
    return (
        f"Given the data and the prior, there is a **{r['chance_to_beat']:.1%} chance** that "
        f"{r['arm']} is better than control on {r['metric']} ({better} is better). Shipping "
        f"risks an expected loss of {fmt_pct(r['expected_loss_ship'], signed=False)} of "
        f"{r['metric']} (relative), counting the cases where it is in fact worse; not shipping "
        f"forgoes an expected {fmt_pct(r['expected_loss_keep'], signed=False)}, counting the "
        "cases where it is in fact better. This is **not 1 − p**: a p-value "
        "is how surprising the data would be if there were no effect; the chance to beat is "
        "how likely the effect is positive, given the data and the prior. It also says "
        "nothing about whether the win is large enough to matter."
    )


def day_span(days: Sequence[Any]) -> str:
    """'Mar 02 – Mar 15, 2026' for dates, 'Sat, Oct 11 – Sun, Nov 16' for labels."""
    if not days:
        return ""
    first, last = days[0], days[-1]
    if isinstance(first, pd.Timestamp):
        return f"{first:%b %d} – {last:%b %d, %Y}"
    return f"{first} – {last}"


# --------------------------------------------------------------------------------------------
# The mapping editor's tables and the effects table's colours
# --------------------------------------------------------------------------------------------

NONE = "(none)"
"""The choice that leaves an optional role (a covariate) empty."""


def unit_metric_frame(mapping: Mapping, candidates: list[str]) -> pd.DataFrame:
    """The unit-level metric editor: which columns to analyse, their kind and covariate."""
    found = {m.column: m for m in mapping.metrics if m.kind in ("binary", "continuous")}
    rows = []
    for column in candidates:
        m = found.get(column)
        rows.append(
            {
                "analyse": m is not None,
                "column": column,
                "kind": m.kind if m else "continuous",
                "covariate": (m.covariate if m and m.covariate else NONE),
            }
        )
    return pd.DataFrame(rows, columns=["analyse", "column", "kind", "covariate"])


def aggregate_metric_frame(mapping: Mapping) -> pd.DataFrame:
    """The aggregated-file metric editor: the sum, sum of squares, mean or sd columns."""
    rows = [
        {
            "analyse": True,
            "name": m.name,
            "kind": m.kind,
            "sum_column": m.sum_column,
            "sum_sq_column": m.sum_sq_column,
            "mean_column": m.mean_column,
            "sd_column": m.sd_column,
        }
        for m in mapping.metrics
        if m.kind in ("binary", "continuous")
    ]
    columns = ["analyse", "name", "kind", "sum_column", "sum_sq_column", "mean_column"]
    return pd.DataFrame(rows, columns=[*columns, "sd_column"]).astype(
        {"analyse": bool, **{c: object for c in columns[1:]}, "sd_column": object}
    )


def pair_metric_frame(mapping: Mapping) -> pd.DataFrame:
    """The ratio and counts editor: numerator and denominator columns."""
    rows = [
        {"name": m.name, "numerator": m.numerator, "denominator": m.denominator, "kind": m.kind}
        for m in mapping.metrics
        if m.kind in ("ratio", "proportion_of_counts")
    ]
    return pd.DataFrame(rows, columns=["name", "numerator", "denominator", "kind"]).astype(object)


def cell_text(value: Any) -> str | None:
    """An edited cell as text; None for an empty cell or the '(none)' choice."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    value = str(value).strip()
    return value if value and value != NONE else None


RESULT_STYLES = {
    RESULT_BETTER: "color: #1a7f37; font-weight: 600",
    RESULT_WORSE: "color: #cf222e; font-weight: 600",
    RESULT_UP: "color: #1f6feb; font-weight: 600",
    RESULT_DOWN: "color: #1f6feb; font-weight: 600",
    RESULT_ERROR: "color: #9a6700",
}


def colour_result(value: str) -> str:
    """The colour of a Result cell: green better, red worse, blue a neutral move."""
    return RESULT_STYLES.get(value, "color: #57606a")


def pick(options: Sequence[Any], value: Any, fallback: Any = None) -> Any:
    """``value`` when it is among ``options`` (a widget's choices), else ``fallback``."""
    return value if value in options else fallback
