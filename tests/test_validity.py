"""Sample ratio mismatch: the chi-square test, its bands, and real files."""

from __future__ import annotations

import pandas as pd
import pytest
from real_data import REAL, real
from scipy.stats import chisquare

from abcore.validity import srm_test


def test_matches_scipy_chisquare_with_a_planned_split():
    counts = {"control": 9_650, "a": 4_900, "b": 5_150}
    result = srm_test(counts, {"control": 0.5, "a": 0.25, "b": 0.25})
    expected = chisquare([9_650, 4_900, 5_150], [9_850, 4_925, 4_925])
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.df == 2
    assert result.worst_arm.arm == "b"
    assert result.worst_arm.relative_gap == pytest.approx(5_150 / 4_925 - 1)


@pytest.mark.parametrize(
    ("counts", "status"),
    [((50_000, 50_000), "pass"), ((50_000, 49_300), "warn"), ((50_000, 48_500), "fail")],
)
def test_bands(counts, status):
    result = srm_test(counts)
    assert result.status == status
    assert result.flagged == (status == "fail")
    assert {"pass": "matches", "warn": "a little off", "fail": "mismatch"}[status] in (
        result.message()
    )


def test_shares_are_normalised_and_validated():
    assert srm_test([60, 40], [3, 2]).p_value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least two arms"):
        srm_test([100])
    with pytest.raises(ValueError, match="one share per arm"):
        srm_test([1, 2], [0.5, 0.3, 0.2])
    with pytest.raises(ValueError, match="no share for arm"):
        srm_test({"a": 1, "b": 2}, {"a": 0.5, "c": 0.5})
    with pytest.raises(ValueError, match="observed_counts must be >= 0"):
        srm_test([-1, 5])
    with pytest.raises(ValueError, match="threshold must be < 1"):
        srm_test([1, 2], threshold=1.5)


def test_cookie_cats_lands_in_the_warning_band():
    real("cookie_cats.csv")
    counts = pd.read_csv(REAL / "cookie_cats.csv")["version"].value_counts().to_dict()
    result = srm_test(counts)
    assert result.p_value == pytest.approx(0.0086, abs=1e-4)
    assert result.status == "warn"
    assert not result.flagged


@pytest.mark.parametrize("column", ["Pageviews", "Clicks"])
def test_udacity_splits_show_no_mismatch(column):
    real("udacity_free_trial")
    control = pd.read_csv(REAL / "udacity_free_trial" / "control_data.csv", encoding="utf-8-sig")
    treated = pd.read_csv(REAL / "udacity_free_trial" / "experiment_data.csv", encoding="utf-8-sig")
    result = srm_test([control[column].sum(), treated[column].sum()])
    assert result.status == "pass"
