"""Exports: the plan brief (Markdown and JSON), safe to open anywhere.

The brief carries the plan's fingerprint so the analysis can show whether the plan changed
after launch.
"""

from __future__ import annotations

import json

from abcore.plan import ExperimentPlan
from abcore.planning import PlanSizing, default_hypothesis, describe_effect

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


def _md(text: str) -> str:
    """Escape characters that would turn user text into Markdown or HTML."""
    for ch in "\\`*_{}[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


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
    lines += [
        "",
        "## Size and duration",
        "",
        f"- Users per arm: {sizing.n_control:,} (control), {sizing.n_treatment:,} (each treatment)",
        f"- Users in total: {sizing.n_total:,}",
        f"- Days to enrol: {sizing.days}; run for {sizing.recommended_days} days (whole weeks)",
        f"- Set by: {_md(sizing.binding)}; alpha per test {sizing.alpha_per_test:.4g}, "
        f"power per test {sizing.power_per_test:.1%}",
        f"- Rule of thumb 16 sigma^2/delta^2: {sizing.rule_of_thumb_n:,.0f} per arm "
        f"(exact under the same assumptions: {sizing.exact_reference_n:,})",
    ]
    if link:
        lines += ["", f"Open this plan: {link}"]
    return "\n".join(lines) + "\n"


def plan_brief_json(plan: ExperimentPlan, sizing: PlanSizing) -> str:
    """The plan (``ExperimentPlan.to_json`` content) with its fingerprint and sizing."""
    data = {
        "fingerprint": plan.fingerprint(),
        "plan": plan.to_dict(),
        "sizing": {
            "n_control": sizing.n_control,
            "n_treatment": sizing.n_treatment,
            "n_total": sizing.n_total,
            "days": sizing.days,
            "recommended_days": sizing.recommended_days,
            "binding": sizing.binding,
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False)
