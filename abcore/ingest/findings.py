"""What detection finds beside the roles: columns that restate the arm, empty count days,
pre-period columns, and which arm is the control.

Each finding is returned typed (a page reads the field, never the sentence) with the
sentence that explains it; :func:`abcore.ingest.detect_schema` puts both on the
:class:`~abcore.model.Mapping`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb

from abcore import config
from abcore.detect_sql import arm_agreement_sql, empty_days_sql
from abcore.ingest._base import Dataset
from abcore.ingest._run import _run_data
from abcore.sql import normalize_name

# --- the control arm ---------------------------------------------------------------------

_CONTROL_TOKENS = {
    "control",
    "ctrl",
    "holdout",
    "baseline",
    "default",
    "old",
    "original",
    "existing",
    "current",
    "legacy",
    "placebo",
}
"""A token of an arm's name that makes it the control ("old_page", "Control group")."""
_ABSENCE_TOKENS = {"no", "non", "none", "without", "off"}
"""A first token that says the arm gets nothing ("No ads", "no_discount", "none")."""


def control_by_name(levels: Sequence[str]) -> str | None:
    """The arm whose name says it is the control, if one does.

    In order: an exact label of ``config.CONTROL_LABELS`` (control, ctrl, baseline, a...),
    a name starting with no / none / without ("No ads"), then a name holding a control word
    (old, holdout, default, existing...: "old_page").

    >>> control_by_name(["Treatment", "No ads"]), control_by_name(["new_page", "old_page"])
    ('No ads', 'old_page')
    >>> control_by_name(["gate_30", "gate_40"]) is None
    True
    """
    lowered = {str(lvl).strip().lower(): lvl for lvl in levels}
    for label in config.CONTROL_LABELS:
        if label in lowered:
            return lowered[label]
    tokens = {lvl: normalize_name(lvl).split("_") for lvl in levels}
    for lvl, toks in tokens.items():
        if toks and toks[0] in _ABSENCE_TOKENS:
            return lvl
    for lvl, toks in tokens.items():
        if set(toks) & _CONTROL_TOKENS:
            return lvl
    return None


def _natural_key(level: str) -> tuple[object, ...]:
    """Sort key reading runs of digits as numbers: v2 before v10, gate_30 before gate_40."""
    return tuple(int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", level))


def pick_control(levels: Sequence[tuple[str, int]], variant: str | None) -> tuple[str, str | None]:
    """The control among ``(arm, rows)`` and, when it is a guess, the sentence saying so.

    An arm named like a control wins. Otherwise the largest arm, when it is clearly the
    largest (``config.CONTROL_LARGEST_RATIO`` times the next: a holdout design keeps most
    units on the old experience); otherwise, with arms of about equal size, the first in
    natural order (``gate_30`` before ``gate_40``, ``v1`` before ``v2``: the number that
    was there first), since size says nothing then.

    >>> pick_control([("gate_30", 44700), ("gate_40", 45489)], "version")[0]
    'gate_30'
    >>> pick_control([("blue", 9600), ("red", 400)], "colour")[0]
    'blue'
    """
    names = [str(lvl) for lvl, _ in levels]
    named = control_by_name(names)
    if named is not None or len(levels) < 2:
        return (named if named is not None else names[0]), None
    by_size = sorted(levels, key=lambda lr: -lr[1])
    (big, big_n), (_, next_n) = by_size[0], by_size[1]
    labels = "control, ctrl, no …, none, holdout, baseline, default, old, A"
    if big_n >= config.CONTROL_LARGEST_RATIO * next_n:
        return str(big), (
            f"No arm of '{variant}' is named like a control ({labels}): '{big}', the largest "
            f"arm ({big_n:,} rows against {next_n:,}), was taken as the control. Change it if "
            "that is wrong."
        )
    first = min(names, key=_natural_key)
    return first, (
        f"No arm of '{variant}' is named like a control ({labels}) and the arms are of about "
        f"equal size: '{first}', the first in order, was taken as the control. Change it if "
        "that is wrong."
    )


# --- an arm column found by its values ------------------------------------------------

_TREATMENT_TOKENS = {
    "treatment",
    "treat",
    "test",
    "variant",
    "variation",
    "experiment",
    "exp",
    "new",
    "challenger",
    "arm",
}


def arm_value_score(levels: Sequence[tuple[str, int]]) -> int:
    """How much a column's values look like arms (0 when they do not).

    A control-like value counts 3, a treatment-like value 2, letters A, B, C... 2, names
    that differ only by a number (``v1``/``v2``, ``gate_30``/``gate_40``) 1, and arms of
    similar size (the smallest at least a fifth of the largest) 1. A column scoring 3 or
    more is an arm column even with an unusual name.

    >>> arm_value_score([("A", 100), ("B", 98), ("C", 103)])
    3
    >>> arm_value_score([("DE", 100), ("FR", 98), ("UK", 103)])
    1
    """
    names = [str(lvl).strip() for lvl, _ in levels]
    if not 2 <= len(names) <= config.VARIANT_MAX_LEVELS:
        return 0
    score = 0
    strict = [n for n in names if n.lower() not in ("a", "c", "0", "false", "off", "base")]
    if control_by_name(strict) is not None:
        score += 3
    if any(set(normalize_name(n).split("_")) & _TREATMENT_TOKENS for n in names):
        score += 2
    upper = sorted(n.upper() for n in names)
    if upper == [chr(ord("A") + i) for i in range(len(names))]:
        score += 2
    stems = {re.sub(r"\d+", "#", n.lower()) for n in names}
    if len(stems) == 1 and "#" in next(iter(stems)):
        score += 1
    counts = [n for _, n in levels]
    if min(counts) >= 0.2 * max(counts):
        score += 1
    return score


# --- columns that restate the arm ------------------------------------------------------


def arm_proxies(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    variant: str,
    candidates: Sequence[str],
) -> tuple[tuple[str, ...], list[str]]:
    """The ``candidates`` whose value is a function of the arm, and a sentence for each.

    A column restates the arm when each arm has its own value (the one it takes on most of
    the arm's rows, different for every arm) and at most ``config.ARM_PROXY_MAX_MISMATCH``
    of the rows disagree (``landing_page`` in ``ab_data.csv``: ``old_page`` for control,
    ``new_page`` for treatment, except 3,893 rows of 294,478). Such a column is not a
    segment: a segment is fixed before assignment, and splitting by it splits by arm (each
    segment holds one arm, plus the mismatched rows).
    """
    table = dataset.sample if dataset.in_place and dataset.sample else dataset.table
    found: list[str] = []
    notes: list[str] = []
    for column in candidates:
        rows = _run_data(con, dataset, arm_agreement_sql(table, variant, column)).fetchall()
        if len(rows) < 2 or min(int(r[3]) for r in rows) < config.ARM_PROXY_MIN_ROWS:
            continue
        modal = [r[1] for r in rows]
        total = sum(int(r[3]) for r in rows)
        mismatched = total - sum(int(r[2]) for r in rows)
        if None in modal or len(set(modal)) < len(rows):
            continue
        if mismatched > config.ARM_PROXY_MAX_MISMATCH * total:
            continue
        found.append(column)
        pairs = ", ".join(f"'{r[1]}' for {r[0]}" for r in rows)
        # no counts in the sentence: a file read in place is looked at on its first rows
        tail = ", on all but a few rows" if mismatched else ""
        notes.append(
            f"'{column}' restates the arm ({pairs}{tail}), so it is not offered as a segment: "
            "a segment must be fixed before assignment, and this one would split the arms "
            "apart."
            + (
                " The rows where it disagrees with the arm can be dropped in data preparation."
                if mismatched
                else ""
            )
        )
    return tuple(found), notes


# --- days with empty counts ------------------------------------------------------------


def empty_days(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    day: str,
    columns: Sequence[str],
    *,
    file_order: bool,
) -> tuple[tuple[str, ...], list[str]]:
    """The days on which some of ``columns`` is empty, and a sentence naming them.

    The Udacity free-trial files leave Enrollments and Payments empty on their last 14 of
    37 days: the metrics that use them are read over the days where they are present (a
    metric counts only its present rows), so the sentence says so instead of dropping the
    days without a word.
    """
    if not columns:
        return (), []
    sql = empty_days_sql(dataset.table, day, columns, file_order=file_order)
    rows = _run_data(con, dataset, sql).fetchall()
    empty = [r[0] for r in rows if any(r[1:])]
    if not empty:
        return (), []
    cols = [c for i, c in enumerate(columns) if any(r[i + 1] for r in rows)]
    names = " and ".join(", ".join(f"'{c}'" for c in cols).rsplit(", ", 1))
    span = f"'{empty[0]}'" if len(empty) == 1 else f"'{empty[0]}' to '{empty[-1]}'"
    note = (
        f"{names} {'is' if len(cols) == 1 else 'are'} empty on {len(empty)} of {len(rows)} "
        f"days ({span}): the metrics that use {'it' if len(cols) == 1 else 'them'} are read "
        f"over the {len(rows) - len(empty)} days where they are present, the others over all "
        f"{len(rows)}."
    )
    return tuple(empty), [note]


# --- columns that tell experiments or metrics apart ----------------------------------------

_ID_RE = re.compile(
    r"^(?:experiment|exp|test|ab_test|study|metric|kpi|measure)_?(?:id|name|key|code)?$"
)


def is_id_name(name: str) -> bool:
    """Whether a column is named like the id of an experiment or a metric, which a file
    holding several uses to tell them apart (``experiment_id``, ``test_name``, ``metric``).

    >>> [is_id_name(n) for n in ("experiment_id", "Metric Name", "test group", "variant")]
    [True, True, False, False]
    """
    return bool(_ID_RE.match(normalize_name(name)))


def id_sentence(several: Sequence[tuple[str, int]]) -> str:
    """The sentence for id columns with several values: keep one of each before reading."""
    listed = " and ".join(f"'{c}' has {n:,} values" for c, n in several)
    return (
        f"This file holds several experiments or metrics ({listed}): keep one of each with a "
        "row filter in data preparation; the numbers of different experiments are never "
        "added up."
    )


# --- pre-period columns ----------------------------------------------------------------

_PRE_TOKENS = {
    "pre",
    "prior",
    "before",
    "previous",
    "prev",
    "pretest",
    "preperiod",
    "historical",
    "history",
    "recency",
    "lag",
}
_WINDOW_RE = re.compile(
    r"(?:^|_)(?:last|past|prior|previous)_\d+_?(?:d|days?|w|weeks?|m|months?)(?=_|$)"
)
_SINCE_RE = re.compile(r"(?:^|_)(?:days|weeks)_since(?:_last)?(?=_|$)")


def pre_period_base(name: str) -> str | None:
    """The metric a pre-period column shadows (``pre_revenue``, ``revenue_last_30_days``
    and ``prior_revenue`` → ``revenue``), ``""`` when it names none, or ``None`` when the
    column does not look measured before the test.

    >>> [pre_period_base(n) for n in ("revenue_last_30_days", "recency", "revenue")]
    ['revenue', '', None]
    """
    norm = normalize_name(name)
    stripped = _SINCE_RE.sub("", _WINDOW_RE.sub("", norm))
    tokens = [t for t in stripped.split("_") if t]
    hit = stripped != norm or bool(set(tokens) & _PRE_TOKENS)
    if not hit:
        return None
    rest = [t for t in tokens if t not in _PRE_TOKENS and t not in ("period", "test")]
    return "_".join(rest)
