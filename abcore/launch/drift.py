"""Drift monitoring: did the data the model sees (or its relation to the label) move?

Three kinds of shift, each with its own check:

* **covariate shift**, a feature's distribution moved: per feature, a test chosen by type and
  size as Evidently chooses it (docs "Data drift: how it works"; release 0.1.50): with at most
  ``config.DRIFT_SMALL_N`` reference rows, the two-sample Kolmogorov-Smirnov test for numeric
  features and chi-square for categorical ones (drift when p < 0.05, also NannyML's alert
  rule); with more, the Wasserstein distance normed by the reference standard deviation for
  numeric features and the Jensen-Shannon distance for categorical ones (drift above 0.1).
  Numeric columns with at most 5 distinct values count as categorical (Evidently's rule). PSI
  (drift above 0.1; 0.2 is "major") can be chosen instead. The dataset drifted when at least
  half the features did (Evidently's ``drift_share=0.5``). Chi-square is the two-sample
  (contingency) test, without Yates' correction: for a binary feature its p-value is
  Evidently's two-proportion z-test; with more categories it keeps 5% on null data where
  Evidently's goodness-of-fit test against the reference shares does not. Chosen for a
  numeric feature, chi-square counts the rows in the deciles of both samples pooled, and
  Jensen-Shannon bins it as Evidently does (a Sturges histogram of both samples pooled).
* **label shift**, the target's own distribution moved: the same test on the label.
* **concept shift**, the label's relation to the features moved: within the same feature bins
  (reference quintiles), the label's mean is compared between reference and current, and
  flagged when the bins moved unevenly (Cochran's heterogeneity Q: the curve feature -> label
  changed shape; an even lift of every bin is label shift); and, with a prediction column,
  the model's error in each time window.

False alarms on seeded null data (``tests/test_drift.py``): KS 4.2% and chi-square 4.4% per
stable feature (1,000 pairs of 800 rows; 5% by design), normed Wasserstein, Jensen-Shannon and
PSI 0% (200 pairs of 5,000 rows), concept shift 0.3% (300 pairs with a covariate shift; the
p-value alone would flag 12%).

Over time, the current data is cut into windows (NannyML's default chunker makes 10) and every
check is repeated per window.

The statistics are scipy's (``ks_2samp``, ``chi2_contingency``, ``wasserstein_distance``,
``jensenshannon``); this module chooses, thresholds and words them.

>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"x": rng.normal(0, 1, 5000), "c": rng.choice(list("abc"), 5000)})
>>> cur = pd.DataFrame({"x": rng.normal(0.5, 1, 5000), "c": rng.choice(list("abc"), 5000)})
>>> report = drift_report(ref, cur)
>>> [(f.feature, f.method, f.drifted) for f in report.features]
[('x', 'wasserstein', True), ('c', 'jensenshannon', False)]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2, chi2_contingency, ks_2samp, ttest_ind, wasserstein_distance

from abcore import config
from abcore._checks import check_scalar
from abcore.errors import InputError
from abcore.launch.sql import sampled_columns_sql

if TYPE_CHECKING:
    import duckdb

    from abcore.ingest import Dataset

__all__ = [
    "METHODS",
    "ConceptShift",
    "DriftReport",
    "FeatureDrift",
    "choose_method",
    "concept_shift",
    "drift_report",
    "error_rose",
    "feature_drift",
    "feature_kind",
    "psi",
    "read_pair",
]

METHODS: tuple[str, ...] = ("auto", "ks", "wasserstein", "chisquare", "jensenshannon", "psi")
_P_VALUE_METHODS = ("ks", "chisquare")
_EPS = 1e-4
"""Share given to an empty bin so distances stay finite (Evidently uses 0.0001 too)."""


# --------------------------------------------------------------------------------------------
# One feature
# --------------------------------------------------------------------------------------------


def feature_kind(values: pd.Series) -> str:
    """ "numeric" or "categorical" (numbers with at most 5 distinct values are categorical).

    >>> feature_kind(pd.Series([1.5, 2.0, 3.1, 4.2, 5.9, 7.0]))
    'numeric'
    >>> feature_kind(pd.Series([0, 1, 1, 0]))
    'categorical'
    """
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "categorical"
    if values.nunique(dropna=True) <= config.DRIFT_CATEGORICAL_MAX_UNIQUE:
        return "categorical"
    return "numeric"


def choose_method(kind: str, n_reference: int, method: str = "auto") -> str:
    """The test for a feature of ``kind`` with ``n_reference`` rows (Evidently's rule).

    >>> choose_method("numeric", 800), choose_method("numeric", 5000)
    ('ks', 'wasserstein')
    >>> choose_method("categorical", 800), choose_method("categorical", 5000, "psi")
    ('chisquare', 'psi')
    """
    check_scalar(kind, "kind", in_=("numeric", "categorical"))
    check_scalar(method, "method", in_=METHODS)
    if method != "auto":
        if kind == "categorical" and method in ("ks", "wasserstein"):
            return "chisquare" if n_reference <= config.DRIFT_SMALL_N else "jensenshannon"
        return method
    small = n_reference <= config.DRIFT_SMALL_N
    if kind == "numeric":
        return "ks" if small else "wasserstein"
    return "chisquare" if small else "jensenshannon"


def _threshold(method: str) -> float:
    if method in _P_VALUE_METHODS:
        return config.DRIFT_P_VALUE
    if method == "psi":
        return config.DRIFT_PSI_THRESHOLD
    return config.DRIFT_DISTANCE_THRESHOLD


def _category_shares(ref: pd.Series, cur: pd.Series) -> tuple[NDArray, NDArray, list[str]]:
    ref_s, cur_s = ref.astype(str), cur.astype(str)
    keys = sorted(set(ref_s.unique()) | set(cur_s.unique()))
    r = ref_s.value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
    c = cur_s.value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
    return r, c, keys


def _numeric_bins(ref: NDArray, cur: NDArray, bins: int) -> tuple[NDArray, NDArray]:
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if edges.size < 2:
        edges = np.array([ref.min() - 0.5, ref.max() + 0.5])
    inner = edges[1:-1]
    r = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=inner.size + 1)
    c = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=inner.size + 1)
    return r.astype(float), c.astype(float)


def psi(reference: NDArray | pd.Series, current: NDArray | pd.Series, *, numeric: bool) -> float:
    """Population stability index: ``sum((c - r) * ln(c / r))`` over bins of shares.

    Numeric features use the reference deciles as bins; empty bins get a share of 0.0001.

    >>> round(psi(np.array([0.0] * 50 + [1.0] * 50), np.array([0.0] * 70 + [1.0] * 30),
    ...           numeric=False), 4)
    0.1695
    """
    if numeric:
        r, c = _numeric_bins(np.asarray(reference, float), np.asarray(current, float), 10)
    else:
        r, c, _ = _category_shares(pd.Series(reference), pd.Series(current))
    r = np.maximum(r / r.sum(), _EPS)
    c = np.maximum(c / c.sum(), _EPS)
    return float(np.sum((c - r) * np.log(c / r)))


class FeatureDrift(NamedTuple):
    """One feature's drift check."""

    feature: str
    kind: str
    method: str
    statistic: float
    """The p-value for "ks" and "chisquare"; the distance (or PSI) otherwise."""
    threshold: float
    drifted: bool
    n_reference: int
    n_current: int
    reference_summary: str
    current_summary: str
    error: str | None = None

    @property
    def is_p_value(self) -> bool:
        return self.method in _P_VALUE_METHODS


def _summary(values: pd.Series, kind: str) -> str:
    if values.empty:
        return "no values"
    if kind == "numeric":
        return f"mean {_num(float(values.mean()))}, median {_num(float(values.median()))}"
    if pd.api.types.is_numeric_dtype(values) and set(pd.unique(values)) <= {0, 1}:
        return f"{float(values.mean()):.0%} are 1"
    shares = values.astype(str).value_counts(normalize=True).head(3)
    return ", ".join(f"{k} {v:.0%}" for k, v in shares.items())


def _num(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _chi_square_p(ref_counts: NDArray, cur_counts: NDArray) -> float:
    """p-value of the two-sample (contingency) chi-square test of two count vectors.

    No Yates correction: with two categories the p-value is then exactly Evidently's
    two-proportion z-test (``z**2`` is this chi-square), which it uses for binary features;
    Yates' correction made the test conservative. With more categories this two-sample test
    keeps its 5% on null data, where Evidently's goodness-of-fit chi-square against the
    reference shares (treated as exact) flags 21% (800 rows a side, 3 categories).
    """
    table = np.vstack([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(chi2_contingency(table, correction=False).pvalue)


def _pooled_decile_counts(ref: NDArray, cur: NDArray) -> tuple[NDArray, NDArray]:
    """Counts of each side in the deciles of both sides pooled (``pd.qcut``'s bins).

    Equal-count bins leave no sparse cell, and bins drawn from the pooled values leave the
    null split of the rows between the sides a random one, so the contingency test holds
    its level (Evidently allows chi-square on categorical features only).
    """
    pooled = np.concatenate([ref, cur])
    edges = np.unique(np.quantile(pooled, np.linspace(0, 1, config.DRIFT_PSI_BINS + 1)))
    inner = edges[1:-1]
    bins = inner.size + 1
    r = np.bincount(np.searchsorted(inner, ref, side="left"), minlength=bins)
    c = np.bincount(np.searchsorted(inner, cur, side="left"), minlength=bins)
    return r.astype(float), c.astype(float)


def _histogram_shares(ref: pd.Series, cur: pd.Series) -> tuple[NDArray, NDArray]:
    """Shares per bin of a numeric feature, binned as Evidently bins it for Jensen-Shannon.

    Evidently's ``get_binned_data``: with more than 20 distinct reference values, the
    Sturges histogram (``np.histogram_bin_edges(..., "sturges")``) of both sides pooled;
    otherwise each value is a category. No share is floored (the distance is finite).
    """
    if ref.nunique() > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        r = np.histogram(ref, edges)[0] / len(ref)
        c = np.histogram(cur, edges)[0] / len(cur)
        return r.astype(float), c.astype(float)
    rc, cc, _ = _category_shares(ref, cur)
    return rc / rc.sum(), cc / cc.sum()


def feature_drift(
    name: str,
    reference: pd.Series,
    current: pd.Series,
    *,
    method: str = "auto",
    kind: str | None = None,
) -> FeatureDrift:
    """Test one feature for drift, with the method Evidently would pick (or ``method``).

    Missing values are left out. A side with no value returns ``error="no_data"``.

    >>> rng = np.random.default_rng(1)
    >>> f = feature_drift("x", pd.Series(rng.normal(size=500)), pd.Series(rng.normal(size=500)))
    >>> f.method, f.drifted
    ('ks', False)
    """
    ref, cur = reference.dropna(), current.dropna()
    kind = kind or feature_kind(pd.concat([ref, cur]) if len(ref) else cur)
    chosen = choose_method(kind, len(ref), method)
    thr = _threshold(chosen)
    if ref.empty or cur.empty:
        nan = float("nan")
        return FeatureDrift(
            name, kind, chosen, nan, thr, False, len(ref), len(cur), "", "", "no_data"
        )
    if kind == "numeric":
        r = ref.to_numpy(dtype=float)
        c = cur.to_numpy(dtype=float)
        if chosen == "ks":
            stat = float(ks_2samp(r, c).pvalue)
        elif chosen == "wasserstein":
            stat = float(wasserstein_distance(r, c) / max(float(np.std(r)), 0.001))
        elif chosen == "chisquare":
            stat = _chi_square_p(*_pooled_decile_counts(r, c))
        elif chosen == "jensenshannon":
            stat = float(jensenshannon(*_histogram_shares(ref, cur)))
        else:
            stat = psi(r, c, numeric=True)
    else:
        rc, cc, _ = _category_shares(ref, cur)
        if chosen == "chisquare":
            stat = _chi_square_p(rc, cc)
        elif chosen == "jensenshannon":
            rs, cs = np.maximum(rc / rc.sum(), _EPS), np.maximum(cc / cc.sum(), _EPS)
            stat = float(jensenshannon(rs, cs))
        else:
            stat = psi(ref, cur, numeric=False)
    drifted = stat < thr if chosen in _P_VALUE_METHODS else stat > thr
    return FeatureDrift(
        name,
        kind,
        chosen,
        stat,
        thr,
        bool(drifted),
        len(ref),
        len(cur),
        _summary(ref, kind),
        _summary(cur, kind),
    )


# --------------------------------------------------------------------------------------------
# Concept shift
# --------------------------------------------------------------------------------------------


class ConceptShift(NamedTuple):
    """Whether the label's relation to one feature changed shape.

    ``p_value`` and ``effect`` measure how unevenly the label's mean moved across the
    feature's bins (a change of shape of the feature -> label curve); ``level_change`` is the
    average move, which alone is label shift, not a change in the relation.
    """

    feature: str
    p_value: float
    effect: float
    """Mean absolute deviation of the per-bin moves from their average, in reference label SDs."""
    level_change: float
    flagged: bool
    bins: pd.DataFrame
    """Columns bin, reference_rate, current_rate, n_reference, n_current."""


def _bin_labels(ref: pd.Series, cur: pd.Series, kind: str, bins: int) -> tuple[pd.Series, ...]:
    if kind == "numeric":
        r, c = ref.to_numpy(dtype=float), cur.to_numpy(dtype=float)
        edges = np.unique(np.quantile(r[np.isfinite(r)], np.linspace(0, 1, bins + 1)))
        inner = edges[1:-1]
        names = [f"{_num(lo)} to {_num(hi)}" for lo, hi in itertools.pairwise(edges)] or ["all"]
        order = pd.CategoricalDtype(names, ordered=True)
        rb = pd.Series(np.searchsorted(inner, r, side="right"), index=ref.index)
        cb = pd.Series(np.searchsorted(inner, c, side="right"), index=cur.index)
        return (
            rb.map(dict(enumerate(names))).astype(order),
            cb.map(dict(enumerate(names))).astype(order),
        )
    top = ref.astype(str).value_counts().head(bins).index
    rb = ref.astype(str).where(ref.astype(str).isin(top), "other")
    cb = cur.astype(str).where(cur.astype(str).isin(top), "other")
    return rb, cb


def concept_shift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    feature: str,
    label: str,
    *,
    bins: int = config.CONCEPT_BINS,
    alpha: float = config.ALPHA,
    min_effect: float = config.CONCEPT_MIN_EFFECT,
) -> ConceptShift:
    """Did the label's relation to ``feature`` change (not just its overall level)?

    Rows are binned by the reference quantiles of ``feature`` (its most common categories for
    text). In each bin with at least 5 rows on both sides the label's mean moves by ``d_b``
    (current minus reference, unpooled variance ``v_b``). Cochran's heterogeneity statistic
    ``Q = sum((d_b - d_w)^2 / v_b)``, with ``d_w`` the inverse-variance weighted mean move, is
    chi-square with (bins - 1) degrees of freedom when every bin moved alike. Flagged when
    ``p < alpha`` and the moves differ by at least ``min_effect`` reference standard
    deviations on average (a large sample makes tiny differences significant).

    Neither a covariate shift (the comparison is within bins) nor a label shift that lifts
    every bin alike (that is ``level_change``) flags it.
    """
    check_scalar(bins, "bins", ge=2)
    check_scalar(alpha, "alpha", gt=0, lt=1)
    ref = reference[[feature, label]].dropna()
    cur = current[[feature, label]].dropna()
    y_ref = ref[label].astype(float)
    y_cur = cur[label].astype(float)
    kind = feature_kind(pd.concat([ref[feature], cur[feature]]))
    rb, cb = _bin_labels(ref[feature], cur[feature], kind, bins)
    r = y_ref.groupby(rb, observed=True, sort=True).agg(["mean", "var", "count"])
    c = y_cur.groupby(cb, observed=True, sort=True).agg(["mean", "var", "count"])
    table = r.merge(c, left_index=True, right_index=True, suffixes=("_ref", "_cur"))
    table = table[(table["count_ref"] >= 5) & (table["count_cur"] >= 5)]
    sd = float(y_ref.std()) if len(y_ref) > 1 else 0.0
    frame = pd.DataFrame(
        {
            "bin": table.index.astype(str),
            "reference_rate": table["mean_ref"].to_numpy(),
            "current_rate": table["mean_cur"].to_numpy(),
            "n_reference": table["count_ref"].to_numpy(dtype=int),
            "n_current": table["count_cur"].to_numpy(dtype=int),
        }
    )
    if len(table) < 2 or sd == 0:
        return ConceptShift(feature, 1.0, 0.0, 0.0, False, frame)
    floor = (sd**2) * 1e-6
    var = (
        np.maximum(table["var_ref"].fillna(0), floor) / table["count_ref"]
        + np.maximum(table["var_cur"].fillna(0), floor) / table["count_cur"]
    ).to_numpy()
    d = (table["mean_cur"] - table["mean_ref"]).to_numpy()
    w = 1 / var
    d_w = float((w * d).sum() / w.sum())
    q = float(((d - d_w) ** 2 / var).sum())
    p = float(chi2.sf(q, len(d) - 1))
    share = (table["count_cur"] / table["count_cur"].sum()).to_numpy()
    level = float((share * d).sum())
    effect = float((share * np.abs(d - level)).sum() / sd)
    return ConceptShift(feature, p, effect, level, bool(p < alpha and effect >= min_effect), frame)


# --------------------------------------------------------------------------------------------
# Whole report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftReport:
    """Every drift check of a reference/current pair, and sentences for a product manager."""

    features: tuple[FeatureDrift, ...]
    drift_share: float
    dataset_drift: bool
    label: FeatureDrift | None
    concept: tuple[ConceptShift, ...]
    error_reference: float | None
    error_current: float | None
    windows: pd.DataFrame
    """Long: window, window_start, feature, statistic, threshold, drifted (the label too)."""
    performance: pd.DataFrame | None
    """Per window: window, window_start, n, label_mean, error (when a label exists)."""
    sentences: tuple[str, ...]
    verdict: str
    """"stable", "drift" or "concept shift" (the most serious finding)."""
    share_threshold: float = config.DRIFT_SHARE
    notes: tuple[str, ...] = field(default_factory=tuple)

    def table(self) -> pd.DataFrame:
        """One row per feature (and the label), for display and export."""
        rows = [*self.features, *([self.label] if self.label else [])]
        return pd.DataFrame([r._asdict() for r in rows])


def _row_errors(frame: pd.DataFrame, label: str, prediction: str) -> NDArray[np.float64]:
    """Per-row error: 1/0 misclassification (yes/no label, threshold 0.5, or text labels),
    else the absolute error."""
    y = frame[label]
    p = frame[prediction]
    ok = y.notna() & p.notna()
    y, p = y[ok], p[ok]
    if y.empty:
        return np.array([], dtype=float)
    binary = pd.api.types.is_numeric_dtype(y) and set(pd.unique(y.astype(float))) <= {0.0, 1.0}
    if binary and pd.api.types.is_numeric_dtype(p):
        return ((p.astype(float) >= 0.5).astype(float) != y.astype(float)).to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(y) or not pd.api.types.is_numeric_dtype(p):
        return (y.astype(str) != p.astype(str)).to_numpy(dtype=float)
    return (y.astype(float) - p.astype(float)).abs().to_numpy(dtype=float)


def _error(frame: pd.DataFrame, label: str, prediction: str) -> float:
    errors = _row_errors(frame, label, prediction)
    return float(errors.mean()) if errors.size else float("nan")


def error_rose(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    label: str,
    prediction: str,
    *,
    alpha: float = config.ALPHA,
) -> tuple[float, float, float, bool]:
    """Reference error, current error, the one-sided Welch p-value that it rose, and whether
    it rose significantly by more than 10% (relative) and 0.01 (absolute).

    Per-row errors are 0/1 or absolute errors, so Welch's t on them compares error rates or
    mean absolute errors (``scipy.stats.ttest_ind(equal_var=False, alternative="greater")``).
    """
    ref = _row_errors(reference, label, prediction)
    cur = _row_errors(current, label, prediction)
    if ref.size < 2 or cur.size < 2:
        nan = float("nan")
        return nan, nan, nan, False
    e_ref, e_cur = float(ref.mean()), float(cur.mean())
    if ref.std() == 0 and cur.std() == 0:
        p = 0.0 if e_cur > e_ref else 1.0
    else:
        p = float(ttest_ind(cur, ref, equal_var=False, alternative="greater").pvalue)
    rose = p < alpha and e_cur > e_ref * 1.1 and e_cur - e_ref > 0.01
    return e_ref, e_cur, p, bool(rose)


def _windows(current: pd.DataFrame, timestamp: str | None, windows: int) -> list[pd.DataFrame]:
    data = current
    if timestamp:
        data = current.sort_values(timestamp, kind="stable")
    k = max(1, min(windows, len(data) // 20 or 1))
    cuts = np.array_split(np.arange(len(data)), k)
    return [data.iloc[idx] for idx in cuts if idx.size]


def _window_label(chunk: pd.DataFrame, timestamp: str | None, i: int) -> str:
    if timestamp and not chunk.empty:
        start = chunk[timestamp].iloc[0]
        try:
            return pd.Timestamp(start).strftime("%b %d %H:%M")
        except (TypeError, ValueError):
            return str(start)
    return f"window {i + 1}"


def _rate(value: float, binary: bool) -> str:
    return f"{value:.0%}" if binary else f"{value:.3g}"


def _sentences(
    features: Sequence[FeatureDrift],
    share: float,
    dataset: bool,
    label: FeatureDrift | None,
    concept: Sequence[ConceptShift],
    label_name: str | None,
    err_ref: float | None,
    err_cur: float | None,
    binary: bool = False,
    error_up: bool = False,
) -> list[str]:
    out = []
    moved = [f for f in features if f.drifted]
    if not moved:
        out.append(
            f"No feature moved: all {len(features)} look like the reference data. Nothing to do."
        )
    else:
        names = ", ".join(f"'{f.feature}'" for f in moved[:4]) + (" ..." if len(moved) > 4 else "")
        out.append(
            f"{len(moved)} of {len(features)} features moved ({share:.0%}): {names}. "
            + (
                "That is at least half of them: the data the model sees has changed overall."
                if dataset
                else "Less than half of them: a partial shift."
            )
        )
        for f in moved[:3]:
            major = f.method == "psi" and f.statistic > config.DRIFT_PSI_MAJOR
            out.append(
                f"'{f.feature}' moved{' a lot (PSI above 0.2)' if major else ''} from "
                f"{f.reference_summary} to {f.current_summary}. "
                "Check whether the upstream source changed (a bug) or the users did (real); "
                "if real, retrain with recent data."
            )
    if label is not None and label.drifted:
        out.append(
            f"The label '{label_name}' itself moved ({label.reference_summary} -> "
            f"{label.current_summary}): the outcome the model predicts is more or less common "
            "than when it was trained; recalibrate its scores or thresholds."
        )
    elif label is not None and label.error is None:
        out.append(
            f"The label '{label_name}' stays inside the alarm line ({label.reference_summary} "
            f"-> {label.current_summary})."
        )
    for c in concept:
        if c.flagged:
            worst = c.bins.assign(
                gap=(c.bins.current_rate - c.bins.reference_rate).abs()
            ).sort_values("gap", ascending=False)
            top = worst.iloc[0]
            out.append(
                f"Concept shift: for the same '{c.feature}' ({top['bin']}), the average "
                f"'{label_name}' went from {_rate(top.reference_rate, binary)} to "
                f"{_rate(top.current_rate, binary)}. "
                "The relation the model learned no longer holds: retrain on recent labelled data."
            )
    if err_ref is not None and err_cur is not None and math.isfinite(err_ref):
        if error_up:
            out.append(
                f"The model's error rose from {err_ref:.3g} to {err_cur:.3g} "
                f"({err_cur / err_ref - 1:+.0%}, significant): its predictions are worse now."
            )
        else:
            out.append(f"The model's error is steady ({err_ref:.3g} then, {err_cur:.3g} now).")
    return out


def _is_time_or_id(values: pd.Series) -> bool:
    """Dates, and text whose values are nearly all distinct (ids), are not features to test.

    >>> _is_time_or_id(pd.Series(["u1", "u2", "u3", "u4"])), _is_time_or_id(pd.Series([1.5, 2.5]))
    (True, False)
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    present = values.dropna()
    return len(present) > 0 and present.nunique() > 0.5 * len(present)


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    label: str | None = None,
    prediction: str | None = None,
    timestamp: str | None = None,
    method: str = "auto",
    windows: int = config.DRIFT_WINDOWS,
    share_threshold: float = config.DRIFT_SHARE,
    alpha: float = config.ALPHA,
) -> DriftReport:
    """Compare current data with reference data, feature by feature and over time.

    Args:
        reference: The data the model was trained or validated on.
        current: Recent production data.
        features: Columns to check (default: every column of both except the label,
            prediction and timestamp, dates and identifier-like text).
        label: The target column, for label shift and concept shift.
        prediction: The model's output, for its error per window (needs ``label``).
        timestamp: Orders ``current`` and names the windows.
        method: "auto" (Evidently's choice) or one method for every feature.
        windows: How many windows the current data is cut into.
        share_threshold: Share of drifted features at which the dataset has drifted.
        alpha: Family level of the concept-shift tests (Bonferroni over features).

    Raises:
        InputError: a named column is missing from one of the tables, or no feature is left.
    """
    check_scalar(method, "method", in_=METHODS)
    check_scalar(windows, "windows", ge=1)
    check_scalar(share_threshold, "share_threshold", gt=0, le=1)
    check_scalar(alpha, "alpha", gt=0, lt=1)
    roles = [c for c in (label, prediction, timestamp) if c]
    for col in roles:
        for name, frame in (("reference", reference), ("current", current)):
            if col not in frame.columns:
                raise InputError(
                    f"The column '{col}' is not in the {name} data: pick a column both files "
                    "have, or leave that role empty."
                )
    if prediction and not label:
        raise InputError("A prediction column needs a label column to measure the error.")
    skipped: list[str] = []
    if features is None:
        candidates = [c for c in reference.columns if c in current.columns and c not in roles]
        features = [c for c in candidates if not _is_time_or_id(reference[c])]
        skipped = [c for c in candidates if c not in features]
    else:
        missing = [c for c in features if c not in reference.columns or c not in current.columns]
        if missing:
            raise InputError(
                f"The feature '{missing[0]}' is not in both files: compare columns that the "
                "reference and the current data share."
            )
    features = [f for f in features if f not in roles]
    if not features:
        raise InputError(
            "The two files share no feature column besides the label, prediction and time: "
            "upload files with the same columns."
        )
    if len(features) > config.DRIFT_MAX_FEATURES:
        raise InputError(
            f"{len(features)} features is more than {config.DRIFT_MAX_FEATURES}: pick the ones "
            "the model uses."
        )
    kinds = {f: feature_kind(pd.concat([reference[f], current[f]])) for f in features}
    checks = tuple(
        feature_drift(f, reference[f], current[f], method=method, kind=kinds[f]) for f in features
    )
    scored = [c for c in checks if c.error is None]
    share = sum(c.drifted for c in scored) / len(scored) if scored else 0.0
    dataset = bool(scored) and share >= share_threshold
    label_check = (
        feature_drift(label, reference[label], current[label], method=method) if label else None
    )
    concept: tuple[ConceptShift, ...] = ()
    notes: list[str] = []
    if skipped:
        notes.append(
            "Not compared (dates and identifiers always differ between periods): "
            + ", ".join(f"'{c}'" for c in skipped)
            + "."
        )
    if label:
        if pd.api.types.is_numeric_dtype(reference[label]) or pd.api.types.is_bool_dtype(
            reference[label]
        ):
            per = alpha / len(features)
            concept = tuple(
                concept_shift(reference, current, f, label, alpha=per) for f in features
            )
        else:
            notes.append(f"Concept shift needs a numeric or yes/no label; '{label}' holds text.")
    err_ref = err_cur = None
    error_up = False
    if label and prediction:
        err_ref, err_cur, _, error_up = error_rose(
            reference, current, label, prediction, alpha=alpha
        )

    rows, perf = [], []
    for i, chunk in enumerate(_windows(current, timestamp, windows)):
        start = _window_label(chunk, timestamp, i)
        for f in [*features, *([label] if label else [])]:
            fd = feature_drift(f, reference[f], chunk[f], method=method, kind=kinds.get(f))
            rows.append(
                {
                    "window": i + 1,
                    "window_start": start,
                    "feature": f,
                    "statistic": fd.statistic,
                    "threshold": fd.threshold,
                    "method": fd.method,
                    "drifted": fd.drifted,
                }
            )
        if label:
            y = chunk[label]
            perf.append(
                {
                    "window": i + 1,
                    "window_start": start,
                    "n": len(chunk),
                    "label_mean": float(y.astype(float).mean())
                    if pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y)
                    else float("nan"),
                    "error": _error(chunk, label, prediction) if prediction else float("nan"),
                }
            )
    binary = bool(label) and set(pd.unique(reference[label].dropna())) <= {0, 1}
    sentences = _sentences(
        checks, share, dataset, label_check, concept, label, err_ref, err_cur, binary, error_up
    )
    if any(c.flagged for c in concept) or error_up:
        verdict = "concept shift"
    elif dataset or any(c.drifted for c in checks) or (label_check and label_check.drifted):
        verdict = "drift"
    else:
        verdict = "stable"
    return DriftReport(
        checks,
        share,
        dataset,
        label_check,
        concept,
        err_ref,
        err_cur,
        pd.DataFrame(rows),
        pd.DataFrame(perf) if perf else None,
        tuple(sentences),
        verdict,
        share_threshold,
        tuple(notes),
    )


# --------------------------------------------------------------------------------------------
# Reading the two tables from DuckDB
# --------------------------------------------------------------------------------------------


def read_pair(
    con: duckdb.DuckDBPyConnection,
    reference: Dataset,
    current: Dataset,
    *,
    max_rows: int = config.DRIFT_MAX_ROWS,
    seed: int = config.DEMO_SEED,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The columns both uploads share, as pandas frames (a seeded sample of large tables).

    Raises:
        InputError: the two files share no column.
    """
    check_scalar(max_rows, "max_rows", ge=1)
    shared = [c for c in reference.names if c in set(current.names)]
    if not shared:
        raise InputError(
            f"{reference.source} and {current.source} share no column name: the reference and "
            "current data must have the same columns."
        )
    frames = []
    for ds in (reference, current):
        rows = max_rows if ds.n_rows > max_rows else None
        sql = sampled_columns_sql(ds.table, shared, rows=rows, seed=seed)
        frames.append(con.execute(sql).df())
    return frames[0], frames[1]
