"""The Results page's inputs, as widgets: the role editor, the test settings and the
warehouse query box.

Kept out of ``app_pages/results.py`` so the page reads as its steps. Each function takes
what it needs as arguments and returns what the user chose; the tables they edit come from
the pure :mod:`ui.results_view` and :mod:`ui.warehouse_view`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import streamlit as st

from abcore import config, warehouse
from abcore.capping import Capping
from abcore.errors import InputError
from abcore.model import SHAPES, Mapping, MetricMapping
from abcore.plan import ExperimentPlan
from ui import results_state as rs
from ui import results_view as rv
from ui import warehouse_view as wv
from ui.prep_inputs import render_findings
from ui.results_view import NONE, pick
from ui.state import editor_seed, seed
from ui.text import md

P = rs.PREFIX
SHAPE_LABELS = {
    "unit": "A row per user",
    "aggregated": "Totals per arm",
    "daily": "Totals per arm and day",
}
KIND_HELP = (
    "binary: yes/no per user (a conversion); continuous: any number per user (revenue, load time)."
)
PAIR_KIND_HELP = (
    "ratio: sum of numerator / sum of denominator per user (clicks per session); "
    "proportion_of_counts: successes out of trials in count data (enrollments / clicks)."
)


QUANTILE_HELP = (
    "The value below which that share of users fall (p90: 90%), per arm; the difference is "
    "tested with the order-statistic interval of each arm's quantile (the outer-CI method)."
)
COVARIATE_HELP = (
    "The same metric (or any number) measured before the test. One covariate is CUPED; "
    "several are one regression on all of them."
)
RATIO_COVARIATE_HELP = (
    "At most two, in this order: the pre-period numerator, then the pre-period denominator "
    "(CUPED on a ratio by the delta method). The numerator alone takes the denominator as 1."
)


CORRECTIONS = {
    "holm": "Holm (default)",
    "bh": "Benjamini-Hochberg (false discovery rate)",
    "bonferroni": "Bonferroni (strictest)",
    "none": "None",
}
METHODS = {
    "fieller": "Fieller (default, exact)",
    "log": "Log ratio",
    "delta": "Delta method",
}
CAPS = {0.0: "Off", 0.99: "At the 99th percentile", 0.999: "At the 99.9th percentile"}
"""The settings' shortcut: one pooled upper percentile for every continuous metric without
a capping of its own (also how a page or link from before per-metric capping asked)."""
CAPPING_CHOICES = {
    "off": "Off",
    "percentile": "Percentiles (both arms pooled)",
    "absolute": "Fixed amounts",
}
CAPPING_HELP = (
    "Clip each user's value into [lower, upper] before testing, so one whale cannot decide "
    "the result. Percentiles (0 to 100) are of both arms pooled: one bound for everyone, so "
    "the arms are compared on the same capped metric. Leave a bound empty for none."
)


@dataclass(frozen=True)
class Settings:
    """The Test settings the user chose."""

    alpha: float
    correction: str
    method: str
    show_all: bool
    cap: float
    cuped: bool
    strata: str | None = None


def render_role_editor(loaded: rs.Loaded, detected: Mapping, plan_control: str) -> Mapping:
    """Widgets for every role, seeded from detection; returns the mapping they describe.

    ``plan_control`` (the plan's control arm) is the control proposed when detection's own
    does not apply to the variant column chosen.

    Raises:
        InputError: the roles do not make a mapping (no metric, a ratio without both columns).
    """
    ds = loaded.dataset
    k = loaded.widget_prefix
    names = list(ds.names)
    numeric = rv.numeric_columns(ds)
    if detected.notes:
        st.markdown("**What detection guessed**")
        for note in detected.notes:
            st.caption(f"• {md(note)}")

    c1, c2, c3, c4 = st.columns(4)
    variant = c1.selectbox(
        "Variant column (which arm)",
        [None, *names],
        format_func=lambda c: "— choose —" if c is None else c,
        key=seed(k + "variant", pick(names, detected.variant)),
        help="The column that says which arm each row belongs to.",
    )
    levels = rs.column_levels(loaded, variant, config.VARIANT_MAX_LEVELS + 1) if variant else []
    if len(levels) > config.VARIANT_MAX_LEVELS:
        levels = levels[: config.VARIANT_MAX_LEVELS]
    default_control = (
        detected.control
        if variant == detected.variant and detected.control in levels
        else pick(levels, plan_control, levels[0] if levels else None)
    )
    control = c2.selectbox(
        "Control arm",
        levels or [None],
        format_func=lambda c: "—" if c is None else c,
        key=seed(f"{k}control::{variant}", default_control),
        help="The arm every other arm is compared with (today's experience).",
    )
    shape = c3.selectbox(
        "Shape of the file",
        list(SHAPES),
        format_func=SHAPE_LABELS.get,
        key=seed(k + "shape", detected.shape),
    )
    timestamp = c4.selectbox(
        "Date or timestamp",
        [NONE, *names],
        key=seed(k + "timestamp", pick(names, detected.timestamp, NONE)),
        help="Gives the lift over time and the daily units.",
    )
    c1, c2, c3 = st.columns([1, 1, 2])
    unit = n_column = None
    if shape == "unit":
        unit = c1.selectbox(
            "Unit id (user)",
            [NONE, *names],
            key=seed(k + "unit", pick(names, detected.unit, NONE)),
            help="Rows of the same unit are added up; units seen in two arms are flagged.",
        )
    else:
        n_column = c1.selectbox(
            "Units column (n)",
            [NONE, *numeric],
            key=seed(k + "n_column", pick(numeric, detected.n_column, NONE)),
            help="How many units each row summarises.",
        )
    timestamp, unit, n_column = rv.cell_text(timestamp), rv.cell_text(unit), rv.cell_text(n_column)
    roles = {variant, timestamp, unit, n_column}
    segment_options = [c for c in names if c not in roles]
    segments = c3.multiselect(
        "Segments (break the effect down by)",
        segment_options,
        key=seed(k + "segments", [s for s in detected.segments if s in segment_options]),
    )

    metrics: list[MetricMapping] = []
    if shape == "unit":
        candidates = [c for c in numeric if c not in roles and c not in segments]
        st.markdown("**Metrics** (tick the ones to analyse; their covariates come below)")
        ekey = f"{k}metrics::{'|'.join(candidates)}"
        seed_frame = editor_seed(ekey + "::seed", rv.unit_metric_frame(detected, candidates))
        edited = st.data_editor(
            seed_frame,
            key=ekey,
            hide_index=True,
            width="stretch",
            disabled=["column"],
            column_config={
                "analyse": st.column_config.CheckboxColumn("Analyse", width="small"),
                "column": st.column_config.TextColumn("Column"),
                "kind": st.column_config.SelectboxColumn(
                    "Kind", options=["binary", "continuous"], required=True, help=KIND_HELP
                ),
            },
        )
        for row in edited.to_dict("records"):
            if row["analyse"]:
                metrics.append(MetricMapping(str(row["column"]), str(row["kind"] or "continuous")))
    else:
        st.markdown("**Metrics** (columns holding each arm's totals)")
        ekey = f"{k}aggmetrics"
        edited = st.data_editor(
            editor_seed(ekey + "::seed", rv.aggregate_metric_frame(detected)),
            key=ekey,
            hide_index=True,
            width="stretch",
            num_rows="dynamic",
            column_config={
                "analyse": st.column_config.CheckboxColumn("Analyse", width="small", default=True),
                "name": st.column_config.TextColumn("Metric", required=True),
                "kind": st.column_config.SelectboxColumn(
                    "Kind", options=["binary", "continuous"], default="binary", help=KIND_HELP
                ),
                "sum_column": st.column_config.SelectboxColumn(
                    "Sum (or conversions)", options=numeric
                ),
                "sum_sq_column": st.column_config.SelectboxColumn(
                    "Sum of squares", options=numeric
                ),
                "mean_column": st.column_config.SelectboxColumn("Mean (or rate)", options=numeric),
                "sd_column": st.column_config.SelectboxColumn("Std. deviation", options=numeric),
            },
        )
        for row in edited.to_dict("records"):
            name = rv.cell_text(row.get("name"))
            if name and row.get("analyse") is not False:
                metrics.append(
                    MetricMapping(
                        name,
                        str(rv.cell_text(row.get("kind")) or "binary"),
                        sum_column=rv.cell_text(row.get("sum_column")),
                        sum_sq_column=rv.cell_text(row.get("sum_sq_column")),
                        mean_column=rv.cell_text(row.get("mean_column")),
                        sd_column=rv.cell_text(row.get("sd_column")),
                    )
                )
    if shape == "unit":
        metrics += render_quantiles(k, detected, numeric, roles | set(segments))
    st.markdown("**Ratio metrics** (add a row: a name, a numerator and a denominator)")
    pkey = f"{k}pairs::{shape}"
    pairs = st.data_editor(
        editor_seed(pkey + "::seed", rv.pair_metric_frame(detected)),
        key=pkey,
        hide_index=True,
        width="stretch",
        num_rows="dynamic",
        column_config={
            "name": st.column_config.TextColumn("Metric name", required=True),
            "numerator": st.column_config.SelectboxColumn("Numerator", options=numeric),
            "denominator": st.column_config.SelectboxColumn("Denominator", options=numeric),
            "kind": st.column_config.SelectboxColumn(
                "Kind",
                options=["ratio", "proportion_of_counts"],
                default="ratio" if shape == "unit" else "proportion_of_counts",
                help=PAIR_KIND_HELP,
            ),
        },
    )
    for row in pairs.to_dict("records"):
        name = rv.cell_text(row.get("name"))
        num, den = rv.cell_text(row.get("numerator")), rv.cell_text(row.get("denominator"))
        if name or num or den:
            if not (num and den):
                raise InputError(
                    f"Ratio metric '{name or '(unnamed)'}' needs both a numerator and a "
                    "denominator column."
                )
            metrics.append(
                MetricMapping(
                    name or f"{num}/{den}",
                    str(rv.cell_text(row.get("kind")) or "ratio"),
                    numerator=num,
                    denominator=den,
                )
            )
    if not metrics:
        raise InputError(
            "No metric is chosen: tick at least one column under Metrics (or add a ratio)."
        )
    if shape == "unit":
        excluded = roles | set(segments)
        metrics = render_covariates(k, metrics, detected, [c for c in numeric if c not in excluded])
        metrics = render_capping(k, metrics, detected)
    return dataclasses.replace(
        detected,
        shape=shape,
        variant=variant,
        control=control,
        unit=unit,
        timestamp=timestamp,
        n_column=n_column,
        segments=tuple(segments),
        metrics=tuple(metrics),
        covariates=tuple(dict.fromkeys(c for m in metrics for c in m.adjusters)),
        day_label=False if timestamp != detected.timestamp else detected.day_label,
        aggregate_units=detected.aggregate_units if unit == detected.unit else True,
    )


def render_quantiles(
    k: str, detected: Mapping, numeric: list[str], excluded: set[str | None]
) -> list[MetricMapping]:
    """The quantile metrics editor (unit-level rows only): a column and a level per row."""
    st.markdown("**Quantile metrics** (add a row: a column and p50, p90, p95 or p99)")
    qkey = f"{k}quantiles"
    edited = st.data_editor(
        editor_seed(qkey + "::seed", rv.quantile_metric_frame(detected)),
        key=qkey,
        hide_index=True,
        width="stretch",
        num_rows="dynamic",
        column_config={
            "name": st.column_config.TextColumn("Metric name (optional)"),
            "column": st.column_config.SelectboxColumn(
                "Column", options=[c for c in numeric if c not in excluded]
            ),
            "quantile": st.column_config.SelectboxColumn(
                "Quantile", options=list(rv.QUANTILE_LABELS), default="p90", help=QUANTILE_HELP
            ),
        },
    )
    return rv.quantile_metrics(edited)


def render_covariates(
    k: str, metrics: list[MetricMapping], detected: Mapping, candidates: list[str]
) -> list[MetricMapping]:
    """A multi-select of pre-period covariates per metric, seeded from detection; returns
    the metrics with the covariates chosen.

    One covariate is CUPED; several are one regression (OLS) on all of them. A ratio metric
    takes at most two, in order: the pre-period numerator, then the pre-period denominator.
    """
    seeded = {m.name: m.adjusters for m in detected.metrics}
    chosen_by: dict[str, tuple[str, ...]] = {}
    st.markdown("**Covariates** (CUPED and regression adjustment)")
    st.caption(
        "Pre-period columns of the same unit, measured before the test: they remove noise "
        "without moving the effect. One is CUPED; several adjust by a regression on all "
        "of them."
    )
    adjustable = [m for m in metrics if m.metric_kind.statistic in ("sample", "pair")]
    cols = st.columns(min(3, max(1, len(adjustable))))
    for i, m in enumerate(adjustable):
        own = {m.column, m.numerator, m.denominator}
        options = [c for c in candidates if c not in own]
        ratio = m.metric_kind.pair
        chosen = cols[i % len(cols)].multiselect(
            f"Covariates of {md(m.name)}",
            options,
            key=seed(
                f"{k}covariates::{m.name}::{m.kind}",
                [c for c in seeded.get(m.name, ()) if c in options],
            ),
            max_selections=2 if ratio else config.MAX_COVARIATES,
            help=RATIO_COVARIATE_HELP if ratio else COVARIATE_HELP,
        )
        chosen_by[m.name] = tuple(chosen)
    return [
        dataclasses.replace(m, covariate=None, covariates=chosen_by[m.name])
        if m.name in chosen_by
        else m
        for m in metrics
    ]


def render_capping(k: str, metrics: list[MetricMapping], detected: Mapping) -> list[MetricMapping]:
    """Per continuous metric: capping off, at percentiles of both arms pooled, or at fixed
    amounts, with a lower and an upper bound and (percentiles) whether zeros are ignored;
    seeded from detection's mapping (a link's or a warehouse result's own capping).

    Raises:
        InputError: bounds that make no capping (lower above upper, a percentile outside 0
            to 100, no bound at all), in a sentence naming the metric.
    """
    cappable = [m for m in metrics if m.metric_kind.cappable]
    if not cappable:
        return metrics
    seeded = {m.name: m.capping for m in detected.metrics}
    st.markdown("**Capping** (winsorize extreme values, per metric)")
    st.caption(
        "Leave a bound empty for none. The Test settings' one-click cap applies to the "
        "metrics left Off here."
    )
    chosen: dict[str, Capping | None] = {}
    for m in cappable:
        own = seeded.get(m.name)
        c1, c2, c3, c4 = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
        kind = c1.selectbox(
            f"Capping of {md(m.name)}",
            list(CAPPING_CHOICES),
            format_func=CAPPING_CHOICES.get,
            key=seed(f"{k}capping::{m.name}", own.kind if own else "off"),
            help=CAPPING_HELP,
        )
        if kind == "off":
            chosen[m.name] = None
            continue
        unit = "percentile" if kind == "percentile" else "amount"
        lower = c2.number_input(
            f"Lower ({unit})",
            value=None,
            key=seed(f"{k}capping_lower::{m.name}", own.lower if own else None),
            placeholder="none",
        )
        upper = c3.number_input(
            f"Upper ({unit})",
            value=None,
            key=seed(
                f"{k}capping_upper::{m.name}",
                own.upper if own else config.CAPPING_PERCENTILES[0],
            ),
            placeholder="none",
        )
        ignore = c4.checkbox(
            "Ignore zeros",
            key=seed(f"{k}capping_zeros::{m.name}", bool(own and own.ignore_zeros)),
            disabled=kind != "percentile",
            help="Percentiles of the non-zero values only (buyers' revenue, not everyone's); "
            "zeros stay zero.",
        )
        try:
            chosen[m.name] = Capping(lower, upper, kind, bool(ignore) and kind == "percentile")
        except ValueError as exc:
            raise InputError(f"Capping of {m.name}: {exc}") from None
    return [
        dataclasses.replace(m, capping=chosen[m.name]) if m.name in chosen else m for m in metrics
    ]


def render_warehouse_query(mapping: Mapping | None, *, cap: float | None, source: str) -> None:
    """The query of the current roles in the engine the user picks, to copy or download."""
    st.markdown(
        "Data too big to upload, or not allowed to leave the warehouse? Let the warehouse add "
        "it up:\n"
        "1. Pick where the data lives and type the table's name.\n"
        "2. Copy the query (the button at its top right) or download it, and run it there.\n"
        "3. Save the result as CSV or Parquet and upload that file above.\n\n"
        "You get the same readout as from the rows, and only a few hundred rows of totals "
        "(per arm, day and segment) leave the warehouse, never a user's row."
    )
    c1, c2 = st.columns([1, 2])
    dialect = c1.selectbox(
        "Where the data lives",
        list(warehouse.DIALECTS),
        format_func=warehouse.DIALECT_NAMES.get,
        key=seed(P + "warehouse_dialect", warehouse.DIALECTS[0]),
    )
    table = c2.text_input(
        "Table name",
        key=seed(P + "warehouse_table", ""),
        placeholder="project.dataset.events",
        help="The table with one row per user (or per user and day), its parts separated by "
        "dots: project.dataset.events. A name that itself holds a dot goes in double quotes "
        'or backticks: shop."events.v2".',
    )
    query = wv.warehouse_query(mapping, table, dialect, cap=cap)
    if query.sql is None:
        st.warning(md(query.problem), icon=":material/info:")
        return
    assert mapping is not None
    st.caption(
        f"The query reads these columns, named as in {md(source)}: "
        + md(", ".join(wv.mapping_columns(mapping)))
        + ". If your table names them differently, upload a small sample of it first and set "
        "its roles under Columns and roles: the query follows them."
        + (
            ""
            if table.strip()
            else f" Until you type the table's name, the query reads {wv.TABLE_PLACEHOLDER}."
        )
    )
    st.code(query.sql, language="sql", height=320)
    st.download_button(
        "Download the query (.sql)",
        query.sql,
        file_name=wv.query_file_name(dialect),
        mime="application/sql",
        icon=":material/download:",
        key=P + "warehouse_download",
    )


def render_settings(
    plan: ExperimentPlan, *, cap_disabled: bool, segments: tuple[str, ...] = ()
) -> Settings:
    """Alpha, correction, relative interval, capping, CUPED and post-stratification by one
    of the mapping's ``segments`` (none by default), in the settings expander."""
    c1, c2, c3, c4 = st.columns(4)
    alpha = c1.number_input(
        "Significance level (alpha)",
        min_value=config.RESULTS_MIN_ALPHA,
        max_value=config.RESULTS_MAX_ALPHA,
        step=0.01,
        format="%.3g",
        key=seed(P + "alpha", float(plan.alpha)),
        help="A result is significant when its adjusted p-value is below alpha.",
    )
    correction = c2.selectbox(
        "Multiple-testing correction",
        list(CORRECTIONS),
        format_func=CORRECTIONS.get,
        key=seed(P + "correction", config.CORRECTION),
        help="Testing many metrics and arms gives many chances of a fluke; the correction "
        "adjusts the p-values for that.",
    )
    method = c3.selectbox(
        "Relative interval",
        list(METHODS),
        format_func=METHODS.get,
        key=seed(P + "method", config.RELATIVE_CI),
        help="How the interval of the relative effect is computed. Fieller and log keep "
        "both tails honest; the delta method (GrowthBook's, Eppo's) is symmetric.",
    )
    show_all = c3.toggle("Show all three intervals", key=seed(P + "show_all", False))
    cap = c4.selectbox(
        "Cap extreme values",
        list(CAPS),
        format_func=CAPS.get,
        key=seed(P + "cap", 0.0),
        help="Winsorise every continuous metric at this upper percentile (both arms pooled), "
        "so one whale cannot drive the result; a metric capped under Columns and roles keeps "
        "its own. Only for one-row-per-user data.",
        disabled=cap_disabled,
    )
    cuped = c4.toggle(
        "CUPED",
        key=seed(P + "cuped", True),
        help="Adjust metrics for their pre-period covariate (set in Columns and roles).",
    )
    strata = c4.selectbox(
        "Post-stratify by",
        [None, *segments],
        format_func=lambda c: "— none —" if c is None else md(c),
        key=seed(P + "strata", None),
        help="A segment fixed before the test (country, platform): the overall effects are "
        "adjusted for its mix in each arm (with the metrics' covariates), which removes the "
        "noise it explains. Binary and continuous metrics only.",
    )
    strata = strata if strata in segments else None
    return Settings(
        float(alpha), correction, method, bool(show_all), float(cap), bool(cuped), strata
    )


def render_roles(
    selection: rs.Selection, detected: Mapping, plan: ExperimentPlan
) -> tuple[Mapping | None, str | None]:
    """The roles: from the warehouse result itself, or the editor (opened when detection
    was unsure). Returns the mapping, or None and the sentence saying why there is none."""
    loaded = selection.loaded
    if loaded.output is not None:
        st.caption(
            ":material/table_chart: Columns and roles came with this file (the query wrote "
            f"them in its {warehouse.MAPPING_COLUMN} column), so there is nothing to map: "
            + md(wv.output_roles_sentence(detected))
        )
        return detected, None
    unsure = (
        selection.new or detected.variant is None or not detected.metrics or bool(detected.guessed)
    )
    # Decided once per dataset, so the expander does not fold up after the first edit in it.
    open_key = seed(loaded.widget_prefix + "roles_open", bool(unsure and not loaded.is_demo))
    with st.expander(
        "Columns and roles",
        expanded=st.session_state[open_key],
        icon=":material/table_chart:",
        key=loaded.widget_prefix + "roles_expander",
    ):
        render_findings(detected)
        try:
            return render_role_editor(loaded, detected, plan.control), None
        except (InputError, ValueError) as exc:
            st.error(md(exc), icon=":material/error:")
            return None, str(exc)
