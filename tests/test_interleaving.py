"""Interleaving: builders checked on the papers' examples and properties, the analysis against
scipy and a clustered bootstrap, the false-alarm rate and the sizing's power by simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from abcore import ingest, power
from abcore.errors import InputError
from abcore.launch.interleaving import (
    Interleaved,
    analyze_counts,
    balanced,
    balanced_credit,
    counts_from_param,
    counts_to_param,
    credit_levels,
    interleaving_users,
    size_test,
    team_draft,
    team_draft_credit,
    user_outcomes,
)

# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


def test_balanced_on_radlinski_2008_figure_1_rankings():
    # Rankings of Radlinski, Kurup, Joachims (2008), Figure 1; lists from their Algorithm 1.
    a, b = list("abcdgh"), list("beafgh")
    assert balanced(a, b, a_first=True).items == tuple("abecdfgh")
    assert balanced(a, b, a_first=False).items == tuple("baecfdgh")


def test_balanced_bias_example_of_radlinski_2008():
    # A = (a, b, c), B = (b, c, a), one click uniformly at random: balanced interleaving
    # credits B in 2 of 3 cases whichever ranker leads (the bias that motivated team-draft).
    a, b = ["a", "b", "c"], ["b", "c", "a"]
    for a_first in (True, False):
        merged = balanced(a, b, a_first=a_first)
        wins = [balanced_credit(a, b, merged, [pos]) for pos in range(3)]
        assert wins.count("B") == 2
        assert wins.count("A") == 1


def test_team_draft_is_unbiased_on_the_same_example():
    # Team-draft on the same rankings and random single clicks: each ranker wins half.
    a, b = ["a", "b", "c"], ["b", "c", "a"]
    rng = np.random.default_rng(13)
    wins = {"A": 0, "B": 0, "tie": 0}
    for _ in range(4000):
        merged = team_draft(a, b, rng=rng)
        wins[team_draft_credit(merged, [int(rng.integers(len(merged.items)))])] += 1
    share_a = wins["A"] / (wins["A"] + wins["B"])
    assert share_a == pytest.approx(0.5, abs=0.03)  # 4000 impressions: SE 0.008


def test_team_draft_is_reproducible_with_a_seed():
    a, b = list("abcdefgh"), list("hgfedcba")
    one = team_draft(a, b, rng=np.random.default_rng(5))
    two = team_draft(a, b, rng=np.random.default_rng(5))
    assert one == two
    assert sorted(one.items) == sorted(a)


rankings = st.lists(st.integers(0, 15), min_size=1, max_size=10, unique=True)


def _is_subsequence(sub: list, full: list) -> bool:
    it = iter(full)
    return all(x in it for x in sub)


@settings(max_examples=200, deadline=None)
@given(rankings, rankings, st.integers(0, 2**32 - 1))
def test_team_draft_merges_and_keeps_each_teams_order(a, b, seed):
    merged = team_draft(a, b, rng=np.random.default_rng(seed))
    assert len(set(merged.items)) == len(merged.items)
    assert set(merged.items) <= set(a) | set(b)
    picks_a = [i for i, t in zip(merged.items, merged.teams, strict=True) if t == "A"]
    picks_b = [i for i, t in zip(merged.items, merged.teams, strict=True) if t == "B"]
    assert _is_subsequence(picks_a, a)
    assert _is_subsequence(picks_b, b)
    # team sizes never differ by more than one after any prefix
    diff = np.cumsum([1 if t == "A" else -1 for t in merged.teams])
    assert np.all(np.abs(diff) <= 1)


@settings(max_examples=200, deadline=None)
@given(rankings, rankings, st.booleans())
def test_balanced_prefixes_hold_top_k_of_both(a, b, a_first):
    # Joachims' defining property: each prefix is top-ka of A united with top-kb of B,
    # with ka and kb at most one apart.
    merged = balanced(a, b, a_first=a_first)
    assert len(set(merged.items)) == len(merged.items)
    for length in range(1, len(merged.items) + 1):
        prefix = set(merged.items[:length])
        assert any(
            prefix == set(a[:ka]) | set(b[:kb])
            for ka in range(len(a) + 1)
            for kb in range(max(0, ka - 1), min(len(b), ka + 1) + 1)
        )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("AB"), min_size=1, max_size=10), st.data())
def test_team_draft_credit_is_symmetric_under_swapping(teams, data):
    items = tuple(range(len(teams)))
    clicks = data.draw(st.lists(st.integers(0, len(teams) - 1), max_size=5))
    swapped = tuple("B" if t == "A" else "A" for t in teams)
    one = team_draft_credit(Interleaved(items, tuple(teams)), clicks)
    two = team_draft_credit(Interleaved(items, swapped), clicks)
    assert {"A": "B", "B": "A", "tie": "tie"}[one] == two


@settings(max_examples=200, deadline=None)
@given(rankings, rankings, st.booleans(), st.data())
def test_balanced_is_symmetric_under_swapping_the_rankers(a, b, a_first, data):
    # Swapping A and B (and who leads) gives the same list, and every click's credit swaps.
    one = balanced(a, b, a_first=a_first)
    two = balanced(b, a, a_first=not a_first)
    assert one.items == two.items
    clicks = data.draw(st.lists(st.integers(0, len(one.items) - 1), max_size=4))
    swap = {"A": "B", "B": "A", "tie": "tie"}
    assert swap[balanced_credit(a, b, one, clicks)] == balanced_credit(b, a, two, clicks)


def test_builders_validate_parameters():
    with pytest.raises(ValueError, match="ranking_a must not list an item twice"):
        team_draft(["a", "a"], ["b"], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng must be given"):
        balanced(["a"], ["b"])
    with pytest.raises(ValueError, match="length must be >= 1"):
        team_draft(["a"], ["b"], rng=np.random.default_rng(0), length=0)
    with pytest.raises(ValueError, match="clicked must hold positions"):
        team_draft_credit(Interleaved(("a",), ("A",)), [3])


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def test_sign_test_matches_scipy_binomtest():
    r = analyze_counts(530, 470, 300)
    assert r.p_value == pytest.approx(stats.binomtest(530, 1000, 0.5).pvalue, rel=1e-12)
    assert r.delta == pytest.approx((530 + 150) / 1300 - 0.5)


def test_interval_matches_a_clustered_bootstrap_over_users():
    rng = np.random.default_rng(3)
    n = 1500
    scores = rng.choice([1.0, 0.5, 0.0], size=n, p=[0.38, 0.3, 0.32])
    wa, t = int((scores == 1).sum()), int((scores == 0.5).sum())
    r = analyze_counts(wa, n - wa - t, t)
    boot = rng.choice(scores, size=(4000, n)).mean(axis=1) - 0.5
    assert r.delta == pytest.approx(scores.mean() - 0.5)
    assert r.se == pytest.approx(boot.std(), rel=0.05)
    assert r.se == pytest.approx(scores.std(ddof=1) / np.sqrt(n), rel=1e-12)


def test_delta_and_p_are_symmetric_under_swapping_a_and_b():
    one, two = analyze_counts(300, 250, 80), analyze_counts(250, 300, 80)
    assert one.delta == pytest.approx(-two.delta)
    assert one.p_value == pytest.approx(two.p_value)
    assert one.ci_low == pytest.approx(-two.ci_high)


def test_false_alarm_rate_on_null_logs_is_near_alpha():
    # 4000 seeded A-vs-A logs of 400 users (35% / 35% / 30% ties): measured 4.65% for the sign
    # test and 5.45% for the interval; both must stay within 3.2 SE of 5%.
    rng = np.random.default_rng(20260302)
    sims, n = 4000, 400
    counts = rng.multinomial(n, [0.35, 0.35, 0.30], size=sims)
    flagged_sign = np.array(
        [analyze_counts(*row).p_value < 0.05 for row in counts], dtype=float
    ).mean()
    flagged_ci = np.array(
        [not (r.ci_low <= 0 <= r.ci_high) for r in (analyze_counts(*row) for row in counts)]
    ).mean()
    se = np.sqrt(0.05 * 0.95 / sims)
    assert flagged_sign <= 0.05 + 3.2 * se
    assert abs(flagged_ci - 0.05) <= 3.2 * se


def test_planted_preference_is_found():
    r = analyze_counts(620, 480, 300)
    assert r.preferred == "A"
    assert r.ci_low > 0


def test_degenerate_counts_return_error_codes():
    assert analyze_counts(0, 0, 0).error == "no_users"
    assert analyze_counts(1, 0, 0).error == "one_user"
    with pytest.raises(ValueError, match="wins_a must be >= 0"):
        analyze_counts(-1, 0, 0)


# --------------------------------------------------------------------------------------------
# Sizing
# --------------------------------------------------------------------------------------------


def test_sizing_reaches_the_asked_power_by_simulation():
    delta, ties = 0.03, 0.3
    n = interleaving_users(delta, ties)
    p_a = (1 - ties) / 2 + delta
    rng = np.random.default_rng(11)
    counts = rng.multinomial(n, [p_a, 1 - ties - p_a, ties], size=3000)
    scores = (counts[:, 0] + counts[:, 2] / 2) / n - 0.5
    var = (counts[:, 0] + counts[:, 1]) * 0.25 / n - scores**2
    z = scores / np.sqrt(var * n / (n - 1) / n)
    detected = (np.abs(z) > stats.norm.isf(0.025)).mean()
    assert detected == pytest.approx(0.8, abs=0.03)


def test_ab_side_of_the_sizing_is_abcore_power():
    s = size_test(0.02, 0.25, 0.35, 0.02)
    assert s.ab_users == power.sample_size_proportion(0.35, 0.02).n_total
    assert s.ratio == pytest.approx(s.ab_users / s.interleaving_users)
    assert s.ratio > 10


def test_sizing_validates_parameters():
    with pytest.raises(ValueError, match="tie_share must be < 1"):
        interleaving_users(0.02, 1.0)
    with pytest.raises(ValueError, match=r"delta \(absolute\) must be > 0"):
        interleaving_users(0.0, 0.2)


# --------------------------------------------------------------------------------------------
# Reading a log through DuckDB
# --------------------------------------------------------------------------------------------


def _log() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    n = 3000
    users = rng.integers(0, 400, size=n)
    credit = rng.choice(["A", "B", ""], size=n, p=[0.4, 0.3, 0.3])
    return pd.DataFrame({"user_id": [f"u{u}" for u in users], "credited_to": credit})


def test_user_outcomes_match_pandas():
    log = _log()
    con = ingest.connect()
    ds = ingest.load(con, log)
    got = user_outcomes(con, ds, user="user_id", credit="credited_to")
    per_user = (
        log.assign(a=log["credited_to"].eq("A"), b=log["credited_to"].eq("B"))
        .groupby("user_id")[["a", "b"]]
        .sum()
    )
    expected = (
        int((per_user.a > per_user.b).sum()),
        int((per_user.b > per_user.a).sum()),
        int(((per_user.a == per_user.b) & (per_user.a > 0)).sum()),
        int((per_user.a + per_user.b == 0).sum()),
    )
    assert got == expected
    assert set(credit_levels(con, ds, "credited_to")) == {"A", "B"}


def test_bad_logs_raise_sentences():
    con = ingest.connect()
    ds = ingest.load(con, _log())
    with pytest.raises(InputError, match=r"No row of .* credits a click to 'x' or 'y'"):
        user_outcomes(con, ds, user="user_id", credit="credited_to", label_a="x", label_b="y")
    with pytest.raises(InputError, match="The user column 'nope' is not in"):
        user_outcomes(con, ds, user="nope", credit="credited_to")
    with pytest.raises(InputError, match="must be credited with different values"):
        user_outcomes(con, ds, user="user_id", credit="credited_to", label_a="A", label_b="A")
    with pytest.raises(InputError, match="has more than 5 different values"):
        credit_levels(con, ds, "user_id")


BAD = Path(__file__).parent / "data" / "bad" / "launch"


def test_bad_launch_files_interleaving():
    con = ingest.connect()
    ids = ingest.load(con, BAD / "interleaving_credit_is_user_id.csv")
    with pytest.raises(InputError, match="has more than 5 different values"):
        credit_levels(con, ids, "credited_to")
    left_right = ingest.load(con, BAD / "interleaving_no_ab_labels.csv")
    with pytest.raises(InputError, match="credits a click to 'A' or 'B'"):
        user_outcomes(con, left_right, user="user_id", credit="credited_to")


def test_share_link_counts_round_trip_and_refuse_damage():
    assert counts_from_param(counts_to_param(5, 3, 2, 9)) == (5, 3, 2, 9)
    with pytest.raises(InputError, match="link is damaged"):
        counts_from_param("5-3-x-9")
    with pytest.raises(InputError, match="no user with a credited click"):
        counts_from_param("0-0-0-12")
    with pytest.raises(InputError, match="link is damaged"):  # was int()'s 4,300-digit error
        counts_from_param("9" * 5_000 + "-1-1-1")
    with pytest.raises(ValueError, match="ties must be >= 0"):
        counts_to_param(1, 1, -1, 0)
