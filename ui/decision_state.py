"""Session helpers of the Validity & decision page: which analysis, which plan, the A/A.

The analysis comes, in order of preference, from a results share link, from the Results
page, or from the bundled demo (so the page works with zero input). Everything is kept in
``st.session_state``; statistics stay in :mod:`abcore`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from abcore import config, ingest, validity
from abcore.analysis import Analysis, analyze_aggregates, readout_options
from abcore.errors import InputError
from abcore.model import ReadoutOptions
from abcore.plan import ExperimentPlan
from abcore.share import RESULTS_KEY, SharedResults, read_results_link
from ui import results_state as rs
from ui.experiment_state import is_demo
from ui.state import get_connection, get_plan

SHARED_KEY = "shared_results"
SHARED_LABEL = "a shared link (aggregates only)"
LOADED_RESULTS_PARAM = "_loaded_results_param"
NOTES_KEY = "decision__notes"
NOTES_SEED_KEY = "decision__notes_seed"
READOUT_KEY = "registry_readout"
"""A reopened saved experiment's readout (:mod:`ui.experiments_state` sets it)."""


@dataclass(frozen=True, eq=False)
class LoadedAnalysis:
    """The analysis the page shows, where it came from, and its rows when available."""

    analysis: Analysis
    label: str
    dataset: ingest.Dataset | None = None


def load_results_from_link() -> str | None:
    """Adopt the readout a results link carries (aggregates, options, row-level checks,
    preparation steps and date notes), once per link; return an error sentence."""
    packed = st.query_params.get(RESULTS_KEY)
    if not packed or st.session_state.get(LOADED_RESULTS_PARAM) == packed:
        return None
    st.session_state[LOADED_RESULTS_PARAM] = packed
    try:
        shared = read_results_link({RESULTS_KEY: packed})
    except InputError as exc:
        return f"The shared results could not be opened: {exc}"
    except Exception:  # a link is untrusted: any failure (recursion, memory) is a sentence
        return "The shared results could not be opened: the link is malformed."
    st.session_state[SHARED_KEY] = shared
    st.session_state[NOTES_KEY] = [dict(n) for n in shared.notes]
    st.session_state.pop(NOTES_SEED_KEY, None)  # the notes editor starts from the link's
    return None


def matching_plan(plan: ExperimentPlan, analysis: Analysis) -> tuple[ExperimentPlan | None, str]:
    """The plan fitted to the data's arms, or None when its success metric is not in the data.

    Returns the plan to decide with and a sentence explaining any adjustment.
    """
    agg = analysis.aggregates
    known = {m.name for m in agg.mapping.metrics}
    if plan.success is None:
        return None, (
            "The plan has no success metric: pick one on the Plan page to get a launch "
            "recommendation."
        )
    missing = [m.name for m in plan.metrics if m.name not in known]
    if missing:
        names = ", ".join(repr(n) for n in missing)
        return None, (
            f"The plan's metric{'s' if len(missing) > 1 else ''} {names} "
            f"{'are' if len(missing) > 1 else 'is'} not in this data (its metrics: "
            f"{', '.join(sorted(known))}). On the Results page, say which column holds each "
            "or drop it from the plan; the recommendation follows."
        )
    if set(plan.expected_shares) == set(agg.variants) and plan.control == agg.control:
        return plan, ""
    shares = {arm: 1 / len(agg.variants) for arm in agg.variants}
    fitted = dataclasses.replace(plan, expected_shares=shares, control=agg.control)
    return fitted, (
        f"The plan's arms ({', '.join(plan.expected_shares)}) are not this data's arms "
        f"({', '.join(agg.variants)}): the decision assumes an equal split with "
        f"{agg.control} as the control. Name the arms and the control's share on the Plan "
        "page (Traffic and arms) to change that."
    )


def _rerun(analysis: Analysis, plan: ExperimentPlan | None) -> Analysis:
    """The same aggregates and options, decided with ``plan``."""
    return analyze_aggregates(
        analysis.aggregates,
        expected_shares=analysis.expected_shares,
        plan=plan,
        checks=analysis.input_checks,
        preparation=analysis.preparation,
        options=_same_options(analysis, plan),
    )


def _same_options(analysis: Analysis, plan: ExperimentPlan | None) -> ReadoutOptions:
    """The analysis's alpha, correction, interval and strata, read with ``plan``'s method."""
    return readout_options(
        plan,
        alpha=analysis.alpha,
        correction=analysis.correction,
        relative_method=analysis.relative_method,
        strata=analysis.options.strata,
    )


def without_days(
    analysis: Analysis, plan: ExperimentPlan | None, excluded: Sequence[Any]
) -> Analysis:
    """The analysis again without the units first exposed on the ``excluded`` days.

    Raises:
        ValueError: a day that is not in the data (a sentence says which).
    """
    return analyze_aggregates(
        validity.exclude_days(analysis.aggregates, excluded),
        expected_shares=analysis.expected_shares,
        plan=plan,
        checks=analysis.input_checks,
        preparation=analysis.preparation,
        options=_same_options(analysis, plan),
    )


def shared_analysis(plan: ExperimentPlan | None = None) -> LoadedAnalysis | None:
    """The readout a results link carries, as its owner saw it (None: no link open).

    ``plan`` decides it when its arms are the data's (as the Results page decides an upload:
    :func:`ui.results_state.plan_for`); None: no verdict yet (the Decision page fits its plan).

    The link's row-level checks and preparation steps join the analysis, so the checks, the
    exclusions and the verdict are the owner's; its options (alpha, correction, interval,
    CUPED, strata, the planned split) are read as the Results page offers them.
    """
    shared = st.session_state.get(SHARED_KEY)
    if shared is None:
        return None
    if isinstance(shared, tuple):  # (aggregates, options), as the link carried before
        shared = SharedResults(*shared)
    aggregates, options = shared.aggregates, shared.options
    allowed = {"alpha", "correction", "relative_method", "cuped", "strata"}
    given = {k: v for k, v in options.items() if k in allowed}
    given.setdefault("alpha", config.ALPHA)
    if given.get("strata") not in aggregates.mapping.segments:  # a link is untrusted
        given.pop("strata", None)
    shares = options.get("expected_shares")
    if shares is not None and set(shares) != set(aggregates.variants):
        shares = None  # a link is untrusted: a split that names other arms is not read
    plan = rs.plan_for(aggregates, plan) if plan is not None else None
    base = analyze_aggregates(
        aggregates,
        expected_shares=shares,
        plan=plan,
        checks=shared.checks,
        preparation=shared.preparation,
        options=readout_options(plan, **given),
    )
    return LoadedAnalysis(base, SHARED_LABEL)


def _results_analysis() -> LoadedAnalysis | None:
    analysis = st.session_state.get(rs.ANALYSIS_KEY)
    if analysis is None:
        return None
    current = st.session_state.get(rs.CURRENT_KEY)
    loaded = st.session_state.get(rs.DATASETS_KEY, {}).get(current)
    label = st.session_state.get(rs.SOURCE_KEY, "the Results page")
    rows = st.session_state.get(rs.ROWS_KEY)  # the prepared rows, when preparation ran
    if rows is None and loaded is not None:
        rows = loaded.dataset
    return LoadedAnalysis(analysis, label, rows)


def _saved_analysis() -> LoadedAnalysis | None:
    """A reopened saved experiment's latest snapshot, read from its cells (no file)."""
    saved = st.session_state.get(READOUT_KEY)
    if saved is None:
        return None
    analysis, label = saved
    return LoadedAnalysis(analysis, label)


def _demo_analysis() -> LoadedAnalysis:
    plan = get_plan()
    selection = rs.select_data(None)
    loaded = selection.loaded
    mapping = rs.with_plan_metrics(loaded.detected, plan, loaded.dataset)
    computed = rs.compute(loaded, mapping, None)
    analysis = rs.analyse(
        computed,
        alpha=plan.alpha,
        correction=config.CORRECTION,
        relative_method=config.RELATIVE_CI,
        cuped=True,
        shares=None,
        plan=rs.plan_for(computed.aggregates, plan),
    )
    rs.publish(analysis, loaded.label)
    return LoadedAnalysis(analysis, loaded.label, loaded.dataset)


def current_analysis() -> LoadedAnalysis | None:
    """The analysis to judge, decided with the current plan (fitted to the data's arms).

    The demo's data only for the demo experiment: the user's own experiment without results
    of its own gets None (the page says so), never the demo's verdict.
    """
    loaded = shared_analysis() or _results_analysis() or _saved_analysis()
    if loaded is None and not is_demo():
        return None
    loaded = loaded or _demo_analysis()
    plan, _ = matching_plan(get_plan(), loaded.analysis)
    analysis = loaded.analysis
    same = (analysis.plan is None and plan is None) or (
        analysis.plan is not None
        and plan is not None
        and analysis.plan.to_dict() == plan.to_dict()  # sizes too, not only the inputs
    )
    if not same:
        analysis = _rerun(analysis, plan)
    return dataclasses.replace(loaded, analysis=analysis)


def run_aa(loaded: LoadedAnalysis, metric: str, simulations: int) -> validity.AAResult:
    """The simulated A/A on this session's rows of the current data."""
    if loaded.dataset is None:
        raise InputError("the simulated A/A needs the uploaded rows, not a shared link.")
    return validity.simulate_aa(
        get_connection(),
        loaded.dataset,
        loaded.analysis.aggregates.mapping,
        metric,
        simulations=simulations,
        alpha=loaded.analysis.alpha,
    )


def date_notes() -> list[dict[str, Any]]:
    """Notes on dates (holiday, outage...) the user wrote, for the time charts."""
    return list(st.session_state.get(NOTES_KEY, []))
