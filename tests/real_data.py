"""Where the real datasets live, and what a test does when one is missing.

They are read from ``../shared/data/real/`` (with their provenance and published numbers),
never copied into the project. A developer without them gets a skip; CI (``CI=true``) has
them, so there a missing dataset fails: a reference test that silently skips checks nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def real(name: str) -> Path:
    """The path of a real dataset (file or folder); skip, or fail under CI, when absent."""
    path = REAL / name
    if not path.exists():
        message = f"real dataset {name} is missing from {REAL}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: reference tests must run)")
        pytest.skip(message)
    return path
