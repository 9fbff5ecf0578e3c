"""Session state of the Results page: uploads, the computed statistics and the analysis.

Everything a session loads or computes lives in ``st.session_state``, never in a module
global or ``st.cache_data`` (which would share one user's upload with every other user). An
upload is parsed once per distinct content: its key is the file names, sizes and a hash of
the bytes. Statistics stay in :mod:`abcore`; this module remembers what the engine computed
and for which inputs. What the page shows of it (tables, sentences, labels) is in the pure
:mod:`ui.results_view` and :mod:`ui.warehouse_view`.

An upload of the warehouse query's result (:mod:`abcore.warehouse`: a file with an
``abcore_mapping`` column) carries its own statistics and roles: it is read once into
:attr:`Loaded.output` and analysed as an upload of the rows would be.

Session-state keys (other pages may read the first three):

- ``analysis``: the current :class:`abcore.Analysis` (the Validity & decision page reads it);
- ``aggregates``: its :class:`abcore.ingest.Aggregates`;
- ``analysis_source``: a label of the data it came from;
- ``analysis_rows``: the prepared rows it was computed from, when data preparation ran (the
  decision page's simulated A/A resamples them, not the upload);
- ``results_datasets``, ``results_current``, ``results_failed_uploads``,
  ``results_file_hashes``, ``results_stats_cache``, ``results_analysis_cache``,
  ``results_levels_cache``, ``results_prepared`` and widget keys
  starting with ``results__``: this page's own bookkeeping.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from abcore import analysis as engine
from abcore import config, ingest, stats, warehouse
from abcore.detect_sql import distinct_counts_sql, distinct_values_sql
from abcore.errors import InputError
from abcore.model import Check, Instrumentation, Mapping, PrepStep
from abcore.plan import ExperimentPlan
from abcore.sql import drop_sql
from ui.state import get_connection, upload_refusal

DEMO_PATH = Path(__file__).resolve().parent.parent / "sample_data" / "demo_experiment.parquet"
DEMO_KEY = "demo"
PREFIX = "results__"

ANALYSIS_KEY = "analysis"
AGGREGATES_KEY = "aggregates"
SOURCE_KEY = "analysis_source"
ROWS_KEY = "analysis_rows"
DATASETS_KEY = "results_datasets"
CURRENT_KEY = "results_current"
FAILED_KEY = "results_failed_uploads"
HASHES_KEY = "results_file_hashes"
STATS_CACHE_KEY = "results_stats_cache"
ANALYSIS_CACHE_KEY = "results_analysis_cache"
LEVELS_KEY = "results_levels_cache"
PREPARED_KEY = "results_prepared"
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

    loaded: Loaded | None
    error: str | None = None
    new: bool = False


def select_data(
    files: Sequence[Any] | None, *, keep: bool = False, allow_demo: bool = True
) -> Selection | None:
    """The dataset to show for the uploader's current files.

    No files: the bundled demo, unless ``keep`` (the uploader is empty only because the user
    came back from another page, which resets it): then the last dataset shown stays. New
    files are parsed once; if they cannot be read, the error sentence comes back with the
    previously shown dataset (the page shows the sentence, not that dataset's results).
    ``allow_demo`` False (the user's own experiment is open): None instead of the demo, so
    the user's plan is never shown the demo's numbers.
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
    if (current is None or current == DEMO_KEY or current not in datasets) and not allow_demo:
        st.session_state.pop(CURRENT_KEY, None)
        return Selection(None, error) if error else None
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
# Computing: once per mapping and options, remembered in the session
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Computed:
    """The sufficient statistics of one mapping and the instrumentation checks beside them.

    ``instrumentation`` holds the counts behind those checks (units in two arms, repeated
    units), which the data-preparation section reads to suggest its steps.
    """

    key: str
    aggregates: ingest.Aggregates
    checks: tuple[Check, ...] = field(default=())
    instrumentation: Instrumentation | None = None


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
    if loaded.output is not None:  # the warehouse computed them, capped as its mapping says
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
    inst = None
    if not aggregates.mapping.is_aggregated:
        inst = ingest.instrumentation_stats(con, loaded.dataset, aggregates.mapping)
        checks = tuple(engine.instrumentation_checks(inst))
    return _remember_in(STATS_CACHE_KEY, key, Computed(key, aggregates, checks, inst))


def prepare(
    loaded: Loaded, mapping: Mapping, steps: Sequence[PrepStep]
) -> tuple[Loaded, tuple[PrepStep, ...]]:
    """The upload after ``steps`` (:func:`abcore.ingest.prepare`), and the steps with the
    rows each removed; once per upload, steps and the roles they read.

    The prepared rows are a new table under a key of their own (so their statistics are
    cached apart from the raw upload's) with the same widget prefix (so the role editor's
    widgets stay). No step: the upload as it is.

    Raises:
        InputError: a step does not fit the file (a sentence says why).
    """
    if not steps or loaded.dataset is None:
        return loaded, ()
    roles = [mapping.variant, mapping.timestamp, mapping.day_label]
    digest = hashlib.sha256(
        json.dumps([[s.to_dict() for s in steps], roles], default=str).encode()
    ).hexdigest()
    key = f"{loaded.key}~{digest}"
    cache: dict[str, tuple[Loaded, tuple[PrepStep, ...]]] = st.session_state.setdefault(
        PREPARED_KEY, {}
    )
    if key in cache:  # the most recently used last, so it is not the next one dropped
        cache[key] = cache.pop(key)
    else:
        clean, done = ingest.prepare(get_connection(), loaded.dataset, steps, mapping=mapping)
        cache[key] = (dataclasses.replace(loaded, key=key, dataset=clean), done)
        while len(cache) > MAX_CACHED:
            _drop_table(cache.pop(next(iter(cache)))[0])
    return cache[key]


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
    preparation: Sequence[PrepStep] = (),
    strata: str | None = None,
) -> engine.Analysis:
    """:func:`abcore.analysis.analyze_aggregates` with this session's options, once per input.

    ``preparation`` is the record of the steps the rows went through (:func:`prepare`),
    kept on the readout for the Decision page, the report and the link. ``strata`` (a
    segment column, or None) post-stratifies the overall effects: it goes into the readout
    options the table, the breakdowns and the decision share.
    """
    key = json.dumps(
        [
            computed.key,
            [s.to_dict() for s in preparation],
            alpha,
            correction,
            relative_method,
            cuped,
            strata,
            shares,
            plan.to_dict() if plan else None,  # the whole plan: sizes change checks
        ],
        default=str,
    )
    cached = st.session_state.get(ANALYSIS_CACHE_KEY, {}).get(key)
    if cached is not None:
        return cached
    options = engine.readout_options(
        plan,
        alpha=alpha,
        correction=correction,
        relative_method=relative_method,
        cuped=cuped,
        strata=strata,
    )
    result = engine.analyze_aggregates(
        computed.aggregates,
        expected_shares=shares,
        plan=plan,
        checks=computed.checks,
        preparation=preparation,
        options=options,
    )
    return _remember_in(ANALYSIS_CACHE_KEY, key, result)


def unpublish() -> None:
    """No current analysis: the data in view cannot be read, so no page judges earlier data."""
    for key in (ANALYSIS_KEY, AGGREGATES_KEY, SOURCE_KEY, ROWS_KEY):
        st.session_state.pop(key, None)


def publish(result: engine.Analysis, source: str, rows: ingest.Dataset | None = None) -> None:
    """Make ``result`` the session's current analysis, for this page and the decision page;
    ``rows`` are the prepared rows it came from (None: the upload as it is)."""
    if rows is None:
        st.session_state.pop(ROWS_KEY, None)
    else:
        st.session_state[ROWS_KEY] = rows
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
