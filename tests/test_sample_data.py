"""The seeded demo-data generator: determinism, shapes, and that the planted truth is there.

Tolerances on recovered effects are in standard errors computed from the data (delta method
on the log of a ratio of means), never numbers the generator produced: a seeded draw lands
within 4 standard errors of the planted value unless the planting is wrong.
"""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from abcore import config
from sample_data import generate
from sample_data.generate import (
    FUNNEL_STAGES,
    FUNNEL_STEP_RATES,
    SCENARIOS,
    make_aggregates,
    make_daily_aggregates,
    make_event_log,
    make_experiment,
    make_scenario,
    make_session_level,
    write_all,
)

SAMPLE_DIR = Path(generate.__file__).parent
LARGE = 200_000
UNIT_COLUMNS = {
    "user_id": "str",
    "variant": "str",
    "first_exposure": "datetime64[us]",
    "platform": "str",
    "device": "str",
    "converted": "int64",
    "revenue": "float64",
    "sessions": "int64",
    "clicks": "int64",
    "page_load_ms": "int64",
    "pre_revenue": "float64",
}


def log_lift(df: pd.DataFrame, metric: str, arm: str = "treatment") -> tuple[float, float]:
    """log(mean_arm / mean_control) and its delta-method standard error."""
    a, c = df.loc[df["variant"] == arm, metric], df.loc[df["variant"] == "control", metric]
    se = math.sqrt(a.var() / (len(a) * a.mean() ** 2) + c.var() / (len(c) * c.mean() ** 2))
    return math.log(a.mean() / c.mean()), se


def assert_lift(df: pd.DataFrame, metric: str, expected: float, arm: str = "treatment") -> None:
    estimate, se = log_lift(df, metric, arm)
    assert abs(estimate - math.log1p(expected)) < 4 * se, (metric, math.expm1(estimate), se)


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    return make_experiment(
        LARGE,
        seed=11,
        effects={"converted": 0.20, "revenue": 0.10, "clicks": 0.05},
        guardrail_harm=0.05,
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    write_all(first)
    generate.main(["--out", str(second)])
    return first, second


# Determinism -------------------------------------------------------------------------------


def test_same_seed_same_frames() -> None:
    pd.testing.assert_frame_equal(make_experiment(3_000, seed=7), make_experiment(3_000, seed=7))
    pd.testing.assert_frame_equal(make_event_log(2_000, seed=7), make_event_log(2_000, seed=7))
    pd.testing.assert_frame_equal(make_session_level(500, seed=7), make_session_level(500, seed=7))
    assert not make_experiment(3_000, seed=7).equals(make_experiment(3_000, seed=8))


def test_written_twice_gives_identical_bytes(written: tuple[Path, Path]) -> None:
    first, second = written
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_files_on_disk_equal_a_fresh_generation(written: tuple[Path, Path]) -> None:
    fresh = sorted(p.name for p in written[0].iterdir())
    on_disk = sorted(
        p.name
        for p in SAMPLE_DIR.iterdir()
        if p.name.startswith("demo_") and p.suffix in (".csv", ".parquet")
    )
    assert on_disk == fresh, "run `python -m sample_data.generate` to refresh sample_data/"
    for name in fresh:
        if name.endswith(".parquet"):
            # Parquet bytes carry the writer's version: compare the content instead.
            pd.testing.assert_frame_equal(
                pd.read_parquet(SAMPLE_DIR / name), pd.read_parquet(written[0] / name)
            )
        else:
            assert (SAMPLE_DIR / name).read_bytes() == (written[0] / name).read_bytes(), name


def test_file_sizes_and_csv_rule(written: tuple[Path, Path]) -> None:
    out = written[0]
    assert (out / "demo_experiment.parquet").stat().st_size < 2_000_000
    full = out / "demo_experiment.csv"
    small = out / "demo_experiment_small.csv"
    assert full.exists() != small.exists()
    if full.exists():
        assert full.stat().st_size <= generate.CSV_LIMIT_BYTES
        assert len(pd.read_csv(full)) == 50_000
    else:
        assert len(pd.read_csv(small)) == generate.SMALL_CSV_ROWS


def test_files_read_back_as_the_frames(written: tuple[Path, Path]) -> None:
    out, demo = written[0], make_experiment()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "demo_experiment.parquet"), demo)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "demo_events.parquet"), make_event_log())
    daily = pd.read_csv(out / "demo_daily.csv", parse_dates=["date"])
    expected = make_daily_aggregates(demo)
    pd.testing.assert_frame_equal(daily, expected, check_dtype=False)
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "demo_aggregated.csv"), make_aggregates(demo), check_dtype=False
    )


def test_readme_documents_every_file(written: tuple[Path, Path]) -> None:
    readme = (SAMPLE_DIR / "README.md").read_text()
    for path in written[0].iterdir():
        assert f"`{path.name}`" in readme, path.name
    for column in UNIT_COLUMNS:
        assert f"`{column}`" in readme, column


# Shapes ------------------------------------------------------------------------------------


def test_columns_and_dtypes() -> None:
    df = make_experiment(2_000, seed=1)
    assert {c: str(t) for c, t in df.dtypes.items()} == UNIT_COLUMNS
    assert df["user_id"].is_unique
    assert df["user_id"].str.fullmatch(r"u\d{6}").all()
    assert set(df["variant"]) == {"control", "treatment"}
    assert set(df["platform"]) <= set(generate.PLATFORMS)
    assert set(df["converted"]) <= {0, 1}
    assert (df["sessions"] >= 1).all()
    assert (df["clicks"] >= 0).all()
    assert (df["revenue"] >= 0).all()
    assert (df.loc[df["converted"] == 0, "revenue"] == 0).all()
    assert (df.loc[df["converted"] == 1, "revenue"] > 0).all()
    assert (df["page_load_ms"] > 0).all()


def test_pre_sessions_covariate_is_an_integer_column() -> None:
    df = make_experiment(2_000, seed=1, covariate="sessions")
    assert "pre_revenue" not in df
    assert str(df["pre_sessions"].dtype) == "int64"
    assert (df["pre_sessions"] >= 0).all()


def test_exposures_fall_in_the_window_with_quiet_weekends() -> None:
    df = make_experiment(LARGE // 2, seed=2, days=14, start="2026-03-02")
    start = pd.Timestamp("2026-03-02")
    assert df["first_exposure"].min() >= start
    assert df["first_exposure"].max() < start + pd.Timedelta(days=14)
    per_day = df["first_exposure"].dt.normalize().value_counts()
    second_week = per_day[per_day.index >= start + pd.Timedelta(days=7)]
    weekend = second_week[second_week.index.day_of_week >= 5]
    weekday = second_week[second_week.index.day_of_week < 5]
    assert weekend.max() < 0.9 * weekday.min()
    night = df["first_exposure"].dt.hour.between(1, 4).mean()
    evening = df["first_exposure"].dt.hour.between(18, 21).mean()
    assert evening > 4 * night


def test_shares_and_per_arm_effects_with_three_arms() -> None:
    arms = ("control", "a", "b")
    df = make_experiment(
        LARGE,
        seed=3,
        arms=arms,
        shares=(0.5, 0.25, 0.25),
        effects={"a": {}, "b": {"converted": 0.3}},
        guardrail_harm=0.0,
    )
    counts = df["variant"].value_counts()
    assert stats.chisquare(counts[list(arms)], LARGE * np.array([0.5, 0.25, 0.25])).pvalue > 1e-3
    assert_lift(df, "converted", 0.0, arm="a")
    assert_lift(df, "converted", 0.3, arm="b")


# Planted truth -----------------------------------------------------------------------------


def test_planted_lifts_are_recovered(large: pd.DataFrame) -> None:
    control = large[large["variant"] == "control"]
    p = control["converted"].mean()
    assert abs(p - generate.BASELINE) < 4 * math.sqrt(p * (1 - p) / len(control))
    assert_lift(large, "converted", 0.20)
    assert_lift(large, "revenue", 1.20 * 1.10 - 1)
    assert_lift(large, "clicks", 0.05)
    assert_lift(large, "sessions", 0.0)
    assert_lift(large, "page_load_ms", 0.05)
    assert_lift(large, "pre_revenue", 0.0)


def test_aa_has_no_effect_anywhere() -> None:
    df = make_scenario("aa", n_units=LARGE, seed=4)
    for metric in ("converted", "revenue", "clicks", "sessions", "page_load_ms", "pre_revenue"):
        assert_lift(df, metric, 0.0)


def test_demo_is_a_win_with_a_small_load_time_cost() -> None:
    df = make_experiment()
    assert len(df) == 50_000
    assert_lift(df, "converted", generate.DEFAULT_EFFECTS["converted"])
    assert_lift(df, "page_load_ms", generate.DEMO_GUARDRAIL_HARM)
    estimate, se = log_lift(df, "page_load_ms")
    assert math.expm1(estimate + 1.645 * se) < 0.02  # passes a 2% non-inferiority margin


@pytest.mark.parametrize(
    ("rho", "covariate", "tolerance"),
    [
        (0.0, "revenue", 0.03),
        (0.3, "revenue", 0.06),
        (0.6, "revenue", 0.06),
        (0.9, "revenue", 0.06),
        (0.6, "sessions", 0.03),
    ],
)
def test_covariate_correlation_near_rho(rho: float, covariate: str, tolerance: float) -> None:
    # Across 20 seeds at 25k control units the sd of the sample correlation is 0.025 for
    # heavy-tailed revenue and 0.008 for sessions; the tolerances are about 3.5 of those sds.
    df = make_experiment(LARGE // 2, seed=5, pre_correlation=rho, covariate=covariate)
    control = df[df["variant"] == "control"]
    r = np.corrcoef(control[covariate], control[f"pre_{covariate}"])[0, 1]
    assert abs(r - rho) < tolerance
    outcome, pre = control[covariate], control[f"pre_{covariate}"]
    assert abs(pre.mean() / outcome.mean() - 1) < 0.05


def test_srm_knob_drops_one_arms_users_and_nothing_else() -> None:
    base = make_experiment(50_000, seed=6)
    lossy = make_experiment(50_000, seed=6, srm=0.05)
    counts = lossy["variant"].value_counts()
    # 5% of one arm lost at 25k per arm: the imbalance is about 5.6 standard errors.
    assert stats.chisquare(counts[["control", "treatment"]]).pvalue < config.SRM_THRESHOLD
    assert stats.chisquare(base["variant"].value_counts()).pvalue > config.SRM_THRESHOLD
    kept = base.set_index("user_id").loc[lossy["user_id"]].reset_index()
    pd.testing.assert_frame_equal(kept, lossy)
    assert set(base["user_id"]) - set(lossy["user_id"]) <= set(
        base.loc[base["variant"] == "treatment", "user_id"]
    )
    lost = 1 - counts["treatment"] / (base["variant"] == "treatment").sum()
    assert abs(lost - 0.05) < 0.01
    control_lossy = make_experiment(50_000, seed=6, srm=0.05, srm_arm="control")
    assert (control_lossy["variant"] == "treatment").sum() == (base["variant"] == "treatment").sum()


def test_novelty_early_lift_exceeds_late_lift() -> None:
    df = make_scenario("novelty", n_units=LARGE, seed=7)
    day = (df["first_exposure"].dt.normalize() - pd.Timestamp("2026-03-02")).dt.days
    early, early_se = log_lift(df[day <= 2], "converted")
    late, late_se = log_lift(df[day >= 7], "converted")
    assert early - late > 4 * math.hypot(early_se, late_se)
    # planted late lift: 0.5 * 0.5 ** (day / 2) for days 7-13, at most 0.044
    assert late < math.log1p(0.044) + 4 * late_se
    assert early > math.log1p(0.5 * 0.5**1) - 4 * early_se


def test_knobs_leave_the_control_arm_alone() -> None:
    plain = make_experiment(5_000, seed=8, effects={}, guardrail_harm=0.0)
    busy = make_experiment(5_000, seed=8, novelty=0.5, guardrail_harm=0.3)
    control = plain["variant"] == "control"
    pd.testing.assert_frame_equal(plain[control], busy[control])
    assert not plain[~control].equals(busy[~control])


def test_scenarios_all_build() -> None:
    for name in SCENARIOS:
        df = make_scenario(name, n_units=2_000)
        assert set(df.columns) == set(UNIT_COLUMNS)
    assert len(make_scenario("underpowered")) == 2_000


# Aggregates --------------------------------------------------------------------------------


def test_daily_aggregates_sum_to_aggregates_and_match_the_units() -> None:
    df = make_experiment(20_000, seed=9)
    daily, total = make_daily_aggregates(df), make_aggregates(df)
    metrics = ["converted", "revenue", "sessions", "clicks", "page_load_ms", "pre_revenue"]
    columns = ["n"] + [f"{m}_{s}" for m in metrics for s in ("sum", "sum_sq")]
    assert list(daily.columns) == ["date", "variant", *columns]
    assert list(total.columns) == ["variant", *columns]
    assert daily["date"].nunique() == 14
    assert daily["n"].sum() == len(df)

    rolled = daily.groupby("variant")[columns].sum().reset_index()
    pd.testing.assert_frame_equal(rolled, total, check_exact=False, rtol=1e-12)

    for _, row in total.iterrows():
        arm = df[df["variant"] == row["variant"]]
        assert row["n"] == len(arm)
        for m in metrics:
            values = arm[m].to_numpy()
            assert row[f"{m}_sum"] == pytest.approx(np.sum(values), rel=1e-12)
            assert row[f"{m}_sum_sq"] == pytest.approx(np.sum(values * values), rel=1e-12)

    day = daily.iloc[5]
    mask = (df["first_exposure"].dt.normalize() == day["date"]) & (df["variant"] == day["variant"])
    assert day["n"] == mask.sum()
    assert day["revenue_sum"] == pytest.approx(df.loc[mask, "revenue"].sum(), rel=1e-12)


def test_aggregates_reject_unknown_metrics() -> None:
    with pytest.raises(ValueError, match="metrics not in the frame"):
        make_aggregates(make_experiment(100, seed=1), metrics=["nope"])


# Event log ---------------------------------------------------------------------------------


def first_times(log: pd.DataFrame) -> pd.DataFrame:
    return log.groupby(["user_id", "event"])["timestamp"].min().unstack()[list(FUNNEL_STAGES)]


def test_event_log_shape_and_dirt() -> None:
    n = 20_000
    log = make_event_log(n, seed=10)
    assert list(log.columns) == ["user_id", "event", "timestamp"]
    assert str(log["timestamp"].dtype) == "datetime64[us]"
    assert log["timestamp"].is_monotonic_increasing
    assert set(log["event"]) == set(FUNNEL_STAGES)
    assert log["user_id"].nunique() == n
    assert log.duplicated().any()

    first = first_times(log)
    assert first["visit"].notna().all()
    out_of_order = (first.diff(axis=1).iloc[:, 1:] < pd.Timedelta(0)).any(axis=1)
    assert out_of_order.sum() > 50
    late = first.iloc[:, 1:].sub(first["visit"], axis=0) > pd.Timedelta(days=7)
    assert late.any(axis=1).sum() > 50

    reached = first.notna().mean()
    expected = np.cumprod((1.0, *FUNNEL_STEP_RATES))
    se = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(reached.to_numpy() - expected) <= 4 * se + 1e-12)


def test_clean_event_log_has_no_dirt() -> None:
    log = make_event_log(5_000, seed=10, late=0, out_of_order=0, duplicates=0)
    assert not log.duplicated(["user_id", "event"]).any()
    first = first_times(log)
    assert not (first.diff(axis=1).iloc[:, 1:] <= pd.Timedelta(0)).any(axis=None)
    assert (first.max(axis=1) - first["visit"] < pd.Timedelta(days=7)).all()


def test_event_log_with_custom_stages() -> None:
    log = make_event_log(1_000, seed=1, stages=("open", "signup", "pay"), step_rates=(0.5, 0.5))
    assert set(log["event"]) <= {"open", "signup", "pay"}
    with pytest.raises(ValueError, match="step_rates must have one entry per step"):
        make_event_log(10, stages=("open", "pay"), step_rates=(0.5, 0.5))


# Session level -----------------------------------------------------------------------------


def test_session_level_shape_and_within_user_correlation() -> None:
    sessions = make_session_level(20_000, seed=12, icc=0.3)
    assert list(sessions.columns) == [
        "session_id",
        "user_id",
        "variant",
        "session_start",
        "converted",
        "clicks",
    ]
    assert sessions["session_id"].is_unique
    assert (sessions.groupby("user_id")["variant"].nunique() == 1).all()
    assert sessions.groupby("user_id").size().mean() == pytest.approx(5.0, rel=0.05)
    assert sessions["converted"].mean() == pytest.approx(0.10, abs=0.01)
    ranked = sessions.assign(rank=sessions.groupby("user_id").cumcount())
    pairs = ranked[ranked["rank"] < 2].pivot(index="user_id", columns="rank", values="converted")
    pairs = pairs.dropna()
    assert np.corrcoef(pairs[0], pairs[1])[0, 1] == pytest.approx(0.3, abs=0.05)


def test_session_level_aa_inflates_false_positives_only_at_the_wrong_unit() -> None:
    reps, naive, by_user = 300, 0, 0
    for seed in range(reps):
        s = make_session_level(1_000, seed=seed)
        treated = (s["variant"] == "treatment").to_numpy()
        converted = s["converted"].to_numpy()
        n_t, n_c = treated.sum(), (~treated).sum()
        pooled = converted.mean()
        diff = converted[treated].mean() - converted[~treated].mean()
        naive += abs(diff) / math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c)) > 1.96
        user = s["user_id"].str.slice(1).astype(int).to_numpy()
        per_user = np.bincount(user, converted) / np.bincount(user)
        user_treated = np.bincount(user, treated) > 0
        p = stats.ttest_ind(per_user[user_treated], per_user[~user_treated], equal_var=False).pvalue
        by_user += p < 0.05
    # 300 draws at a true 5% rate: 3 standard deviations span 1.2% to 8.8%.
    assert 0.012 <= by_user / reps <= 0.088
    # design effect about 1 + (E[m^2]/E[m] - 1) * icc = 3.4: a naive test rejects ~30%
    assert naive / reps > 0.15


# Validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_units": 0}, "n_units must be >= 1"),
        ({"days": 0}, "days must be >= 1"),
        ({"arms": ("control",)}, "arms must have at least two entries"),
        ({"arms": ("a", "a")}, "arms must be distinct"),
        ({"shares": (0.5, 0.3)}, "shares must sum to 1"),
        ({"shares": (1.0,)}, "shares must have one entry per arm"),
        ({"baseline": 1.5}, "baseline must be < 1"),
        ({"effects": {"bogus": 0.1}}, "unknown metrics"),
        ({"effects": {"ghost": {"converted": 0.1}}}, "not treatment arms"),
        ({"effects": {"converted": -2}}, r"effects\['converted'\] must be > -1"),
        ({"srm": 1.0}, "srm must be < 1"),
        ({"srm_arm": "ghost"}, "srm_arm must be one of"),
        ({"novelty_half_life": 0}, "novelty_half_life must be > 0"),
        ({"guardrail_harm": -1}, "guardrail_harm must be > -1"),
        ({"pre_correlation": 1.2}, "pre_correlation must be <= 1"),
        ({"covariate": "clicks"}, "covariate must be one of"),
        ({"start": "not a date"}, "start must be a date"),
        ({"seed": -1}, "seed must be >= 0"),
    ],
)
def test_bad_parameters_name_themselves(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_experiment(**{"n_units": 100, **kwargs})


def test_docstring_examples_run() -> None:
    # pytest's --doctest-modules only covers tests/ and abcore/; run these examples here.
    assert doctest.testmod(generate).failed == 0


def test_other_generators_validate() -> None:
    with pytest.raises(ValueError, match="icc must be < 1"):
        make_session_level(10, icc=1.0)
    with pytest.raises(ValueError, match="late must be <= 1"):
        make_event_log(10, late=2)
    with pytest.raises(ValueError, match="name must be one of"):
        make_scenario("nope")
