"""The customer funnel: stages, step rates, and which stage makes a sensitive metric.

The seed of a good experiment is choosing its metric from the funnel. The stage right after
the change is the most *sensitive* (many users reach it, so a given relative lift is cheap to
detect); the stage closest to revenue is the most *meaningful* but the most expensive to
measure. :func:`stage_sensitivity` puts numbers on that trade-off: for every stage as a
candidate success metric, the users and days needed to detect the target lift.

A :class:`Funnel` holds, for each stage, the share of funnel entrants who reach it (in order),
and optionally the user counts behind those shares. It comes from a template
(:data:`TEMPLATES`), a hand-edited table, or an event log (:mod:`abcore.funnel_sql`).

Everything the Metrics page decides travels in the plan: the success, secondary and guardrail
metrics as :class:`~abcore.plan.MetricSpec` and the funnel itself, compact (stage names and
shares, never raw rows), in ``plan.extra["funnel"]`` (see :func:`plan_with_funnel`).

>>> f = Funnel.from_step_rates(["visit", "cart", "purchase"], [0.2, 0.5])
>>> f.reached
(1.0, 0.2, 0.1)
>>> table = stage_sensitivity(f, mde=0.05, daily_entrants=10_000)
>>> table["n_control"].tolist()[1:]
[25583, 57763]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from abcore import config, power
from abcore._checks import check_scalar
from abcore.errors import InputError
from abcore.plan import ExperimentPlan, MetricSpec
from abcore.planning import corrected_power, powered_guardrails

__all__ = [
    "EXTRA_KEY",
    "GUARDRAIL_CATALOGUE",
    "POPULATIONS",
    "SENSITIVITY_REASONS",
    "TEMPLATES",
    "Funnel",
    "FunnelSetup",
    "FunnelTemplate",
    "GuardrailTemplate",
    "guardrail_metric",
    "plan_with_funnel",
    "sensitivity_for_plan",
    "stage_metric",
    "stage_metric_name",
    "stage_sensitivity",
    "template_funnel",
    "unit_warnings",
]

EXTRA_KEY = "funnel"
"""Key of the funnel in ``ExperimentPlan.extra``."""
POPULATIONS = ("all", "triggered")
"""Who is randomized: every funnel entrant, or only the units that reach the change stage."""
_TOL = 1e-9
_DIGITS = 6
"""Significant digits of the shares kept in the plan (and the share link)."""


def _clean_stages(stages: Sequence[Any]) -> tuple[str, ...]:
    names = tuple(str(s).strip() for s in stages)
    if len(names) < 2:
        raise InputError(
            "A funnel needs at least two stages, in the order users go through them "
            "(for example visit, then purchase)."
        )
    if any(not n or n.lower() in ("nan", "none") for n in names):
        raise InputError(
            "Every stage needs a name: fill in the empty stage name or delete the row."
        )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(
                f"The stage name {name!r} appears twice: give each stage its own name."
            )
        seen.add(name)
    return names


def _round(x: float) -> float:
    return float(f"{x:.{_DIGITS}g}")


@dataclass(frozen=True)
class Funnel:
    """Ordered stages and the share of funnel entrants who reach each of them.

    ``reached[0]`` is 1 (everyone enters at the first stage) and the shares never rise: in an
    ordered funnel a unit reaches a stage only through the one before. ``users`` are the
    counts behind the shares when they are known (from an event log or typed in). ``unit`` is
    what one entrant is (a user, a session, a search...), ``source`` says where the numbers
    come from.

    >>> Funnel.from_counts(["visit", "buy"], [200, 30]).reached
    (1.0, 0.15)
    """

    stages: tuple[str, ...]
    reached: tuple[float, ...]
    users: tuple[int, ...] | None = None
    unit: str = "user"
    source: str = ""

    def __post_init__(self) -> None:
        stages = _clean_stages(self.stages)
        reached = tuple(float(r) for r in self.reached)
        if len(reached) != len(stages):
            raise ValueError(
                f"reached must have one share per stage ({len(stages)}), got {len(reached)}."
            )
        if any(not (-_TOL <= r <= 1 + _TOL) or math.isnan(r) for r in reached):
            raise InputError("Every share of entrants must be between 0% and 100%.")
        if abs(reached[0] - 1) > _TOL:
            raise ValueError(f"reached[0] must be 1 (everyone enters), got {reached[0]!r}.")
        for i in range(1, len(reached)):
            if reached[i] > reached[i - 1] + _TOL:
                raise InputError(_rising_message(stages, i, reached, "share"))
        check_scalar(self.unit, "unit", in_=config.RANDOMIZATION_UNITS)
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "reached", tuple(min(1.0, max(0.0, r)) for r in reached))
        if self.users is not None:
            users = tuple(int(u) for u in self.users)
            if len(users) != len(stages):
                raise ValueError(f"users must have one count per stage ({len(stages)}).")
            object.__setattr__(self, "users", users)

    # ---- constructors ---------------------------------------------------------------
    @classmethod
    def from_counts(
        cls, stages: Sequence[Any], users: Sequence[Any], *, unit: str = "user", source: str = ""
    ) -> Funnel:
        """A funnel from the number of units reaching each stage (first stage: entrants)."""
        names = _clean_stages(stages)
        counts = _numbers(users, names, "users")
        if len(counts) != len(names):
            raise ValueError(f"users must have one count per stage ({len(names)}).")
        if any(c < 0 or c != math.floor(c) for c in counts):
            raise InputError("User counts must be whole numbers, 0 or more.")
        if counts[0] <= 0:
            raise InputError(
                f"No user enters the funnel: the first stage ({names[0]!r}) needs a count above 0."
            )
        for i in range(1, len(counts)):
            if counts[i] > counts[i - 1]:
                raise InputError(_rising_message(names, i, counts, "count"))
        reached = tuple(c / counts[0] for c in counts)
        return cls(names, reached, tuple(int(c) for c in counts), unit=unit, source=source)

    @classmethod
    def from_step_rates(
        cls,
        stages: Sequence[Any],
        step_rates: Sequence[Any],
        *,
        unit: str = "user",
        source: str = "",
    ) -> Funnel:
        """A funnel from the share of each stage's units that go on to the next one.

        ``step_rates`` has one rate per stage after the first (fractions, 0.15 = 15%).

        >>> Funnel.from_step_rates(["a", "b", "c"], [0.5, 0.5]).reached
        (1.0, 0.5, 0.25)
        """
        names = _clean_stages(stages)
        rates = _numbers(step_rates, names[1:], "step rate")
        if len(rates) != len(names) - 1:
            raise ValueError(
                f"step_rates must have one rate per stage after the first ({len(names) - 1})."
            )
        for name, rate in zip(names[1:], rates, strict=True):
            if not 0 <= rate <= 1:
                raise InputError(
                    f"{rate:.4g} of the users before {name!r} go on to it: a step rate must be "
                    "between 0% and 100% of the stage before."
                )
        reached = tuple(float(x) for x in np.cumprod([1.0, *rates]))
        return cls(names, reached, None, unit=unit, source=source)

    # ---- derived views --------------------------------------------------------------
    @property
    def step_rates(self) -> tuple[float, ...]:
        """Share of the previous stage's units that reach each stage (1 for the first)."""
        out = [1.0]
        for prev, cur in zip(self.reached, self.reached[1:], strict=False):
            out.append(cur / prev if prev > 0 else 0.0)
        return tuple(out)

    def index(self, stage: str | int) -> int:
        """Position of ``stage`` (a name or a position); ValueError naming it otherwise."""
        if isinstance(stage, int | np.integer) and not isinstance(stage, bool):
            if not 0 <= stage < len(self.stages):
                raise ValueError(f"stage position must be in [0, {len(self.stages)}), got {stage}.")
            return int(stage)
        if stage not in self.stages:
            raise ValueError(f"stage {stage!r} is not in this funnel ({', '.join(self.stages)}).")
        return self.stages.index(stage)

    def table(self) -> pd.DataFrame:
        """One row per stage: users, share of entrants, step conversion and drop-off.

        ``step_rate`` is the share of the previous stage that goes on; ``drop_off`` the share
        that does not; ``lost`` the drop-off as a share of entrants.
        """
        reached = np.asarray(self.reached)
        previous = np.concatenate([[1.0], reached[:-1]])
        steps = np.asarray(self.step_rates)
        return pd.DataFrame(
            {
                "stage": list(self.stages),
                "users": pd.array(
                    list(self.users) if self.users else [None] * len(self.stages), dtype="Int64"
                ),
                "reached": reached,
                "step_rate": steps,
                "drop_off": np.where(np.arange(len(reached)) == 0, np.nan, 1 - steps),
                "lost": previous - reached,
            }
        )

    # ---- serialisation --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Compact and JSON-ready: stage names and the counts, or else the step rates.

        Step rates (rounded to six significant digits) rather than cumulative shares keep a
        typed-in rate such as 17% exact when the funnel comes back from a link.
        """
        out: dict[str, Any] = {"stages": list(self.stages), "unit": self.unit}
        if self.users is not None:
            out["users"] = list(self.users)
        else:
            out["steps"] = [_round(r) for r in self.step_rates[1:]]
        if self.source:
            out["source"] = self.source
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Funnel:
        """Rebuild from :meth:`to_dict` (``users``, ``steps`` or cumulative ``reached``)."""
        try:
            unit = data.get("unit", "user")
            unit = unit if unit in config.RANDOMIZATION_UNITS else "user"
            source = str(data.get("source", ""))
            if data.get("users"):
                return cls.from_counts(data["stages"], data["users"], unit=unit, source=source)
            if "steps" in data:
                return cls.from_step_rates(data["stages"], data["steps"], unit=unit, source=source)
            return cls(tuple(data["stages"]), tuple(data["reached"]), None, unit, source)
        except (KeyError, TypeError) as exc:
            raise InputError(f"This funnel cannot be read: {exc}") from exc

    def with_users(self, entrants: int) -> Funnel:
        """The shares as counts out of ``entrants`` (for editing as numbers of users); the
        shares then follow the rounded counts."""
        check_scalar(entrants, "entrants", gt=0)
        counts = [round(r * entrants) for r in self.reached]
        return Funnel.from_counts(self.stages, counts, unit=self.unit, source=self.source)

    def without_users(self) -> Funnel:
        return Funnel(self.stages, self.reached, None, self.unit, self.source)


def _numbers(values: Sequence[Any], names: Sequence[str], what: str) -> list[float]:
    out = []
    for name, value in zip(names, values, strict=False):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if math.isnan(number):
            raise InputError(f"The {what} of stage {name!r} is missing: enter a number.")
        out.append(number)
    return out + [float(v) for v in list(values)[len(names) :]]


def _rising_message(stages: Sequence[str], i: int, values: Sequence[float], what: str) -> str:
    shown = (
        (f"{values[i]:,.0f}", f"{values[i - 1]:,.0f}")
        if what == "count"
        else (f"{values[i]:.2%}", f"{values[i - 1]:.2%}")
    )
    return (
        f"{stages[i]!r} has more users ({shown[0]}) than {stages[i - 1]!r} before it "
        f"({shown[1]}). In an ordered funnel a stage is reached only through the one before, "
        "so the numbers can only fall: fix them, or the order of the stages."
    )


# ---- templates ----------------------------------------------------------------------------
@dataclass(frozen=True)
class FunnelTemplate:
    """A typical funnel: stage names, typical step rates, and where changes usually act."""

    key: str
    title: str
    stages: tuple[str, ...]
    step_rates: tuple[float, ...]
    unit: str = "user"
    change_stage: str | None = None
    guardrails: tuple[str, ...] = ()
    description: str = ""

    def funnel(self) -> Funnel:
        return Funnel.from_step_rates(
            self.stages, self.step_rates, unit=self.unit, source=f"{self.title} template"
        )


TEMPLATES: Mapping[str, FunnelTemplate] = MappingProxyType(
    {
        t.key: t
        for t in (
            FunnelTemplate(
                "ecommerce",
                "E-commerce",
                ("Visit", "Product view", "Add to cart", "Checkout", "Purchase"),
                (0.55, 0.17, 0.45, 0.65),
                change_stage="Product view",
                guardrails=("revenue_per_user", "page_load_time"),
                description="An online shop: about 2.7% of visitors buy. Typical rates from "
                "public e-commerce benchmarks (add to cart 8-10% of visits, two carts in "
                "three abandoned).",
            ),
            FunnelTemplate(
                "saas",
                "SaaS sign-up",
                ("Landing page visit", "Sign-up started", "Account created", "Activated", "Paid"),
                (0.08, 0.55, 0.45, 0.20),
                change_stage="Landing page visit",
                guardrails=("support_contacts", "error_rate"),
                description="A software trial: a few visitors in a hundred start signing up, "
                "under half of new accounts reach the key action, one in five activated "
                "accounts pays.",
            ),
            FunnelTemplate(
                "search",
                "Search",
                ("Search", "Click on a result", "Long click (30 s+)", "Conversion"),
                (0.60, 0.55, 0.15),
                unit="search",
                change_stage="Search",
                guardrails=("page_load_time", "error_rate"),
                description="A search engine or a shop's search box, counted per search: "
                "a long click (the user stays 30 seconds or more) means the result was useful.",
            ),
            FunnelTemplate(
                "subscription",
                "Subscription / media",
                ("Visit", "Content view", "Paywall seen", "Trial started", "Paid subscriber"),
                (0.75, 0.40, 0.05, 0.50),
                change_stage="Paywall seen",
                guardrails=("cancel_rate", "page_load_time"),
                description="A news or streaming site: most visitors read or watch, some hit "
                "the paywall, a few in a hundred of those start a trial, half of trials pay.",
            ),
        )
    }
)
"""Funnel templates with typical rates, keyed by ``FunnelTemplate.key``."""


def template_funnel(key: str) -> Funnel:
    """The funnel of template ``key`` (a key of :data:`TEMPLATES`).

    >>> template_funnel("search").stages[-1]
    'Conversion'
    """
    check_scalar(key, "template", in_=tuple(TEMPLATES))
    return TEMPLATES[key].funnel()


# ---- sensitivity ----------------------------------------------------------------------------
SENSITIVITY_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "entry": "everyone in the test reaches it, so it cannot rise",
        "before_change": "users reach it before they see the change, so the change cannot move it",
        "no_units": "no user reaches it",
        "lift_too_large": "the target lift would push its rate above 100%",
    }
)
"""Sentences for the ``error`` codes of :func:`stage_sensitivity` rows."""


def _sizes(
    base: np.ndarray, ok: np.ndarray, mde: float, daily: float, options: dict[str, Any]
) -> tuple[list[int | None], list[int | None], list[int | None], list[int | None]]:
    n_c: list[int | None] = [None] * base.size
    n_t: list[int | None] = [None] * base.size
    days: list[int | None] = [None] * base.size
    run: list[int | None] = [None] * base.size
    if ok.any():
        exposure = options.pop("exposure")
        size = power.sample_size_proportion(base[ok], mde, relative=True, **options)
        enrol = power.duration_days(size.n_total, daily, exposure)
        for j, i in enumerate(np.flatnonzero(ok)):
            n_c[i] = int(size.n_control[j])
            n_t[i] = int(size.n_total[j])
            days[i] = int(enrol[j])
            run[i] = max(1, math.ceil(int(enrol[j]) / config.WEEK)) * config.WEEK
    return n_c, n_t, days, run


def _codes(base: np.ndarray, positions: np.ndarray, change: int, mde: float) -> list[str | None]:
    codes: list[str | None] = []
    for k, b in zip(positions, base, strict=True):
        if k == 0:
            codes.append("entry")
        elif k <= change:
            codes.append("before_change")
        elif b <= 0:
            codes.append("no_units")
        elif b >= 1 - _TOL:
            codes.append("entry")
        elif b * (1 + mde) >= 1:
            codes.append("lift_too_large")
        else:
            codes.append(None)
    return codes


def stage_sensitivity(
    funnel: Funnel,
    *,
    mde: float,
    daily_entrants: float,
    change_stage: str | int = 0,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
    alternative: str = config.ALTERNATIVE,
    ratio: float = 1.0,
    treatments: int = 1,
    exposure: float = config.EXPOSURE,
    variance_reduction: float = 0.0,
) -> pd.DataFrame:
    """Users and days to detect a relative lift of ``mde`` on each stage's conversion.

    The metric of stage ``k`` is the share of randomized units that reach it. Two views:

    * **all entrants** are randomized: the baseline is ``reached[k]`` and every entrant
      counts toward the sample, ``daily_entrants`` a day;
    * **triggered** at the change stage: only units that reach ``change_stage`` (where they
      first see the change) are randomized, so the baseline is ``reached[k] / reached[c]``,
      higher, but only ``daily_entrants * reached[c]`` units a day enter the test. Users who
      never see the change add only noise, so triggering never needs more days.

    Stages at or before the change cannot move (their ``error`` says why), and a lift that
    would take a rate above 100% cannot be sized; those rows have no numbers. A lift that
    starts at the change carries down the funnel unchanged only if later steps do not
    dilute it, so the same relative ``mde`` on every stage is the optimistic case for the
    stages far from the change.

    Args:
        funnel: the stages and their shares.
        mde: target relative lift (0.05 = +5%), > 0.
        daily_entrants: units entering the funnel per day.
        change_stage: the stage (name or position) where users meet the change.
        alpha, power, alternative, ratio, treatments, variance_reduction: as in
            :func:`abcore.power.sample_size_proportion` (``alternative`` "less" is refused:
            reaching a stage is good).
        exposure: share of the daily units that enter the test.

    Returns:
        One row per stage: ``stage``, ``position``, ``reached``, ``step_rate``, ``change``
        (the change stage), ``affected`` (after it), and for each view (prefix
        ``triggered_`` for the second) ``rate``/``reached``, ``n_control``, ``n_total``,
        ``days`` (to enrol), ``run_days`` (whole weeks) and ``error`` (None or a key of
        :data:`SENSITIVITY_REASONS`); ``daily_units`` and ``triggered_daily_units``.

    >>> f = Funnel.from_step_rates(["visit", "view", "buy"], [0.5, 0.2])
    >>> t = stage_sensitivity(f, mde=0.1, daily_entrants=1_000, change_stage="view")
    >>> t.loc[2, ["reached", "triggered_rate"]].tolist()
    [0.1, 0.2]
    >>> bool(t.loc[2, "triggered_days"] <= t.loc[2, "days"])
    True
    """
    check_scalar(mde, "mde", gt=0)
    check_scalar(daily_entrants, "daily_entrants", gt=0)
    check_scalar(exposure, "exposure", gt=0, le=1)
    check_scalar(alternative, "alternative", in_=("two-sided", "greater"))
    change = funnel.index(change_stage)
    options = {
        "alpha": alpha,
        "power": power,
        "alternative": alternative,
        "ratio": ratio,
        "treatments": treatments,
        "variance_reduction": variance_reduction,
    }
    positions = np.arange(len(funnel.stages))
    reached = np.asarray(funnel.reached)
    codes = _codes(reached, positions, change, mde)
    ok = np.array([c is None for c in codes])
    sizes = _sizes(reached, ok, mde, daily_entrants, {**options, "exposure": exposure})

    at_change = reached[change]
    trig_rate = np.where(positions > change, reached / at_change if at_change > 0 else 0.0, 1.0)
    trig_codes = _codes(trig_rate, positions, change, mde)
    if at_change <= 0:
        trig_codes = [c if c in ("entry", "before_change") else "no_units" for c in trig_codes]
    trig_ok = np.array([c is None for c in trig_codes])
    trig_daily = daily_entrants * at_change if at_change > 0 else daily_entrants
    trig = _sizes(trig_rate, trig_ok, mde, trig_daily, {**options, "exposure": exposure})

    def ints(values: list[int | None]) -> pd.arrays.IntegerArray:
        return pd.array(values, dtype="Int64")

    return pd.DataFrame(
        {
            "stage": list(funnel.stages),
            "position": positions,
            "reached": reached,
            "step_rate": funnel.step_rates,
            "change": positions == change,
            "affected": positions > change,
            "n_control": ints(sizes[0]),
            "n_total": ints(sizes[1]),
            "days": ints(sizes[2]),
            "run_days": ints(sizes[3]),
            "error": codes,
            "daily_units": float(daily_entrants),
            "triggered_rate": np.where(positions > change, trig_rate, np.nan),
            "triggered_n_control": ints(trig[0]),
            "triggered_n_total": ints(trig[1]),
            "triggered_days": ints(trig[2]),
            "triggered_run_days": ints(trig[3]),
            "triggered_error": trig_codes,
            "triggered_daily_units": float(trig_daily),
        }
    )


def sensitivity_for_plan(
    funnel: Funnel,
    plan: ExperimentPlan,
    *,
    mde: float,
    daily_entrants: float,
    change_stage: str | int = 0,
) -> pd.DataFrame:
    """:func:`stage_sensitivity` at the plan's alpha, power, sides, split and arms.

    Power is raised as the Plan page raises it (``1 - beta / (G + 1)`` with ``G``
    guardrails with a margin), so the chosen stage's numbers match the Plan page's
    success-metric size.
    """
    return stage_sensitivity(
        funnel,
        mde=mde,
        daily_entrants=daily_entrants,
        change_stage=change_stage,
        alpha=plan.alpha,
        power=corrected_power(plan.power, len(powered_guardrails(plan))),
        alternative="two-sided" if plan.alternative == "two-sided" else "greater",
        ratio=plan.ratio,
        treatments=len(plan.treatments),
        exposure=plan.exposure,
        variance_reduction=plan.variance_reduction,
    )


# ---- metrics from the funnel -----------------------------------------------------------------
@dataclass(frozen=True)
class FunnelSetup:
    """The funnel and the choices around it that the plan keeps in ``extra["funnel"]``.

    ``change_stage`` is where users meet the change; ``population`` whether every entrant
    ("all") or only units reaching the change stage ("triggered") are randomized;
    ``template`` the template key the funnel started from, if any; ``lift`` the target
    relative lift of the sensitivity table.
    """

    funnel: Funnel
    change_stage: str
    population: str = "all"
    template: str | None = None
    lift: float = config.FUNNEL_MDE

    def __post_init__(self) -> None:
        self.funnel.index(self.change_stage)
        check_scalar(self.population, "population", in_=POPULATIONS)
        check_scalar(self.lift, "lift", gt=0)

    @property
    def change(self) -> int:
        return self.funnel.index(self.change_stage)

    @property
    def test_share(self) -> float:
        """Share of funnel entrants who are in the test population."""
        if self.population == "triggered":
            return self.funnel.reached[self.change]
        return 1.0

    def rate(self, stage: str | int) -> float:
        """Baseline of ``stage``'s conversion in the test population."""
        k = self.funnel.index(stage)
        share = self.test_share
        if self.population == "triggered" and k > self.change and share > 0:
            return self.funnel.reached[k] / share
        return self.funnel.reached[k]

    def to_extra(self) -> dict[str, Any]:
        out = {
            **self.funnel.to_dict(),
            "change_stage": self.change_stage,
            "population": self.population,
            "lift": _round(self.lift),
        }
        if self.template:
            out["template"] = self.template
        return out

    @classmethod
    def from_extra(cls, data: Mapping[str, Any]) -> FunnelSetup:
        """Rebuild from ``plan.extra["funnel"]``; InputError when it is damaged."""
        funnel = Funnel.from_dict(data)
        change = data.get("change_stage")
        change = change if change in funnel.stages else funnel.stages[0]
        population = data.get("population")
        template = data.get("template")
        try:
            lift = float(data.get("lift", config.FUNNEL_MDE))
        except (TypeError, ValueError):
            lift = config.FUNNEL_MDE
        return cls(
            funnel,
            change,
            population if population in POPULATIONS else "all",
            template if template in TEMPLATES else None,
            lift if lift > 0 else config.FUNNEL_MDE,
        )

    @classmethod
    def from_template(cls, key: str, *, lift: float = config.FUNNEL_MDE) -> FunnelSetup:
        funnel = template_funnel(key)
        change = TEMPLATES[key].change_stage or funnel.stages[0]
        return cls(funnel, change, "all", key, lift)

    @classmethod
    def from_plan(cls, plan: ExperimentPlan) -> FunnelSetup | None:
        data = plan.extra.get(EXTRA_KEY)
        if not isinstance(data, Mapping):
            return None
        try:
            return cls.from_extra(data)
        except (InputError, ValueError):
            return None


def stage_metric_name(stage: str) -> str:
    """The metric that counts units reaching ``stage``.

    >>> stage_metric_name("Add to cart")
    'Add to cart conversion'
    """
    return f"{stage} conversion"


def stage_metric(
    setup: FunnelSetup,
    stage: str,
    *,
    role: str = "success",
    mde: float | None = None,
    name: str | None = None,
) -> MetricSpec:
    """A binary metric "reached ``stage``" with the funnel's baseline in the test population.

    ``extra`` records the stage, the population and the unit, so the funnel can refresh the
    baseline later and the page can warn when the unit differs from the randomization unit.

    >>> setup = FunnelSetup(Funnel.from_step_rates(["a", "b", "c"], [0.5, 0.2]), "b", "triggered")
    >>> m = stage_metric(setup, "c", mde=0.05)
    >>> m.name, m.baseline, m.extra["population"]
    ('c conversion', 0.2, 'triggered')
    """
    setup.funnel.index(stage)
    triggered = setup.population == "triggered" and setup.funnel.index(stage) > setup.change
    extra: dict[str, Any] = {
        "funnel_stage": stage,
        "population": "triggered" if triggered else "all",
        "unit": setup.funnel.unit,
    }
    if triggered:
        extra["trigger_stage"] = setup.change_stage
    return MetricSpec(
        name=name or stage_metric_name(stage),
        role=role,
        type="binary",
        direction="increase",
        baseline=_round(setup.rate(stage)),
        mde=None if mde is None else _round(mde),
        relative=True,
        extra=extra,
    )


def _linked_stage(metric: MetricSpec | None, funnel: Funnel) -> str | None:
    if metric is None:
        return None
    stage = metric.extra.get("funnel_stage")
    return stage if stage in funnel.stages else None


def plan_with_funnel(
    plan: ExperimentPlan,
    setup: FunnelSetup,
    *,
    success_stage: str | None = None,
    daily_entrants: float | None = None,
    others: Sequence[MetricSpec] | None = None,
    **changes: Any,
) -> ExperimentPlan:
    """The plan with the funnel's choices in it; other metrics and fields are kept.

    * ``success_stage``: that stage's conversion becomes the success metric, with the
      funnel's baseline and ``setup.lift`` as its mde (None keeps the plan's success metric,
      refreshed if it was itself taken from this funnel);
    * metrics taken from the funnel (``extra["funnel_stage"]``) get fresh baselines;
    * ``daily_entrants``: units entering the funnel a day; ``plan.daily_units`` becomes the
      units a day in the test population (fewer when triggered);
    * ``others``: the secondary and guardrail metrics (default: the plan's);
    * ``changes``: any other plan field (``alpha``, ``randomization_unit``...).

    >>> setup = FunnelSetup.from_template("ecommerce", lift=0.05)
    >>> new = plan_with_funnel(ExperimentPlan(), setup, success_stage="Add to cart")
    >>> new.success.name, new.success.baseline, new.extra["funnel"]["change_stage"]
    ('Add to cart conversion', 0.0935, 'Product view')
    """
    funnel = setup.funnel
    current = plan.success
    stage = success_stage or _linked_stage(current, funnel)
    if stage is not None:
        keep_name = current is not None and _linked_stage(current, funnel) == stage
        success: MetricSpec | None = stage_metric(
            setup, stage, mde=setup.lift, name=current.name if keep_name else None
        )
    else:
        success = current
    rest = list(others) if others is not None else [m for m in plan.metrics if m.role != "success"]
    refreshed = []
    for metric in rest:
        linked = _linked_stage(metric, funnel)
        if linked is not None and metric.type == "binary":
            fresh = stage_metric(setup, linked, role=metric.role, mde=metric.mde, name=metric.name)
            metric = dataclasses.replace(
                fresh, margin=metric.margin, extra={**metric.extra, **fresh.extra}
            )
        refreshed.append(metric)
    metrics = ([success] if success is not None else []) + refreshed
    fields: dict[str, Any] = {"metrics": tuple(metrics), **changes}
    fields["extra"] = {**plan.extra, EXTRA_KEY: setup.to_extra()}
    if daily_entrants is not None:
        fields["daily_units"] = _round(daily_entrants * max(setup.test_share, _TOL))
    return dataclasses.replace(plan, **fields)


# ---- guardrails and units -------------------------------------------------------------------
@dataclass(frozen=True)
class GuardrailTemplate:
    """A guardrail with sensible defaults: typical baseline, spread and margin."""

    key: str
    name: str
    type: str
    direction: str
    baseline: float
    sd: float | None
    margin: float
    unit: str
    why: str


GUARDRAIL_CATALOGUE: Mapping[str, GuardrailTemplate] = MappingProxyType(
    {
        g.key: g
        for g in (
            GuardrailTemplate(
                "revenue_per_user",
                "Revenue per user",
                "continuous",
                "increase",
                1.60,
                12.0,
                0.02,
                "user",
                "A change that sells more often but smaller baskets can lose money.",
            ),
            GuardrailTemplate(
                "page_load_time",
                "Page load time (ms)",
                "continuous",
                "decrease",
                800.0,
                400.0,
                0.02,
                "page view",
                "Slower pages cost conversions everywhere, not just where the change is.",
            ),
            GuardrailTemplate(
                "error_rate",
                "Error rate",
                "binary",
                "decrease",
                0.01,
                None,
                0.05,
                "page view",
                "Bugs in the new variant show up here first.",
            ),
            GuardrailTemplate(
                "cancel_rate",
                "Unsubscribe or cancel rate",
                "binary",
                "decrease",
                0.03,
                None,
                0.10,
                "user",
                "Pushing harder for sign-ups can drive existing customers away.",
            ),
            GuardrailTemplate(
                "support_contacts",
                "Support contacts per user",
                "continuous",
                "decrease",
                0.05,
                0.25,
                0.05,
                "user",
                "Confused users write to support; that costs money and signals a worse product.",
            ),
        )
    }
)
"""Guardrails worth watching in most tests, keyed by ``GuardrailTemplate.key``."""


def guardrail_metric(key: str) -> MetricSpec:
    """The catalogue guardrail ``key`` as a plan metric (``extra`` keeps its unit).

    >>> m = guardrail_metric("page_load_time")
    >>> m.role, m.direction, m.margin, m.extra["unit"]
    ('guardrail', 'decrease', 0.02, 'page view')
    """
    check_scalar(key, "guardrail", in_=tuple(GUARDRAIL_CATALOGUE))
    g = GUARDRAIL_CATALOGUE[key]
    return MetricSpec(
        name=g.name,
        role="guardrail",
        type=g.type,
        direction=g.direction,
        baseline=g.baseline,
        sd=g.sd,
        margin=g.margin,
        extra={"unit": g.unit, "catalogue": g.key},
    )


_UNIT_LEVEL = MappingProxyType({"cluster": 0, "user": 1, "session": 2, "search": 3, "page view": 3})
"""Coarse to fine: a cluster holds users, a user has sessions, a session has searches and
page views (searches and page views are siblings, neither holds the other)."""
_PLURAL = MappingProxyType(
    {
        "user": "users",
        "session": "sessions",
        "search": "searches",
        "page view": "page views",
        "cluster": "clusters",
    }
)


def plural(unit: str) -> str:
    """The plural of a randomization unit, for sentences and labels (``"search"`` ->
    ``"searches"``)."""
    return _PLURAL.get(unit, unit + "s")


def unit_warnings(randomization_unit: str, metrics: Sequence[MetricSpec]) -> list[str]:
    """Sentences for a product manager when units do not line up.

    * randomizing a session, search or page view lets one user see both arms;
    * randomizing clusters makes the effective sample the number of clusters;
    * a metric measured on a finer unit than the randomization unit (page load time per page
      view, users randomized) needs the delta method (a ratio metric per randomization unit);
    * a metric on a coarser unit (per user, sessions randomized) mixes both arms.

    A metric's unit is ``metric.extra["unit"]``; metrics without one are taken to be
    measured per randomization unit.

    >>> unit_warnings("user", [guardrail_metric("page_load_time")])[0][:45]
    'Page load time (ms) is measured per page view'
    """
    check_scalar(randomization_unit, "randomization_unit", in_=config.RANDOMIZATION_UNITS)
    r = randomization_unit
    out: list[str] = []
    if r in ("session", "search", "page view"):
        out.append(
            f"Randomizing by {r} lets one user see both versions: their experience mixes, "
            "what they learn in one arm carries to the other, and the arms are no longer "
            "independent. Prefer user randomization unless the change is invisible from one "
            f"{r} to the next."
        )
    if r == "cluster":
        out.append(
            "Randomizing clusters (shops, cities, classrooms...): units in a cluster behave "
            "alike, so the test's real sample size is closer to the number of clusters than "
            "to the number of users. Analyse per cluster (or with the delta method) and plan "
            "for many clusters: the user counts on this page assume independent users."
        )
    for metric in metrics:
        unit = metric.extra.get("unit")
        if unit not in _UNIT_LEVEL or unit == r:
            continue
        finer = _UNIT_LEVEL[unit] > _UNIT_LEVEL[r] or (_UNIT_LEVEL[unit] == _UNIT_LEVEL[r])
        if finer:
            fix = "" if metric.type == "ratio" else " Set its type to ratio."
            out.append(
                f"{metric.name} is measured per {unit} but the test randomizes by {r}: "
                f"several {_PLURAL[unit]} of one {r} are not independent, so analyse it as a "
                f"ratio per {r} (total over {_PLURAL[unit]}) with the delta method, or its "
                f"confidence interval will be too narrow.{fix}"
            )
        else:
            out.append(
                f"{metric.name} is counted per {unit} but the test randomizes by {r}: one "
                f"{unit}'s {_PLURAL[r]} can land in both arms, so this metric mixes the two "
                f"versions. Measure it per {r}, or randomize by {unit}."
            )
    return out
