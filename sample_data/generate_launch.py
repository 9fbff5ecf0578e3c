"""Seeded demo data of the Model launch page, with planted effects and null twins.

Each maker returns the planted version by default and, with ``null=True``, a twin drawn from
the same process without the effect (the tools must not flag it):

* :func:`make_interleaving_log`: users prefer ranker A (each click credited to A with
  probability 0.56 instead of 0.5);
* :func:`make_canary`: the canary's latency is 15% higher and its error rate 60% higher;
  orders and CPU are unchanged;
* :func:`make_shadow`: the new model's scores are a little higher, 2% of requests differ a
  lot, and it is 6 ms slower;
* :func:`make_drift`: in the current data 'income' drifts upward day by day (covariate shift)
  and, from the sixth day on, new users (short tenure) churn far more than the model learned
  (concept shift); the other features do not move.

Written as ``demo_launch_*`` files by ``python -m sample_data.generate`` (its ``write_all``
calls :func:`write_launch`, so ``tests/test_sample_data.py`` checks them with the other demo
files) or alone by ``python -m sample_data.generate_launch``.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from abcore import config

__all__ = [
    "make_canary",
    "make_drift",
    "make_interleaving_log",
    "make_shadow",
    "write_launch",
]

CANARY_START = "2026-03-16 09:00"
DRIFT_REFERENCE_START = "2026-01-05"
DRIFT_CURRENT_START = "2026-03-02"
_KEYS = {"interleaving": 1, "canary": 2, "shadow": 3, "drift": 4}


def _rng(seed: int, name: str, null: bool) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(_KEYS[name], null)))


def make_interleaving_log(
    seed: int = config.DEMO_SEED, *, n_users: int = 3000, null: bool = False
) -> pd.DataFrame:
    """One row per clicked item (and one per impression without a click).

    Columns ``user_id``, ``impression_id``, ``credited_to`` ("A", "B", or empty: no click).
    Each user sees 1 + Poisson(3) impressions; an impression has no click with probability
    0.45, else 1 or 2 clicks, each credited to A with probability 0.56 (0.5 when ``null``).
    """
    rng = _rng(seed, "interleaving", null)
    share_a = 0.5 if null else 0.56
    impressions = 1 + rng.poisson(3, n_users)
    user = np.repeat(np.arange(n_users), impressions)
    n_imp = user.size
    clicks = np.where(rng.random(n_imp) < 0.45, 0, 1 + (rng.random(n_imp) < 0.3))
    rows_per_imp = np.maximum(clicks, 1)
    imp = np.repeat(np.arange(n_imp), rows_per_imp)
    has_click = np.repeat(clicks > 0, rows_per_imp)
    credit = np.where(rng.random(imp.size) < share_a, "A", "B")
    credit = np.where(has_click, credit, "")
    return pd.DataFrame(
        {
            "user_id": [f"u{u:05d}" for u in user[imp]],
            "impression_id": [f"i{i:06d}" for i in imp],
            "credited_to": credit,
        }
    )


def make_canary(
    seed: int = config.DEMO_SEED, *, minutes: int = 180, null: bool = False
) -> pd.DataFrame:
    """Per-minute metrics of the baseline and the canary, side by side for three hours.

    Columns ``group`` (baseline, canary), ``minute``, ``latency_ms`` (p50 per minute),
    ``error_rate``, ``orders`` (per minute) and ``cpu``.
    """
    rng = _rng(seed, "canary", null)
    minute = pd.date_range(CANARY_START, periods=minutes, freq="min")
    daily_wave = 1 + 0.1 * np.sin(np.linspace(0, np.pi, minutes))
    frames = []
    for group in ("baseline", "canary"):
        harm = group == "canary" and not null
        frames.append(
            pd.DataFrame(
                {
                    "group": group,
                    "minute": minute,
                    "latency_ms": np.round(
                        rng.lognormal(np.log(180), 0.12, minutes)
                        * daily_wave
                        * (1.15 if harm else 1),
                        1,
                    ),
                    "error_rate": np.round(
                        rng.gamma(25, 0.0004 * (1.6 if harm else 1), minutes), 5
                    ),
                    "orders": rng.poisson(42 * daily_wave),
                    "cpu": np.round(np.clip(rng.normal(0.55, 0.04, minutes), 0, 1), 3),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def make_shadow(seed: int = config.DEMO_SEED, *, n: int = 2000, null: bool = False) -> pd.DataFrame:
    """Paired outputs of the current and the new model on the same requests.

    Columns ``request_id``, ``current_score``, ``new_score`` (fraud probabilities),
    ``current_latency_ms``, ``new_latency_ms``.
    """
    rng = _rng(seed, "shadow", null)
    current = rng.beta(1.2, 6, n)
    if null:
        new = current.copy()
    else:
        new = np.clip(current + rng.normal(0.01, 0.03, n), 0, 1)
        wild = rng.random(n) < 0.02
        new[wild] = np.clip(1 - current[wild] + rng.normal(0, 0.05, wild.sum()), 0, 1)
    lat = rng.gamma(9, 4.5, n)
    return pd.DataFrame(
        {
            "request_id": [f"r{i:05d}" for i in range(n)],
            "current_score": np.round(current, 4),
            "new_score": np.round(new, 4),
            "current_latency_ms": np.round(lat, 1),
            "new_latency_ms": np.round(lat + (0 if null else 6) + rng.normal(0, 3, n), 1),
        }
    )


def _churn_probability(tenure: np.ndarray, sessions: np.ndarray, age: np.ndarray) -> np.ndarray:
    logit = -1.2 - 0.05 * (tenure - 12) - 0.25 * (sessions - 3) + 0.01 * (age - 38)
    return 1 / (1 + np.exp(-logit))


def _customers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": np.round(np.clip(rng.normal(38, 11, n), 18, 90)).astype(int),
            "income": np.round(rng.lognormal(np.log(52_000), 0.35, n), -2),
            "tenure_months": np.round(rng.gamma(1.6, 9, n), 1),
            "sessions_per_week": rng.poisson(3, n),
            "device": rng.choice(["mobile", "desktop", "tablet"], n, p=[0.55, 0.35, 0.10]),
            "country": rng.choice(["US", "UK", "DE", "FR", "IN"], n, p=[0.4, 0.2, 0.15, 0.1, 0.15]),
        }
    )


def make_drift(
    seed: int = config.DEMO_SEED,
    *,
    n: int = 5000,
    n_current: int = 10_000,
    days: int = 10,
    null: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference (training) and current (production) customers of a churn model.

    ``n`` reference rows over four weeks, ``n_current`` current rows over ``days`` days.
    Columns: ``timestamp``, six features, ``churned`` (0/1, the label) and ``churn_score``
    (the model's probability, fitted to the reference relation). Planted in the current data
    (unless ``null``): ``income`` grows 0% -> 45% over the days; from day 6 on customers with
    under 6 months of tenure churn with probability 0.8 whatever the model says.
    """
    rng = _rng(seed, "drift", null)
    ref = _customers(rng, n)
    ref_p = _churn_probability(ref.tenure_months, ref.sessions_per_week, ref.age)
    ref.insert(
        0,
        "timestamp",
        pd.Timestamp(DRIFT_REFERENCE_START) + pd.to_timedelta(np.sort(rng.random(n)) * 28, "D"),
    )
    ref["churned"] = (rng.random(n) < ref_p).astype(int)
    ref["churn_score"] = np.round(ref_p, 4)

    cur = _customers(rng, n_current)
    day = np.sort(rng.random(n_current)) * days
    cur.insert(0, "timestamp", pd.Timestamp(DRIFT_CURRENT_START) + pd.to_timedelta(day, "D"))
    cur_p = _churn_probability(cur.tenure_months, cur.sessions_per_week, cur.age)
    truth = cur_p.to_numpy().copy()
    if not null:
        cur["income"] = np.round(cur["income"] * (1 + 0.45 * day / days), -2)
        late_new = (day >= days / 2) & (cur.tenure_months.to_numpy() < 6)
        truth[late_new] = 0.8
    cur["churned"] = (rng.random(n_current) < truth).astype(int)
    cur["churn_score"] = np.round(cur_p, 4)
    return ref, cur


def _csv(df: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    df.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode()


def write_launch(
    directory: str | Path | None = None, *, seed: int = config.DEMO_SEED
) -> list[Path]:
    """Write the Model launch demo files (and their null twins); return their paths."""
    out = Path(__file__).parent if directory is None else Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def csv(df: pd.DataFrame, name: str) -> None:
        path = out / name
        path.write_bytes(_csv(df))
        written.append(path)

    def parquet(df: pd.DataFrame, name: str) -> None:
        path = out / name
        df.to_parquet(path, engine="pyarrow", compression="zstd", index=False)
        written.append(path)

    csv(make_interleaving_log(seed), "demo_launch_interleaving.csv")
    csv(make_interleaving_log(seed, null=True), "demo_launch_interleaving_null.csv")
    csv(make_canary(seed), "demo_launch_canary.csv")
    csv(make_canary(seed, null=True), "demo_launch_canary_null.csv")
    csv(make_shadow(seed), "demo_launch_shadow.csv")
    ref, cur = make_drift(seed)
    parquet(ref, "demo_launch_drift_reference.parquet")
    parquet(cur, "demo_launch_drift_current.parquet")
    parquet(make_drift(seed, null=True)[1], "demo_launch_drift_current_null.parquet")
    return written


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m sample_data.generate_launch [--out DIR] [--seed N]``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=config.DEMO_SEED)
    args = parser.parse_args(argv)
    for path in write_launch(args.out, seed=args.seed):
        print(f"{path}  {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
