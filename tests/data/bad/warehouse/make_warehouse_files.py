"""Write the awkward results of the warehouse query (``abcore.warehouse``) in this folder.

Each file is what a user might upload after running the query of "Run this in your
warehouse" on the Results page, spoiled the way an export or a spreadsheet spoils it: a column
dropped, two results pasted together, the mapping cell edited, the variant column renamed.
The query runs in DuckDB on a small seeded experiment, so the files are a dozen rows each.
``README.md`` lists them with the sentence each must raise; the tests read that table.

Regenerate with::

    PYTHONPATH=. python tests/data/bad/warehouse/make_warehouse_files.py
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from abcore import warehouse
from abcore.model import Mapping, MetricMapping
from sample_data.generate import make_experiment

HERE = Path(__file__).resolve().parent
MAPPING = Mapping(
    variant="variant",
    control="control",
    unit="user_id",
    timestamp="first_exposure",
    metrics=(MetricMapping("converted", "binary"), MetricMapping("revenue", "continuous")),
)
OTHER = Mapping(
    variant="variant",
    control="control",
    unit="user_id",
    timestamp="first_exposure",
    metrics=(MetricMapping("page_load_ms", "continuous"),),
)


def output(mapping: Mapping) -> pd.DataFrame:
    """The query's result on a 400-user, 5-day experiment (seeded)."""
    con = duckdb.connect()
    try:
        con.register("rows", make_experiment(400, days=5, seed=11))
        con.execute("CREATE TABLE events AS SELECT * FROM rows")
        return con.execute(warehouse.stats_query(mapping, "events")).df()
    finally:
        con.close()


def files() -> dict[str, pd.DataFrame]:
    good = output(MAPPING)
    garbled = good.copy()
    garbled[warehouse.MAPPING_COLUMN] = garbled[warehouse.MAPPING_COLUMN].str[:40]
    return {
        "warehouse_missing_column.csv": good.drop(columns=["converted__sum"]),
        "warehouse_two_mappings.csv": pd.concat([good, output(OTHER)], ignore_index=True),
        "warehouse_garbled_mapping.csv": garbled,
        "warehouse_variant_renamed.csv": good.rename(columns={"variant": "arm"}),
    }


def write_all(folder: Path = HERE) -> list[Path]:
    written = []
    for name, frame in files().items():
        path = folder / name
        frame.to_csv(path, index=False)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path.name)
