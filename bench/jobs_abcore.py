"""The abcore jobs: ``analyze`` (with a record of its phases and queries), the Plan page's
curves, and the simulated A/A (abcore.validity.simulate_aa)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

import abcore
from abcore import analysis, ingest, planning
from abcore.model import MetricMapping
from abcore.plan import ExperimentPlan
from bench import spec

DEMO_PLAN = Path(__file__).resolve().parent.parent / "sample_data" / "demo_plan.json"
RATIO = MetricMapping(spec.RATIO[0], "ratio", numerator=spec.RATIO[1], denominator=spec.RATIO[2])
PHASES = ("load", "detect_schema", "compute_stats", "instrumentation_stats")


class LoggedConnection:
    """A DuckDB connection that times each ``execute``/``sql`` call under the current phase.

    ``execute`` runs the query to completion, so its time is the query's; ``sql`` builds a
    lazy relation, whose work shows up later as Python time.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, log: list[dict[str, Any]], phase: list[str]
    ) -> None:
        self._con, self._log, self._phase = con, log, phase

    def _timed(self, method: str, query: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = getattr(self._con, method)(query, *args, **kwargs)
        self._log.append(
            {
                "phase": self._phase[-1],
                "seconds": time.perf_counter() - started,
                "kind": query_kind(query),
                "sql": " ".join(query.split())[:200],
            }
        )
        return result

    def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return self._timed("execute", query, *args, **kwargs)

    def sql(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return self._timed("sql", query, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def query_kind(query: str) -> str:
    """What a query costs in passes over the data.

    >>> query_kind('CREATE TABLE "t" AS SELECT * FROM read_csv($1)')
    'parse file'
    >>> query_kind('SELECT count(*) FROM "t"')
    'scan table'
    """
    q = " ".join(query.split()).upper()
    if "READ_CSV" in q or "READ_PARQUET" in q or "SNIFF_CSV" in q:
        return "parse file" if q.startswith("CREATE TABLE") else "sniff file"
    if q.startswith(("DESCRIBE", "DROP", "SELECT CURRENT_SETTING")):
        return "metadata"
    if q.startswith(("ALTER", "UPDATE")):
        return "rewrite column"
    return "scan table"


def instrument() -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Patch abcore (in this child only) so analyze reports its phases and queries, and
    connects with the bench's memory limit and spill folder (``bench.spec``)."""
    log: list[dict[str, Any]] = []
    phases: dict[str, float] = {}
    current = ["analyze"]
    connect_ = ingest.connect

    def logged_connect(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("memory_limit", spec.memory_limit())
        if spec.temp_directory():
            kwargs.setdefault("temp_directory", spec.temp_directory())
        return LoggedConnection(connect_(*args, **kwargs), log, current)

    def timed(module: Any, name: str) -> None:
        inner = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            current.append(name)
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started
                current.pop()

        setattr(module, name, wrapper)

    ingest.connect = logged_connect
    for name in PHASES:
        timed(ingest, name)
    timed(analysis, "analyze_aggregates")
    return log, phases


def run_analyze(path: str, segments: tuple[str, ...] = spec.SEGMENTS) -> dict[str, Any]:
    """The full readout: four metrics, SRM, the daily breakdown, both segment breakdowns
    and the instrumentation checks, with a record of its phases and queries."""
    log, phases = instrument()
    started = time.perf_counter()
    result = abcore.analyze(
        path,
        variant=spec.VARIANT,
        unit=spec.UNIT,
        timestamp=spec.TIMESTAMP,
        metrics=["converted", "revenue", RATIO, "page_load_ms"],
        covariates=spec.COVARIATES,
        segments=segments,
    )
    total = time.perf_counter() - started
    by_kind: dict[str, dict[str, float]] = {}
    for q in log:
        entry = by_kind.setdefault(q["kind"], {"queries": 0, "seconds": 0.0})
        entry["queries"] += 1
        entry["seconds"] += q["seconds"]
    sql_seconds = sum(q["seconds"] for q in log)
    phase_seconds = {k: round(v, 4) for k, v in phases.items()}
    phase_seconds["rest of analyze"] = round(total - sum(phases.values()), 4)
    effects = result.effects.set_index("metric")["p_value"].astype(float)
    return {
        "p_values": {k: float(v) for k, v in effects.items()},
        "daily_rows": len(result.daily),
        "segment_rows": len(result.segments),
        "phases": phase_seconds,
        "by_kind": {k: {**v, "seconds": round(v["seconds"], 4)} for k, v in by_kind.items()},
        "sql_seconds": round(sql_seconds, 4),
        "python_seconds": round(total - sql_seconds, 4),
        "queries": [{**q, "seconds": round(q["seconds"], 4)} for q in log],
    }


def run_analyze_daily(path: str) -> dict[str, Any]:
    """The job as issue 6 words it: several metrics, SRM and the daily breakdown, no
    segments (the instrumentation checks stay: ``analyze`` always runs them)."""
    return run_analyze(path, segments=())


def run_planning(_: str | None = None, repeats: int = 20) -> dict[str, Any]:
    """The Plan page's two curves for the demo plan, ``CURVE_POINTS`` points each."""
    plan = ExperimentPlan.from_json(DEMO_PLAN.read_text())
    timings = {}
    calls = {
        "sample_size_curve": lambda: planning.sample_size_curve(plan, spec.CURVE_POINTS),
        "days_curve": lambda: planning.days_curve(plan, spec.CURVE_POINTS),
    }
    for name, call in calls.items():
        call()  # warm caches once, as the page does after its first draw
        started = time.perf_counter()
        for _ in range(repeats):
            frame = call()
        timings[name] = {
            "seconds_per_call": (time.perf_counter() - started) / repeats,
            "points": len(frame),
        }
    return timings


def run_aa(_: str | None = None, simulations: int = spec.AA_SIMULATIONS) -> dict[str, Any]:
    """``abcore.validity.simulate_aa`` on a 50,000-user control arm: ``simulations``
    re-randomizations by hashing the unit id, all in one DuckDB query per metric."""
    from abcore import ingest, validity
    from sample_data.generate import make_experiment

    frame = make_experiment(2 * spec.AA_ROWS + spec.AA_ROWS // 5)
    arm = frame[frame[spec.VARIANT] == spec.CONTROL].head(spec.AA_ROWS)
    both = pd.concat([arm, frame[frame[spec.VARIANT] != spec.CONTROL].head(100)])
    con = ingest.connect()
    dataset = ingest.load(con, both)
    mapping = ingest.detect_schema(con, dataset)
    metrics = ("converted", "revenue", "page_load_ms")
    started = time.perf_counter()
    results = {
        m: validity.simulate_aa(con, dataset, mapping, m, simulations=simulations) for m in metrics
    }
    seconds = time.perf_counter() - started
    return {
        "placeholder": False,
        "label": "abcore.validity.simulate_aa (DuckDB hash re-randomization), 3 metrics",
        "rows": len(arm),
        "simulations": simulations,
        "false_positive_rate": {m: r.false_positive_rate for m, r in results.items()},
        "job_seconds": round(seconds, 4),
    }
