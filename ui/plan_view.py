"""What the Plan page shows, as pure functions: the plan the form describes, error
sentences, the guardrail editor's table (to and from the plan's metric specs) and the
sizing's tables and sentences. Kept out of the page so the page only draws; no Streamlit,
and the doctests run in the suite."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from abcore import config, planning
from abcore.errors import InputError
from abcore.plan import ExperimentPlan, MetricSpec
from ui import fmt
from ui.text import md

LABELS = {
    "alpha": "Significance level (alpha)",
    "power": "Power",
    "baseline": "Baseline",
    "mde": "Minimum detectable effect",
    "sd": "Standard deviation",
    "daily_units": "Daily eligible users",
    "exposure": "Share of traffic in the test",
    "variance_reduction": "Variance reduction",
    "expected share": "Split",
}
"""How the page labels the plan's fields, so an engine error names what the user sees."""
GUARD_COLUMNS = ["name", "type", "direction", "baseline", "sd", "margin_pct", "quantile"]
GUARD_TYPES = ("binary", "continuous", "ratio", "quantile")


def friendly(exc: Exception) -> str:
    """An engine error as a sentence that names the field as the page labels it.

    The field comes from the error's typed ``parameter`` (:class:`abcore.errors.ParameterError`),
    never from the wording of its sentence.

    >>> from abcore.errors import ParameterError
    >>> friendly(ParameterError("power must be < 1, got 1.2.", parameter="power"))
    'Power must be < 1, got 1.2. Change it in the form and the numbers will update.'
    """
    text = str(exc)
    parameter = getattr(exc, "parameter", None)
    for name, label in LABELS.items():
        if parameter is not None and parameter.startswith(name) and text.startswith(parameter):
            text = label + text[len(name) :]
            break
    return f"{md(text)} Change it in the form and the numbers will update."


def guardrail_frame(plan: ExperimentPlan) -> pd.DataFrame:
    """The plan's guardrails as the editor shows them (margins in percent)."""
    rows = [
        {
            "name": g.name,
            "type": g.type,
            "direction": g.direction,
            "baseline": g.baseline,
            "sd": g.sd,
            "margin_pct": (g.margin or 0) * 100,
            "quantile": fmt.quantile_label(g.quantile) if g.quantile is not None else None,
        }
        for g in plan.guardrails
    ]
    return pd.DataFrame(rows, columns=GUARD_COLUMNS).astype(
        {
            "name": "object",
            "type": "object",
            "direction": "object",
            "baseline": "float64",
            "sd": "float64",
            "margin_pct": "float64",
            "quantile": "object",
        }
    )


def pick(value: object, allowed: tuple[str, ...], default: str) -> str:
    """``value`` when it is one of ``allowed``, else ``default`` (a cell may hold anything)."""
    return value if value in allowed else default


def guardrails_from(frame: pd.DataFrame, previous: tuple[MetricSpec, ...]) -> list[MetricSpec]:
    """The edited guardrail table back into metric specs, keeping what the table does not
    show (ratio columns, extras) from the previous specs of the same name."""
    extras = {g.name: g for g in previous}
    out = []
    for row in frame.to_dict("records"):
        name = str(row.get("name") or "").strip()
        if not name or name == "nan":
            continue
        old = extras.get(name)
        kind = pick(row.get("type"), GUARD_TYPES, "continuous")
        level = fmt.QUANTILE_LABELS.get(str(row.get("quantile")))
        if kind == "quantile" and level is None:
            raise InputError(
                f"Guardrail {name} is a quantile: choose its level "
                f"({', '.join(fmt.QUANTILE_LABELS)}) in the Quantile column."
            )
        out.append(
            MetricSpec(
                name=name,
                role="guardrail",
                type=kind,
                direction=pick(row.get("direction"), ("increase", "decrease"), "decrease"),
                baseline=None if pd.isna(row.get("baseline")) else float(row["baseline"]),
                sd=None if pd.isna(row.get("sd")) else float(row["sd"]),
                margin=None if pd.isna(row.get("margin_pct")) else float(row["margin_pct"]) / 100,
                numerator=old.numerator if old else None,
                denominator=old.denominator if old else None,
                quantile=level if kind == "quantile" else None,
                column=old.column if old and kind == "quantile" else None,
                extra=old.extra if old else {},
            )
        )
    return out


@dataclass(frozen=True)
class PlanForm:
    """Every value the Plan page's form holds, as the widgets return them (percentages in
    percent, the MDE already as a fraction or an absolute difference)."""

    name: str
    metric_name: str
    metric_type: str
    baseline: float
    sd: float | None
    direction: str
    relative: bool
    mde: float
    alpha: float
    power_pct: float
    sides: str
    method: str
    looks: int
    spending: str
    daily_units: int
    exposure_pct: float
    arms: str
    control_share: float
    rho: float
    min_launch: float
    unit: str


def arm_text(plan: ExperimentPlan) -> str:
    """The plan's arms as the Plan page shows them: control first, comma-separated."""
    return ", ".join((plan.control, *plan.treatments))


def parse_arms(text: str) -> tuple[str, ...]:
    """Arm names typed on the Plan page (comma-separated, control first), cleaned.

    >>> parse_arms(" gate_30, gate_40 ,gate_30")
    ('gate_30', 'gate_40')

    Raises:
        ValueError: fewer than two arms, or more than the plan allows (a sentence).
    """
    names = tuple(dict.fromkeys(a.strip() for a in str(text).split(",") if a.strip()))
    if len(names) < 2:
        raise ValueError(
            "Arms needs at least two names, control first, separated by commas "
            "(e.g. control, treatment)."
        )
    if len(names) > config.PLAN_MAX_TREATMENTS + 1:
        raise ValueError(
            f"Arms names {len(names)} arms; a plan has at most "
            f"{config.PLAN_MAX_TREATMENTS} treatment arms besides the control."
        )
    if any(len(a) > config.NAME_MAX_CHARS for a in names):
        raise ValueError(f"An arm's name is longer than {config.NAME_MAX_CHARS} characters.")
    return names


def arm_shares(
    plan: ExperimentPlan, arms: tuple[str, ...], control_share: float
) -> dict[str, float]:
    """The split for ``arms`` (control first): the control's share (in percent), the rest
    equal; the plan's own split when neither the arms nor the control's share changed (a
    split read from a file, 90/5/5, is not rewritten by opening the page).

    >>> p = ExperimentPlan(expected_shares={"control": 0.5, "b": 0.5})
    >>> arm_shares(p, ("control", "b"), 50.0), arm_shares(p, ("a", "b", "c"), 40.0)
    ({'control': 0.5, 'b': 0.5}, {'a': 0.4, 'b': 0.3, 'c': 0.3})
    """
    same = tuple(plan.expected_shares) == (plan.control, *plan.treatments) == tuple(arms)
    if same and abs(plan.expected_shares[plan.control] * 100 - control_share) < 1e-9:
        return dict(plan.expected_shares)
    control, *treatments = arms
    shares = {control: control_share / 100}
    shares.update({arm: (1 - control_share / 100) / len(treatments) for arm in treatments})
    return shares


def plan_from_form(
    plan: ExperimentPlan, form: PlanForm, guard_frame: pd.DataFrame, success: MetricSpec
) -> tuple[ExperimentPlan, planning.PlanSizing]:
    """The plan the form describes, sized (its planned users and days set), and the sizing.

    ``success`` is the success metric the form started from (its extras are kept).

    Raises:
        ValueError: a value the plan refuses (a sentence naming the field).
    """
    # a quantile success metric (from the Metrics page) stays one, so sizing refuses it with
    # its sentence instead of the form silently turning it into a mean
    kept = success.type == "quantile" and form.metric_type != "binary"
    success_spec = MetricSpec(
        name=form.metric_name.strip() or "success metric",
        role="success",
        type="quantile" if kept else form.metric_type,
        direction=form.direction,
        baseline=form.baseline,
        sd=form.sd,
        mde=form.mde,
        relative=form.relative,
        quantile=success.quantile if kept else None,
        column=success.column if kept else None,
        extra=success.extra,
    )
    planned = (plan.control, *plan.treatments)
    # the text the page seeded stands for the plan's own arms (a name may hold a comma)
    arms = planned if form.arms == arm_text(plan) else parse_arms(form.arms)
    others = [m for m in plan.metrics if m.role == "secondary"]
    guards = guardrails_from(guard_frame, plan.guardrails)
    alternative = (
        "two-sided"
        if form.sides == "two-sided"
        else ("greater" if form.direction == "increase" else "less")
    )
    new_plan = dataclasses.replace(
        plan,
        name=form.name.strip() or "Untitled experiment",
        alpha=form.alpha,
        power=form.power_pct / 100,
        alternative=alternative,
        metrics=(success_spec, *others, *guards),
        daily_units=form.daily_units,
        exposure=form.exposure_pct / 100,
        expected_shares=arm_shares(plan, arms, form.control_share),
        control=arms[0],
        variance_reduction=round(form.rho**2, 6),
        min_effect_to_launch=form.min_launch / 100,
        randomization_unit=form.unit,
        method=form.method,
        looks=int(form.looks),
        spending=form.spending,
    )
    sizing = planning.size_plan(new_plan)
    new_plan = dataclasses.replace(
        new_plan,
        planned_n_per_arm=sizing.method_n_control,
        planned_days=sizing.method_recommended_days,
    )
    return new_plan, sizing


def duration_sentence(plan: ExperimentPlan, sizing: planning.PlanSizing) -> str:
    """How long to run, how long enrolling takes, what sets the size, and when to stop."""
    weeks = sizing.method_recommended_days // 7
    stop = {
        "fixed": "Read the result once, at the end: stopping early on a good-looking day "
        "is how false wins get shipped.",
        "always_valid": "You may look any day and stop as soon as the result is clear (a win "
        "or a harm); this is the longest it can take.",
        "group_sequential": f"Look {plan.looks} times, about every "
        f"{max(1, round(sizing.method_recommended_days / plan.looks))} days; stop at a look "
        "whose result is clear (a win or a harm); this is the longest it can take.",
    }[plan.method]
    return (
        f"Plan **{sizing.method_recommended_days} days ({weeks} full "
        f"week{'s' if weeks > 1 else ''})**: enrolling {sizing.method_n_total:,} users takes "
        f"{sizing.method_days} day{'s' if sizing.method_days > 1 else ''} at "
        f"{sizing.daily_units_in_test:,.0f} users a day in the test. "
        f"The size is set by **{md(sizing.binding)}**. {stop}"
    )


def costs_display(costs: pd.DataFrame) -> pd.DataFrame:
    """:func:`abcore.planning.method_costs_frame` as text, the chosen method marked ▶."""
    return pd.DataFrame(
        {
            "Analysis": [
                ("▶ " if c["chosen"] else "") + c["label"] for c in costs.to_dict("records")
            ],
            "Looks": [
                "once, at the end"
                if m == "fixed"
                else ("any day" if m == "always_valid" else f"{k} planned")
                for m, k in zip(costs["method"], costs["looks"], strict=True)
            ],
            "Users per arm": [f"{n:,}" for n in costs["n_control"]],
            "Duration": [f"{d} days" for d in costs["days"]],
            "Extra users": ["—" if x == 0 else f"+{x:.1%}" for x in costs["extra_share"]],
        }
    )


def sizing_notes(plan: ExperimentPlan, sizing: planning.PlanSizing) -> str:
    """What else shaped the size (arms, guardrails, CUPED), as one sentence ('' for none)."""
    notes = []
    if len(plan.treatments) > 1:
        notes.append(
            f"alpha split across {len(plan.treatments)} arms: "
            f"{sizing.alpha_per_test:.3g} per comparison"
        )
    if plan.guardrails:
        powered = len(planning.powered_guardrails(plan))
        notes.append(
            f"power per test raised to {sizing.power_per_test:.1%} so the success "
            f"metric and {powered} guardrail(s) with a non-inferiority margin all pass "
            "together (a guardrail without a margin is only checked for harm, which needs "
            "no power, so it does not raise the size)"
        )
    if plan.variance_reduction:
        notes.append(f"CUPED assumed to remove {plan.variance_reduction:.0%} of the variance")
    for g in sizing.guardrails:
        if g.n_control is None:
            notes.append(f"guardrail {md(g.name)} not sized: {md(g.reason)}")
        else:
            notes.append(f"guardrail {md(g.name)} alone needs {g.n_control:,} per arm")
    if not notes:
        return ""
    text = "; ".join(notes)
    return text[:1].upper() + text[1:] + "."


CHECKPOINTS = [7, 14, 21, 28]
"""The days at which the page shows the detectable lift (one to four weeks)."""


def checkpoints_display(
    plan: ExperimentPlan, sizing: planning.PlanSizing, lifts: list[float]
) -> pd.DataFrame:
    """The users per arm and the smallest detectable lift after each of :data:`CHECKPOINTS`."""
    days = pd.Series(CHECKPOINTS, dtype=float)
    control_per_day = sizing.daily_units_in_test * plan.expected_shares[plan.control]
    return pd.DataFrame(
        {
            "Stop after": [f"{d // 7} week{'s' if d > 7 else ''}" for d in CHECKPOINTS],
            "Users per arm": [f"{n:,.0f}" for n in control_per_day * days],
            "Smallest detectable lift": [f"{x:.2%}" if x == x else "not reachable" for x in lifts],
        }
    )
