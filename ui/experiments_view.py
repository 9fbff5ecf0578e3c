"""The Experiments page in words and tables, without Streamlit: how a session's experiment
becomes a registry document and back, the list's table, the timeline's, and the learning
views' rows (their statistics are :mod:`abcore.learning`'s).

The registry stores a document of five fields (plan, mapping, options, exclusions, notes);
the session's :class:`abcore.experiment.Experiment` has a few more (the data source, the
preparation steps, the dated notes). They ride in ``options`` under keys of their own
(:data:`EXTRA`), so a saved experiment reopens with every page populated and the registry's
schema does not change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from abcore import learning
from abcore.experiment import DataSource
from abcore.experiment import Experiment as SessionExperiment
from abcore.model import PrepStep
from abcore.plan import ExperimentPlan
from abcore.registry import Amendment, Decision, Experiment, Snapshot, TimelineEntry

SOURCE, PREPARATION, DATE_NOTES = "_source", "_preparation", "_date_notes"
EXTRA = (SOURCE, PREPARATION, DATE_NOTES)
"""Keys of ``options`` that hold the session experiment's fields the registry has no column
for."""
STATUS_LABELS = {
    "draft": "Draft",
    "registered": "Registered",
    "running": "Running",
    "decided": "Decided",
    "archived": "Archived",
}
VERDICT_LABELS = {
    "ship": "Ship",
    "dont_ship": "Don't ship",
    "keep_running": "Keep running",
    "investigate": "Investigate",
}


def document(exp: SessionExperiment) -> dict[str, Any]:
    """What a save writes for the session's experiment (the arguments of
    :meth:`abcore.registry.Registry.create` / ``update`` but the name and owner)."""
    options = dict(exp.options)
    if exp.source is not None:
        options[SOURCE] = exp.source.to_dict()
    if exp.preparation:
        options[PREPARATION] = [s.to_dict() for s in exp.preparation]
    if exp.notes:
        options[DATE_NOTES] = [dict(n) for n in exp.notes]
    return {
        "plan": exp.plan,
        "mapping": exp.mapping,
        "options": options,
        "exclusions": list(exp.excluded_days),
    }


def session_experiment(record: Experiment) -> SessionExperiment:
    """The saved record as the session's experiment (never the demo)."""
    options = dict(record.options)
    source = options.pop(SOURCE, None)
    prep = options.pop(PREPARATION, None) or ()
    notes = options.pop(DATE_NOTES, None) or ()
    return SessionExperiment(
        plan=ExperimentPlan.from_dict(record.plan),
        source=DataSource.from_dict(source) if source else None,
        mapping=record.column_mapping(),
        options=options,
        preparation=tuple(PrepStep.from_dict(s) for s in prep),
        notes=tuple({"day": str(n["day"]), "note": str(n["note"])} for n in notes),
        excluded_days=tuple(str(d) for d in record.exclusions),
    )


def aggregates_digest(results: dict[str, Any]) -> str:
    """A hash of a readout's aggregated cells, so the same data is snapshotted once."""
    cells = json.dumps(results.get("aggregates"), sort_keys=True, default=str)
    return hashlib.sha256(cells.encode()).hexdigest()


def when(at: dt.datetime) -> str:
    """A stored time (UTC) as the page shows it."""
    return f"{at:%Y-%m-%d %H:%M} UTC"


def list_frame(experiments: Sequence[Experiment]) -> pd.DataFrame:
    """The list's table: one row per experiment, last saved first."""
    return pd.DataFrame(
        {
            "Name": [e.name for e in experiments],
            "Status": [STATUS_LABELS.get(e.status, e.status) for e in experiments],
            "Verdict": [VERDICT_LABELS.get(e.verdict or "", e.verdict or "") for e in experiments],
            "Owner": [e.owner for e in experiments],
            "Created": [e.created_at.strftime("%Y-%m-%d") for e in experiments],
            "Last saved": [e.updated_at.strftime("%Y-%m-%d %H:%M") for e in experiments],
        }
    )


def option_label(exp: Experiment) -> str:
    """How the experiment is named in the picker: name, status and last save."""
    status = STATUS_LABELS.get(exp.status, exp.status).lower()
    return f"{exp.name} · {status} · saved {exp.updated_at:%Y-%m-%d}"


EXPERIMENTS_PATH = "experiments"
"""The Experiments page's address (app.py's ``url_path``)."""


def experiment_address(page_url: str | None, experiment_id: str) -> str:
    """A saved experiment's address: the Experiments page with ``?experiment=<id>``.
    ``page_url`` is ``st.context.url`` (the browser's address without its query; None in a
    test), so the link names the host the user sees, behind a proxy's path too.

    >>> experiment_address("https://ab.example.com/team/experiments", "e1")
    'https://ab.example.com/team/experiments?experiment=e1'
    >>> experiment_address("http://localhost:8501/", "e 1")
    'http://localhost:8501/experiments?experiment=e%201'
    >>> experiment_address(None, "e1")
    '/experiments?experiment=e1'
    """
    base = (page_url or "").split("?")[0].split("#")[0].rstrip("/")
    if not base.endswith("/" + EXPERIMENTS_PATH):
        base = f"{base}/{EXPERIMENTS_PATH}"
    return f"{base}?experiment={urllib.parse.quote(experiment_id, safe='')}"


def timeline_frame(entries: Iterable[TimelineEntry]) -> pd.DataFrame:
    """The timeline's table, oldest first."""
    rows = [
        {"When": when(e.at), "What": e.kind.capitalize(), "Who": e.by, "Detail": e.summary}
        for e in entries
    ]
    return pd.DataFrame(rows, columns=["When", "What", "Who", "Detail"])


def amendment_lines(amendments: Iterable[Amendment]) -> list[str]:
    """One sentence per amendment: ``2026-12-07 14:02 UTC, ana: changed after launch: …``."""
    return [
        f"{when(a.amended_at)}, {a.amended_by}: {a.text}" + (f" ({a.reason})" if a.reason else "")
        for a in amendments
    ]


def decision_line(d: Decision) -> str:
    """``Ship, recorded by ana on 2026-12-07 14:02 UTC``."""
    verdict = VERDICT_LABELS.get(d.verdict, d.verdict)
    return f"{verdict}, recorded by {d.decided_by} on {when(d.decided_at)}"


def snapshot_label(s: Snapshot) -> str:
    """Where a reopened readout came from, for the pages' data line."""
    fp = s.fingerprint
    rows = f", {fp.rows:,} rows" if fp.rows is not None else ""
    return f"the saved readout of {when(s.taken_at)} ({s.source}{rows})"


# --- learning ----------------------------------------------------------------------------


def past_results(
    effects: pd.DataFrame, *, name: str, won: bool, alpha: float
) -> dict[str, learning.PastResult]:
    """One past result per metric of a decided experiment's readout (its first treatment
    arm), the relative lift and its standard error (:func:`abcore.learning.relative_se`)."""
    out: dict[str, learning.PastResult] = {}
    for row in effects.to_dict("records"):
        metric = str(row["metric"])
        if metric in out:
            continue
        se = learning.relative_se(row["rel_ci_low"], row["rel_ci_high"], alpha=alpha)
        if se is None or row["rel_effect"] is None or pd.isna(row["rel_effect"]):
            continue
        out[metric] = learning.PastResult(float(row["rel_effect"]), se, won=won, name=name)
    return out


def distribution_frame(results: Sequence[learning.PastResult]) -> pd.DataFrame:
    """The observed relative effects, one row per experiment (for the histogram)."""
    return pd.DataFrame(
        {
            "Experiment": [r.name for r in results],
            "Observed lift": [r.estimate for r in results],
            "Won": ["shipped" if r.won else "not shipped" for r in results],
        }
    )


def shrinkage_frame(s: learning.Shrinkage) -> pd.DataFrame:
    """Each win's raw estimate beside its shrunken one and interval (the winner's curse)."""
    level = f"{1 - s.alpha:.0%}"
    rows = [
        {
            "Experiment": e.name,
            "Raw lift": e.estimate,
            "Shrunken lift": e.shrunk,
            f"Shrunken {level} CI": f"{e.shrunk_ci_low:+.1%} to {e.shrunk_ci_high:+.1%}",
        }
        for e in s.estimates
        if e.won
    ]
    return pd.DataFrame(
        rows, columns=["Experiment", "Raw lift", "Shrunken lift", f"Shrunken {level} CI"]
    )


PLAN_LABELS = {
    "baseline": "Baseline",
    "sd": "Standard deviation",
    "daily_units": "Daily units",
    "days": "Days",
    "control_units": "Control units",
}


def plan_actual_frame(rows: Sequence[learning.TeamNumber]) -> pd.DataFrame:
    """The team's observed-over-planned ratios, one row per assumption some experiment
    recorded both planned and observed (the others have nothing to say)."""
    kept = [r for r in rows if r.n and r.median_ratio is not None]
    return pd.DataFrame(
        {
            "Assumption": [PLAN_LABELS.get(r.quantity, r.quantity) for r in kept],
            "Observed / planned": [r.median_ratio for r in kept],
            "Middle half": [f"{r.low:.2f}x to {r.high:.2f}x" for r in kept],
            "Experiments": [r.n for r in kept],
        }
    )
