"""Saved experiments in the session: the registry (opened once per process), which record the
open experiment is, saving, registering, reopening, snapshots and decision records.

The registry is optional: :func:`registry` returns None and :func:`unavailable` the sentence
when the database is locked, missing or damaged, and every page keeps working without it.
The workspace and the owner come from :func:`ui.auth.identity` only.

The session remembers the open record's id and version (:data:`RECORD_KEY`); a save names the
version it read, so another session's save in between is a :class:`ConflictError` (nothing
is overwritten) that the page words with the other save's time and a way to reload.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import streamlit as st

from abcore import config
from abcore.analysis import Analysis, analyze_aggregates, readout_options
from abcore.experiment import DataSource
from abcore.experiment import Experiment as SessionExperiment
from abcore.model import Mapping, PrepStep
from abcore.registry import (
    ConflictError,
    DataFingerprint,
    Experiment,
    ExperimentNotFound,
    Registry,
    RegistryError,
    RegistryUnavailable,
    Snapshot,
    database_url,
    open_registry,
)
from abcore.share import results_to_dict
from ui import experiment_state as es
from ui import experiments_view as ev
from ui import results_state as rs
from ui.auth import Identity, identity
from ui.prep_view import OP_LABELS
from ui.results_inputs import CORRECTIONS, METHODS
from ui.state import seed

RECORD_KEY = "registry_record"
"""``{"id", "version", "name"}`` of the saved experiment the session has open."""
CONFLICT_KEY = "registry_conflict"
"""The sentence of the last save that lost a race (cleared by a reload or a new save)."""
READOUT_KEY = "registry_readout"
"""The reopened readout: ``(Analysis, label)`` of the latest snapshot, shown without the file."""
SNAPPED_KEY = "registry_snapped"
"""``record id|digest`` of the readouts already snapshotted this session."""
RESTORE_KEY = "registry_restore"
"""``(file hash, column roles, preparation steps)`` of the reopened experiment: the next
upload of that same file starts from them instead of from detection."""
RESTORED_KEY = "registry_restored"
"""The widget prefixes whose preparation steps were seeded from the record (once each)."""
LINK_PARAM = "experiment"
"""The query parameter of a saved experiment's address: ``/experiments?experiment=<id>``."""
LINKED_KEY = "registry_linked"
"""``(id, opened, sentence)`` of the address this session has already followed."""
READOUT_OPTIONS = ("alpha", "correction", "relative_method", "cuped", "strata")


@st.cache_resource(show_spinner=False)
def _open(url: str) -> Registry:
    """One registry per database URL and process (its engine pools the connections); a
    failure is not cached: st.cache_resource does not keep a function that raised, so the
    next run tries again. Keyed by the URL so a changed ``ABCORE_DB_URL`` (a test's own
    file) never reads another database's experiments."""
    return open_registry(url)


def registry() -> Registry | None:
    """The app's one registry (``ABCORE_DB_URL``, else the SQLite file beside the app), or
    None when the database cannot be used (:func:`unavailable` says why)."""
    try:
        return _open(database_url())
    except RegistryUnavailable as exc:
        st.session_state["registry_error"] = str(exc)
        return None


def unavailable() -> str:
    """Why there is no registry, in a sentence the calculators' pages can show."""
    reason = st.session_state.get("registry_error") or "The experiments database cannot be used."
    return f"{reason} Saving is off; every calculator still works."


def who() -> Identity:
    return identity()


def record() -> dict[str, Any] | None:
    """The open saved experiment's id, version and name; None when it is not saved."""
    return st.session_state.get(RECORD_KEY)


def remember(exp: Experiment) -> None:
    st.session_state[RECORD_KEY] = {"id": exp.id, "version": exp.version, "name": exp.name}
    st.session_state.pop(CONFLICT_KEY, None)


def forget() -> None:
    """The open experiment is no longer a saved one (a new experiment, the demo)."""
    for key in (RECORD_KEY, CONFLICT_KEY, READOUT_KEY, RESTORE_KEY):
        st.session_state.pop(key, None)


def session_experiment() -> SessionExperiment:
    """The open experiment with what the current readout holds (its mapping, options,
    preparation and data source), for a save."""
    analysis = st.session_state.get(rs.ANALYSIS_KEY)
    if analysis is None:
        return es.current_experiment()
    opts = {k: getattr(analysis.options, k) for k in READOUT_OPTIONS}
    return es.current_experiment(
        source=_source(analysis),
        mapping=analysis.aggregates.mapping,
        options={k: v for k, v in opts.items() if v is not None},
        preparation=analysis.preparation,
    )


def _source(analysis: Analysis) -> DataSource | None:
    label = st.session_state.get(rs.SOURCE_KEY, "")
    key = st.session_state.get(rs.CURRENT_KEY)
    if not key:
        return None
    loaded = st.session_state.get(rs.DATASETS_KEY, {}).get(key)
    kind = "warehouse" if loaded is not None and loaded.output is not None else "file"
    days = analysis.aggregates.days
    rows = loaded.dataset.n_rows if loaded is not None and loaded.dataset is not None else None
    return DataSource(
        label=str(label)[:200],
        kind=kind,
        sha256=str(key),
        rows=rows,
        first_day=str(days[0])[:40] if len(days) else None,
        last_day=str(days[-1])[:40] if len(days) else None,
    )


def save(reg: Registry, *, reason: str = "") -> Experiment:
    """Create or update the record of the open experiment; raises ConflictError when another
    session saved it since this one read it (the conflict's sentence is kept for the page)."""
    me = who()
    doc = ev.document(session_experiment())
    rec = record()
    try:
        if rec is None:
            exp = reg.create(me.workspace, name=doc["plan"].name, owner=me.user, **doc)
        else:
            exp = reg.update(
                me.workspaces,
                rec["id"],
                expected_version=rec["version"],
                by=me.user,
                name=doc["plan"].name,
                reason=reason,
                **doc,
            )
    except ConflictError as exc:
        st.session_state[CONFLICT_KEY] = conflict_sentence(exc)
        raise
    es.mark_own(follow=es.follows_file())
    remember(exp)
    analysis = st.session_state.get(rs.ANALYSIS_KEY)
    if analysis is not None:  # the readout on screen is the saved experiment's first snapshot
        snapshot_if_new(analysis)
    return exp


def conflict_sentence(exc: ConflictError) -> str:
    when = ev.when(exc.saved_at) if exc.saved_at is not None else "a moment ago"
    return (
        f"Not saved: someone else saved this experiment at {when}, after you opened it. "
        "Nothing was overwritten. Reload their version, then make your change again."
    )


def register(reg: Registry) -> None:
    """Save the open experiment, then freeze its plan (pre-registration)."""
    exp = save(reg)
    reg.register(who().workspaces, exp.id, expected_version=exp.version, by=who().user)
    remember(reg.get(who().workspaces, exp.id))


def snapshot_analysis(snap: Snapshot, plan: Any) -> Analysis:
    """A snapshot's readout from its aggregated cells alone, as a results link is read
    (:func:`ui.decision_state._shared_analysis`), with the row-level checks it saved."""
    aggregates, options = snap.readout()
    given = {k: v for k, v in options.items() if k in READOUT_OPTIONS}
    given.setdefault("alpha", config.ALPHA)
    if given.get("strata") not in aggregates.mapping.segments:
        given.pop("strata", None)
    return analyze_aggregates(
        aggregates, checks=snap.checks, options=readout_options(plan, **given), plan=plan
    )


def reopen(reg: Registry, experiment_id: str) -> Experiment:
    """Open a saved experiment: its plan, notes and excluded days on every page, and its
    latest snapshot's readout on Results and Decision without the file."""
    me = who()
    exp = reg.get(me.workspaces, experiment_id)
    own = ev.session_experiment(exp)
    es.start(own.plan)
    es.mark_own()
    st.session_state["decision__notes"] = [dict(n) for n in own.notes]
    st.session_state["decision__exclude"] = list(own.excluded_days)
    seed_settings(own.options)
    if own.source is not None and own.source.kind == "file" and own.mapping is not None:
        st.session_state[RESTORE_KEY] = (own.source.sha256, own.mapping, own.preparation)
    else:
        st.session_state.pop(RESTORE_KEY, None)
    remember(exp)
    snaps = reg.snapshots(me.workspaces, exp.id)
    if snaps:
        try:
            analysis = snapshot_analysis(snaps[-1], None)
        except (RegistryError, ValueError):  # a damaged snapshot: the plan still opens
            analysis = None
        if analysis is not None:
            st.session_state[READOUT_KEY] = (analysis, ev.snapshot_label(snaps[-1]))
            st.session_state[SNAPPED_KEY] = {
                f"{exp.id}|{ev.aggregates_digest(s.results)}" for s in snaps
            }
    return exp


def seed_settings(options: dict[str, Any]) -> None:
    """The Results page's Test settings as saved, for the next upload of the file (the
    reopened readout itself is read with them already)."""
    alpha = options.get("alpha")
    if (
        isinstance(alpha, int | float)
        and config.RESULTS_MIN_ALPHA <= alpha <= config.RESULTS_MAX_ALPHA
    ):
        st.session_state[rs.PREFIX + "alpha"] = float(alpha)
    if options.get("correction") in CORRECTIONS:
        st.session_state[rs.PREFIX + "correction"] = options["correction"]
    if options.get("relative_method") in METHODS:
        st.session_state[rs.PREFIX + "method"] = options["relative_method"]
    if isinstance(options.get("cuped"), bool):
        st.session_state[rs.PREFIX + "cuped"] = options["cuped"]


def saved_roles(file_key: str, detected: Mapping) -> Mapping:
    """The column roles the Results page starts from for the file ``file_key``: the
    reopened experiment's, when it is the file it was saved with (the same bytes, so the same
    columns); else detection's. Detection's notes (arm proxies, empty days) are kept."""
    saved = st.session_state.get(RESTORE_KEY)
    if saved is None or saved[0] != file_key:
        return detected
    return dataclasses.replace(
        saved[1],
        notes=detected.notes,
        guessed=(),
        arm_proxies=detected.arm_proxies,
        empty_days=detected.empty_days,
        id_columns=detected.id_columns,
    )


def seed_preparation(file_key: str, prefix: str) -> None:
    """Tick the reopened experiment's preparation steps on the Results page (keys as
    :mod:`ui.prep_inputs` names them), once per dataset, when ``file_key`` is its file."""
    saved = st.session_state.get(RESTORE_KEY)
    done = st.session_state.setdefault(RESTORED_KEY, set())
    if saved is None or saved[0] != file_key or prefix in done:
        return
    done.add(prefix)
    filters = 0
    for step in saved[2]:
        _seed_step(prefix, step, filters)
        filters += step.kind == "filter"


def _seed_step(prefix: str, step: PrepStep, filter_row: int) -> None:
    key = f"{prefix}prep::{step.kind}::{step.column or ''}"
    if step.kind == "filter":
        row = f"{prefix}prep::filter::{filter_row}"
        label = next((k for k, v in OP_LABELS.items() if v == step.op), None)
        if label is None:
            return
        seed(row + "::column", step.column)
        seed(row + "::op", label)
        seed(row + "::value", ", ".join(str(v) for v in step.values))
        return
    seed(key, True)
    if step.kind == "date_window":
        for end, value in zip(("::from", "::to"), step.values, strict=False):
            if value is not None:
                seed(key + end, dt.date.fromisoformat(str(value)[:10]))


def saved_readout() -> tuple[Analysis, str] | None:
    """The reopened experiment's saved readout, when no file of its own is open."""
    return st.session_state.get(READOUT_KEY)


def snapshot_if_new(analysis: Analysis) -> Snapshot | None:
    """Add the current readout of a saved experiment as a snapshot, once per distinct data
    (aggregates, checks, the data's fingerprint; never rows). Quiet when the registry is off
    or the experiment is not saved: a readout never fails for want of a database."""
    rec = record()
    if rec is None:
        return None
    opts = {k: getattr(analysis.options, k) for k in READOUT_OPTIONS}
    opts = {k: v for k, v in opts.items() if v is not None}
    digest = ev.aggregates_digest(results_to_dict(analysis.aggregates, opts))
    done = st.session_state.setdefault(SNAPPED_KEY, set())
    if f"{rec['id']}|{digest}" in done:
        return None
    reg = registry()
    if reg is None:
        return None
    source = _source(analysis)
    fp = DataFingerprint(
        file_hash=source.sha256 if source else None,
        rows=source.rows if source else None,
        first_day=source.first_day if source else None,
        last_day=source.last_day if source else None,
    )
    me = who()
    try:
        snaps = reg.snapshots(me.workspaces, rec["id"])
        if any(ev.aggregates_digest(s.results) == digest for s in snaps):
            done.add(f"{rec['id']}|{digest}")
            return None
        snap = reg.add_snapshot(
            me.workspaces,
            rec["id"],
            analysis.aggregates,
            opts,
            by=me.user,
            source=source.kind if source else "upload",
            fingerprint=fp,
            checks=analysis.input_checks,
        )
    except RegistryError:
        return None
    done.add(f"{rec['id']}|{digest}")
    st.session_state.pop(READOUT_KEY, None)  # the file's readout is the current one now
    return snap


def linked_id() -> str:
    """The experiment id the address names (``?experiment=<id>``), '' without one."""
    return str(st.query_params.get(LINK_PARAM, "")).strip()[:200]


def open_link(reg: Registry, wanted: str) -> tuple[bool, str]:
    """Follow a saved experiment's address once per session: reopen it when it is in the
    user's workspaces; else a sentence that says it is not in them, never whether it exists
    in another workspace (the registry reads both the same). Returns (opened, sentence);
    the same address again in this session returns the first answer without reopening, so
    a rerun never undoes the user's changes since."""
    done = st.session_state.get(LINKED_KEY)
    if done is not None and done[0] == wanted:
        return done[1], done[2]
    try:
        exp = reopen(reg, wanted)
    except ExperimentNotFound:
        answer = (
            False,
            f"No experiment {wanted!r} is in your workspaces: check the link, or ask its "
            "owner to share it with a results link or to add you to their team.",
        )
    else:
        answer = (True, f"Opened {exp.name!r} from its link: its plan and latest results are "
                  "on every page.")  # fmt: skip
    st.session_state[LINKED_KEY] = (wanted, *answer)
    return answer


def reload_current(reg: Registry) -> Experiment | None:
    """After a conflict: open the saved version again (the other session's change)."""
    rec = record()
    if rec is None:
        return None
    return reopen(reg, rec["id"])


def record_decision(reg: Registry, rec: Any, rationale: str) -> None:
    """Record the Decision page's verdict for the open saved experiment, against its latest
    snapshot. The experiment is saved first, so the record holds the plan the decision was
    made with (a change after registration becomes an amendment, as any save's)."""
    me = who()
    save(reg)
    saved = record()
    snaps = reg.snapshots(me.workspaces, saved["id"])
    reg.record_decision(
        me.workspaces,
        saved["id"],
        verdict=rec.verdict,
        reasons=rec.reasons,
        by=me.user,
        rationale=rationale,
        snapshot_id=snaps[-1].id if snaps else None,
    )
    remember(reg.get(me.workspaces, saved["id"]))
