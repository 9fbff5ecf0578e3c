"""The benchmark runs end to end on a tiny file and writes the results it documents.

``python -m bench.run --quick --rows 20000 --formats csv`` in a subprocess (as ``make bench``
would run it, at full size; Parquet goes through the same jobs): every job must finish,
``results.json`` must hold the documented keys, and the notebook pipeline must reach the same
p-values as ``abcore.analyze`` on the same file, which shows the two sides of the comparison
do the same work. When tea-tasting is installed (``requirements-bench.txt``; not a test
dependency) the peer's p-values are checked too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from abcore import config
from bench import spec
from bench.run import FILE_TASKS

ROOT = Path(__file__).resolve().parent.parent
RUN_KEYS = {
    "task",
    "seconds",
    "peak_mb",
    "baseline_mb",
    "details",
    "process_seconds",
    "seconds_all",
    "peak_mb_all",
    "spill_mb",
    "memory_limit",
}
RATIO_KEYS = {
    "analyze_over_bare_scan",
    "analyze_over_pandas",
    "memory_analyze_over_pandas",
    "added_memory_analyze_over_pandas",
    "analyze_daily_over_bare_scan",
    "analyze_over_columns_scan",
    "columns_scan_over_bare_scan",
    "targets_met",
}


QUICK = ("--quick", "--rows", "20000", "--formats", "csv")

PEER = importlib.util.find_spec("tea_tasting") is not None and (
    importlib.util.find_spec("ibis") is not None
)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", *QUICK, "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "analyze / bare scan" in proc.stdout
    return json.loads((out / "results.json").read_text())


def test_results_hold_every_job_and_ratio(results: dict) -> None:
    assert set(results) >= {"environment", "quick", "data", "files", "planning", "aa"}
    assert results["quick"] is True
    assert results["repeat"] == 1
    assert set(results["files"]) == {"20k/csv"}
    for block in results["files"].values():
        assert block["rows"] == 20_000
        assert set(block["runs"]) == set(FILE_TASKS) - set(block["skipped"])
        assert ("tea_tasting" in block["skipped"]) is not PEER
        assert "pandas" not in block["skipped"]
        for run in block["runs"].values():
            assert set(run) >= RUN_KEYS
            assert run["seconds"] > 0
            assert run["peak_mb"] >= run["baseline_mb"] > 0
        assert set(block["ratios"]) >= RATIO_KEYS
        ratios = block["ratios"]
        runs = block["runs"]
        expected = runs["analyze"]["seconds"] / runs["bare_scan"]["seconds"]
        assert ratios["analyze_over_bare_scan"] == pytest.approx(expected, abs=1e-3)


def test_analyze_reports_its_phases_and_queries(results: dict) -> None:
    details = results["files"]["20k/csv"]["runs"]["analyze"]["details"]
    assert {"load", "detect_schema", "compute_stats", "analyze_aggregates"} <= set(
        details["phases"]
    )
    kinds = {q["kind"] for q in details["queries"]}
    assert {"parse file", "scan table"} <= kinds
    assert details["by_kind"]["parse file"]["queries"] == 1


def test_pandas_pipeline_reaches_the_same_p_values_as_analyze(results: dict) -> None:
    for block in results["files"].values():
        ours = block["runs"]["analyze"]["details"]["p_values"]
        theirs = block["runs"]["pandas"]["details"]["p_values"]
        assert set(ours) == set(theirs)
        for metric, p in ours.items():
            assert theirs[metric] == pytest.approx(p, rel=1e-6), metric


@pytest.mark.skipif(not PEER, reason="tea-tasting is a bench dependency, not a test one")
def test_tea_tasting_reaches_analyzes_p_values_where_the_methods_agree(results: dict) -> None:
    for block in results["files"].values():
        ours = block["runs"]["analyze"]["details"]["p_values"]
        theirs = block["runs"]["tea_tasting"]["details"]["p_values"]
        assert set(ours) == set(theirs)
        # Welch's t (page load) and the delta method with a normal test (the ratio)
        assert theirs["page_load_ms"] == pytest.approx(ours["page_load_ms"], rel=1e-6)
        assert theirs[spec.RATIO[0]] == pytest.approx(ours[spec.RATIO[0]], rel=1e-6)
        # Defaults differ: Welch's t on 0/1 values vs the pooled two-proportion z-test, and
        # CUPED's coefficient from both arms together vs pooled within the arms.
        for metric in ("converted", "revenue"):
            assert theirs[metric] == pytest.approx(ours[metric], rel=1e-2), metric


def test_planning_and_aa_entries(results: dict) -> None:
    curves = results["planning"]["details"]
    assert curves["sample_size_curve"]["points"] == spec.CURVE_POINTS
    assert curves["days_curve"]["points"] == spec.CURVE_POINTS
    aa = results["aa"]["details"]
    assert aa["placeholder"] is False
    assert aa["simulations"] == spec.AA_SIMULATIONS
    assert aa["rows"] == spec.AA_ROWS
    for rate in aa["false_positive_rate"].values():
        assert 0.02 < rate < 0.09  # 1,000 A/A splits at alpha 5%: sd 0.7 points


def test_floors_use_the_engine_settings() -> None:
    # bench.spec repeats these so the floor's child need not import abcore.
    assert spec.THREADS == config.DUCKDB_THREADS
    assert spec.MEMORY_LIMIT == config.DUCKDB_MEMORY_LIMIT


def test_the_issues_job_is_the_readout_without_segments(results: dict) -> None:
    for block in results["files"].values():
        full = block["runs"]["analyze"]["details"]
        daily = block["runs"]["analyze_daily"]["details"]
        assert daily["segment_rows"] == 0 < full["segment_rows"]
        assert daily["daily_rows"] == full["daily_rows"] > 0
        assert daily["p_values"] == pytest.approx(full["p_values"], rel=1e-9)
