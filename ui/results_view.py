"""What the Results page shows, as pure functions: its tables, sentences and labels.

No Streamlit and no session state (those are in :mod:`ui.results_state`): each function
turns the engine's numbers into what a product manager reads, so it can be tested with a
plain frame and its doctests run in the suite. Numbers go through :mod:`ui.fmt`, the UI's
one formatting module. The Validity & decision page reads :func:`progress_sentence` from
here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from abcore import ingest, stats
from abcore.errors import InputError
from abcore.model import KINDS, Mapping, MetricMapping, PrepStep
from abcore.plan import ExperimentPlan
from ui import fmt
from ui.text import md

if TYPE_CHECKING:
    from abcore.analysis import Analysis


def numeric_columns(dataset: ingest.Dataset) -> list[str]:
    """Columns that can hold a metric: numbers and TRUE/FALSE."""
    numeric = ("INT", "FLOAT", "DOUBLE", "REAL", "DECIMAL", "BOOLEAN", "NUMERIC")
    return [
        n
        for n, t in dataset.columns
        if any(w in t.upper() for w in numeric) and not t.upper().startswith("INTERVAL")
    ]


@dataclass(frozen=True)
class Role:
    """What the plan says about a metric of the same name."""

    role: str
    direction: str
    margin: float | None = None


def plan_roles(plan: ExperimentPlan | None) -> dict[str, Role]:
    """What the plan says about each of its metrics, by name ({} without a plan).

    >>> from abcore.plan import MetricSpec
    >>> plan = ExperimentPlan(metrics=(MetricSpec("converted"),))
    >>> plan_roles(plan), plan_roles(None)
    ({'converted': Role(role='success', direction='increase', margin=None)}, {})
    """
    if plan is None:
        return {}
    return {m.name: Role(m.role, m.direction, m.margin) for m in plan.metrics}


def guardrail_margins(roles: dict[str, Role]) -> dict[str, float]:
    """The relative effect each guardrail must not cross, signed by its bad direction.

    >>> guardrail_margins({"load_ms": Role("guardrail", "decrease", 0.05),
    ...     "revenue": Role("guardrail", "increase", 0.02), "cr": Role("success", "increase")})
    {'load_ms': 0.05, 'revenue': -0.02}
    """
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
TEST_NAMES = {
    "z_pooled": "z-test",
    "welch_t": "Welch t-test",
    "delta_ratio": "Delta method",
    "cuped_welch_t": "CUPED (one covariate)",
    "ols_adjusted": "Regression adjustment (OLS)",
    "cuped_delta_ratio": "CUPED on a ratio (delta method)",
    "quantile_outer_ci": "Quantile (order-statistic interval)",
}
"""What the effects table calls each test (the effects' ``method``), in words."""
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
    """A verdict word per row: significant (on the adjusted p-value) and in which direction.

    >>> row = {"p_value": 0.01, "significant": True, "abs_effect": -0.3}
    >>> result_label(row, 0.05, "decrease"), result_label(row, 0.05, None)
    ('✔ Better', '▼ Lower')
    >>> result_label({"p_value": 0.03, "significant": False}, 0.05, "increase")
    '– Not after correction'
    >>> result_label({"p_value": float("nan")}, 0.05, "increase")
    '⚠ Cannot test'
    """
    if fmt.missing(row.get("p_value")):
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
            where = md(row["metric"])
            if row.get("segment_value") is not None:
                where += f" in {md(row['segment'])} = {md(row['segment_value'])}"
            out.append(f"{where} ({md(row['arm'])}): {sentence}")
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
    strata: str | None = None,
) -> pd.DataFrame:
    """The effects table as text: a verdict, means, differences, intervals and p-values.

    Rows come grouped by family (success, guardrail, exploratory) when the effects carry
    one, and the Role column names the family, so the reader sees which correction each
    adjusted p-value went through. ``analysis_method`` names the interval (a confidence
    sequence is not a one-look interval).

    With a single treatment arm the arms go into the column headers instead of a column of
    their own; the Role column appears only when the plan names one of the metrics.
    ``intervals`` (from :func:`relative_interval_columns`) adds the other two relative
    intervals beside the chosen one. The Test column names each row's test in words, with
    ``strata`` (the segment the overall effects were post-stratified by) when there is one.
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
        out[control_col] = fmt.mean(r.get("control_mean"), kind)
        out[treat_col] = fmt.mean(r.get("treatment_mean"), kind)
        out["Difference"] = fmt.difference(r.get("abs_effect"), kind)
        out["Relative effect"] = fmt.pct(r.get("rel_effect"))
        out[f"{level} {interval} ({method})"] = fmt.interval(
            r.get("rel_ci_low"), r.get("rel_ci_high")
        )
        if extra:
            x = extra.get((r["metric"], r["arm"]), {})
            for other in ("fieller", "log", "delta"):
                if other != method:
                    out[f"{level} {interval} ({other})"] = fmt.interval(
                        x.get(f"rel_ci_low_{other}"), x.get(f"rel_ci_high_{other}")
                    )
        out["p-value"] = fmt.p_value(r.get("p_value"))
        out["Adjusted p"] = fmt.p_value(r.get("p_value_adjusted"))
        if isinstance(r.get("method"), str):
            # post-stratified: what compare_metric stratifies (samples; not pairs, quantiles)
            stratified = strata if kind in KINDS and KINDS[kind].statistic == "sample" else None
            out["Test"] = method_label(r["method"], stratified)
        rows.append(out)
    return pd.DataFrame(rows)


def method_label(method: str, strata: Any = None) -> str:
    """The effects' ``method`` in words, with the post-stratification when there is one.

    >>> method_label("cuped_delta_ratio")
    'CUPED on a ratio (delta method)'
    >>> method_label("ols_adjusted", "country")
    'Regression adjustment (OLS), post-stratified by country'
    """
    name = TEST_NAMES.get(method, method.replace("_", " "))
    if isinstance(strata, str) and strata:
        name += f", post-stratified by {strata}"
    return name


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
            f"**Success metric {md(r['metric'])}** ({md(r['arm'])}): {fmt.pct(r['rel_effect'])} "
            f"({fmt.interval(r['rel_ci_low'], r['rel_ci_high'])}, adjusted p = "
            f"{fmt.p_value(r['p_value_adjusted'])}): {verdict}"
            + (" (one-sided, as planned)" if one_sided else " (two-sided, as planned)")
        )
    guards = effects[effects["family"] == "guardrail"]
    if len(guards):
        worse = [
            r["metric"]
            for r in guards.to_dict("records")
            if result_label(r, alpha, _direction(roles, r)) == RESULT_WORSE
        ]
        parts.append(
            f"**Guardrails**: {md(', '.join(dict.fromkeys(worse)))} got significantly worse"
            if worse
            else f"**Guardrails**: none of {len(guards)} got significantly worse"
        )
    explore = effects[effects["family"] == "secondary"]
    if len(explore):
        hits = explore[sig[explore.index]]
        listed = "; ".join(
            f"{md(r['metric'])} ({md(r['arm'])}) {fmt.pct(r['rel_effect'])}"
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
            f" **Launch decision: {md(recommendation.label)}**, from these same success and "
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
            f"{md(r['metric'])} ({md(r['arm'])}) {fmt.pct(r['rel_effect'])}"
            for r in sig.to_dict("records")
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


def progress_sentence(result: Analysis) -> str:
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
                "Lift so far": fmt.pct(r["rel_effect"]),
                "Interval": fmt.interval(r["rel_ci_low"], r["rel_ci_high"]),
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
            f"The interval first excluded zero on **{md(label)}** (day {days.index(first) + 1} of "
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
                f"{p:.1%}" if not fmt.missing(p) else "—" for p in frame["chance_to_beat"]
            ],
            "Expected loss if you ship": [
                fmt.pct(x, signed=False) for x in frame["expected_loss_ship"]
            ],
            "Expected loss if you don't": [
                fmt.pct(x, signed=False) for x in frame["expected_loss_keep"]
            ],
            f"{level} credible interval": [
                fmt.interval(lo, hi)
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
    if fmt.missing(r["chance_to_beat"]):
        return f"{md(r['metric'])} has no posterior: its standard error could not be computed."
    better = "higher" if r["direction"] == "increase" else "lower"
    return (
        f"Given the data and the prior, there is a **{r['chance_to_beat']:.1%} chance** that "
        f"{md(r['arm'])} is better than control on {md(r['metric'])} ({better} is better). "
        "Shipping "
        f"risks an expected loss of {fmt.pct(r['expected_loss_ship'], signed=False)} of "
        f"{md(r['metric'])} (relative), counting the cases where it is in fact worse; "
        "not shipping "
        f"forgoes an expected {fmt.pct(r['expected_loss_keep'], signed=False)}, counting the "
        "cases where it is in fact better. This is **not 1 − p**: a p-value "
        "is how surprising the data would be if there were no effect; the chance to beat is "
        "how likely the effect is positive, given the data and the prior. It also says "
        "nothing about whether the win is large enough to matter."
    )


def day_span(days: Sequence[Any]) -> str:
    """'Mar 02 – Mar 15, 2026' for dates, 'Sat, Oct 11 – Sun, Nov 16' for labels.

    >>> day_span([pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-15")])
    'Mar 02 – Mar 15, 2026'
    >>> day_span(["Sat, Oct 11", "Sun, Nov 16"]), day_span([])
    ('Sat, Oct 11 – Sun, Nov 16', '')
    """
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
    """The unit-level metric editor: which columns to analyse and their kind (the covariates
    are a multi-select per metric beside it)."""
    found = {
        m.column: m for m in mapping.metrics if not KINDS[m.kind].pair and KINDS[m.kind].adds_up
    }
    rows = []
    for column in candidates:
        m = found.get(column)
        rows.append(
            {
                "analyse": m is not None,
                "column": column,
                "kind": m.kind if m else "continuous",
            }
        )
    return pd.DataFrame(rows, columns=["analyse", "column", "kind"])


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
        if not KINDS[m.kind].pair and KINDS[m.kind].adds_up
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
        if KINDS[m.kind].pair
    ]
    return pd.DataFrame(rows, columns=["name", "numerator", "denominator", "kind"]).astype(object)


QUANTILE_LABELS = fmt.QUANTILE_LABELS
quantile_label = fmt.quantile_label


def quantile_metric_frame(mapping: Mapping) -> pd.DataFrame:
    """The quantile editor: a column and its level per row (the name is optional)."""
    rows = [
        {"name": m.name, "column": m.column, "quantile": quantile_label(float(m.quantile or 0))}
        for m in mapping.metrics
        if m.quantile is not None
    ]
    return pd.DataFrame(rows, columns=["name", "column", "quantile"]).astype(object)


def quantile_metrics(frame: pd.DataFrame) -> list[MetricMapping]:
    """The quantile editor's rows as metrics; a row with a column but no level, or a level
    the page does not offer, gets a sentence."""
    out = []
    for row in frame.to_dict("records"):
        name, column = cell_text(row.get("name")), cell_text(row.get("column"))
        label = cell_text(row.get("quantile"))
        if not (name or column or label):
            continue
        if not column:
            raise InputError(f"Quantile metric '{name or label}' needs a column.")
        q = QUANTILE_LABELS.get(str(label)) if label else None
        if q is None:
            offered = ", ".join(QUANTILE_LABELS)
            raise InputError(f"Quantile metric '{name or column}' needs a level: one of {offered}.")
        out.append(
            MetricMapping(name or f"{column}_{label}", "quantile", column=column, quantile=q)
        )
    return out


def cell_text(value: Any) -> str | None:
    """An edited cell as text; None for an empty cell or the '(none)' choice.

    >>> cell_text(" revenue "), cell_text(NONE), cell_text(float("nan")), cell_text("")
    ('revenue', None, None, None)
    """
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
    """The colour of a Result cell: green better, red worse, blue a neutral move.

    >>> colour_result(RESULT_WORSE), colour_result(RESULT_NONE)
    ('color: #cf222e; font-weight: 600', 'color: #57606a')
    """
    return RESULT_STYLES.get(value, "color: #57606a")


def pick(options: Sequence[Any], value: Any, fallback: Any = None) -> Any:
    """``value`` when it is among ``options`` (a widget's choices), else ``fallback``.

    >>> pick(["a", "b"], "b"), pick(["a", "b"], "z", "a"), pick([], "z") is None
    ('b', 'a', True)
    """
    return value if value in options else fallback


# --------------------------------------------------------------------------------------------
# Data preparation: the steps suggested from detection's findings and the unit checks
# --------------------------------------------------------------------------------------------


def suggested_steps(
    mapping: Mapping, units_in_two_arms: int | None, repeated_rows: int | None
) -> list[tuple[str, PrepStep]]:
    """The preparation steps worth offering for this file, each with its checkbox label.

    A column that restates the arm (``mapping.arm_proxies``) offers dropping the rows where it
    disagrees; units seen in more than one arm offer excluding them; units with several rows
    offer keeping each unit's first row. Duplicate rows (equal in every column) are offered
    for any file of one row per unit. Nothing is ticked: the user chooses.

    >>> m = Mapping(variant="group", unit="user_id", arm_proxies=["landing_page"])
    >>> [s.kind for _, s in suggested_steps(m, 3, 0)]
    ['arm_mismatch', 'mixed_units', 'duplicate_rows']
    >>> suggested_steps(m, None, None)[0][0]
    'Drop rows where landing_page disagrees with the arm'
    """
    out = [
        (f"Drop rows where {md(col)} disagrees with the arm", PrepStep("arm_mismatch", col))
        for col in mapping.arm_proxies
    ]
    if mapping.is_aggregated:
        return out
    if mapping.unit and units_in_two_arms:
        out.append(
            (
                f"Exclude the {units_in_two_arms:,} units ({md(mapping.unit)}) seen in more "
                "than one arm",
                PrepStep("mixed_units", mapping.unit),
            )
        )
    if mapping.unit and repeated_rows:
        out.append(
            (
                f"Keep the first row of each unit ({md(mapping.unit)}): "
                f"{repeated_rows:,} rows repeat a unit",
                PrepStep("repeat_units", mapping.unit),
            )
        )
    out.append(("Drop duplicate rows (equal in every column)", PrepStep("duplicate_rows")))
    return out


def findings_captions(mapping: Mapping) -> list[str]:
    """Why some columns are not offered, and the days some counts are empty, as Markdown.

    >>> m = Mapping(variant="g", arm_proxies=["page"], empty_days=["d1", "d2"])
    >>> for line in findings_captions(m):
    ...     print(line)
    page is not offered as a segment: it restates the arm.
    Some counts are empty on 2 days (d1, d2): those metrics are read over the other days.
    """
    out = [
        f"{md(col)} is not offered as a segment: it restates the arm."
        for col in mapping.arm_proxies
    ]
    if mapping.empty_days:
        days = list(mapping.empty_days)
        shown = ", ".join(md(d) for d in days[:5]) + (", …" if len(days) > 5 else "")
        out.append(
            f"Some counts are empty on {len(days):,} day{'s' if len(days) != 1 else ''} "
            f"({shown}): those metrics are read over the other days."
        )
    return out


def preparation_lines(steps: Sequence[PrepStep]) -> list[str]:
    """Each applied step's sentence (with the rows it removed), as Markdown.

    >>> preparation_lines([PrepStep("repeat_units", "user_id", rows_removed=1)])
    ["Kept the first row of each unit ('user_id'): 1 row removed."]
    """
    return [md(s.sentence()) for s in steps]
