"""Throwaway engines for the warehouse tests (a local Spark session, a PostgreSQL cluster),
the demo's roles with its reference readout, and one helper that compares two readouts.

The fixtures are session-scoped, and a test module that needs one imports it
(``from engines import spark_session`` gives it the ``spark`` fixture), so a worker that
never runs those modules never starts a JVM or a server. Under pytest-xdist ``--dist
loadfile`` every Spark test sits in one file and every PostgreSQL test in another, so one
worker at most starts each engine.

Locally a missing Java, pyspark, PostgreSQL or psycopg skips the tests that need it; with
``CI=true`` it fails them, so CI cannot pass without having run them (``.ci/run`` installs
Java and PostgreSQL, ``requirements-test.txt`` pyspark and psycopg).
"""

from __future__ import annotations

import dataclasses
import glob
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from abcore.capping import Capping
from abcore.model import Mapping, MetricMapping

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_USER = "abcore"
"""The cluster's superuser (trust authentication on its private socket)."""
PG_PORT = 5432
"""Only names the socket file: the server listens on no TCP port, and its socket sits in a
directory of its own, so any number is free."""
SPARK_CONF = {
    "spark.master": "local[2]",
    "spark.app.name": "abcore-tests",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "1g",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    # C1 only: a test session runs a few queries, so JIT warm-up is most of its CPU (about a
    # third less here than with the default tiered C2); one serial GC for a small heap
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.sql.catalogImplementation": "in-memory",
    # spark.sql.ansi.enabled is left at Spark 4's default (true, as on Databricks): the
    # query must run under ANSI rules (no silent overflow, casts that fail loudly)
}
"""A session as cheap to start as Spark allows: no UI, no Hive, a small driver, few shuffle
partitions for a few hundred cells, UTC so a timestamp's day is the one DuckDB sees."""


def unavailable(what: str) -> None:
    """Skip the test (locally) or fail it (under CI=true) because an engine is missing."""
    if IN_CI:
        pytest.fail(
            f"{what} CI must run these tests: .ci/run and requirements-test.txt "
            "install what they need.",
            pytrace=False,
        )
    pytest.skip(what)


# --- Spark ---------------------------------------------------------------------------------


@pytest.fixture(scope="session", name="spark")
def spark_session() -> Iterator[Any]:
    """A local-mode SparkSession on two cores, stopped at the end of the session."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        unavailable("Java is not installed (no `java` on PATH, no JAVA_HOME): Spark needs it.")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        unavailable("pyspark is not installed (pip install -r requirements-test.txt).")
    builder = SparkSession.builder
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


# --- PostgreSQL ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Postgres:
    """A running throwaway cluster: its libpq connection string and a way to connect."""

    dsn: str
    socket_dir: Path

    def connect(self) -> Any:
        """A new psycopg connection in autocommit mode (the caller closes it)."""
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)


def postgres_bin() -> Path | None:
    """The newest installed server's bin directory (Debian's layout, else initdb on PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _as_server_user(as_root: bool) -> list[str]:
    """PostgreSQL refuses to run as root (CI runs as root): there, run it as the ``postgres``
    system user that Debian's package creates."""
    return ["runuser", "-u", "postgres", "--"] if as_root else []


def _run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")


@pytest.fixture(scope="session", name="postgres")
def postgres_cluster() -> Iterator[Postgres]:
    """A PostgreSQL cluster of its own in a temporary directory, listening only on a unix
    socket there; stopped and deleted at the end of the session."""
    bindir = postgres_bin()
    if bindir is None:
        unavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb).")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed (pip install -r requirements-test.txt).")
    as_root = os.geteuid() == 0
    if as_root and shutil.which("runuser") is None:
        unavailable("Running as root without runuser: PostgreSQL cannot start as root.")
    if as_root:
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("Running as root without a `postgres` user: PostgreSQL cannot start.")
    # not pytest's tmp_path: its parents are private to root, the server user must enter them
    root = Path(tempfile.mkdtemp(prefix="abcore-pg-"))
    data, log = root / "data", root / "server.log"
    if as_root:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    user = _as_server_user(as_root)
    try:
        _run(
            [
                *user,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                PG_USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            root,
        )
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = ''\nunix_socket_directories = '{root}'\nport = {PG_PORT}\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        _run(
            [
                *user,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "start",
            ],
            root,
        )
        try:
            yield Postgres(f"host={root} port={PG_PORT} user={PG_USER} dbname=postgres", root)
        finally:
            _run(
                [*user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                root,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- the demo experiment, as abcore.analyze reads it ----------------------------------------

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sample_data" / "demo_experiment.csv"
DEMO_PLAN = ROOT / "sample_data" / "demo_plan.json"
METRICS = (
    MetricMapping("converted", "binary"),
    MetricMapping("revenue", "continuous", covariate="pre_revenue"),
    MetricMapping("clicks_per_session", "ratio", numerator="clicks", denominator="sessions"),
    MetricMapping("page_load_ms", "continuous"),
)
"""A binary, a continuous with CUPED, a ratio and a plain continuous metric: every statistic
the query returns (sums of conversions, means and variances, pair covariances)."""
DEMO_MAPPING = Mapping(
    variant="variant",
    control="control",
    unit="user_id",
    timestamp="first_exposure",
    segments=("platform", "device"),
    metrics=METRICS,
)
"""The demo's columns: the daily and both segment breakdowns come with the readout."""
REGRESSION_MAPPING = dataclasses.replace(
    DEMO_MAPPING,
    metrics=(
        MetricMapping("converted", "binary", covariates=["pre_revenue", "sessions"]),
        MetricMapping("revenue", "continuous", covariates=["pre_revenue", "sessions", "clicks"]),
        MetricMapping(
            "ctr",
            "ratio",
            numerator="clicks",
            denominator="sessions",
            covariates=["pre_revenue", "page_load_ms"],
        ),
        MetricMapping(
            "load",
            "ratio",
            numerator="page_load_ms",
            denominator="sessions",
            covariate="pre_revenue",
        ),
    ),
)
"""The demo with regression adjustment: several covariates on a conversion and an amount
(moments of 3 and 4 variables), CUPED on a ratio with a pre-period numerator and
denominator, and with a numerator only."""


CAPPED_MAPPING = dataclasses.replace(
    DEMO_MAPPING,
    metrics=(
        MetricMapping("converted", "binary"),
        MetricMapping(
            "revenue",
            "continuous",
            covariate="pre_revenue",
            capping=Capping(upper=99, ignore_zeros=True),
        ),
        MetricMapping("page_load_ms", "continuous", capping=Capping(lower=1, upper=99.5)),
        MetricMapping("sessions", "continuous", capping=Capping(lower=2, upper=9, kind="absolute")),
        MetricMapping("clicks", "continuous", capping=Capping(lower=60)),
    ),
)
"""The demo with per-metric capping (:mod:`abcore.capping`): an upper percentile of the
non-zero values under CUPED, both percentiles, absolute bounds, a lower percentile alone."""


def file_readout(path: Path | str, mapping: Mapping, plan: Any = None) -> Any:
    """The reference: :func:`abcore.analyze` on the file (DuckDB), the roles given as a
    notebook gives them (metrics, the CUPED covariate as a dict)."""
    import abcore

    metrics = [dataclasses.replace(m, covariate=None) for m in mapping.metrics]
    return abcore.analyze(
        str(path),
        variant=str(mapping.variant),
        control=mapping.control,
        unit=mapping.unit,
        timestamp=mapping.timestamp,
        metrics=metrics,
        covariates={m.name: m.covariate for m in mapping.metrics if m.covariate},
        segments=list(mapping.segments),
        plan=plan,
    )


def duckdb_types(path: Path | str) -> list[tuple[str, str]]:
    """Each column of a CSV or Parquet file with the type DuckDB infers for it (the types
    the other engines' tables are given, so every engine reads the same values)."""
    import duckdb

    reader = "read_parquet" if str(path).endswith(".parquet") else "read_csv"
    with duckdb.connect() as con:
        rows = con.execute(f"DESCRIBE SELECT * FROM {reader}($path)", {"path": str(path)})
        return [(str(name), str(kind)) for name, kind, *_ in rows.fetchall()]


# --- precision: a mean that dwarfs the spread ----------------------------------------------

PRECISION_SEED = 17
PRECISION_N = 3_000
"""Units per arm of the precision case."""
BASE_MS = 1.7e12
"""A timestamp in milliseconds (November 2023): the mean that dwarfs the spread."""
SD_MS = 100.0
EFFECT_MS = 8.0
PRECISION_MAPPING = Mapping(
    variant="variant",
    control="control",
    unit="user_id",
    metrics=(MetricMapping("event_ms", "continuous"),),
)


def mirrored_arm(rng: np.random.Generator, n: int, mean: float) -> np.ndarray:
    """``n`` integer milliseconds around ``mean`` with sd about ``SD_MS``, deviations in
    +/- pairs: the arm's mean is exactly ``mean`` (a double), so the effect is exact and any
    error in the interval or the p-value comes from the variance."""
    half = np.rint(rng.normal(0.0, SD_MS, n // 2))
    return (mean + np.concatenate([half, -half])).astype(np.int64)


def precision_frame() -> pd.DataFrame:
    """Two arms of ``PRECISION_N`` units, treatment ``EFFECT_MS`` later than control."""
    rng = np.random.default_rng(PRECISION_SEED)
    control = mirrored_arm(rng, PRECISION_N, BASE_MS)
    treatment = mirrored_arm(rng, PRECISION_N, BASE_MS + EFFECT_MS)
    arms = ["control"] * PRECISION_N + ["treatment"] * PRECISION_N
    return pd.DataFrame(
        {
            "user_id": [f"u{i:06d}" for i in range(2 * PRECISION_N)],
            "variant": arms,
            "event_ms": np.concatenate([control, treatment]),
        }
    )


def naive_variance(values: np.ndarray) -> float:
    """The textbook one-pass variance from the sum and the sum of squares."""
    x = values.astype(np.float64)
    n, total, total_sq = len(x), x.sum(), (x * x).sum()
    return float((total_sq - total**2 / n) / (n - 1))


def welch_reference(frame: pd.DataFrame) -> dict[str, Any]:
    """Two-pass variances (numpy) and Welch's test of treatment minus control (scipy)."""
    control = frame.loc[frame["variant"] == "control", "event_ms"].to_numpy(np.float64)
    treatment = frame.loc[frame["variant"] == "treatment", "event_ms"].to_numpy(np.float64)
    test = sps.ttest_ind(treatment, control, equal_var=False)
    ci = test.confidence_interval(confidence_level=0.95)
    return {
        "variance": {
            "control": float(np.var(control, ddof=1)),
            "treatment": float(np.var(treatment, ddof=1)),
        },
        "abs_effect": float(treatment.mean() - control.mean()),
        "abs_ci_low": float(ci.low),
        "abs_ci_high": float(ci.high),
        "p_value": float(test.pvalue),
    }


def precision_differences(readout: Any, want: dict[str, Any], arms: Sequence[str]) -> list[str]:
    """Where a readout's variances, effect, interval and p-value miss the reference by more
    than 1e-9 relative."""
    out = []
    for arm in arms:
        got = readout.aggregates.sample_mean("event_ms", arm).variance
        if not np.isclose(got, want["variance"][arm], rtol=1e-9, atol=0):
            out.append(f"variance of {arm}: {got!r} != {want['variance'][arm]!r}")
    row = readout.effects.set_index("metric").loc["event_ms"]
    if row["method"] != "welch_t":
        out.append(f"method: {row['method']!r} != 'welch_t'")
    for field in ("abs_effect", "abs_ci_low", "abs_ci_high", "p_value"):
        if not np.isclose(row[field], want[field], rtol=1e-9, atol=0):
            out.append(f"{field}: {row[field]!r} != {want[field]!r}")
    return out


# --- comparing readouts --------------------------------------------------------------------

SKIPPED_FIELDS = frozenset({"aggregates", "plan", "options"})
"""Fields of :class:`abcore.Analysis` that are inputs, or the raw sums (a warehouse's are
taken around a shift, a file's are not): the readout built from them is what must agree."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _missing(value: Any) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def readout_differences(
    got: Any, want: Any, *, rtol: float = 1e-9, atol: float = 1e-12, path: str = "analysis"
) -> list[str]:
    """Every place two readouts differ: numbers beyond ``rtol`` (relative; ``atol`` near
    zero), integers, labels, statuses and sentences exactly, rows in the same order.

    Walks dataclasses (the Analysis, its SRM and arm shares, checks, trends, the
    recommendation), DataFrames (effects, daily, segments, a trend's days), dicts and
    sequences, so a field added to any of them is compared without touching the tests.
    """

    def walk(g: Any, w: Any, where: str) -> list[str]:
        return readout_differences(g, w, rtol=rtol, atol=atol, path=where)

    if dataclasses.is_dataclass(want) and not isinstance(want, type):
        if type(got) is not type(want):
            return [f"{path}: {type(got).__name__} != {type(want).__name__}"]
        fields = [f.name for f in dataclasses.fields(want)]
        if path == "analysis":
            fields = [f for f in fields if f not in SKIPPED_FIELDS]
        return [d for f in fields for d in walk(getattr(got, f), getattr(want, f), f"{path}.{f}")]
    if isinstance(want, pd.DataFrame):
        if not isinstance(got, pd.DataFrame) or list(got.columns) != list(want.columns):
            cols = list(got.columns) if isinstance(got, pd.DataFrame) else type(got).__name__
            return [f"{path}: columns {cols} != {list(want.columns)}"]
        if len(got) != len(want):
            return [f"{path}: {len(got)} rows != {len(want)}"]
        return [
            d
            for col in want.columns
            for i, (x, y) in enumerate(zip(got[col].tolist(), want[col].tolist(), strict=True))
            for d in walk(x, y, f"{path}[{i}].{col}")
        ]
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return [f"{path}: {got!r} != {want!r} (keys)"]
        return [d for k in want for d in walk(got[k], want[k], f"{path}[{k!r}]")]
    if isinstance(want, list | tuple):
        if not isinstance(got, list | tuple) or len(got) != len(want):
            return [f"{path}: {got!r} != {want!r} (length)"]
        return [
            d
            for i, (x, y) in enumerate(zip(got, want, strict=True))
            for d in walk(x, y, f"{path}[{i}]")
        ]
    if _missing(want) or _missing(got):
        return [] if _missing(want) and _missing(got) else [f"{path}: {got!r} != {want!r}"]
    if _number(want) and _number(got):
        exact = isinstance(want, int | np.integer) and isinstance(got, int | np.integer)
        if exact:
            same = int(got) == int(want)
        else:
            same = math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol)
        return [] if same else [f"{path}: {got!r} != {want!r}"]
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


def assert_same_readout(got: Any, want: Any, *, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """Fail with every difference between two readouts (see :func:`readout_differences`)."""
    differences = readout_differences(got, want, rtol=rtol, atol=atol)
    shown = "\n".join(differences[:40])
    more = f"\n... and {len(differences) - 40} more" if len(differences) > 40 else ""
    assert not differences, f"{len(differences)} differences:\n{shown}{more}"
