"""Unit-level benchmark files: the demo generator's columns, written in chunks.

Rows come from :func:`sample_data.generate.make_experiment`, one million at a time with a
seed per chunk and user ids renumbered across chunks, and stream into a CSV and a Parquet
file with pyarrow writers, so a 10M-row file never sits in memory at once. A manifest next to
the files lets a second run reuse them.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from abcore.config import DEMO_SEED
from sample_data.generate import make_experiment

CHUNK_ROWS = 1_000_000
FORMAT_VERSION = 1
"""Bump when the generated columns change, so old files are rewritten."""


@dataclass(frozen=True)
class DataFiles:
    """The two files of one size, with how long they took to write."""

    rows: int
    csv: str
    parquet: str
    csv_mb: float
    parquet_mb: float
    generate_seconds: float
    reused: bool = False


def _chunk(start: int, rows: int, seed: int) -> pa.Table:
    frame = make_experiment(rows, seed=seed)
    ids = np.strings.add("u", np.strings.zfill(np.arange(start, start + rows).astype(str), 9))
    frame["user_id"] = ids
    table = pa.Table.from_pandas(frame, preserve_index=False)
    exposure = table.schema.get_field_index("first_exposure")
    table = table.set_column(
        exposure, "first_exposure", table["first_exposure"].cast(pa.timestamp("s"))
    )
    return table.replace_schema_metadata(None)


def write_files(
    rows: int, directory: Path, *, seed: int = DEMO_SEED, force: bool = False
) -> DataFiles:
    """Write (or reuse) ``experiment_<rows>.csv`` and ``.parquet`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path = directory / f"experiment_{rows}.csv"
    parquet_path = directory / f"experiment_{rows}.parquet"
    manifest = directory / f"experiment_{rows}.json"
    wanted = {"rows": rows, "seed": seed, "version": FORMAT_VERSION}
    if not force and manifest.is_file() and csv_path.is_file() and parquet_path.is_file():
        saved = json.loads(manifest.read_text())
        if {k: saved.get(k) for k in wanted} == wanted:
            return DataFiles(**{**saved["files"], "reused": True})
    started = time.perf_counter()
    csv_writer = parquet_writer = None
    try:
        for i, start in enumerate(range(0, rows, CHUNK_ROWS)):
            table = _chunk(start, min(CHUNK_ROWS, rows - start), seed + i)
            if csv_writer is None:
                options = pa_csv.WriteOptions(quoting_style="none")
                csv_writer = pa_csv.CSVWriter(csv_path, table.schema, write_options=options)
                parquet_writer = pq.ParquetWriter(parquet_path, table.schema, compression="zstd")
            csv_writer.write_table(table)
            parquet_writer.write_table(table)
    finally:
        for writer in (csv_writer, parquet_writer):
            if writer is not None:
                writer.close()
    files = DataFiles(
        rows=rows,
        csv=str(csv_path),
        parquet=str(parquet_path),
        csv_mb=round(csv_path.stat().st_size / 2**20, 1),
        parquet_mb=round(parquet_path.stat().st_size / 2**20, 1),
        generate_seconds=round(time.perf_counter() - started, 2),
    )
    manifest.write_text(json.dumps({**wanted, "files": asdict(files)}, indent=2))
    return files
