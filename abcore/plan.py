"""The experiment plan: one typed object that the pages edit, the link carries and the
analysis checks against.

It round-trips through JSON (the exported brief) and URL query parameters (the share link).
Unknown keys are kept, not dropped, so a link made by a newer version survives an older one;
missing optional keys take the defaults from :mod:`abcore.config`.

>>> plan = ExperimentPlan(name="Checkout copy")
>>> ExperimentPlan.from_query_params(plan.to_query_params()) == plan
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from abcore import config, limits
from abcore._checks import check_scalar
from abcore.errors import InputError

__all__ = [
    "DERIVED_KEYS",
    "METRIC_DIRECTIONS",
    "METRIC_ROLES",
    "METRIC_TYPES",
    "ExperimentPlan",
    "MetricSpec",
]

METRIC_ROLES = ("success", "secondary", "guardrail")
METRIC_TYPES = ("binary", "continuous", "ratio", "quantile")
METRIC_DIRECTIONS = ("increase", "decrease")
QUERY_KEY = "plan"
SCHEMA_VERSION = 1


def _known(cls: type, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    known = {k: v for k, v in data.items() if k in names}
    extra = {k: v for k, v in data.items() if k not in names}
    return known, extra


def _check_finite(value: Any, key: str, metric: str) -> None:
    """A metric's number is None or finite, quoted as given when it is not (a page widget
    would otherwise clamp it and the sizing would quote the clamped value)."""
    if value is None:
        return
    try:
        finite = not isinstance(value, bool) and math.isfinite(float(value))
    except (TypeError, ValueError):
        finite = False
    if not finite:
        raise InputError(f"{key} of {metric!r} must be a finite number, got {value!r}.")


@dataclass(frozen=True)
class MetricSpec:
    """One metric of the plan and its role in the decision.

    ``baseline`` is the control's rate (binary) or mean (continuous, ratio); ``sd`` the
    per-unit standard deviation of a continuous metric. ``margin`` is the relative harm a
    guardrail may show and still pass non-inferiority (0.02: at most 2% worse).
    A ``"quantile"`` metric names its level ``quantile`` (0.9: p90) and the data ``column``
    it is taken of (default: its name); the Plan page does not size it
    (:func:`abcore.planning.size_plan` says why).
    """

    name: str
    role: str = "success"
    type: str = "binary"
    direction: str = "increase"
    baseline: float | None = None
    sd: float | None = None
    mde: float | None = None
    relative: bool = True
    margin: float | None = None
    numerator: str | None = None
    denominator: str | None = None
    quantile: float | None = None
    column: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("metric name must be a non-empty string.")
        check_scalar(self.role, "role", in_=METRIC_ROLES)
        check_scalar(self.type, "type", in_=METRIC_TYPES)
        check_scalar(self.direction, "direction", in_=METRIC_DIRECTIONS)
        for key in ("baseline", "sd", "mde", "margin"):
            _check_finite(getattr(self, key), key, self.name)
        if self.margin is not None:
            check_scalar(self.margin, "margin", ge=0)
        if self.type == "quantile":
            q = self.quantile
            if isinstance(q, bool) or not isinstance(q, int | float) or not 0 < q < 1:
                raise InputError(
                    f"quantile of {self.name!r} must be a level strictly between 0 and 1 (0.9 "
                    f"for p90), got {q!r}."
                )
        elif self.quantile is not None:
            raise InputError(
                f"quantile of {self.name!r} is for quantile metrics only; its type is "
                f"{self.type!r}."
            )
        if self.type == "binary" and self.baseline is not None and not 0 <= self.baseline <= 1:
            raise InputError(
                f"baseline of {self.name!r} is a rate: it must be between 0 and 1, got "
                f"{self.baseline!r}."
            )

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "increase"

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        out = {k: v for k, v in out.items() if v is not None}
        return {**self.extra, **out}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricSpec:
        known, extra = _known(cls, data)
        return cls(**known, extra=extra)


_SEQUENTIAL_DEFAULTS: dict[str, Any] = {
    "method": config.SEQUENTIAL_METHOD,
    "looks": config.GS_LOOKS,
    "spending": config.SPENDING,
    "rho": config.SPENDING_RHO,
    "tuning_n": None,
}
"""Keys written only when they differ from these, so older plans keep their fingerprint."""


DERIVED_KEYS = ("planned_n_per_arm", "planned_days")
"""Fields the Plan page computes from the inputs (the size and whole-week duration the plan
needs): kept in the plan, its JSON and its link, left out of :meth:`ExperimentPlan.fingerprint`."""


def _default_metrics() -> tuple[MetricSpec, ...]:
    return (MetricSpec("converted", "success", "binary", "increase", baseline=0.10, mde=0.05),)


@dataclass(frozen=True)
class ExperimentPlan:
    """Everything decided before launch. Edit with :func:`dataclasses.replace`.

    ``expected_shares`` maps every arm (control first) to its share of traffic;
    ``min_effect_to_launch`` is the relative lift on the success metric below which a launch
    does not pay for itself; ``variance_reduction`` the share of variance CUPED is expected
    to remove (rho squared).

    ``method`` is how the results will be read, chosen before launch because it changes the
    size the test needs (:data:`abcore.config.SEQUENTIAL_METHODS`): ``"fixed"`` (read once, at
    the planned end), ``"always_valid"`` (a confidence sequence: look any time) or
    ``"group_sequential"`` (``looks`` planned looks, alpha spent by ``spending`` with
    exponent ``rho``). ``tuning_n`` overrides N*, the size where the always-valid sequence
    is tightest (default: the planned units of control plus one arm). These keys are left
    out of the JSON, the link and the fingerprint while they hold their defaults, so plans
    and links made before they existed read, and hash, exactly as before (as fixed horizon).
    """

    name: str = "Untitled experiment"
    hypothesis: str = ""
    randomization_unit: str = "user"
    control: str = "control"
    expected_shares: dict[str, float] = field(
        default_factory=lambda: {"control": 0.5, "treatment": 0.5}
    )
    alpha: float = config.ALPHA
    power: float = config.POWER
    alternative: str = config.ALTERNATIVE
    metrics: tuple[MetricSpec, ...] = field(default_factory=_default_metrics)
    min_effect_to_launch: float = 0.0
    daily_units: float = config.DAILY_UNITS
    exposure: float = config.EXPOSURE
    variance_reduction: float = 0.0
    planned_n_per_arm: int | None = None
    start_date: str | None = None
    planned_days: int | None = None
    method: str = config.SEQUENTIAL_METHOD
    looks: int = config.GS_LOOKS
    spending: str = config.SPENDING
    rho: float = config.SPENDING_RHO
    tuning_n: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_scalar(self.alpha, "alpha", gt=0, lt=1)
        check_scalar(self.method, "method", in_=config.SEQUENTIAL_METHODS)
        if isinstance(self.looks, bool) or not float(self.looks).is_integer():
            raise ValueError(f"looks must be a whole number of looks, got {self.looks!r}.")
        check_scalar(self.looks, "looks", ge=1, le=config.SEQUENTIAL_MAX_LOOKS)
        object.__setattr__(self, "looks", int(self.looks))
        check_scalar(self.spending, "spending", in_=config.SPENDING_FUNCTIONS)
        check_scalar(self.rho, "rho", gt=0)
        if self.tuning_n is not None:
            check_scalar(self.tuning_n, "tuning_n", gt=0)
        check_scalar(self.power, "power", gt=0, lt=1)
        check_scalar(self.alternative, "alternative", in_=config.ALTERNATIVES)
        check_scalar(self.daily_units, "daily_units", gt=0)
        check_scalar(self.exposure, "exposure", gt=0, le=1)
        check_scalar(self.variance_reduction, "variance_reduction", ge=0, lt=1)
        if len(self.expected_shares) < 2:
            raise ValueError("expected_shares must name at least two arms (control first).")
        if self.control not in self.expected_shares:
            raise ValueError(
                f"control {self.control!r} must be one of the arms in expected_shares."
            )
        for arm, share in self.expected_shares.items():
            check_scalar(share, f"expected share of {arm!r}", gt=0)
        total = sum(self.expected_shares.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"expected_shares must add up to 1, got {total:g}.")
        object.__setattr__(self, "metrics", tuple(self.metrics))

    # ---- derived views -------------------------------------------------------------
    @property
    def treatments(self) -> tuple[str, ...]:
        return tuple(arm for arm in self.expected_shares if arm != self.control)

    @property
    def ratio(self) -> float:
        """n_treatment / n_control for the smallest treatment arm (the binding one)."""
        control = self.expected_shares[self.control]
        return min(self.expected_shares[arm] for arm in self.treatments) / control

    @property
    def success(self) -> MetricSpec | None:
        """The primary success metric: the first with role "success"."""
        return next((m for m in self.metrics if m.role == "success"), None)

    @property
    def guardrails(self) -> tuple[MetricSpec, ...]:
        return tuple(m for m in self.metrics if m.role == "guardrail")

    @property
    def peeking_safe(self) -> bool:
        """Whether the plan reads results with a method valid at every look."""
        return self.method != "fixed"

    # ---- serialisation -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": SCHEMA_VERSION}
        out.update(self.extra)
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name == "metrics":
                value = [m.to_dict() for m in value]
            elif f.name == "expected_shares":
                value = dict(value)
            elif f.name in _SEQUENTIAL_DEFAULTS and value == _SEQUENTIAL_DEFAULTS[f.name]:
                continue
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentPlan:
        """Build a plan from a dict; a malformed plan raises InputError saying what is wrong.

        The dict is untrusted (a link, a file): every field is checked against the app's
        limits first (:func:`abcore.limits.check_plan_payload`), with a sentence naming it.
        """
        limits.check_plan_payload(data)
        body = {k: v for k, v in data.items() if k != "schema"}
        known, extra = _known(cls, body)
        try:
            if "metrics" in known:
                known["metrics"] = tuple(MetricSpec.from_dict(m) for m in known["metrics"])
            if "expected_shares" in known:
                known["expected_shares"] = {
                    str(k): float(v) for k, v in known["expected_shares"].items()
                }
            return cls(**known, extra=extra)
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise InputError(f"This plan cannot be read: {exc}") from exc

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> ExperimentPlan:
        data = limits.parse_json(text, what="plan", max_bytes=config.PLAN_LINK_MAX_BYTES)
        return cls.from_dict(data)

    def to_query_params(self) -> dict[str, str]:
        """The plan as one URL-safe query parameter: compact JSON, deflated, base64url."""
        raw = json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)
        return {QUERY_KEY: limits.deflate(raw)}

    @classmethod
    def from_query_params(cls, params: Mapping[str, Any]) -> ExperimentPlan:
        """Rebuild the plan from a link's query parameters (``st.query_params`` works).

        The link is read within bounds (:func:`abcore.limits.inflate`: at most
        ``config.PLAN_LINK_MAX_BYTES`` once inflated) and checked field by field; anything
        else raises InputError.
        """
        packed = params.get(QUERY_KEY)
        if isinstance(packed, list):
            packed = packed[-1] if packed else None
        if not packed:
            raise InputError("This link carries no plan (the 'plan' parameter is missing).")
        raw = limits.inflate(str(packed), max_bytes=config.PLAN_LINK_MAX_BYTES, what="plan")
        return cls.from_json(raw)

    def fingerprint(self) -> str:
        """Short hash of the plan's inputs: shows whether the plan changed after launch.

        Only what the user decided is hashed; :data:`DERIVED_KEYS` are left out. The Plan page
        fills ``planned_n_per_arm`` and ``planned_days`` in from the inputs
        (:func:`abcore.planning.size_plan`) whenever it opens, so hashing them made one
        session show two fingerprints for one plan: one before the Plan page was opened, one
        after. Every input they are computed from (alpha, power, sidedness, metrics, traffic,
        split, method) is hashed, so a change that moves them moves the fingerprint too.
        ``tuning_n`` is kept: it is typed (N* of the always-valid sequence), not computed.
        A notebook plan that sets a size by hand and changes only that size keeps its
        fingerprint; the readout still checks the data against it.

        >>> plan = ExperimentPlan()
        >>> plan.fingerprint() == dataclasses.replace(plan, planned_n_per_arm=9_000).fingerprint()
        True
        >>> plan.fingerprint() == dataclasses.replace(plan, alpha=0.01).fingerprint()
        False
        """
        inputs = {k: v for k, v in self.to_dict().items() if k not in DERIVED_KEYS}
        canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]
