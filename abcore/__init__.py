"""abcore: plan A/B tests and interpret their results.

The engine behind the dashboard, importable in a notebook without Streamlit.
"""

from __future__ import annotations

from abcore import config, power
from abcore.errors import InputError
from abcore.plan import ExperimentPlan, MetricSpec

__all__ = ["ExperimentPlan", "InputError", "MetricSpec", "config", "power"]
