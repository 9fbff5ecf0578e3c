"""What changed in a plan after it was registered: the diff an amendment records and the
Decision page and the report show ("changed after launch: power 80% → 90%").

Pure functions on the plan's dicts (:meth:`abcore.plan.ExperimentPlan.to_dict`), so an
amendment stored years ago reads the same, whatever the plan object has become since.

>>> from abcore.plan import ExperimentPlan
>>> old = ExperimentPlan(power=0.8).to_dict()
>>> new = ExperimentPlan(power=0.9, alpha=0.01).to_dict()
>>> [c.text for c in plan_diff(old, new)]
['alpha 0.05 → 0.01', 'power 80% → 90%']
>>> changed_after_launch(plan_diff(old, new))
'changed after launch: alpha 0.05 → 0.01; power 80% → 90%'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from abcore.plan import ExperimentPlan

__all__ = ["PlanChange", "changed_after_launch", "plan_diff"]

PERCENT_FIELDS = frozenset(
    {"power", "exposure", "variance_reduction", "min_effect_to_launch", "margin"}
)
"""Plan fields that are shares, shown as percentages (alpha stays a number, as people say
it)."""
MISSING = object()


@dataclass(frozen=True)
class PlanChange:
    """One field of the plan, its value before and after, and the phrase that shows it.

    ``field`` is a path: ``power``, ``expected_shares.control``, ``metrics[revenue].mde``
    (a metric by its name, so reordering the metrics is not a change).
    """

    field: str
    old: Any
    new: Any
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new, "text": self.text}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanChange:
        return cls(str(data["field"]), data.get("old"), data.get("new"), str(data["text"]))


def _complete(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The plan with its left-out fields at their defaults: its JSON leaves out the
    sequential keys at their defaults, and a change from the default must read
    ``'fixed' → ...``, not ``none → ...``."""
    out = dict(plan)
    for f in dataclasses.fields(ExperimentPlan):
        if f.name not in out and f.default is not dataclasses.MISSING:
            out[f.name] = f.default
    return out


def _flatten(plan: Mapping[str, Any]) -> dict[str, tuple[Any, bool]]:
    """Path -> (value, shown as a percentage) for every leaf of a plan dict."""
    out: dict[str, tuple[Any, bool]] = {}
    for key, value in plan.items():
        if key == "schema":
            continue
        if key == "metrics" and isinstance(value, list):
            for metric in value:
                if not isinstance(metric, Mapping):
                    continue
                name = metric.get("name")
                for k, v in metric.items():
                    if k == "name":
                        continue
                    percent = k in PERCENT_FIELDS or (
                        (k == "mde" and metric.get("relative", True))
                        or (k == "baseline" and metric.get("type", "binary") == "binary")
                    )
                    out[f"metrics[{name}].{k}"] = (v, percent)
        elif key == "expected_shares" and isinstance(value, Mapping):
            for arm, share in value.items():
                out[f"expected_shares.{arm}"] = (share, True)
        else:
            out[key] = (value, key in PERCENT_FIELDS)
    return out


def _label(path: str) -> str:
    """A path as words: ``metrics[revenue].mde`` -> ``revenue mde``."""
    if path.startswith("metrics["):
        name, _, rest = path[len("metrics[") :].partition("].")
        return f"{name} {rest.replace('_', ' ')}"
    if path.startswith("expected_shares."):
        return f"share of {path.split('.', 1)[1]}"
    return path.replace("_", " ")


def format_value(value: Any, percent: bool = False) -> str:
    """A plan value as the pages write it.

    >>> format_value(0.8, percent=True), format_value(0.05), format_value(20000)
    ('80%', '0.05', '20,000')
    >>> format_value(None), format_value("fixed"), format_value(True)
    ('none', "'fixed'", 'yes')
    """
    if value is None or value is MISSING:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and math.isfinite(value):
        if percent:
            return f"{value * 100:.4g}%"
        if float(value).is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        return f"{value:.6g}"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _metric_names(plan: Mapping[str, Any]) -> list[str]:
    metrics = plan.get("metrics")
    if not isinstance(metrics, list):
        return []
    return [str(m.get("name")) for m in metrics if isinstance(m, Mapping)]


def plan_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[PlanChange, ...]:
    """Every field of the plan that differs between ``old`` and ``new``, sorted by path.

    A metric added or removed is one change (its fields are not listed one by one):

    >>> from abcore.plan import ExperimentPlan, MetricSpec
    >>> old = ExperimentPlan().to_dict()
    >>> new = ExperimentPlan(metrics=(MetricSpec("converted", baseline=0.1, mde=0.03),
    ...                               MetricSpec("revenue", "guardrail", "continuous"))).to_dict()
    >>> [c.text for c in plan_diff(old, new)]
    ['converted mde 5% → 3%', 'metric revenue added']
    >>> plan_diff(old, old)
    ()

    A field left out of the JSON at its default reads as that default:

    >>> [c.text for c in plan_diff(old, {**old, "method": "always_valid"})]
    ["method 'fixed' → 'always_valid'"]
    """
    old, new = _complete(old), _complete(new)
    before, after = _flatten(old), _flatten(new)
    old_metrics, new_metrics = _metric_names(old), _metric_names(new)
    changes: list[PlanChange] = []
    for name in new_metrics:
        if name not in old_metrics:
            changes.append(PlanChange(f"metrics[{name}]", None, name, f"metric {name} added"))
    for name in old_metrics:
        if name not in new_metrics:
            changes.append(PlanChange(f"metrics[{name}]", name, None, f"metric {name} removed"))
    gone = {f"metrics[{c.field[len('metrics[') : -1]}]." for c in changes}
    for path in sorted(set(before) | set(after)):
        if any(path.startswith(prefix) for prefix in gone):
            continue
        was, percent_old = before.get(path, (MISSING, False))
        now, percent_new = after.get(path, (MISSING, False))
        if was == now:
            continue
        percent = percent_old or percent_new
        text = f"{_label(path)} {format_value(was, percent)} → {format_value(now, percent)}"
        changes.append(
            PlanChange(path, None if was is MISSING else was, None if now is MISSING else now, text)
        )
    return tuple(sorted(changes, key=lambda c: c.field))


def changed_after_launch(changes: Sequence[PlanChange]) -> str:
    """The sentence the Decision page and the report show; empty when nothing changed."""
    if not changes:
        return ""
    return "changed after launch: " + "; ".join(c.text for c in changes)
