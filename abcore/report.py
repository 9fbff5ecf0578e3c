"""Exports: the plan brief (Markdown and JSON), safe to open anywhere.

The brief carries the plan's fingerprint so the analysis can show whether the plan changed
after launch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from abcore.markdown import inert
from abcore.plan import ExperimentPlan
from abcore.planning import (
    METHOD_NAMES,
    PlanSizing,
    default_hypothesis,
    describe_effect,
    describe_method,
    method_costs_frame,
)
from abcore.quote import quote_p

__all__ = ["plan_brief_json", "plan_brief_markdown", "spreadsheet_safe"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """Neutralise text a spreadsheet would run as a formula (OWASP CSV injection).

    >>> spreadsheet_safe("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> spreadsheet_safe(-0.5)
    -0.5
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _md(text: object) -> str:
    """User text inert in a Markdown viewer: :func:`abcore.markdown.inert`, the one escape
    the pages use too (no link, image, LaTeX, autolink or heading from a name)."""
    return inert(text)


def plan_brief_markdown(plan: ExperimentPlan, sizing: PlanSizing, link: str | None = None) -> str:
    """A one-page brief a reviewer can read without the app."""
    metric = plan.success
    hypothesis = plan.hypothesis.strip() or default_hypothesis(plan)
    arms = ", ".join(f"{_md(a)} {s:.0%}" for a, s in plan.expected_shares.items())
    lines = [
        f"# Experiment brief: {_md(plan.name)}",
        "",
        f"Plan fingerprint: `{plan.fingerprint()}`",
        "",
        "## Hypothesis",
        "",
        *[_md(line) for line in hypothesis.splitlines()],
        "",
        "## Design",
        "",
        f"- Randomization unit: {_md(plan.randomization_unit)}",
        f"- Arms and split: {arms} (control: {_md(plan.control)})",
        f"- Success metric: {_md(metric.name)} ({metric.type}, baseline {metric.baseline:g}, "
        f"minimum detectable effect {describe_effect(metric)})"
        if metric
        else "- (none)",
        f"- Significance level alpha {plan.alpha:g} ({plan.alternative}), power {plan.power:.0%}",
        f"- Daily eligible units {plan.daily_units:,.0f}, exposure {plan.exposure:.0%}",
    ]
    if plan.variance_reduction:
        lines.append(f"- Expected variance reduction from CUPED: {plan.variance_reduction:.0%}")
    for guard in plan.guardrails:
        margin = f"{guard.margin:.1%}" if guard.margin else "not set"
        lines.append(f"- Guardrail: {_md(guard.name)} (non-inferiority margin {margin})")
    lines += ["", "## Reading the results", "", f"- {_md(describe_method(plan))}"]
    if plan.tuning_n:
        lines.append(f"- Confidence sequence tuned for N* = {plan.tuning_n:,} units")
    lines += [
        "",
        "## Size and duration",
        "",
        f"- Users per arm: {sizing.method_n_control:,} (control), "
        f"{sizing.method_n_treatment:,} (each treatment)",
        f"- Users in total: {sizing.method_n_total:,}",
        f"- Days to enrol: {sizing.method_days}; run for {sizing.method_recommended_days} days "
        "(whole weeks)",
        f"- Set by: {_md(sizing.binding)}; alpha per test {sizing.alpha_per_test:.4g}, "
        f"power per test {sizing.power_per_test:.1%}",
        f"- Rule of thumb 16 sigma^2/delta^2: {sizing.rule_of_thumb_n:,.0f} per arm "
        f"(exact under the same assumptions: {sizing.exact_reference_n:,})",
    ]
    if sizing.costs:
        lines += ["", "| analysis | users per arm | days | extra users |", "|---|---|---|---|"]
        for row in method_costs_frame(plan, sizing).to_dict("records"):
            mark = " (chosen)" if row["chosen"] else ""
            extra = f"+{row['extra_share']:.1%}" if row["extra_share"] else "-"
            lines.append(
                f"| {row['label']}{mark} | {row['n_control']:,} | {row['days']} | {extra} |"
            )
    if link:
        lines += ["", f"Open this plan: {link}"]
    return "\n".join(lines) + "\n"


def plan_brief_json(plan: ExperimentPlan, sizing: PlanSizing) -> str:
    """The plan (``ExperimentPlan.to_json`` content) with its fingerprint and sizing."""
    data = {
        "fingerprint": plan.fingerprint(),
        "plan": plan.to_dict(),
        "sizing": {
            "n_control": sizing.method_n_control,
            "n_treatment": sizing.method_n_treatment,
            "n_total": sizing.method_n_total,
            "days": sizing.method_days,
            "recommended_days": sizing.method_recommended_days,
            "binding": sizing.binding,
            "method": sizing.method,
            "inflation": sizing.inflation,
            "fixed_horizon": {
                "n_control": sizing.n_control,
                "n_total": sizing.n_total,
                "recommended_days": sizing.recommended_days,
            },
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


__all__ += ["effects_csv"]


def effects_csv(effects: pd.DataFrame) -> bytes:
    """The effects table as CSV bytes that are safe to open in a spreadsheet.

    Every text cell (and header) goes through :func:`spreadsheet_safe`, so a metric or arm
    named ``=HYPERLINK(...)`` or ``+cmd`` cannot run as a formula; numbers stay numbers
    (a negative effect is written as ``-0.02``, not as text). UTF-8 with a byte-order mark,
    so Excel reads accented names correctly.

    >>> df = pd.DataFrame({"metric": ["=1+1"], "rel_effect": [-0.02]})
    >>> effects_csv(df).decode("utf-8-sig").splitlines()
    ['metric,rel_effect', "'=1+1,-0.02"]
    """
    frame = effects.copy()
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_datetime64_any_dtype(series):
            continue
        frame[column] = series.astype(object).map(spreadsheet_safe)
    frame.columns = [spreadsheet_safe(str(c)) for c in frame.columns]
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


# ---- the analysis report --------------------------------------------------------------------


def _fmt_pct(x: Any) -> str:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return "n/a"
    if value != value:
        return "n/a"
    if value in (float("inf"), float("-inf")):
        return "unbounded"
    return f"{value:+.2%}"


def _fmt_p(x: Any) -> str:
    return quote_p(x)


def _sides(analysis: Any) -> str:
    """The success test named once, as the pages name it (the plan's sidedness)."""
    plan = getattr(analysis, "plan", None)
    if plan is None:
        return ""
    sides = "two-sided" if plan.alternative == "two-sided" else "one-sided"
    return f" Success metrics {sides}, as planned."


def analysis_report_markdown(
    analysis: Any,
    *,
    plan: ExperimentPlan | None = None,
    source: str = "",
    link: str | None = None,
    amendments: Sequence[str] = (),
) -> str:
    """The whole readout as Markdown: plan fingerprint, amendments, data preparation (each
    step with the rows it removed), decision, checks, effects.

    ``amendments`` are the registered plan's dated changes, one line each (``2026-12-07
    14:02 UTC, ana: changed after launch: power 80% → 90%``), listed under the plan so a
    reader sees what changed after launch."""
    lines = ["# Experiment report", ""]
    if plan is not None:
        lines += [f"Plan: {_md(plan.name)} (fingerprint `{plan.fingerprint()}`)", ""]
    if amendments:
        lines += ["## Amendments after registration", ""]
        lines += [f"- {_md(a)}" for a in amendments] + [""]
    if source:
        lines += [f"Data: {_md(source)}", ""]
    if analysis.preparation:
        lines += ["## Data preparation", "", "Applied to the rows before the statistics, in order:"]
        lines += ["", *[f"- {_md(step.sentence())}" for step in analysis.preparation], ""]
    rec = analysis.recommendation
    if rec is not None:
        lines += [f"## Decision: {rec.label}", ""]
        lines += [f"- {_md(r)}" for r in rec.reasons]
        lines += ["", f"Next step: {_md(rec.next_step)}", ""]
    lines += ["## Trust checks", "", "| status | check | finding |", "|---|---|---|"]
    lines += [f"| {c.status} | {_md(c.name)} | {_md(c.message)} |" for c in analysis.checks]
    lines += [
        "",
        "## Effects",
        "",
        f"Analysis: {METHOD_NAMES.get(analysis.options.method, analysis.options.method)}. "
        f"Relative intervals by {analysis.relative_method}; p-values adjusted within each "
        f"family (success and guardrail metrics with {analysis.correction}, exploratory "
        f"metrics with Benjamini-Hochberg); alpha {analysis.alpha:g}.{_sides(analysis)}",
        "",
    ]
    capped = analysis.capping
    if capped:
        lines += ["Capping (the effects of these metrics are of their capped values):", ""]
        lines += [f"- {_md(name)}: {_md(text)}" for name, text in capped.items()]
        lines.append("")
    lines += [
        f"| metric | arm | control | treatment | lift | {1 - analysis.alpha:.0%} CI | p | "
        "adjusted p |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in analysis.effects.to_dict("records"):
        lines.append(
            f"| {_md(str(r['metric']))} | {_md(str(r['arm']))} | {r['control_mean']:.4g} | "
            f"{r['treatment_mean']:.4g} | {_fmt_pct(r['rel_effect'])} | "
            f"{_fmt_pct(r['rel_ci_low'])} to {_fmt_pct(r['rel_ci_high'])} | "
            f"{_fmt_p(r['p_value'])} | {_fmt_p(r['p_value_adjusted'])} |"
        )
    units = ", ".join(f"{_md(a.arm)} {a.observed:,}" for a in analysis.srm.arms)
    lines += ["", f"Units: {units}."]
    if link:
        lines += ["", f"Open these results: {link}"]
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if hasattr(value, "item"):
        return _plain(value.item())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _capping_json(analysis: Any) -> dict[str, Any]:
    """Per capped metric: its capping (bounds, kind, ignore_zeros), the values the bounds
    came to and the sentence the Markdown report shows."""
    aggregates = analysis.aggregates
    out = {}
    for name, sentence in analysis.capping.items():
        capping = aggregates.mapping.metric(name).capping
        out[name] = {
            **(capping.to_dict() if capping is not None else {}),
            "lower_value": aggregates.floors.get(name),
            "upper_value": aggregates.caps.get(name),
            "sentence": sentence,
        }
    return out


def analysis_report_json(analysis: Any, *, plan: ExperimentPlan | None = None) -> str:
    """The readout as JSON: plan and fingerprint, decision, data preparation (the steps'
    :meth:`~abcore.model.PrepStep.to_dict`), checks, effects, aggregates."""
    effects = [
        {k: _plain(v) for k, v in row.items()} for row in analysis.effects.to_dict("records")
    ]
    data = {
        "plan_fingerprint": plan.fingerprint() if plan else None,
        "plan": plan.to_dict() if plan else None,
        "recommendation": analysis.recommendation.to_dict() if analysis.recommendation else None,
        "preparation": [step.to_dict() for step in analysis.preparation],
        "checks": [c.__dict__ for c in analysis.checks],
        "srm": {"p_value": analysis.srm.p_value, "status": analysis.srm.status},
        "options": {
            "alpha": analysis.alpha,
            "correction": analysis.correction,
            "relative_method": analysis.relative_method,
            "method": analysis.options.method,
        },
        "capping": _capping_json(analysis),
        "effects": effects,
        "aggregates": analysis.aggregates.to_dict(),
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=_plain)


__all__ += ["analysis_report_json", "analysis_report_markdown"]
