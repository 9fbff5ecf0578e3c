"""The notebook pipeline: pandas reads the file, groups it, scipy/statsmodels test it.

It produces what ``abcore.analyze`` produces for the same four metrics: the tests overall,
cumulatively by day and per segment value, the sample-ratio test, missing values per arm and
users seen in both arms. It is the efficient notebook (sums per group, tests from the sums),
not a naive one that re-filters the rows for every day.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from scipy import stats as sps
from statsmodels.stats.proportion import proportions_ztest

from bench import spec

COLUMNS = spec.COLUMNS


def _welch(c: pd.Series, t: pd.Series, mean: str, var: str) -> float:
    result = sps.ttest_ind_from_stats(
        c[mean], math.sqrt(c[var]), c["n"], t[mean], math.sqrt(t[var]), t["n"], equal_var=False
    )
    return float(result.pvalue)


def _moments(s: pd.Series) -> pd.Series:
    s = s.astype(float).copy()
    n = s["n"]
    for c in COLUMNS:
        s[f"{c}_mean"] = s[f"{c}_sum"] / n
        s[f"{c}_var"] = (s[f"{c}_sq"] - s[f"{c}_sum"] ** 2 / n) / (n - 1)
    s["cov_rev"] = (s["rev_x_pre"] - s["revenue_sum"] * s["pre_revenue_sum"] / n) / (n - 1)
    s["cov_clk"] = (s["clk_x_ses"] - s["clicks_sum"] * s["sessions_sum"] / n) / (n - 1)
    return s


def notebook_tests(sums: pd.DataFrame) -> dict[str, float]:
    """p-values of the four metrics from one row of sums per arm (indexed by arm)."""
    c, t = _moments(sums.loc[spec.CONTROL]), _moments(sums.loc[spec.TREATMENT])
    out = {
        "converted": float(
            proportions_ztest([t["converted_sum"], c["converted_sum"]], [t["n"], c["n"]])[1]
        ),
        "page_load_ms": _welch(c, t, "page_load_ms_mean", "page_load_ms_var"),
    }
    # CUPED's theta pools the arms' centred cross-products (Deng et al. 2013).
    dof_c, dof_t = c["n"] - 1, t["n"] - 1
    theta = (dof_c * c["cov_rev"] + dof_t * t["cov_rev"]) / (
        dof_c * c["pre_revenue_var"] + dof_t * t["pre_revenue_var"]
    )
    for s in (c, t):
        s["adj_var"] = s["revenue_var"] - 2 * theta * s["cov_rev"] + theta**2 * s["pre_revenue_var"]
        s["adj_mean"] = s["revenue_mean"] - theta * s["pre_revenue_mean"]
    out["revenue"] = _welch(c, t, "adj_mean", "adj_var")
    variances = []
    for s in (c, t):
        r = s["clicks_mean"] / s["sessions_mean"]
        v = s["clicks_var"] - 2 * r * s["cov_clk"] + r**2 * s["sessions_var"]
        variances.append(v / (s["n"] * s["sessions_mean"] ** 2))
    diff = t["clicks_mean"] / t["sessions_mean"] - c["clicks_mean"] / c["sessions_mean"]
    out["clicks_per_session"] = float(2 * sps.norm.sf(abs(diff) / math.sqrt(sum(variances))))
    return out


def run_pandas(path: str) -> dict[str, Any]:
    if path.endswith(".parquet"):
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, parse_dates=[spec.TIMESTAMP])
    arm = df[spec.VARIANT]
    missing = df[list(COLUMNS)].isna().groupby(arm).sum()
    in_both = int((df.groupby(spec.UNIT)[spec.VARIANT].nunique() > 1).sum())
    work = df[list(COLUMNS)].astype(float)
    for c in COLUMNS:
        work[f"{c}_sq"] = work[c] * work[c]
    work["rev_x_pre"] = work["revenue"] * work["pre_revenue"]
    work["clk_x_ses"] = work["clicks"] * work["sessions"]
    work = work.rename(columns={c: f"{c}_sum" for c in COLUMNS})
    work["n"] = 1.0
    overall = work.groupby(arm).sum()
    srm = float(sps.chisquare(overall["n"].to_numpy()).pvalue)
    tests = {"overall": notebook_tests(overall)}
    day = df[spec.TIMESTAMP].dt.normalize()
    daily = work.groupby([arm, day]).sum().groupby(level=0).cumsum()
    days = daily.index.get_level_values(1).unique()
    tests["daily"] = [notebook_tests(daily.xs(d, level=1)) for d in days]
    for segment in spec.SEGMENTS:
        by = work.groupby([df[segment], arm]).sum()
        values = by.index.get_level_values(0).unique()
        tests[segment] = [notebook_tests(by.loc[v]) for v in values]
    return {
        "srm_p": srm,
        "days": len(days),
        "in_both_arms": in_both,
        "missing": int(missing.to_numpy().sum()),
        "p_values": tests["overall"],
    }
