"""The user's experiment: one object every page reads and writes, and how a file binds to it.

An :class:`Experiment` holds what makes an experiment the user's own: the plan, where its
data came from (:class:`DataSource`: a file's hash, rows and days, never its rows), the
column roles, the readout's options, the preparation steps, the date notes and the days left
out. It round-trips through JSON (the registry stores it; a notebook can load it), so a
saved experiment reopens with every page populated.

Binding is the step that makes the plan follow the data instead of the other way round:

- :func:`plan_from_data` starts a plan from an uploaded file's metrics, arms, control and
  split (a new experiment from a file; the demo's plan never judges a user's upload);
- :func:`bind_plan` fits the user's own plan to a file: the arms, control and split follow
  the file (each change said in a sentence), and a plan metric the file lacks becomes a
  question (:attr:`Binding.missing`), never a verdict;
- :func:`design_split` reads the planned split from the arm sizes only when they match a
  common design (96/4, 90/10...), so a 96/4 test is not read as a sample-ratio mismatch,
  while a 52/48 split of a 50/50 test still is.

>>> exp = Experiment(plan=ExperimentPlan(name="Checkout copy"))
>>> Experiment.from_json(exp.to_json()) == exp
True
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from abcore import config
from abcore.errors import InputError
from abcore.model import Aggregates, Mapping, MetricMapping, PrepStep
from abcore.plan import ExperimentPlan, MetricSpec
from abcore.validity import srm_test

__all__ = [
    "COMMON_SPLITS",
    "Binding",
    "DataSource",
    "Experiment",
    "SplitGuess",
    "bind_plan",
    "design_split",
    "plan_from_data",
    "rename_metric",
    "success_candidates",
    "with_roles",
]

SCHEMA_VERSION = 1
COMMON_SPLITS: tuple[float, ...] = (
    0.5,
    0.6,
    2 / 3,
    0.7,
    0.75,
    0.8,
    0.9,
    0.95,
    0.96,
    0.97,
    0.98,
    0.99,
)
"""Larger arm's share in the two-arm designs people run (either arm may be the larger)."""
SUCCESS_HINTS = (
    "convert",
    "purchase",
    "order",
    "retention",
    "retained",
    "signup",
    "sign_up",
    "enrol",
    "subscri",
    "payment",
    "paid",
    "checkout",
    "click",
    "success",
)
"""Words that name an outcome a test is usually run for, in order of preference."""
PLAN_TYPES = {
    "binary": "binary",
    "continuous": "continuous",
    "ratio": "ratio",
    "quantile": "quantile",
    "proportion_of_counts": "binary",
}
"""A data metric's kind as a plan metric's type (kinds not listed are sized as means)."""


# --------------------------------------------------------------------------------------------
# The experiment object
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataSource:
    """Where an experiment's readout came from: enough to know it is the same data again.

    ``kind`` is ``"demo"``, ``"file"``, ``"warehouse"`` (the warehouse query's result) or
    ``"link"`` (aggregates from a share link). ``sha256`` hashes the uploaded bytes;
    ``first_day``/``last_day`` are ISO dates when the data has dates. Never rows.
    """

    label: str
    kind: str = "file"
    sha256: str | None = None
    rows: int | None = None
    first_day: str | None = None
    last_day: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("demo", "file", "warehouse", "link"):
            raise InputError(
                f"a data source's kind must be demo, file, warehouse or link, got {self.kind!r}."
            )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: MappingABC[str, Any]) -> DataSource:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Experiment:
    """Everything that makes an experiment the user's own, in one JSON-ready value.

    ``is_demo`` marks the bundled demo: an upload made while it is open starts a new
    experiment from the file instead of being judged by the demo's plan. ``options`` are the
    readout's settings as the Results page holds them (alpha, correction, relative interval,
    CUPED, strata); ``notes`` the dated notes drawn on time charts (``{"day", "note"}``, as
    the Decision page keeps them); ``excluded_days`` the days the Decision page leaves out.
    The fingerprint is the plan's: it hashes the user's inputs only.
    """

    plan: ExperimentPlan = field(default_factory=ExperimentPlan)
    is_demo: bool = False
    source: DataSource | None = None
    mapping: Mapping | None = None
    options: dict[str, Any] = field(default_factory=dict)
    preparation: tuple[PrepStep, ...] = ()
    notes: tuple[dict[str, str], ...] = ()
    excluded_days: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "preparation", tuple(self.preparation))
        object.__setattr__(self, "notes", tuple(dict(n) for n in self.notes))
        object.__setattr__(self, "excluded_days", tuple(str(d) for d in self.excluded_days))

    @property
    def name(self) -> str:
        return self.plan.name

    def fingerprint(self) -> str:
        """The plan's fingerprint: the same on every page, brief, report and link."""
        return self.plan.fingerprint()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": SCHEMA_VERSION, "plan": self.plan.to_dict()}
        if self.is_demo:
            out["is_demo"] = True
        if self.source is not None:
            out["source"] = self.source.to_dict()
        if self.mapping is not None:
            out["mapping"] = self.mapping.to_dict()
        if self.options:
            out["options"] = dict(self.options)
        if self.preparation:
            out["preparation"] = [s.to_dict() for s in self.preparation]
        if self.notes:
            out["notes"] = [dict(n) for n in self.notes]
        if self.excluded_days:
            out["excluded_days"] = list(self.excluded_days)
        return out

    @classmethod
    def from_dict(cls, data: MappingABC[str, Any]) -> Experiment:
        """Read an experiment back; a malformed one raises :class:`InputError` (a sentence)."""
        if not isinstance(data, MappingABC) or not isinstance(data.get("plan"), MappingABC):
            raise InputError("an experiment must be a JSON object with a 'plan' object.")
        try:
            return cls(
                plan=ExperimentPlan.from_dict(data["plan"]),
                is_demo=bool(data.get("is_demo", False)),
                source=DataSource.from_dict(data["source"]) if data.get("source") else None,
                mapping=Mapping.from_dict(dict(data["mapping"])) if data.get("mapping") else None,
                options=dict(data.get("options") or {}),
                preparation=tuple(PrepStep.from_dict(s) for s in data.get("preparation") or ()),
                notes=tuple(
                    {"day": str(n["day"]), "note": str(n["note"])} for n in data.get("notes") or ()
                ),
                excluded_days=tuple(data.get("excluded_days") or ()),
            )
        except InputError:
            raise
        except (TypeError, ValueError, KeyError) as exc:
            raise InputError(f"the experiment could not be read: {exc}") from exc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Experiment:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"the experiment is not valid JSON: {exc.msg}.") from exc
        return cls.from_dict(data)


# --------------------------------------------------------------------------------------------
# The planned split, read from the arm sizes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitGuess:
    """The planned split to assume for a file, and the sentence that says where it came from
    (empty when the split is an equal one the arm sizes agree with)."""

    shares: dict[str, float]
    note: str = ""


def _percent(share: float) -> str:
    return f"{share * 100:.3g}%"


def design_split(counts: MappingABC[str, int]) -> SplitGuess:
    """The split a test with these arm sizes was most likely designed with.

    Equal shares when the sample-ratio test does not reject them; else, with two arms, the
    common design (:data:`COMMON_SPLITS`, either arm the larger) the sizes fit best, when the
    test does not reject it either; else equal shares, and the sample-ratio check will say
    the split is off. Only designs people run are proposed, never the observed shares, so a
    broken 50/50 test (52/48) is still flagged; the sentence asks the user to set the split
    when the design was another.

    >>> design_split({"ad": 11290, "psa": 472}).shares
    {'ad': 0.96, 'psa': 0.04}
    >>> design_split({"a": 5200, "b": 4800}).note[:40]
    'The arms hold 52% and 48% of the units, '
    """
    arms = [str(a) for a in counts]
    total = sum(int(c) for c in counts.values())
    equal = {a: 1 / len(arms) for a in arms}
    if len(arms) < 2 or total <= 0 or min(counts.values()) <= 0:
        return SplitGuess(equal)
    if srm_test(dict(counts), equal).p_value >= config.SRM_THRESHOLD:
        return SplitGuess(equal)
    observed = " and ".join(_percent(int(c) / total) for c in counts.values())
    if len(arms) == 2:
        first, second = arms
        candidates = [{first: big, second: 1 - big} for big in COMMON_SPLITS[1:]] + [
            {first: 1 - big, second: big} for big in COMMON_SPLITS[1:]
        ]
        best = max(candidates, key=lambda s: srm_test(dict(counts), s).p_value)
        if srm_test(dict(counts), best).p_value >= config.SRM_THRESHOLD:
            shares = {a: round(best[a], 4) for a in arms}
            design = "/".join(f"{best[a] * 100:.3g}" for a in arms)
            return SplitGuess(
                shares,
                f"The arms hold {observed} of the units: read as a {design} design. If the "
                "test was designed with another split, set it under Planned split; the "
                "sample-ratio check tests the data against it.",
            )
    return SplitGuess(
        equal,
        f"The arms hold {observed} of the units, far from an equal split and from the common "
        "designs: the sample-ratio check flags it. If the test was designed this way, set "
        "the split under Planned split.",
    )


# --------------------------------------------------------------------------------------------
# Binding a file to a plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """A plan fitted to a file: ``notes`` say what followed the file, ``missing`` names the
    plan's metrics the file does not have (each a question for the user, never a verdict)."""

    plan: ExperimentPlan
    notes: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def _data_metrics(mapping: Mapping) -> dict[str, MetricMapping]:
    return {m.name: m for m in mapping.metrics}


def success_candidates(mapping: Mapping) -> list[str]:
    """The data's metrics, the likeliest success metric first.

    A metric named like an outcome tests are run for (:data:`SUCCESS_HINTS`) comes first (a
    rate of counts, then a yes/no, before a number within a hint); then the other yes/no
    metrics, then the rest, in file order.

    >>> m = Mapping(variant="v", metrics=(MetricMapping("sum_gamerounds", "continuous"),
    ...     MetricMapping("retention_1", "binary"), MetricMapping("retention_7", "binary")))
    >>> success_candidates(m)
    ['retention_1', 'retention_7', 'sum_gamerounds']
    """
    metrics = list(mapping.metrics)

    def rank(item: tuple[int, MetricMapping]) -> tuple[int, int, int]:
        i, m = item
        name = m.name.lower()
        hint = next((h for h, w in enumerate(SUCCESS_HINTS) if w in name), len(SUCCESS_HINTS))
        kind = {"proportion_of_counts": 0, "binary": 1}.get(m.kind, 2)
        return (hint, kind, i)

    return [m.name for _, m in sorted(enumerate(metrics), key=rank)]


def _observed(aggregates: Aggregates, metric: MetricMapping) -> tuple[float | None, float | None]:
    """The control's mean and per-unit SD of a metric (None when it has no such number)."""
    if metric.metric_kind.statistic not in ("sample", "trials"):
        return None, None
    try:
        s = aggregates.sample_mean(metric.name, aggregates.control)
    except (ValueError, KeyError):
        return None, None
    if s.n <= 1:
        return None, None
    return float(s.mean), float(s.sd)


def _spec_from_data(
    aggregates: Aggregates, metric: MetricMapping, role: str, base: MetricSpec | None
) -> MetricSpec:
    """A plan metric for a data metric, its baseline (and SD) the control's observed values."""
    kind = PLAN_TYPES.get(metric.kind, "continuous")
    mean, sd = _observed(aggregates, metric)
    if kind == "binary" and mean is not None and not 0 <= mean <= 1:
        kind = "continuous"
    keep = base.to_dict() if base is not None else {}
    keep.update(name=metric.name, role=role, type=kind)
    keep.pop("baseline", None)
    keep.pop("sd", None)
    if mean is not None and math.isfinite(mean):
        keep["baseline"] = round(mean, 6)
    if kind == "continuous" and sd is not None and math.isfinite(sd) and sd > 0:
        keep["sd"] = round(sd, 6)
    if kind == "ratio":
        keep.update(numerator=metric.numerator, denominator=metric.denominator)
    if kind == "quantile":
        keep.update(quantile=metric.quantile, column=metric.column)
    else:
        keep.pop("quantile", None)
    if role == "guardrail" and keep.get("margin") is None:
        keep["margin"] = config.GUARDRAIL_MARGIN
    return MetricSpec.from_dict(keep)


def plan_from_data(
    aggregates: Aggregates,
    *,
    name: str,
    base: ExperimentPlan | None = None,
    success: str | None = None,
) -> Binding:
    """A new plan that follows a file: its metrics, arms, control and split.

    The success metric is ``success`` or the likeliest one (:func:`success_candidates`);
    the other metrics are secondary (the user promotes guardrails), unless ``base`` plans a
    metric of the same name: it keeps that role, effect and margin. Baselines and SDs are
    the control's observed values. ``base`` lends what a file cannot say (alpha, power,
    sidedness, method, MDE, traffic), so settings the user chose carry over; its metrics,
    arms and name do not.
    """
    mapping = aggregates.mapping
    data = _data_metrics(mapping)
    if not data:
        raise InputError("this file has no metric to plan with: map an outcome column first.")
    first = success if success in data else success_candidates(mapping)[0]
    base = base or ExperimentPlan()
    planned = {m.name: m for m in base.metrics}
    specs = [_spec_from_data(aggregates, data[first], "success", base.success)]
    for n, m in data.items():
        if n == first:
            continue
        kept = planned.get(n)
        role = kept.role if kept is not None and kept.role != "success" else "secondary"
        specs.append(_spec_from_data(aggregates, m, role, kept))
    split = design_split(aggregates.counts())
    shares = {aggregates.control: split.shares[aggregates.control]}
    shares.update({a: split.shares[a] for a in aggregates.treatments})
    plan = dataclasses.replace(
        base,
        name=name,
        metrics=tuple(specs),
        control=aggregates.control,
        expected_shares=shares,
        planned_n_per_arm=None,
        extra={k: v for k, v in base.extra.items() if k != "funnel"},
    )
    guards = [
        f"{m.name} ({(m.margin or 0) * 100:g}% margin)" for m in specs if m.role == "guardrail"
    ]
    notes = [
        f"The plan follows the file: success metric {first!r}"
        + (f", guardrails {', '.join(guards)}" if guards else "")
        + f", arms {', '.join(aggregates.variants)} with {aggregates.control!r} as the control."
        " Change them on the Plan page."
    ]
    if split.note:
        notes.append(split.note)
    return Binding(plan, tuple(notes))


def bind_plan(plan: ExperimentPlan, aggregates: Aggregates) -> Binding:
    """The user's own plan, fitted to a file.

    Arms, control and split follow the file when the plan's are not the file's (the file is
    what happened; a sentence says what changed); metrics stay as planned, and a plan metric
    the file lacks is returned in ``missing`` for the user to map (:func:`rename_metric`) or
    drop, so it is asked about instead of failing the decision.
    """
    notes: list[str] = []
    data = _data_metrics(aggregates.mapping)
    missing = tuple(m.name for m in plan.metrics if m.name not in data)
    arms = aggregates.variants
    if set(plan.expected_shares) != set(arms) or plan.control != aggregates.control:
        split = design_split(aggregates.counts())
        shares = {a: split.shares[a] for a in arms}
        notes.append(
            f"The plan's arms ({', '.join(plan.expected_shares)}, control {plan.control!r}) "
            f"were not this file's: the plan now has the file's arms ({', '.join(arms)}) with "
            f"{aggregates.control!r} as the control."
        )
        if split.note:
            notes.append(split.note)
        plan = dataclasses.replace(plan, control=aggregates.control, expected_shares=shares)
    return Binding(plan, tuple(notes), missing)


def rename_metric(plan: ExperimentPlan, old: str, new: str) -> ExperimentPlan:
    """The plan with metric ``old`` read from the data's ``new`` (the answer to "which column
    is ``old``?"); its role, effect and margin stay. Raises InputError when ``new`` is
    already a plan metric."""
    if old == new:
        return plan
    if any(m.name == new for m in plan.metrics):
        raise InputError(f"{new!r} is already a metric of the plan: pick another column.")
    metrics = tuple(dataclasses.replace(m, name=new) if m.name == old else m for m in plan.metrics)
    return dataclasses.replace(plan, metrics=metrics)


def drop_metrics(plan: ExperimentPlan, names: Sequence[str]) -> ExperimentPlan:
    """The plan without the metrics ``names`` (a success metric cannot be dropped)."""
    if plan.success is not None and plan.success.name in names:
        raise InputError(
            f"{plan.success.name!r} is the plan's success metric: map it to a column, or pick "
            "another success metric, instead of dropping it."
        )
    return dataclasses.replace(plan, metrics=tuple(m for m in plan.metrics if m.name not in names))


def with_roles(
    plan: ExperimentPlan,
    aggregates: Aggregates,
    *,
    success: str,
    guardrails: Sequence[str] = (),
) -> ExperimentPlan:
    """The plan with ``success`` as its success metric and ``guardrails`` as its guardrails,
    all named as the data's metrics (the choice on Results after an upload).

    The success metric keeps the planned effect (and direction) of the one it replaces, which
    becomes secondary; a guardrail keeps its margin, a new one gets
    :data:`abcore.config.GUARDRAIL_MARGIN`; a metric the plan did not have is added with the
    control's observed baseline. Metrics the data lacks are left as they are.

    Raises:
        InputError: a name that is not one of the data's metrics, or the success metric also
            chosen as a guardrail.
    """
    data = _data_metrics(aggregates.mapping)
    unknown = [n for n in (success, *guardrails) if n not in data]
    if unknown:
        raise InputError(
            f"{unknown[0]!r} is not a metric of this data (its metrics: {', '.join(data)})."
        )
    if success in guardrails:
        raise InputError(f"{success!r} cannot be the success metric and a guardrail at once.")
    planned = {m.name: m for m in plan.metrics}
    old = plan.success
    out: list[MetricSpec] = []
    template = (
        MetricSpec(success, direction=old.direction, mde=old.mde, relative=old.relative)
        if old is not None
        else None
    )
    kept = planned.get(success)
    if old is not None and old.name == success:
        first = old  # unchanged: its typed baseline and effect stay
    else:
        first = _spec_from_data(aggregates, data[success], "success", kept or template)
        if old is not None:  # the effect worth detecting carries over to the new metric
            first = dataclasses.replace(first, mde=old.mde, relative=old.relative)
    out.append(first)
    for name, spec in planned.items():
        if name == success:
            continue
        role = "guardrail" if name in guardrails else "secondary"
        if spec.role == role:
            out.append(spec)
        elif role == "guardrail":
            margin = spec.margin if spec.margin is not None else config.GUARDRAIL_MARGIN
            out.append(dataclasses.replace(spec, role=role, margin=margin))
        else:
            out.append(dataclasses.replace(spec, role=role))
    for name in guardrails:
        if name not in planned:
            out.append(_spec_from_data(aggregates, data[name], "guardrail", None))
    return dataclasses.replace(plan, metrics=tuple(out))
