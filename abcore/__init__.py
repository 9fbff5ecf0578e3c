"""abcore: plan A/B tests and interpret their results.

The engine behind the dashboard, importable in a notebook without Streamlit:

>>> import abcore
>>> abcore.power.sample_size_proportion(0.10, 0.05).n_control
57763
"""

from __future__ import annotations

from abcore import config, ingest, power, stats, validity, warehouse
from abcore.analysis import Analysis, analyze, analyze_aggregates
from abcore.errors import InputError
from abcore.plan import ExperimentPlan, MetricSpec

__all__ = [
    "Analysis",
    "ExperimentPlan",
    "InputError",
    "MetricSpec",
    "analyze",
    "analyze_aggregates",
    "config",
    "ingest",
    "power",
    "stats",
    "validity",
    "warehouse",
]
