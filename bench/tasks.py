"""Child-process entry: ``python -m bench.tasks TASK [PATH]`` runs one job and prints JSON.

The child imports only its own job's libraries, records its resident memory
(``baseline_mb``), runs the job once under a wall clock, then reads its peak resident memory
(``VmHWM`` from ``/proc/self/status``; ``ru_maxrss`` where that file does not exist). A process
per job means each peak is that job's own, including what DuckDB allocates in the process.

It also reports the CPU time the job used (``cpu_seconds``, user + system, every thread):
on a shared machine other load inflates wall time more than CPU time. Each child also gets
its own DuckDB spill folder (``bench.spec.TEMP_DIR_ENV``), watched while
the job runs: ``spill_mb`` is the most it ever held, so a run under a low ``--memory-limit``
shows whether DuckDB wrote to disk.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import spec

TASKS: dict[str, str] = {
    "analyze": "bench.jobs_abcore:run_analyze",
    "analyze_daily": "bench.jobs_abcore:run_analyze_daily",
    "planning": "bench.jobs_abcore:run_planning",
    "aa": "bench.jobs_abcore:run_aa",
    "bare_scan": "bench.jobs_floor:run_bare_scan",
    "columns_scan": "bench.jobs_floor:run_columns_scan",
    "pandas": "bench.jobs_pandas:run_pandas",
    "tea_tasting": "bench.jobs_peer:run_tea_tasting",
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


def cpu_seconds() -> float:
    """User plus system CPU time of this process so far, every thread (DuckDB's too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def folder_mb(path: Path) -> float:
    """Bytes under ``path`` in MiB (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a spill file removed while walking
                total += (Path(root) / name).stat().st_size
    return total / 2**20


class SpillWatch:
    """The most a folder held while the job ran, polled every ``interval`` seconds."""

    def __init__(self, path: Path, interval: float = 0.05) -> None:
        self.path, self.interval, self.peak_mb = path, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, folder_mb(self.path))

    def __enter__(self) -> SpillWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, folder_mb(self.path))


def main(argv: list[str]) -> None:
    task, *rest = argv
    module, function = TASKS[task].split(":")
    job = getattr(importlib.import_module(module), function)
    spill = Path(tempfile.mkdtemp(prefix="bench-spill-")) / "duckdb"
    os.environ[spec.TEMP_DIR_ENV] = str(spill)
    baseline = memory_mb("VmRSS")
    try:
        with SpillWatch(spill) as watch:
            cpu = cpu_seconds()
            started = time.perf_counter()
            details = job(rest[0] if rest else None)
            seconds = time.perf_counter() - started
            cpu = cpu_seconds() - cpu
    finally:
        shutil.rmtree(spill.parent, ignore_errors=True)
    out = {
        "task": task,
        "seconds": round(seconds, 4),
        "cpu_seconds": round(cpu, 4),
        "peak_mb": round(memory_mb("VmHWM"), 1),
        "baseline_mb": round(baseline, 1),
        "spill_mb": round(watch.peak_mb, 1),
        "memory_limit": spec.memory_limit(),
        "details": details,
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
