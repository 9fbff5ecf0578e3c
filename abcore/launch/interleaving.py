"""Interleaving tests: merge two rankers' lists, credit clicks, read a preference, size a test.

An interleaving test shows each user one list made from both rankers' results and lets the
clicks say which ranker the user prefers. Because every user compares both rankers on the
same query, the user-to-user noise that an A/B test must average away cancels out, which is why
interleaving needs far fewer users (Chapelle, Joachims, Radlinski, Yue 2012, "Large-scale
validation and analysis of interleaved search evaluation", ACM TOIS 30(1)). How many fewer
depends on the data, so :func:`size_test` computes both sizes from the user's own numbers.

Builders a ranking service can call (pure, seeded by the ``rng`` it passes):

* :func:`team_draft` (Radlinski, Kurup, Joachims 2008, "How does clickthrough data reflect
  retrieval quality?", CIKM): the rankers take turns, like captains picking teams; a coin
  decides who picks first in each round; a click is credited to the team of the item.
* :func:`balanced` (Joachims 2002, "Optimizing search engines using clickthrough data", KDD;
  Joachims 2003): the list alternates the rankers' next results, a coin deciding who leads;
  :func:`balanced_credit` compares clicks within the top k of each ranking.

Analysis of a log (:func:`analyze_counts` on per-user outcomes, :func:`user_outcomes` to get
them from a DuckDB table): each user's clicks credited to A and B decide whether the user
preferred A, B or neither (a tie); users without any credited click are left out. The
preference share ``Delta = (wins_A + ties/2) / n - 0.5`` is a mean of independent per-user
scores (1, 1/2 or 0), so its standard error treats users as the unit. Measured on 4,000
seeded A-vs-A logs of 400 users (``tests/test_interleaving.py``): the sign test flags 4.65%,
the interval excludes 0 in 5.45%, for a nominal 5%.

>>> rng = np.random.default_rng(7)
>>> team_draft(["a", "b", "c", "d"], ["b", "e", "a", "f"], rng=rng)
Interleaved(items=('a', 'b', 'c', 'e', 'd'), teams=('A', 'B', 'A', 'B', 'A'), a_first=None)
>>> r = analyze_counts(wins_a=560, wins_b=440, ties=200)
>>> round(r.delta, 3), r.preferred
(0.05, 'A')
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from scipy.stats import binomtest, norm

from abcore import config
from abcore import power as power_calc
from abcore._checks import check_scalar
from abcore.errors import InputError
from abcore.launch.sql import interleaving_outcomes_sql, value_counts_sql

if TYPE_CHECKING:
    import duckdb

    from abcore.ingest import Dataset

__all__ = [
    "Interleaved",
    "InterleavingResult",
    "Sizing",
    "analyze_counts",
    "balanced",
    "balanced_credit",
    "click_rate",
    "counts_from_param",
    "counts_to_param",
    "credit_levels",
    "size_test",
    "team_draft",
    "team_draft_credit",
    "user_outcomes",
]


class Interleaved(NamedTuple):
    """An interleaved list: the items shown, in order, and which ranker each came from.

    ``teams[i]`` is "A" or "B": for team-draft the team that picked item ``i`` (clicks on it
    are credited to that team); for balanced interleaving the ranker whose turn added it
    (informative only: balanced credit is computed from the two rankings).
    """

    items: tuple[Hashable, ...]
    teams: tuple[str, ...]
    a_first: bool | None = None
    """Balanced interleaving only: whether A led."""


def _check_rankings(ranking_a: Sequence[Hashable], ranking_b: Sequence[Hashable]) -> None:
    for name, ranking in (("ranking_a", ranking_a), ("ranking_b", ranking_b)):
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"{name} must not list an item twice.")


def _limit(length: int | None, ranking_a: Sequence, ranking_b: Sequence) -> int:
    most = len(set(ranking_a) | set(ranking_b))
    if length is None:
        return most
    check_scalar(length, "length", ge=1)
    return min(int(length), most)


def team_draft(
    ranking_a: Sequence[Hashable],
    ranking_b: Sequence[Hashable],
    *,
    rng: np.random.Generator,
    length: int | None = None,
) -> Interleaved:
    """Team-draft interleaving (Radlinski, Kurup, Joachims 2008, Algorithm 2).

    While both rankers still have an item not yet shown, the team with fewer picks (a coin
    when equal) adds its highest-ranked item not yet shown. The coin is drawn only on equal
    teams, so a seeded ``rng`` reproduces the list.

    Args:
        ranking_a: Ranker A's items, best first (no repeats).
        ranking_b: Ranker B's items, best first.
        rng: The random generator (``numpy.random.default_rng(seed)``).
        length: Most items to show (default: every item of either ranking).

    >>> team_draft(["a", "b", "c"], ["b", "c", "a"], rng=np.random.default_rng(1)).items
    ('b', 'a', 'c')
    """
    _check_rankings(ranking_a, ranking_b)
    limit = _limit(length, ranking_a, ranking_b)
    shown: set[Hashable] = set()
    items: list[Hashable] = []
    teams: list[str] = []
    picks = {"A": 0, "B": 0}
    rankings = {"A": list(ranking_a), "B": list(ranking_b)}
    next_index = {"A": 0, "B": 0}

    def next_item(team: str) -> Hashable | None:
        ranking = rankings[team]
        while next_index[team] < len(ranking) and ranking[next_index[team]] in shown:
            next_index[team] += 1
        return ranking[next_index[team]] if next_index[team] < len(ranking) else None

    while len(items) < limit:
        if next_item("A") is None or next_item("B") is None:
            break
        if picks["A"] < picks["B"]:
            team = "A"
        elif picks["B"] < picks["A"]:
            team = "B"
        else:
            team = "A" if rng.integers(2) == 1 else "B"
        item = next_item(team)
        items.append(item)
        teams.append(team)
        shown.add(item)
        picks[team] += 1
    return Interleaved(tuple(items), tuple(teams))


def balanced(
    ranking_a: Sequence[Hashable],
    ranking_b: Sequence[Hashable],
    *,
    rng: np.random.Generator | None = None,
    a_first: bool | None = None,
    length: int | None = None,
) -> Interleaved:
    """Balanced interleaving (Joachims 2002; as written in Radlinski et al. 2008, Algorithm 1).

    Pointers ``ka`` and ``kb`` walk down A and B; the one behind (A on a draw if ``a_first``)
    adds its item unless already shown, and always moves on. Every prefix of the list holds
    the top ``ka`` of A and the top ``kb`` of B with ``|ka - kb| <= 1``.

    Args:
        ranking_a, ranking_b: The rankings, best first.
        rng: Draws ``a_first`` when it is not given.
        a_first: Whether A leads (the coin of the paper), for a reproducible list.
        length: Most items to show.

    Radlinski et al.'s Figure 1 example, A leading:

    >>> balanced(list("abcdgh"), list("beafgh"), a_first=True).items
    ('a', 'b', 'e', 'c', 'd', 'f', 'g', 'h')
    """
    _check_rankings(ranking_a, ranking_b)
    if a_first is None:
        if rng is None:
            raise ValueError("rng must be given when a_first is not.")
        a_first = bool(rng.integers(2) == 1)
    limit = _limit(length, ranking_a, ranking_b)
    items: list[Hashable] = []
    teams: list[str] = []
    shown: set[Hashable] = set()
    ka = kb = 0
    while ka < len(ranking_a) and kb < len(ranking_b) and len(items) < limit:
        if ka < kb or (ka == kb and a_first):
            if ranking_a[ka] not in shown:
                items.append(ranking_a[ka])
                teams.append("A")
                shown.add(ranking_a[ka])
            ka += 1
        else:
            if ranking_b[kb] not in shown:
                items.append(ranking_b[kb])
                teams.append("B")
                shown.add(ranking_b[kb])
            kb += 1
    return Interleaved(tuple(items), tuple(teams), a_first)


def _outcome(credit_a: int, credit_b: int) -> str:
    if credit_a > credit_b:
        return "A"
    if credit_b > credit_a:
        return "B"
    return "tie"


def team_draft_credit(merged: Interleaved, clicked: Sequence[int]) -> str:
    """Which ranker won an impression of a team-draft list: "A", "B" or "tie".

    Each click (a 0-based position in ``merged.items``) counts for the team that picked the
    item; the team with more clicks wins.

    >>> m = Interleaved(("a", "b", "c"), ("A", "B", "A"))
    >>> team_draft_credit(m, [0, 2]), team_draft_credit(m, [0, 1]), team_draft_credit(m, [])
    ('A', 'tie', 'tie')
    """
    for pos in clicked:
        if not 0 <= pos < len(merged.items):
            raise ValueError(f"clicked must hold positions 0..{len(merged.items) - 1}, got {pos}.")
    credit_a = sum(merged.teams[pos] == "A" for pos in set(clicked))
    credit_b = sum(merged.teams[pos] == "B" for pos in set(clicked))
    return _outcome(credit_a, credit_b)


def balanced_credit(
    ranking_a: Sequence[Hashable],
    ranking_b: Sequence[Hashable],
    merged: Interleaved,
    clicked: Sequence[int],
) -> str:
    """Which ranker won an impression of a balanced list (Joachims 2002).

    With ``c`` the lowest clicked item and ``k`` the better of its ranks in A and B, the
    clicks that are in A's top ``k`` are compared with those in B's top ``k``.

    >>> a, b = list("abcdgh"), list("beafgh")
    >>> m = balanced(a, b, a_first=True)          # a b e c d f g h
    >>> balanced_credit(a, b, m, [0, 2])           # a and e clicked: k = 2, A 1 (a), B 1 (e)
    'tie'
    >>> balanced_credit(a, b, m, [2])              # e alone: k = 2, A 0, B 1
    'B'
    """
    if not clicked:
        return "tie"
    for pos in clicked:
        if not 0 <= pos < len(merged.items):
            raise ValueError(f"clicked must hold positions 0..{len(merged.items) - 1}, got {pos}.")
    rank_a = {item: i + 1 for i, item in enumerate(ranking_a)}
    rank_b = {item: i + 1 for i, item in enumerate(ranking_b)}
    docs = [merged.items[pos] for pos in set(clicked)]
    lowest = merged.items[max(clicked)]
    k = min(rank_a.get(lowest, math.inf), rank_b.get(lowest, math.inf))
    credit_a = sum(rank_a.get(d, math.inf) <= k for d in docs)
    credit_b = sum(rank_b.get(d, math.inf) <= k for d in docs)
    return _outcome(credit_a, credit_b)


# --------------------------------------------------------------------------------------------
# Analysis of a log
# --------------------------------------------------------------------------------------------


class InterleavingResult(NamedTuple):
    """Per-user preference between rankers A and B.

    ``delta`` is the preference share minus one half: > 0 means users prefer A. Its
    interval is a normal interval on the mean of per-user scores (users are the unit).
    ``p_value`` is the two-sided sign test (binomial, ties left out) of wins A vs wins B.
    """

    wins_a: int
    wins_b: int
    ties: int
    n_users: int
    delta: float
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    alpha: float
    preferred: str
    """"A", "B" or "none" (the sign test is not significant at ``alpha``)."""
    error: str | None = None

    @property
    def tie_share(self) -> float:
        return self.ties / self.n_users if self.n_users else float("nan")


def analyze_counts(
    wins_a: int, wins_b: int, ties: int, *, alpha: float = config.ALPHA
) -> InterleavingResult:
    """Preference share, its interval and the sign test from per-user outcome counts.

    Per-user score ``s`` is 1 (prefers A), 0.5 (tie) or 0 (prefers B);
    ``Delta = mean(s) - 0.5`` and its standard error is ``sd(s) / sqrt(n)``
    with the ``n - 1`` sample variance.

    >>> r = analyze_counts(60, 40, 0)
    >>> round(r.delta, 2), round(r.p_value, 4)  # scipy.stats.binomtest(60, 100).pvalue
    (0.1, 0.0569)
    >>> analyze_counts(0, 0, 0).error
    'no_users'
    """
    for name, value in (("wins_a", wins_a), ("wins_b", wins_b), ("ties", ties)):
        check_scalar(value, name, ge=0)
    check_scalar(alpha, "alpha", gt=0, lt=1)
    n = int(wins_a + wins_b + ties)
    if n == 0:
        nan = float("nan")
        return InterleavingResult(0, 0, 0, 0, nan, nan, nan, nan, nan, alpha, "none", "no_users")
    delta = (wins_a + ties / 2) / n - 0.5
    second = (wins_a + wins_b) * 0.25 / n
    var = max(second - delta**2, 0.0) * n / (n - 1) if n > 1 else float("nan")
    se = math.sqrt(var / n) if n > 1 else float("nan")
    z = float(norm.isf(alpha / 2))
    decisive = int(wins_a + wins_b)
    p = float(binomtest(int(wins_a), decisive, 0.5).pvalue) if decisive else 1.0
    preferred = "none"
    if p < alpha:
        preferred = "A" if wins_a > wins_b else "B"
    error = None if n > 1 else "one_user"
    return InterleavingResult(
        int(wins_a),
        int(wins_b),
        int(ties),
        n,
        delta,
        delta - z * se,
        delta + z * se,
        se,
        p,
        alpha,
        preferred,
        error,
    )


def credit_levels(con: duckdb.DuckDBPyConnection, dataset: Dataset, credit: str) -> list[str]:
    """The distinct values of the credit column (as text, most frequent first).

    Raises:
        InputError: the column is not in the file, or holds more values than a credit column
            can (A, B and a few spellings of 'no click').
    """
    if credit not in dataset.names:
        raise InputError(
            f"The column '{credit}' is not in {dataset.source}: pick the column that says "
            "which ranker each click was credited to."
        )
    rows = con.execute(
        value_counts_sql(dataset.table, credit), [config.INTERLEAVING_MAX_CREDIT_LEVELS + 1]
    ).fetchall()
    levels = [str(v) for v, _ in rows if str(v).strip()]
    if len(levels) > config.INTERLEAVING_MAX_CREDIT_LEVELS:
        raise InputError(
            f"The column '{credit}' has more than {config.INTERLEAVING_MAX_CREDIT_LEVELS} "
            "different values; a credit column names the ranker of each click (such as A or B). "
            "Pick another column."
        )
    return levels


def user_outcomes(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    *,
    user: str,
    credit: str,
    label_a: str = config.INTERLEAVING_LABELS[0],
    label_b: str = config.INTERLEAVING_LABELS[1],
) -> tuple[int, int, int, int]:
    """Count users who preferred A, preferred B, tied, and had no credited click.

    One DuckDB pass over the log: per user, the clicks credited to ``label_a`` and to
    ``label_b`` (rows with any other value, or none, are impressions without a credited
    click). Identifiers are quoted; the labels are bound as parameters.

    Raises:
        InputError: a column is missing, the two labels are the same, or no row carries
            either label.
    """
    for role, col in (("user", user), ("credit", credit)):
        if col not in dataset.names:
            raise InputError(
                f"The {role} column '{col}' is not in {dataset.source}: pick one of "
                f"{', '.join(repr(n) for n in dataset.names[:8])}."
            )
    if user == credit:
        raise InputError("The user and credit columns must be different columns.")
    if str(label_a) == str(label_b):
        raise InputError("Rankers A and B must be credited with different values.")
    sql = interleaving_outcomes_sql(dataset.table, user, credit)
    wins_a, wins_b, ties, silent = con.execute(sql, [str(label_a), str(label_b)]).fetchall()[0]
    if wins_a + wins_b + ties == 0:
        raise InputError(
            f"No row of {dataset.source} credits a click to '{label_a}' or '{label_b}': "
            f"check the credit column ('{credit}') and the values that name rankers A and B."
        )
    return int(wins_a), int(wins_b), int(ties), int(silent)


def click_rate(wins_a: int, wins_b: int, ties: int, silent: int) -> float:
    """Share of users with at least one credited click: the per-user click rate an A/B test
    of the same rankers would measure (its baseline for sizing).

    >>> click_rate(300, 250, 50, 400)
    0.6
    """
    total = wins_a + wins_b + ties + silent
    if total <= 0:
        raise ValueError("silent must leave at least one user: the log has no users.")
    return (wins_a + wins_b + ties) / total


# --------------------------------------------------------------------------------------------
# Sizing, next to the equivalent A/B test
# --------------------------------------------------------------------------------------------


class Sizing(NamedTuple):
    """Users an interleaving test needs, next to the A/B test on the per-user click rate."""

    interleaving_users: int
    ab_users: int
    """Both arms of the A/B test together."""
    ratio: float
    """``ab_users / interleaving_users``: how many times fewer users interleaving needs."""
    delta: float
    tie_share: float
    ab_baseline: float
    ab_lift: float


def interleaving_users(
    delta: float,
    tie_share: float,
    *,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
) -> int:
    """Users (with a credited click) needed to detect a preference share ``delta``.

    Normal approximation to the test of ``mean(s) = 1/2`` with per-user scores
    s in {0, 1/2, 1}: under H0 ``var(s) = (1 - t) / 4``; under H1 wins A and B take the
    shares ``(1 - t)/2 +- delta``, so ``var(s) = (1 - t) / 4 - delta^2`` (t: tie share).

    >>> interleaving_users(0.02, 0.3)
    3432
    """
    check_scalar(tie_share, "tie_share", ge=0, lt=1)
    check_scalar(alpha, "alpha", gt=0, lt=1)
    check_scalar(power, "power", gt=0, lt=1)
    check_scalar(abs(delta), "delta (absolute)", gt=0, lt=(1 - tie_share) / 2)
    sd0 = math.sqrt((1 - tie_share) / 4)
    sd1 = math.sqrt((1 - tie_share) / 4 - delta**2)
    z_a, z_b = float(norm.isf(alpha / 2)), float(norm.ppf(power))
    return math.ceil(((z_a * sd0 + z_b * sd1) / abs(delta)) ** 2 - 1e-9)


def size_test(
    delta: float,
    tie_share: float,
    ab_baseline: float,
    ab_lift: float = config.INTERLEAVING_AB_LIFT,
    *,
    alpha: float = config.ALPHA,
    power: float = config.POWER,
) -> Sizing:
    """Users for an interleaving test and for the A/B test of the same change.

    ``ab_baseline`` is the per-user click rate (share of users with a click: from the log
    itself) and ``ab_lift`` the relative lift the new ranker would bring in an A/B test;
    the A/B size comes from :func:`abcore.power.sample_size_proportion`.

    >>> s = size_test(0.02, 0.3, 0.4, 0.01)
    >>> s.interleaving_users, s.ab_users, round(s.ratio)
    (3432, 471708, 137)
    """
    users = interleaving_users(delta, tie_share, alpha=alpha, power=power)
    ab = power_calc.sample_size_proportion(ab_baseline, ab_lift, alpha=alpha, power=power).n_total
    return Sizing(users, int(ab), ab / users, delta, tie_share, ab_baseline, ab_lift)


# --------------------------------------------------------------------------------------------
# Share links: the four per-user counts are all the analysis needs
# --------------------------------------------------------------------------------------------


def counts_to_param(wins_a: int, wins_b: int, ties: int, silent: int) -> str:
    """The per-user counts as one compact URL value (no user id leaves the session).

    >>> counts_to_param(1368, 850, 526, 256)
    '1368-850-526-256'
    """
    for name, value in (("wins_a", wins_a), ("wins_b", wins_b), ("ties", ties), ("silent", silent)):
        check_scalar(value, name, ge=0)
    return "-".join(str(int(v)) for v in (wins_a, wins_b, ties, silent))


def counts_from_param(text: str) -> tuple[int, int, int, int]:
    """Read :func:`counts_to_param`'s value back.

    Raises:
        InputError: the value is not four whole numbers (a truncated or edited link).

    >>> counts_from_param("1368-850-526-256")
    (1368, 850, 526, 256)
    """
    parts = str(text).strip().split("-")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 15 for p in parts):
        raise InputError(
            "The shared interleaving link is damaged (it must carry four whole numbers): "
            "ask for the link again."
        )
    a, b, t, s = (int(p) for p in parts)
    if a + b + t == 0:
        raise InputError("The shared interleaving link has no user with a credited click.")
    return a, b, t, s
