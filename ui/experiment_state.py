"""The session's experiment: which one is open, whether it is the demo, and binding a file.

The plan itself stays where every page reads it (:func:`ui.state.get_plan`); this module
keeps what makes the experiment the user's own around it: whether it is the bundled demo,
whether its plan still waits for a file to follow (a new experiment), the notes of the last
binding, and :func:`current_experiment`, the whole :class:`abcore.experiment.Experiment` as
the pages hold it (for the registry and the JSON export).

Rules it enforces (issue "an experiment of your own"):

- an upload made while the demo is open starts a new experiment: the demo's plan never
  judges a user's file;
- a new experiment's plan follows its first file (:func:`abcore.experiment.plan_from_data`);
- the user's own plan is fitted to a file (:func:`abcore.experiment.bind_plan`): arms,
  control and split follow the file; a missing metric is a question on Results.
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePath
from typing import Any

import streamlit as st

from abcore.experiment import DataSource, Experiment, bind_plan, plan_from_data
from abcore.model import Aggregates
from abcore.plan import ExperimentPlan
from ui.state import DEMO_FLAG_KEY, demo_plan, get_plan, set_plan

FOLLOW_KEY = "experiment_follows_file"
"""Set while a new experiment's plan waits for its first file (its metrics come from it)."""
BOUND_KEY = "experiment_bound_to"
"""The data key the plan was last bound to, so binding runs once per file, not per rerun."""
BIND_NOTES_KEY = "experiment_bind_notes"
RESULT_KEYS = (
    "analysis",
    "aggregates",
    "analysis_source",
    "analysis_rows",
    "results_current",
    "shared_results",
    "decision__notes",
    "decision__exclude",
    "registry_record",
    "registry_readout",
    "registry_conflict",
)
"""Session keys that hold one experiment's readout and its saved record; a new experiment
starts without them."""


def is_demo() -> bool:
    """Whether the open experiment is the bundled demo (a fresh session opens on it)."""
    return bool(st.session_state.get(DEMO_FLAG_KEY, True))


def follows_file() -> bool:
    """Whether the open experiment's plan still waits for a file to take its metrics from."""
    return is_demo() or bool(st.session_state.get(FOLLOW_KEY, False))


def mark_own(*, follow: bool = False) -> None:
    """The open experiment is the user's (a link, an edit of a template): not the demo."""
    st.session_state[DEMO_FLAG_KEY] = False
    st.session_state[FOLLOW_KEY] = follow


def start(
    plan: ExperimentPlan, *, demo: bool = False, follow: bool = False, keep_upload: bool = False
) -> None:
    """Open a new experiment: ``plan``, no readout, every page's widgets from the plan.

    ``follow`` (a blank experiment, or one started from a file) makes its plan take the
    metrics, arms and split of the first file uploaded. ``keep_upload``: the experiment
    starts from the file just uploaded on Results, so that page's widgets stay.
    """
    for key in RESULT_KEYS:
        if not (keep_upload and key == "results_current"):
            st.session_state.pop(key, None)
    prefixes = ("decision__",) if keep_upload else ("results__", "decision__")
    for key in [k for k in st.session_state if str(k).startswith(prefixes)]:
        del st.session_state[key]
    st.session_state.pop(BOUND_KEY, None)
    st.session_state.pop(BIND_NOTES_KEY, None)
    set_plan(plan, reset_widgets=True)
    st.session_state[DEMO_FLAG_KEY] = demo
    st.session_state[FOLLOW_KEY] = follow and not demo


def start_demo() -> None:
    start(demo_plan(), demo=True)


def start_blank(name: str = "Untitled experiment") -> None:
    """A new experiment whose plan follows the first file (or is typed on Plan)."""
    base = demo_plan()
    blank = ExperimentPlan(
        name=name.strip() or "Untitled experiment",
        alpha=base.alpha,
        power=base.power,
        alternative=base.alternative,
    )
    start(blank, follow=True)


def experiment_name(label: str) -> str:
    """A new experiment's name from the files it was started with."""
    stems = [PurePath(part.strip()).stem for part in label.split(" + ")]
    return " + ".join(s for s in stems if s) or "Untitled experiment"


def on_new_upload(label: str) -> None:
    """A new file arrived on Results: leaving the demo starts the user's own experiment."""
    if is_demo():
        plan = get_plan()
        name = experiment_name(label)
        start(dataclasses.replace(plan, name=name), follow=True, keep_upload=True)


def bind(data_key: str, aggregates: Aggregates, label: str) -> ExperimentPlan:
    """Fit the plan to the data once per file and roles: a new experiment takes its metrics,
    arms and split from it; the user's own plan takes its arms, control and split. Returns
    the plan to read the data with; the sentences of what changed are in
    :func:`bind_notes`."""
    plan = get_plan()
    key = f"{data_key}|{','.join(aggregates.variants)}|{aggregates.control}"
    if st.session_state.get(BOUND_KEY) == key:
        return plan
    if follows_file():
        untitled = is_demo() or plan.name == ExperimentPlan().name  # named after the file
        name = experiment_name(label) if untitled else plan.name
        success = plan.success.name if plan.success is not None else None
        binding = plan_from_data(aggregates, name=name, base=plan, success=success)
        st.session_state[FOLLOW_KEY] = False
        st.session_state[DEMO_FLAG_KEY] = False
    else:
        binding = bind_plan(plan, aggregates)
    st.session_state[BOUND_KEY] = key
    st.session_state[BIND_NOTES_KEY] = list(binding.notes)
    if binding.plan != plan:
        set_plan(binding.plan, reset_widgets=True)
    return binding.plan


def bind_notes() -> list[str]:
    """What the last binding changed in the plan, in sentences."""
    return list(st.session_state.get(BIND_NOTES_KEY, []))


def current_experiment(source: DataSource | None = None, **readout: Any) -> Experiment:
    """The open experiment as one value: the plan, the demo flag, and what the pages hold."""
    notes = tuple(st.session_state.get("decision__notes", []))
    excluded = tuple(str(d) for d in st.session_state.get("decision__exclude", []))
    return Experiment(
        plan=get_plan(),
        is_demo=is_demo(),
        source=source,
        notes=notes,
        excluded_days=excluded,
        **readout,
    )
