"""One seeded generator for the bundled demo datasets and for the test fixtures.

Every file in ``sample_data/`` is rewritten, byte for byte the same, by::

    python -m sample_data.generate

The functions are pure (seed in, pandas DataFrame out) and vectorised with numpy, so tests
can ask for the exact scenario they need (a planted sample ratio mismatch, a novelty effect
that decays, a guardrail harm, an A/A, an under-powered test) in a few milliseconds.

Each random ingredient (assignment, exposure time, conversion, revenue...) comes from its own
child stream of one ``numpy.random.SeedSequence``. Turning a knob therefore changes only what
that knob touches: the same seed with and without ``srm`` gives the same users, the same
exposure times and the same outcomes for everyone who is kept.

>>> df = make_experiment(1_000, seed=1)
>>> list(df.columns)[:4]
['user_id', 'variant', 'first_exposure', 'platform']
>>> df.equals(make_experiment(1_000, seed=1))
True
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import poisson

from abcore._checks import check_scalar
from abcore.config import DEMO_SEED

__all__ = [
    "DEFAULT_EFFECTS",
    "DEMO_GUARDRAIL_HARM",
    "EFFECT_METRICS",
    "FUNNEL_STAGES",
    "FUNNEL_STEP_RATES",
    "SCENARIOS",
    "make_aggregates",
    "make_daily_aggregates",
    "make_event_log",
    "make_experiment",
    "make_scenario",
    "make_session_level",
    "write_all",
]

DEFAULT_START: str = "2026-03-02"
"""A Monday, so the 14-day demo covers exactly two weekly cycles."""

BASELINE: float = 0.10
"""Control conversion rate (share of users who buy at least once)."""

EFFECT_METRICS: tuple[str, ...] = ("converted", "revenue", "clicks")
"""Keys of ``effects``: relative treatment effects on conversion, on the order value of a
converter (so revenue per user moves by ``(1 + converted) * (1 + revenue) - 1``) and on clicks
per session (the ratio metric ``clicks / sessions``)."""

DEFAULT_EFFECTS: Mapping[str, float] = MappingProxyType(
    {"converted": 0.06, "revenue": 0.0, "clicks": 0.02}
)
"""The demo's planted truth: +6% relative conversion, unchanged order value, +2% clicks."""

DEMO_GUARDRAIL_HARM: float = 0.005
"""The demo's planted load-time increase: +0.5%, inside the plan's 2% non-inferiority margin."""

PLATFORMS: tuple[str, ...] = ("web", "ios", "android")
PLATFORM_SHARES: tuple[float, ...] = (0.5, 0.3, 0.2)
_PLATFORM_CONVERSION = np.array([1.10, 1.05, 0.75])
_PLATFORM_LOAD_MS = np.array([800.0, 720.0, 980.0])
"""Median page load per platform: Android devices are slower."""

DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")
_DEVICE_SHARES = np.array([[0.8, 0.2, 0.0], [0.0, 0.8, 0.2], [0.0, 0.9, 0.1]])
"""Rows: platform; columns: device. Web is mostly desktop; apps are phones or tablets."""

_DOW_WEIGHTS = np.array([1.0, 1.02, 1.0, 0.98, 0.95, 0.72, 0.78])
"""Relative new exposures Monday..Sunday: weekends are quieter."""
_RETURNING_BOOST, _RETURNING_DECAY_DAYS = 0.8, 3.0
"""Regular users are exposed in the first days, so new exposures decline over the test."""
_HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 7, 8, 7, 7, 7, 7, 8, 9, 10, 10, 9, 7, 4], dtype=float
)

_ENGAGEMENT_SD = 0.4
"""Log-scale spread of the user propensity shared by sessions and conversion."""
_SESSIONS_MEDIAN, _SESSIONS_SD = 2.0, 0.8
_CTR_MEAN, _CTR_SHAPE = 0.35, 4.0
_ORDER_MEDIAN, _ORDER_SD = 45.0, 0.9
_LOAD_SD = 0.35

FUNNEL_STAGES: tuple[str, ...] = ("visit", "product_view", "add_to_cart", "checkout", "purchase")
FUNNEL_STEP_RATES: tuple[float, ...] = (0.62, 0.38, 0.55, 0.70)
"""Share of units reaching each stage that go on to the next: about 9% end with a purchase."""
_FUNNEL_GAP_MINUTES = (3.0, 6.0, 8.0, 15.0)

Covariate = Literal["revenue", "sessions"]

_STREAMS = (
    "arm",
    "day",
    "hour",
    "second",
    "platform",
    "device",
    "engagement",
    "conversion",
    "order_value",
    "ctr",
    "sessions",
    "clicks",
    "load",
    "covariate",
    "drop",
)
"""One child stream per ingredient of ``make_experiment``, keyed by position."""
_EVENT_LOG_KEY, _SESSION_LEVEL_KEY = 100, 101


def make_experiment(
    n_units: int = 50_000,
    *,
    days: int = 14,
    start: str = DEFAULT_START,
    arms: Sequence[str] = ("control", "treatment"),
    shares: Sequence[float] | None = None,
    seed: int = DEMO_SEED,
    baseline: float = BASELINE,
    effects: Mapping[str, float] | Mapping[str, Mapping[str, float]] = DEFAULT_EFFECTS,
    srm: float | None = None,
    srm_arm: str | None = None,
    novelty: float | None = None,
    novelty_half_life: float = 2.0,
    guardrail_harm: float = DEMO_GUARDRAIL_HARM,
    pre_correlation: float = 0.6,
    covariate: Covariate = "revenue",
) -> pd.DataFrame:
    """Unit-level results of a user-randomised experiment: one row per user.

    Args:
        n_units: users assigned before any ``srm`` drop.
        days: length of the exposure window; ``first_exposure`` falls inside it, with fewer
            new users at weekends and in later days (regular users come first).
        start: first day of the window (a date string).
        arms: variant names; the first is the control.
        shares: designed share of each arm (default equal); assignment is random, so the
            realised split varies as in a real test.
        seed: seed of every random draw.
        baseline: expected control conversion rate.
        effects: relative treatment effects keyed by ``EFFECT_METRICS`` (missing keys are 0),
            applied to every treatment arm; or a mapping from arm name to such a mapping.
        srm: share of ``srm_arm``'s users silently lost (a logging bug): a planted sample ratio
            mismatch. ``None`` or 0 keeps everyone.
        srm_arm: the arm that loses users (default: the first treatment arm).
        novelty: extra relative lift on conversion and clicks for users first exposed on day 0,
            halving every ``novelty_half_life`` days of exposure date. It multiplies the
            lasting effect: ``(1 + effect) * (1 + novelty * 0.5 ** (day / half_life)) - 1``.
        novelty_half_life: days for the novelty lift to halve.
        guardrail_harm: relative increase of ``page_load_ms`` in the treatment arms.
        pre_correlation: Pearson correlation of the pre-period covariate with the control
            outcome ``covariate`` (in expectation; the covariate has the outcome's mean and
            variance too).
        covariate: which outcome has a pre-period copy: ``"revenue"`` gives ``pre_revenue``,
            ``"sessions"`` gives ``pre_sessions``.

    Returns:
        Columns ``user_id``, ``variant``, ``first_exposure``, ``platform``, ``device``,
        ``converted``, ``revenue``, ``sessions``, ``clicks``, ``page_load_ms`` and
        ``pre_revenue`` (or ``pre_sessions``), rows ordered by ``user_id``.

    >>> df = make_experiment(200_000, effects={"converted": 0.2}, guardrail_harm=0.0, seed=3)
    >>> rate = df.groupby("variant")["converted"].mean()
    >>> bool(abs(rate["treatment"] / rate["control"] - 1.2) < 0.05)  # 3 standard errors
    True
    """
    arms = _check_arms(arms)
    n = int(check_scalar(n_units, "n_units", ge=1))
    days = int(check_scalar(days, "days", ge=1))
    probs = _check_shares(shares, len(arms))
    check_scalar(baseline, "baseline", gt=0, lt=1)
    per_arm = _check_effects(effects, arms)
    check_scalar(novelty_half_life, "novelty_half_life", gt=0)
    check_scalar(guardrail_harm, "guardrail_harm", gt=-1)
    check_scalar(pre_correlation, "pre_correlation", ge=0, le=1)
    check_scalar(covariate, "covariate", in_=("revenue", "sessions"))
    if novelty is not None:
        check_scalar(novelty, "novelty", gt=-1)
    if srm is not None:
        check_scalar(srm, "srm", ge=0, lt=1)
    if srm_arm is not None:
        check_scalar(srm_arm, "srm_arm", in_=arms)
    start_day = _check_start(start)
    rng = _streams(seed)

    arm = rng["arm"].choice(len(arms), size=n, p=probs)
    day = rng["day"].choice(days, size=n, p=_day_weights(start_day, days))
    exposure = _timestamps(start_day, day, rng["hour"], rng["second"], n)
    platform = rng["platform"].choice(len(PLATFORMS), size=n, p=PLATFORM_SHARES)
    device = _pick_rows(_DEVICE_SHARES[platform], rng["device"].random(n))

    z = rng["engagement"].standard_normal(n)
    sessions = 1 + rng["sessions"].poisson(np.exp(np.log(_SESSIONS_MEDIAN) + _SESSIONS_SD * z))

    lift = {m: np.array([per_arm[a][m] for a in arms])[arm] for m in EFFECT_METRICS}
    novelty_lift = 0.0 if novelty is None else novelty * 0.5 ** (day / novelty_half_life)
    novelty_lift = np.where(arm > 0, novelty_lift, 0.0)

    platform_conv = _PLATFORM_CONVERSION / np.dot(_PLATFORM_CONVERSION, PLATFORM_SHARES)
    engagement = np.exp(_ENGAGEMENT_SD * z - _ENGAGEMENT_SD**2 / 2)
    p_control = np.clip(baseline * platform_conv[platform] * engagement, 0.0, 1.0)
    p_arm = np.clip(p_control * (1 + lift["converted"]) * (1 + novelty_lift), 0.0, 1.0)
    u = rng["conversion"].random(n)
    converted, converted_control = u < p_arm, u < p_control

    order_value = np.exp(np.log(_ORDER_MEDIAN) + _ORDER_SD * rng["order_value"].standard_normal(n))
    revenue = np.round(converted * order_value * (1 + lift["revenue"]), 2)
    revenue_control = np.round(converted_control * order_value, 2)

    ctr = rng["ctr"].gamma(_CTR_SHAPE, _CTR_MEAN / _CTR_SHAPE, size=n)
    click_rate = ctr * (1 + lift["clicks"]) * (1 + novelty_lift)
    clicks = poisson.ppf(rng["clicks"].random(n), sessions * click_rate)

    load_median = _PLATFORM_LOAD_MS[platform] * np.where(arm > 0, 1 + guardrail_harm, 1.0)
    load = np.rint(load_median * np.exp(_LOAD_SD * rng["load"].standard_normal(n)))

    outcome = revenue_control if covariate == "revenue" else sessions.astype(float)
    pre = _correlated_copy(outcome, pre_correlation, rng["covariate"])
    pre = np.round(pre, 2) if covariate == "revenue" else np.rint(pre).astype(np.int64)

    frame = pd.DataFrame(
        {
            "user_id": _ids("u", n),
            "variant": np.asarray(arms)[arm],
            "first_exposure": exposure,
            "platform": np.asarray(PLATFORMS)[platform],
            "device": np.asarray(DEVICES)[device],
            "converted": converted.astype(np.int64),
            "revenue": revenue,
            "sessions": sessions.astype(np.int64),
            "clicks": clicks.astype(np.int64),
            "page_load_ms": load.astype(np.int64),
            f"pre_{covariate}": pre,
        }
    )
    drop = rng["drop"].random(n)
    if srm:
        lost = arms.index(srm_arm) if srm_arm is not None else 1
        frame = frame[~((arm == lost) & (drop < srm))].reset_index(drop=True)
    return frame


SCENARIOS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "demo": MappingProxyType({}),
        "clean_win": MappingProxyType(
            {"effects": {"converted": 0.10, "revenue": 0.0, "clicks": 0.03}, "guardrail_harm": 0.0}
        ),
        "aa": MappingProxyType({"effects": {}, "guardrail_harm": 0.0}),
        "srm": MappingProxyType({"srm": 0.05}),
        "novelty": MappingProxyType(
            {"effects": {}, "novelty": 0.5, "novelty_half_life": 2.0, "guardrail_harm": 0.0}
        ),
        "guardrail_harm": MappingProxyType(
            {"effects": {"converted": 0.06, "clicks": 0.02}, "guardrail_harm": 0.08}
        ),
        "underpowered": MappingProxyType({"n_units": 2_000}),
    }
)
"""Named ``make_experiment`` settings for the situations the decision page must handle.

* ``demo``: the bundled file: a clean-ish win (+6% conversion) with a +0.5% load time.
* ``clean_win``: +10% conversion, no harm: the numbers should say ship.
* ``aa``: no effect anywhere: an A/A test.
* ``srm``: the demo with 5% of the treatment users lost: the split test must fail.
* ``novelty``: no lasting effect, +50% lift on day 0 halving every 2 days.
* ``guardrail_harm``: the demo's win with pages 8% slower: a guardrail breach.
* ``underpowered``: the demo's effects on 2,000 users: inconclusive.
"""


def make_scenario(name: str, **overrides: Any) -> pd.DataFrame:
    """``make_experiment`` with the named ``SCENARIOS`` settings (``overrides`` win).

    >>> len(make_scenario("underpowered"))
    2000
    """
    check_scalar(name, "name", in_=SCENARIOS)
    return make_experiment(**{**SCENARIOS[name], **overrides})


def make_daily_aggregates(
    df: pd.DataFrame,
    *,
    variant: str = "variant",
    timestamp: str = "first_exposure",
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The "daily aggregated" upload shape: one row per date × variant.

    Columns ``date``, ``variant``, ``n`` and, per metric, ``<metric>_sum`` and
    ``<metric>_sum_sq``: the sufficient statistics a warehouse would export. Days are the
    calendar dates of ``timestamp``.

    Args:
        df: a unit-level frame such as ``make_experiment()``.
        variant: the arm column.
        timestamp: the column whose date defines the day.
        metrics: numeric columns to aggregate (default: every numeric column).
    """
    dates = pd.to_datetime(df[timestamp]).dt.normalize().rename("date")
    return _aggregate(df, [dates, df[variant]], metrics)


def make_aggregates(
    df: pd.DataFrame, *, variant: str = "variant", metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """The "aggregated" upload shape: one row per variant, columns as ``make_daily_aggregates``.

    >>> agg = make_aggregates(make_experiment(1_000, seed=2))
    >>> list(agg.columns[:5])
    ['variant', 'n', 'converted_sum', 'converted_sum_sq', 'revenue_sum']
    >>> int(agg["n"].sum())
    1000
    """
    return _aggregate(df, [df[variant]], metrics)


def make_event_log(
    n_units: int = 20_000,
    *,
    seed: int = DEMO_SEED,
    stages: Sequence[str] = FUNNEL_STAGES,
    step_rates: Sequence[float] | None = None,
    start: str = DEFAULT_START,
    days: int = 14,
    window_days: int = 7,
    late: float = 0.04,
    out_of_order: float = 0.05,
    duplicates: float = 0.02,
) -> pd.DataFrame:
    """An event log for the Metrics page's funnel: columns ``user_id``, ``event``, ``timestamp``.

    Each unit starts with the first stage (a visit inside the ``days`` window) and moves on
    to each next stage with probability ``step_rates`` (default ``FUNNEL_STEP_RATES`` for the
    default stages, 0.5 per step otherwise), minutes apart. The dirt a real log has:

    * ``out_of_order``: share of units with at least three stages whose two adjacent later
      stages are logged in swapped order (say, add to cart from a list, then the product page);
    * ``late``: share of units with at least two stages who reach some later stage
      ``window_days`` to ``3 * window_days`` days after their visit, outside the funnel window;
    * ``duplicates``: share of events logged twice (exact copies or re-fires 1-3 s later).

    Rows are ordered by time, then unit, then stage.

    >>> log = make_event_log(1_000, seed=5)
    >>> int(log["event"].value_counts()["visit"]) >= 1_000
    True
    """
    n = int(check_scalar(n_units, "n_units", ge=1))
    stages = _check_arms(stages, name="stages")
    rates = _check_step_rates(step_rates, stages)
    days = int(check_scalar(days, "days", ge=1))
    window_days = int(check_scalar(window_days, "window_days", ge=1))
    check_scalar(late, "late", ge=0, le=1)
    check_scalar(out_of_order, "out_of_order", ge=0, le=1)
    check_scalar(duplicates, "duplicates", ge=0, le=1)
    start_day = _check_start(start)
    rng = _rng(seed, _EVENT_LOG_KEY)
    k = len(stages)

    day = rng.choice(days, size=n, p=_day_weights(start_day, days))
    hour = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    visit = day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, size=n)
    advances = rng.random((n, k - 1)) < np.asarray(rates)
    depth = 1 + np.cumprod(advances, axis=1).sum(axis=1)

    gap_minutes = np.resize(np.asarray(_FUNNEL_GAP_MINUTES), k - 1)
    gaps = np.rint(rng.exponential(gap_minutes * 60, size=(n, k - 1))) + 1
    seconds = visit[:, None] + np.concatenate([np.zeros((n, 1)), np.cumsum(gaps, axis=1)], axis=1)

    late_units = (depth >= 2) & (rng.random(n) < late)
    late_from = 1 + np.floor(rng.random(n) * (depth - 1)).astype(np.int64)
    delay = np.rint(rng.uniform(window_days, 3 * window_days, size=n) * 86_400)
    later = np.arange(k)[None, :] >= late_from[:, None]
    seconds += np.where(late_units[:, None] & later, delay[:, None], 0)

    swapped = (depth >= 3) & (rng.random(n) < out_of_order)
    first = 1 + np.floor(rng.random(n) * np.maximum(depth - 2, 1)).astype(np.int64)
    rows = np.flatnonzero(swapped)
    a, b = first[rows], first[rows] + 1
    seconds[rows, a], seconds[rows, b] = seconds[rows, b], seconds[rows, a]

    unit, stage = np.nonzero(np.arange(k)[None, :] < depth[:, None])
    when = seconds[unit, stage].astype(np.int64)
    twice = np.flatnonzero(rng.random(unit.size) < duplicates)
    refire = rng.integers(0, 4, size=twice.size)
    unit = np.concatenate([unit, unit[twice]])
    stage = np.concatenate([stage, stage[twice]])
    when = np.concatenate([when, when[twice] + refire])
    order = np.lexsort((stage, unit, when))
    return pd.DataFrame(
        {
            "user_id": _ids("u", n)[unit[order]],
            "event": np.asarray(stages)[stage[order]],
            "timestamp": np.datetime64(start_day, "us") + when[order].astype("timedelta64[s]"),
        }
    )


def make_session_level(
    n_users: int = 2_000,
    *,
    seed: int = DEMO_SEED,
    arms: Sequence[str] = ("control", "treatment"),
    baseline: float = BASELINE,
    icc: float = 0.3,
    mean_sessions: float = 5.0,
    lift: float = 0.0,
    start: str = DEFAULT_START,
    days: int = 14,
) -> pd.DataFrame:
    """Session-level rows of a user-randomised test: the wrong unit for a naive analysis.

    Each user is assigned one arm and has ``1 + Poisson(λ)`` sessions with ``λ`` exponential
    (mean ``mean_sessions - 1``), so a few heavy users own many rows. Session conversion is
    Bernoulli with a per-user rate from a Beta distribution whose intra-user correlation is
    ``icc``: two sessions of the same user have conversion correlation ``icc``. With the
    default ``lift=0`` it is an A/A test, and a session-level z-test rejects far more often
    than alpha while a user-level test does not.

    Columns ``session_id``, ``user_id``, ``variant``, ``session_start``, ``converted``,
    ``clicks``; rows ordered by user then time.

    >>> s = make_session_level(500, seed=4)
    >>> bool((s.groupby("user_id")["variant"].nunique() == 1).all())
    True
    """
    n = int(check_scalar(n_users, "n_users", ge=1))
    arms = _check_arms(arms)
    check_scalar(baseline, "baseline", gt=0, lt=1)
    check_scalar(icc, "icc", gt=0, lt=1)
    check_scalar(mean_sessions, "mean_sessions", ge=1)
    check_scalar(lift, "lift", gt=-1)
    days = int(check_scalar(days, "days", ge=1))
    start_day = _check_start(start)
    rng = _rng(seed, _SESSION_LEVEL_KEY)

    arm = rng.integers(0, len(arms), size=n)
    per_user = 1 + rng.poisson(rng.exponential(mean_sessions - 1, size=n))
    concentration = 1 / icc - 1
    rate = rng.beta(baseline * concentration, (1 - baseline) * concentration, size=n)
    rate = np.clip(rate * np.where(arm > 0, 1 + lift, 1.0), 0.0, 1.0)
    click_rate = rng.gamma(2.0, 0.75, size=n)

    user = np.repeat(np.arange(n), per_user)
    when = rng.integers(0, days * 86_400, size=user.size)
    order = np.lexsort((when, user))
    user, when = user[order], when[order]
    return pd.DataFrame(
        {
            "session_id": _ids("s", user.size),
            "user_id": _ids("u", n)[user],
            "variant": np.asarray(arms)[arm[user]],
            "session_start": np.datetime64(start_day, "us") + when.astype("timedelta64[s]"),
            "converted": (rng.random(user.size) < rate[user]).astype(np.int64),
            "clicks": rng.poisson(click_rate[user]).astype(np.int64),
        }
    )


CSV_LIMIT_BYTES: int = 4_000_000
"""The full demo is written as CSV too only below this size; otherwise a 5,000-row extract."""
SMALL_CSV_ROWS: int = 5_000


def write_all(directory: str | Path | None = None, *, seed: int = DEMO_SEED) -> list[Path]:
    """Write every demo file into ``directory`` (default: this package) and return their paths.

    Deterministic: two runs with the same seed write identical bytes (Parquet with zstd,
    CSV with ``\\n`` line ends, no timestamps or versions that change between runs beyond
    the writer's library version).
    """
    out = Path(__file__).parent if directory is None else Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    demo = make_experiment(seed=seed)
    written = [
        _write_parquet(demo, out / "demo_experiment.parquet"),
        _write_csv(_csv_dates(make_daily_aggregates(demo)), out / "demo_daily.csv"),
        _write_csv(make_aggregates(demo), out / "demo_aggregated.csv"),
        _write_parquet(make_event_log(seed=seed), out / "demo_events.parquet"),
    ]
    full_csv = _to_csv(demo)
    big, small = out / "demo_experiment.csv", out / "demo_experiment_small.csv"
    if len(full_csv) <= CSV_LIMIT_BYTES:
        big.write_bytes(full_csv)
        small.unlink(missing_ok=True)
        written.append(big)
    else:
        extract = demo.sample(SMALL_CSV_ROWS, random_state=np.random.default_rng(seed))
        written.append(_write_csv(extract.sort_index(), small))
        big.unlink(missing_ok=True)
    from sample_data.generate_launch import write_launch  # the Model launch page's demo files

    return written + write_launch(out, seed=seed)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m sample_data.generate [--out DIR] [--seed N]``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    args = parser.parse_args(argv)
    for path in write_all(args.out, seed=args.seed):
        print(f"{path}  {path.stat().st_size / 1e6:.2f} MB")


def _rng(seed: int, key: int) -> np.random.Generator:
    """The generator of one independent child stream of ``seed``."""
    check_scalar(seed, "seed", ge=0)
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(key,)))


def _streams(seed: int) -> dict[str, np.random.Generator]:
    return {name: _rng(seed, key) for key, name in enumerate(_STREAMS)}


def _check_arms(names: Sequence[str], *, name: str = "arms") -> tuple[str, ...]:
    values = tuple(str(v) for v in names) if not isinstance(names, str) else (names,)
    if len(values) < 2:
        raise ValueError(f"{name} must have at least two entries, got {list(values)}.")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must be distinct, got {list(values)}.")
    return values


def _check_shares(shares: Sequence[float] | None, k: int) -> NDArray[np.float64]:
    if shares is None:
        return np.full(k, 1 / k)
    probs = np.asarray(shares, dtype=float)
    if probs.shape != (k,):
        raise ValueError(f"shares must have one entry per arm ({k}), got {list(shares)}.")
    check_scalar(probs, "shares", gt=0)
    if not np.isclose(probs.sum(), 1.0):
        raise ValueError(f"shares must sum to 1, got {probs.sum():g}.")
    return probs / probs.sum()


def _check_effects(
    effects: Mapping[str, float] | Mapping[str, Mapping[str, float]], arms: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    """Per arm, the relative effect on each of ``EFFECT_METRICS`` (the control gets zeros)."""
    nested = any(isinstance(v, Mapping) for v in effects.values())
    per_arm = dict(effects) if nested else dict.fromkeys(arms[1:], effects)
    unknown_arms = set(per_arm) - set(arms[1:])
    if unknown_arms:
        raise ValueError(
            f"effects names arms that are not treatment arms: {sorted(unknown_arms)}; "
            f"treatment arms are {list(arms[1:])}."
        )
    out = {arm: dict.fromkeys(EFFECT_METRICS, 0.0) for arm in arms}
    for arm, values in per_arm.items():
        unknown = set(values) - set(EFFECT_METRICS)
        if unknown:
            raise ValueError(
                f"effects has unknown metrics {sorted(unknown)}; use {list(EFFECT_METRICS)}."
            )
        for metric, value in values.items():
            out[arm][metric] = float(check_scalar(value, f"effects[{metric!r}]", gt=-1))
    return out


def _check_step_rates(rates: Sequence[float] | None, stages: tuple[str, ...]) -> tuple[float, ...]:
    if rates is None:
        return FUNNEL_STEP_RATES if stages == FUNNEL_STAGES else (0.5,) * (len(stages) - 1)
    values = tuple(float(r) for r in rates)
    if len(values) != len(stages) - 1:
        raise ValueError(
            f"step_rates must have one entry per step ({len(stages) - 1}), got {list(values)}."
        )
    check_scalar(np.asarray(values), "step_rates", ge=0, le=1)
    return values


def _check_start(start: str) -> np.datetime64:
    try:
        return np.datetime64(pd.Timestamp(start).normalize().date(), "D")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"start must be a date such as '2026-03-02', got {start!r}.") from exc


def _day_weights(start_day: np.datetime64, days: int) -> NDArray[np.float64]:
    """New exposures per day: a weekly pattern times a decline as regulars run out."""
    offset = np.arange(days)
    weekday = (pd.Timestamp(start_day).day_of_week + offset) % 7
    weights = _DOW_WEIGHTS[weekday] * (
        1 + _RETURNING_BOOST * np.exp(-offset / _RETURNING_DECAY_DAYS)
    )
    return weights / weights.sum()


def _timestamps(
    start_day: np.datetime64,
    day: NDArray[np.int64],
    hour_rng: np.random.Generator,
    second_rng: np.random.Generator,
    n: int,
) -> NDArray[np.datetime64]:
    hour = hour_rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    seconds = day * 86_400 + hour * 3_600 + second_rng.integers(0, 3_600, size=n)
    return np.datetime64(start_day, "us") + seconds.astype("timedelta64[s]")


def _pick_rows(probs: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.int64]:
    """Inverse-CDF draw of one category per row from per-row probabilities."""
    return np.minimum((u[:, None] >= np.cumsum(probs, axis=1)).sum(axis=1), probs.shape[1] - 1)


def _correlated_copy(
    outcome: NDArray[np.float64], rho: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``rho * outcome + noise`` with non-negative Gamma noise.

    The noise's mean and variance are set so the copy has the outcome's mean and variance,
    which makes its correlation with the outcome exactly ``rho`` in expectation. Gamma noise
    with a small shape is mostly near zero with a long tail, so a copy of revenue looks like
    revenue: mostly 0, sometimes large.
    """
    mean, var = float(outcome.mean()), float(outcome.var())
    noise_mean, noise_var = (1 - rho) * mean, (1 - rho**2) * var
    if noise_mean <= 0 or noise_var <= 0:
        return rho * outcome + noise_mean
    shape, scale = noise_mean**2 / noise_var, noise_var / noise_mean
    return rho * outcome + rng.gamma(shape, scale, size=outcome.size)


def _ids(prefix: str, n: int) -> NDArray[np.str_]:
    width = max(6, len(str(max(n - 1, 0))))
    return np.strings.add(prefix, np.strings.zfill(np.arange(n).astype(str), width))


def _aggregate(
    df: pd.DataFrame, keys: list[pd.Series], metrics: Sequence[str] | None
) -> pd.DataFrame:
    names = [k.name for k in keys]
    if metrics is None:
        metrics = [
            c
            for c in df.columns
            if c not in names
            and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
        ]
    missing = [m for m in metrics if m not in df.columns]
    if missing:
        raise ValueError(f"metrics not in the frame: {missing}.")
    parts: dict[str, pd.Series] = {}
    for metric in metrics:
        values = df[metric]
        if pd.api.types.is_bool_dtype(values):
            values = values.astype(np.int64)
        parts[f"{metric}_sum"] = values
        parts[f"{metric}_sum_sq"] = values * values
    grouped = pd.DataFrame(parts, index=df.index).groupby(keys, sort=True)
    out = grouped.sum()
    out.insert(0, "n", grouped.size().astype(np.int64))
    return out.reset_index()


def _csv_dates(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(date=df["date"].dt.strftime("%Y-%m-%d"))


def _to_csv(df: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    df.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode()


def _write_csv(df: pd.DataFrame, path: Path) -> Path:
    path.write_bytes(_to_csv(df))
    return path


def _write_parquet(df: pd.DataFrame, path: Path) -> Path:
    df.to_parquet(path, engine="pyarrow", compression="zstd", index=False)
    return path


if __name__ == "__main__":
    main()
