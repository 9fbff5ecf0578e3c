"""Detection on files as users bring them (issue 18, item 2): arms by their values, the
control by name or size, pre-period columns as covariates, columns that restate the arm
never segments; every finding typed on the Mapping (pages read fields, not sentences)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from real_data import real

from abcore import analyze
from abcore.ingest import compute_stats, connect, detect_schema, load


def _detect(df: pd.DataFrame):
    con = connect()
    return detect_schema(con, load(con, df))


def _arms(levels: list[str], sizes: list[int], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.repeat(levels, sizes)
    n = len(arm)
    return pd.DataFrame(
        {
            "country": rng.choice(["DE", "FR", "UK"], n),
            "recipe": arm,
            "revenue": rng.exponential(3.0, n),
        }
    )


def test_three_arms_under_an_unusual_name_are_found_by_their_values() -> None:
    mapping = _detect(_arms(["A", "B", "C"], [400, 410, 395]))
    assert mapping.variant == "recipe"  # not country: its values do not look like arms
    assert mapping.control == "A"
    assert "variant" in mapping.guessed
    assert mapping.segments == ("country",)


def test_a_segment_is_not_taken_for_the_arms() -> None:
    df = _arms(["A", "B", "C"], [400, 410, 395]).drop(columns="recipe")
    mapping = _detect(df)
    assert mapping.variant is None
    assert "variant" not in mapping.guessed


@pytest.mark.parametrize(
    ("levels", "sizes", "control", "guessed"),
    [
        (["Ads", "No ads"], [500, 500], "No ads", False),
        (["new_page", "old_page"], [500, 500], "old_page", False),
        (["Personalised", "holdout_2024"], [900, 100], "holdout_2024", False),
        (["blue", "red"], [100, 900], "red", True),  # the clearly largest arm
        (["v10", "v2"], [500, 505], "v2", True),  # equal sizes: first in natural order
    ],
)
def test_control_by_name_then_by_size(
    levels: list[str], sizes: list[int], control: str, guessed: bool
) -> None:
    df = _arms(levels, sizes).rename(columns={"recipe": "group"})
    mapping = _detect(df)
    assert mapping.variant == "group"
    assert mapping.control == control
    assert ("control" in mapping.guessed) is guessed
    assert any("largest arm" in n or "first in order" in n for n in mapping.notes) is guessed


def test_real_files_controls() -> None:
    con = connect()
    marketing = detect_schema(con, load(con, real("marketing_AB_sample_ferilab.csv")))
    assert (marketing.control, marketing.guessed) == ("psa", ())  # 4 % arm, named like one
    cats = detect_schema(con, load(con, real("cookie_cats.csv")))
    # 44,700 vs 45,489 players: about equal, so size says nothing; gate_30 comes first
    assert cats.control == "gate_30"
    assert "control" in cats.guessed


def test_pre_period_columns_are_covariates_not_outcomes() -> None:
    rng = np.random.default_rng(4)
    n = 2_000
    df = pd.DataFrame(
        {
            "user_id": np.arange(n),
            "variant": rng.choice(["control", "treatment"], n),
            "revenue": rng.exponential(3.0, n),
            "revenue_last_30_days": rng.exponential(3.0, n),
            "orders": rng.poisson(2, n),
            "prior_orders": rng.poisson(2, n),
            "days_since_last_order": rng.integers(0, 90, n),
        }
    )
    mapping = _detect(df)
    assert {m.name: m.covariate for m in mapping.metrics} == {
        "revenue": "revenue_last_30_days",
        "orders": "prior_orders",
    }
    assert set(mapping.covariates) == {
        "revenue_last_30_days",
        "prior_orders",
        "days_since_last_order",
    }
    assert any("'days_since_last_order' looks measured before" in n for n in mapping.notes)


def test_a_flag_that_restates_the_arm_is_neither_metric_nor_segment() -> None:
    rng = np.random.default_rng(6)
    n = 4_000
    arm = rng.choice(["control", "treatment"], n)
    page = np.where(arm == "treatment", "new", "old")
    page[:40] = "new"  # a few rows disagree, as in ab_data.csv
    df = pd.DataFrame(
        {
            "variant": arm,
            "page": page,
            "saw_new_checkout": arm == "treatment",
            "device": rng.choice(["ios", "android", "web"], n),
            "converted": rng.integers(0, 2, n),
        }
    )
    mapping = _detect(df)
    assert mapping.arm_proxies == ("page", "saw_new_checkout")
    assert mapping.segments == ("device",)
    assert [m.name for m in mapping.metrics] == ["converted"]
    assert any("'page' restates the arm" in n for n in mapping.notes)


def test_findings_stay_out_of_the_serialised_mapping() -> None:
    df = _arms(["A", "B", "C"], [400, 410, 395])
    con = connect()
    ds = load(con, df)
    mapping = detect_schema(con, ds)
    out = mapping.to_dict()
    assert not {"guessed", "arm_proxies", "empty_days", "id_columns"} & set(out)
    agg = compute_stats(con, ds, mapping)
    assert agg.control == "A"


def test_a_count_over_the_unit_count_reads_over_its_present_days() -> None:
    files = [
        real("udacity_free_trial/control_data.csv"),
        real("udacity_free_trial/experiment_data.csv"),
    ]
    a = analyze(files, variant="variant", metrics=["Enrollments"])
    # Enrollments over Pageviews: empty on 14 days, so its cumulative effect stops growing
    # there instead of turning into NaN (or failing) from the first empty day on
    daily = a.daily[a.daily["metric"] == "Enrollments"]
    assert len(daily) == 37
    assert daily["n_control"].is_monotonic_increasing
    last = daily.iloc[-1]
    row = a.effects.iloc[0]
    assert (last["n_control"], last["n_treatment"]) == (row["n_control"], row["n_treatment"])
    assert last["p_value"] == pytest.approx(row["p_value"], rel=1e-9)
