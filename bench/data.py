"""Unit-level benchmark files: the demo generator's columns, written in chunks.

Rows come from :func:`sample_data.generate.make_experiment`, one million at a time with a
seed per chunk and user ids renumbered across chunks, and stream into a CSV and a Parquet
file with pyarrow writers, so a 10M- or 100M-row file never sits in memory at once. A
manifest next to the files lets a second run reuse them. ``formats`` can leave the CSV out
(the 100M-row size: about 6.5 GB of CSV for nothing the Parquet file does not show).
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
FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class DataFiles:
    """The two files of one size, with how long they took to write."""

    rows: int
    csv: str | None
    parquet: str | None
    csv_mb: float | None
    parquet_mb: float | None
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


def _mb(path: Path | None) -> float | None:
    return None if path is None else round(path.stat().st_size / 2**20, 1)


def write_files(
    rows: int,
    directory: Path,
    *,
    seed: int = DEMO_SEED,
    force: bool = False,
    formats: tuple[str, ...] = FORMATS,
) -> DataFiles:
    """Write (or reuse) ``experiment_<rows>.csv`` and/or ``.parquet`` in ``directory``.

    Only the ``formats`` asked for are written and checked; a reused manifest must hold at
    least those.
    """
    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {formats}")
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    paths = {f: directory / f"experiment_{rows}.{f}" for f in formats}
    manifest = directory / f"experiment_{rows}.json"
    wanted = {"rows": rows, "seed": seed, "version": FORMAT_VERSION}
    if not force and manifest.is_file() and all(p.is_file() for p in paths.values()):
        saved = json.loads(manifest.read_text())
        if {k: saved.get(k) for k in wanted} == wanted and all(
            saved["files"].get(f) for f in formats
        ):
            return DataFiles(**{**saved["files"], "reused": True})
    started = time.perf_counter()
    csv_path, parquet_path = paths.get("csv"), paths.get("parquet")
    csv_writer = parquet_writer = None
    try:
        for i, start in enumerate(range(0, rows, CHUNK_ROWS)):
            table = _chunk(start, min(CHUNK_ROWS, rows - start), seed + i)
            if i == 0:
                if csv_path is not None:
                    options = pa_csv.WriteOptions(quoting_style="none")
                    csv_writer = pa_csv.CSVWriter(csv_path, table.schema, write_options=options)
                if parquet_path is not None:
                    parquet_writer = pq.ParquetWriter(
                        parquet_path, table.schema, compression="zstd"
                    )
            for writer in (csv_writer, parquet_writer):
                if writer is not None:
                    writer.write_table(table)
    finally:
        for writer in (csv_writer, parquet_writer):
            if writer is not None:
                writer.close()
    files = DataFiles(
        rows=rows,
        csv=None if csv_path is None else str(csv_path),
        parquet=None if parquet_path is None else str(parquet_path),
        csv_mb=_mb(csv_path),
        parquet_mb=_mb(parquet_path),
        generate_seconds=round(time.perf_counter() - started, 2),
    )
    manifest.write_text(json.dumps({**wanted, "files": asdict(files)}, indent=2))
    return files
