"""Child-process entry: ``python -m bench.tasks TASK [PATH]`` runs one job and prints JSON.

The child imports only its own job's libraries, records its resident memory
(``baseline_mb``), runs the job once under a wall clock, then reads its peak resident memory
(``VmHWM`` from ``/proc/self/status``; ``ru_maxrss`` where that file does not exist). A process
per job means each peak is that job's own, including what DuckDB allocates in the process.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
from pathlib import Path

TASKS: dict[str, str] = {
    "analyze": "bench.jobs_abcore:run_analyze",
    "analyze_daily": "bench.jobs_abcore:run_analyze_daily",
    "planning": "bench.jobs_abcore:run_planning",
    "aa": "bench.jobs_abcore:run_aa",
    "bare_scan": "bench.jobs_floor:run_bare_scan",
    "columns_scan": "bench.jobs_floor:run_columns_scan",
    "pandas": "bench.jobs_pandas:run_pandas",
}
"""Task name -> ``module:function``; the function takes the data path (or None)."""


def memory_mb(field: str) -> float:
    """A ``/proc/self/status`` field (``VmRSS``, ``VmHWM``) in MiB; ``ru_maxrss`` otherwise."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> None:
    task, *rest = argv
    module, function = TASKS[task].split(":")
    job = getattr(importlib.import_module(module), function)
    baseline = memory_mb("VmRSS")
    started = time.perf_counter()
    details = job(rest[0] if rest else None)
    seconds = time.perf_counter() - started
    out = {
        "task": task,
        "seconds": round(seconds, 4),
        "peak_mb": round(memory_mb("VmHWM"), 1),
        "baseline_mb": round(baseline, 1),
        "details": details,
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
