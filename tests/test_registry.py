"""The registry's repository on SQLite: saves, versions, workspaces, registration and
amendments, snapshots that reopen a readout, decisions, the timeline, export and import.

``tests/test_registry_postgres.py`` runs every test here again on PostgreSQL (it imports
them and gives them its own ``db_url``), so both engines keep one behaviour.
"""

from __future__ import annotations

import dataclasses
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from engines import assert_same_readout

import abcore
from abcore.errors import InputError
from abcore.model import Mapping, MetricMapping
from abcore.plan import ExperimentPlan
from abcore.registry import (
    ConflictError,
    DataFingerprint,
    ExperimentNotFound,
    Registry,
    RegistryInputError,
    open_registry,
)
from sample_data.generate import make_experiment

TEAM, OTHER = "growth", "payments"
DEMO_PLAN = Path(__file__).resolve().parents[1] / "sample_data" / "demo_plan.json"


@pytest.fixture
def db_url(tmp_path):
    """A SQLite file in a folder that does not exist yet (the registry creates it)."""
    return f"sqlite:///{tmp_path / 'data' / 'abcore.sqlite'}"


@pytest.fixture
def registry(db_url):
    reg = open_registry(db_url)
    yield reg
    reg.close()


@pytest.fixture(scope="module")
def analysis():
    plan = ExperimentPlan.from_json(DEMO_PLAN.read_text(encoding="utf-8"))
    return abcore.analyze(make_experiment(4_000, seed=8), variant="variant", plan=plan)


def make(registry, name="Checkout copy", workspace=TEAM, owner="ana", **kwargs):
    kwargs.setdefault("plan", ExperimentPlan(name=name))
    return registry.create(workspace, name=name, owner=owner, **kwargs)


# --- create, get, list ---------------------------------------------------------------------


def test_create_then_get_returns_the_document(registry):
    mapping = Mapping(variant="arm", control="a", metrics=(MetricMapping("y", "binary"),))
    plan = ExperimentPlan(name="Checkout copy", power=0.9)
    exp = make(
        registry,
        plan=plan,
        mapping=mapping,
        options={"alpha": 0.05, "correction": "holm"},
        exclusions=["bot traffic"],
        notes="launch after the sale",
    )
    again = registry.get(TEAM, exp.id)
    assert again == exp
    assert (again.status, again.version, again.verdict) == ("draft", 1, None)
    assert again.experiment_plan() == plan
    assert again.column_mapping() == mapping
    assert again.exclusions == ("bot traffic",)
    assert again.created_at.tzinfo is not None


def test_list_filters_by_status_owner_and_name(registry):
    a = make(registry, "Checkout copy", owner="ana")
    b = make(registry, "Search ranking 100% v2", owner="ben")
    make(registry, "Pricing page", workspace=OTHER)
    registry.register(TEAM, b.id, expected_version=b.version, by="ben")
    names = lambda found: sorted(e.name for e in found)  # noqa: E731
    assert names(registry.list(TEAM)) == ["Checkout copy", "Search ranking 100% v2"]
    assert names(registry.list(TEAM, status="registered")) == ["Search ranking 100% v2"]
    assert names(registry.list(TEAM, status=["draft", "archived"])) == ["Checkout copy"]
    assert names(registry.list(TEAM, owner="ana")) == ["Checkout copy"]
    assert names(registry.list(TEAM, search="CHECKOUT")) == ["Checkout copy"]
    assert names(registry.list(TEAM, search="100%")) == ["Search ranking 100% v2"]
    assert names(registry.list(TEAM, search="1%")) == []  # % is a character, not a wildcard
    assert registry.list(TEAM)[0].id == b.id  # last saved first
    assert a.id in {e.id for e in registry.list([TEAM, OTHER])}
    with pytest.raises(RegistryInputError, match="status must be one of"):
        registry.list(TEAM, status="live")


def test_bad_input_gets_a_sentence(registry):
    with pytest.raises(InputError, match="alpha"):
        make(registry, plan={"alpha": 2})
    with pytest.raises(RegistryInputError, match="name must be non-empty text"):
        make(registry, name=" ")
    with pytest.raises(RegistryInputError, match="workspaces must name at least one"):
        registry.list([])
    exp = make(registry)
    with pytest.raises(RegistryInputError, match=r"status 'registered' comes from register"):
        registry.update(TEAM, exp.id, expected_version=1, by="ana", status="registered")
    with pytest.raises(RegistryInputError, match="options must be JSON"):
        make(registry, options={"when": object()})


# --- workspaces ----------------------------------------------------------------------------


def test_no_read_or_write_reaches_another_workspace(registry, analysis):
    exp = make(registry, workspace=OTHER)
    v = exp.version
    calls = {
        "get": lambda: registry.get(TEAM, exp.id),
        "update": lambda: registry.update(TEAM, exp.id, expected_version=v, by="x", notes="!"),
        "archive": lambda: registry.archive(TEAM, exp.id, expected_version=v, by="x"),
        "delete": lambda: registry.delete(TEAM, exp.id),
        "register": lambda: registry.register(TEAM, exp.id, expected_version=v, by="x"),
        "registration": lambda: registry.registration(TEAM, exp.id),
        "amendments": lambda: registry.amendments(TEAM, exp.id),
        "snapshot": lambda: registry.add_snapshot(TEAM, exp.id, analysis.aggregates, by="x"),
        "snapshots": lambda: registry.snapshots(TEAM, exp.id),
        "decide": lambda: registry.record_decision(
            TEAM, exp.id, verdict="ship", reasons=[], by="x"
        ),
        "decisions": lambda: registry.decisions(TEAM, exp.id),
        "timeline": lambda: registry.timeline(TEAM, exp.id),
        "duplicate": lambda: registry.duplicate(TEAM, exp.id, owner="x"),
        "export": lambda: registry.export_experiment(TEAM, exp.id),
    }
    for name, call in calls.items():
        with pytest.raises(ExperimentNotFound, match=r"No experiment .* in your workspaces"):
            call()
        assert registry.get(OTHER, exp.id) == exp, name  # nothing changed
    assert registry.list(TEAM) == ()
    assert [e.id for e in registry.list([TEAM, OTHER])] == [exp.id]
    mine = make(registry)
    with pytest.raises(ExperimentNotFound, match="not yours"):
        registry.duplicate(TEAM, mine.id, owner="ana", workspace=OTHER)


# --- versions ------------------------------------------------------------------------------


def test_a_stale_save_raises_a_conflict_and_writes_nothing(registry):
    exp = make(registry)
    first = registry.update(TEAM, exp.id, expected_version=exp.version, by="ana", notes="mine")
    assert first.version == exp.version + 1
    with pytest.raises(ConflictError) as raised:
        registry.update(TEAM, exp.id, expected_version=exp.version, by="ben", notes="theirs")
    saved_at = first.updated_at.strftime("%H:%M")
    assert re.fullmatch(
        rf"Someone else saved this experiment at {saved_at} UTC \(\d{{4}}-\d\d-\d\d\); "
        "reload to see their change.",
        str(raised.value),
    )
    assert raised.value.saved_at == first.updated_at
    assert registry.get(TEAM, exp.id) == first
    with pytest.raises(ConflictError, match="Someone else saved"):
        registry.archive(TEAM, exp.id, expected_version=exp.version, by="ben")
    with pytest.raises(ConflictError, match="Someone else saved"):
        registry.delete(TEAM, exp.id, expected_version=exp.version)


def test_a_save_between_the_check_and_the_write_is_caught(registry, db_url, monkeypatch):
    """The version check and the write are one UPDATE: a save that lands after this one
    read the row (and passed the check in Python) still makes this one a conflict."""
    exp = make(registry)
    other = open_registry(db_url)
    check = Registry._check_version
    raced = []

    def check_then_race(row, expected_version):
        check(row, expected_version)
        if not raced:
            raced.append("ben")
            other.update(TEAM, exp.id, expected_version=1, by="ben", notes="ben")

    monkeypatch.setattr(Registry, "_check_version", staticmethod(check_then_race))
    try:
        with pytest.raises(ConflictError, match="Someone else saved this experiment"):
            registry.update(TEAM, exp.id, expected_version=1, by="ana", notes="ana")
    finally:
        other.close()
    monkeypatch.undo()
    saved = registry.get(TEAM, exp.id)
    assert (saved.notes, saved.version) == ("ben", 2)


def test_two_registries_on_one_database_do_not_lose_a_save(db_url):
    one, two = open_registry(db_url), open_registry(db_url)
    try:
        exp = make(one)
        seen_by_two = two.get(TEAM, exp.id)
        one.update(TEAM, exp.id, expected_version=exp.version, by="ana", name="Ana's name")
        with pytest.raises(ConflictError, match="reload to see their change"):
            two.update(
                TEAM, exp.id, expected_version=seen_by_two.version, by="ben", name="Ben's name"
            )
        assert two.get(TEAM, exp.id).name == "Ana's name"
    finally:
        one.close()
        two.close()


def test_sessions_saving_at_once_lose_no_write(registry):
    """Streamlit serves sessions on threads: eight of them add a line to the notes at the
    same time, each reloading after a conflict; every line is there at the end."""
    exp = make(registry)
    writers, per_writer = 8, 5

    def write(who: int) -> None:
        for k in range(per_writer):
            while True:
                seen = registry.get(TEAM, exp.id)
                try:
                    registry.update(
                        TEAM, exp.id, expected_version=seen.version, by=f"w{who}",
                        notes=seen.notes + f"w{who}-{k}\n",
                    )  # fmt: skip
                    break
                except ConflictError:
                    continue  # reload and apply the line again

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    final = registry.get(TEAM, exp.id)
    lines = final.notes.split()
    assert sorted(lines) == sorted(f"w{w}-{k}" for w in range(writers) for k in range(per_writer))
    assert final.version == 1 + writers * per_writer


# --- registration and amendments -----------------------------------------------------------


def test_register_freezes_the_plan_and_a_later_change_is_an_amendment(registry):
    plan = ExperimentPlan(name="Checkout copy", power=0.8)
    exp = make(registry, plan=plan)
    reg = registry.register(TEAM, exp.id, expected_version=exp.version, by="ana")
    assert reg.plan == plan.to_dict()
    assert reg.fingerprint == plan.fingerprint()
    exp = registry.get(TEAM, exp.id)
    assert exp.status == "registered"
    with pytest.raises(RegistryInputError, match="registered already"):
        registry.register(TEAM, exp.id, expected_version=exp.version, by="ana")
    # a save with a new plan is recorded as an amendment, not silently
    exp = registry.update(
        TEAM,
        exp.id,
        expected_version=exp.version,
        by="ben",
        plan=dataclasses.replace(plan, power=0.9),
        reason="traffic doubled",
    )
    amendment = registry.amend(
        TEAM,
        exp.id,
        dataclasses.replace(plan, power=0.9, alpha=0.01),
        expected_version=exp.version,
        by="ana",
        reason="stricter alpha",
    )
    texts = [a.text for a in registry.amendments(TEAM, exp.id)]
    assert texts == [
        "changed after launch: power 80% → 90%",
        "changed after launch: alpha 0.05 → 0.01",
    ]
    assert amendment.reason == "stricter alpha"
    assert amendment.plan_before["power"] == 0.9
    assert registry.registration(TEAM, exp.id).plan == plan.to_dict()  # stays frozen
    assert registry.get(TEAM, exp.id).experiment_plan().alpha == 0.01
    # notes alone are no amendment
    exp = registry.get(TEAM, exp.id)
    registry.update(TEAM, exp.id, expected_version=exp.version, by="ana", notes="n")
    assert len(registry.amendments(TEAM, exp.id)) == 2


def test_amend_needs_a_registration_and_a_change(registry):
    exp = make(registry)
    with pytest.raises(RegistryInputError, match="not registered yet"):
        registry.amend(TEAM, exp.id, ExperimentPlan(), expected_version=1, by="a", reason="r")
    registry.register(TEAM, exp.id, expected_version=1, by="ana")
    with pytest.raises(RegistryInputError, match="nothing to amend"):
        registry.amend(TEAM, exp.id, exp.plan, expected_version=2, by="ana", reason="r")


# --- snapshots, decisions, the timeline ----------------------------------------------------


def test_a_snapshot_reopens_the_readout_without_the_file(registry, analysis):
    exp = make(registry)
    fp = DataFingerprint.of_bytes(b"the file", rows=4_000, first_day="2026-03-02", last_day="x")
    snap = registry.add_snapshot(
        TEAM,
        exp.id,
        analysis.aggregates,
        {"alpha": 0.05},
        by="ana",
        fingerprint=fp,
        checks=analysis.input_checks,
    )
    assert registry.get(TEAM, exp.id).status == "running"
    (stored,) = registry.snapshots(TEAM, exp.id)
    assert stored == snap
    assert stored.fingerprint == fp
    aggregates, options = stored.readout()
    assert options == {"alpha": 0.05}
    pd.testing.assert_frame_equal(aggregates.frame, analysis.aggregates.frame)
    assert stored.checks == analysis.input_checks != ()
    again = abcore.analyze_aggregates(
        aggregates, plan=analysis.plan, checks=stored.checks, **options
    )
    pd.testing.assert_frame_equal(again.effects, analysis.effects)
    assert again.checks == analysis.checks  # the rows' checks come back with the cells
    assert_same_readout(again, analysis)  # every field, numbers to 1e-9
    assert "u000001" not in json.dumps(stored.results)  # no unit ids: cells, not rows


def test_a_decision_record_sets_the_verdict_and_the_timeline_tells_the_story(registry, analysis):
    exp = make(registry, plan=ExperimentPlan(name="Checkout copy", power=0.8))
    registry.register(TEAM, exp.id, expected_version=1, by="ana")
    registry.amend(
        TEAM, exp.id, ExperimentPlan(name="Checkout copy", power=0.9), expected_version=2,
        by="ben", reason="more traffic",
    )  # fmt: skip
    fp = DataFingerprint("abc", 4_000, "2026-03-02", "2026-03-15")
    snap = registry.add_snapshot(TEAM, exp.id, analysis.aggregates, by="ana", fingerprint=fp)
    rec = analysis.recommendation
    decision = registry.record_decision(
        TEAM,
        exp.id,
        verdict=rec.verdict,
        reasons=[str(r) for r in rec.reasons],
        by="carla",
        rationale="as planned",
        snapshot_id=snap.id,
    )
    assert registry.decisions(TEAM, exp.id) == (decision,)
    listed = registry.list(TEAM)[0]
    assert (listed.status, listed.verdict) == ("decided", rec.verdict)
    timeline = registry.timeline(TEAM, exp.id)
    assert [e.kind for e in timeline] == ["created", "registered", "amended", "snapshot", "decided"]
    assert [e.by for e in timeline] == ["ana", "ana", "ben", "ana", "carla"]
    assert "power 80% → 90% (more traffic)" in timeline[2].summary
    assert timeline[3].summary == "results from upload, 4,000 rows, 2026-03-02 to 2026-03-15"
    assert timeline == tuple(sorted(timeline, key=lambda e: e.at))
    other = make(registry, "Other")
    other_snap = registry.add_snapshot(TEAM, other.id, analysis.aggregates, by="ana")
    with pytest.raises(RegistryInputError, match="not a snapshot of this experiment"):
        registry.record_decision(
            TEAM, exp.id, verdict="ship", reasons=[], by="x", snapshot_id=other_snap.id
        )


# --- duplicate, archive, delete ------------------------------------------------------------


def test_duplicate_archive_delete(registry, analysis):
    exp = make(registry, notes="n", exclusions=["bots"])
    registry.register(TEAM, exp.id, expected_version=1, by="ana")
    registry.add_snapshot(TEAM, exp.id, analysis.aggregates, by="ana")
    copy = registry.duplicate(TEAM, exp.id, owner="ben")
    assert copy.id != exp.id
    assert (copy.name, copy.owner, copy.status, copy.version) == (
        "Copy of Checkout copy", "ben", "draft", 1,
    )  # fmt: skip
    assert copy.document == registry.get(TEAM, exp.id).document
    assert registry.registration(TEAM, copy.id) is None
    assert registry.snapshots(TEAM, copy.id) == ()
    current = registry.get(TEAM, exp.id)
    archived = registry.archive(TEAM, exp.id, expected_version=current.version, by="ana")
    assert archived.status == "archived"
    assert [e.id for e in registry.list(TEAM, status="archived")] == [exp.id]
    registry.delete(TEAM, exp.id, expected_version=archived.version)
    with pytest.raises(ExperimentNotFound):
        registry.get(TEAM, exp.id)
    assert [e.id for e in registry.list(TEAM)] == [copy.id]


# --- export and import ---------------------------------------------------------------------


def full_history(registry, analysis):
    """An experiment with every kind of record, as the app leaves one."""
    exp = make(registry, mapping=Mapping(variant="variant", control="control"), notes="n")
    registry.register(TEAM, exp.id, expected_version=1, by="ana")
    registry.amend(
        TEAM, exp.id, ExperimentPlan(name="Checkout copy", power=0.9), expected_version=2,
        by="ben", reason="r",
    )  # fmt: skip
    fp = DataFingerprint("abc", 10, "2026-03-02", "2026-03-15")
    registry.add_snapshot(TEAM, exp.id, analysis.aggregates, {"alpha": 0.1}, by="a", fingerprint=fp)
    snap = registry.add_snapshot(TEAM, exp.id, analysis.aggregates, by="a", source="warehouse")
    registry.record_decision(
        TEAM, exp.id, verdict="ship", reasons=["won"], by="c", rationale="r", snapshot_id=snap.id
    )
    return exp


def test_export_then_import_into_a_fresh_database_gives_an_equal_record(
    registry, analysis, tmp_path
):
    exp = full_history(registry, analysis)
    exported = registry.export_experiment(TEAM, exp.id)
    text = json.dumps(exported, indent=2, allow_nan=False)  # one JSON file
    fresh = open_registry(f"sqlite:///{tmp_path / 'fresh' / 'other.sqlite'}")
    try:
        imported = fresh.import_experiment(TEAM, text)
        assert imported == registry.get(TEAM, exp.id)
        assert fresh.export_experiment(TEAM, exp.id) == exported
        assert fresh.timeline(TEAM, exp.id) == registry.timeline(TEAM, exp.id)
        assert fresh.decisions(TEAM, exp.id)[0].snapshot_id == fresh.snapshots(TEAM, exp.id)[1].id
        aggregates, _ = fresh.snapshots(TEAM, exp.id)[0].readout()
        pd.testing.assert_frame_equal(aggregates.frame, analysis.aggregates.frame)
    finally:
        fresh.close()


def test_import_into_the_same_database_makes_a_copy_in_the_callers_workspace(registry, analysis):
    exp = full_history(registry, analysis)
    exported = registry.export_experiment(TEAM, exp.id)
    copy = registry.import_experiment(OTHER, exported)
    assert copy.id != exp.id
    assert copy.workspace == OTHER
    assert len(registry.snapshots(OTHER, copy.id)) == 2
    assert registry.get(TEAM, exp.id).workspace == TEAM


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "something else"}', "not an abcore experiment export"),
        ('{"format": "abcore-experiment", "format_version": 99}', "newer version"),
        ('{"format": "abcore-experiment", "format_version": 1}', "not a complete"),
    ],
)
def test_a_file_that_is_not_an_export_gets_a_sentence(registry, content, message):
    with pytest.raises(RegistryInputError, match=message):
        registry.import_experiment(TEAM, content)
    assert registry.list(TEAM) == ()


def test_an_imported_snapshot_is_held_to_the_limits_of_a_results_link(registry, analysis):
    # An export is a file from anyone: a snapshot past the upload limits (here 2,000 arms'
    # worth of rows) must not land in the database to be analysed when the record reopens.
    exported = registry.export_experiment(TEAM, full_history(registry, analysis).id)
    aggregates = exported["snapshots"][0]["results"]["aggregates"]
    aggregates["rows"] = [list(aggregates["rows"][0])] * 25_000
    with pytest.raises(RegistryInputError, match="A snapshot in this file cannot be read"):
        registry.import_experiment(OTHER, exported)
    assert registry.list(OTHER) == ()
