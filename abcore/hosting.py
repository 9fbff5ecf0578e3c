"""What each browser session of a shared server may use, so that all of them add up to the host.

A hosted app serves several people at once from one process. Each browser session owns a
DuckDB database (its uploads, in memory, spilling to disk beyond its limit) and may send one
upload at a time, which Streamlit holds in memory while the page uses it and which is copied
once more while it is parsed. :func:`session_limits` splits a memory budget between a fixed
number of sessions so that::

    server base + sessions x (DuckDB limit + 2 x upload limit) <= memory budget

and splits the cores the same way. The settings are read once, in :mod:`abcore.config`
(``ABCORE_MAX_SESSIONS``, ``ABCORE_MEMORY_BUDGET``, ``ABCORE_THREADS``, ``ABCORE_SPILL_DIR``);
:func:`current_limits` applies them to this host. :class:`SessionDatabase` is one session's
database with its spill folder, both removed when the session ends.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import duckdb

from abcore import config
from abcore.errors import InputError

MB = 2**20
UPLOAD_MB = 10**6
"""A megabyte of an upload limit as Streamlit's browser counts it (``server.maxUploadSize``
200 refuses a file of 200,073,826 bytes: "File must be 200.0MB or smaller"), so the app's own
check refuses exactly what the browser refuses. (The server's upload route counts 2**20.)"""
_UNITS = {"": 1, "B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}
_SIZE_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?I?B?)\s*", re.IGNORECASE)


def parse_size(text: str, *, total: int | None = None, name: str = "size") -> int:
    """Bytes of a size written as ``16GB``, ``512MB``, ``1.5GiB`` or, given ``total``, ``75%``.

    Units are binary (1 GB = 1,024 MB), as DuckDB's ``GiB``; a bare number is bytes.

    >>> parse_size("16GB")
    17179869184
    >>> parse_size("512 MiB")
    536870912
    >>> parse_size("75%", total=8 * 2**30) == 6 * 2**30
    True
    >>> parse_size("lots", name="ABCORE_MEMORY_BUDGET")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ABCORE_MEMORY_BUDGET must be a size such as '16GB' or a share ..., got 'lots'.
    """
    text = str(text).strip()
    if text.endswith("%") and total is not None:
        try:
            share = float(text[:-1])
        except ValueError:
            share = -1.0
        if 0 < share <= 100:
            return int(total * share / 100)
    match = _SIZE_RE.fullmatch(text)
    if match:
        unit = match.group(2).upper().replace("I", "")
        if unit in _UNITS:
            return int(float(match.group(1)) * _UNITS[unit])
    raise ValueError(
        f"{name} must be a size such as '16GB' or a share such as '75%', got {text!r}."
    )


@dataclass(frozen=True)
class SessionLimits:
    """One session's share of the server: DuckDB memory and threads, and its upload limit."""

    sessions: int
    """Sessions the server is sized for at once."""
    budget_bytes: int
    """Memory the whole server may use."""
    memory_bytes: int
    """DuckDB memory limit of each session (beyond it, DuckDB spills to the session's folder)."""
    threads: int
    """DuckDB threads of each session."""
    upload_mb: int
    """Largest upload a session may send, in MB (of :data:`UPLOAD_MB` bytes, as the browser
    counts; the memory split counts it in MiB, a little more)."""

    @property
    def memory_limit(self) -> str:
        """The DuckDB ``memory_limit`` setting, e.g. ``'4070MiB'``."""
        return f"{self.memory_bytes // MB}MiB"

    @property
    def upload_bytes(self) -> int:
        """The upload limit in bytes, as the browser applies it."""
        return self.upload_mb * UPLOAD_MB

    def describe(self) -> str:
        """The split in one sentence (for the operator's log and the README)."""
        return (
            f"{self.sessions} sessions of {self.memory_bytes / 2**30:.1f} GB for DuckDB, "
            f"{self.threads} thread(s) and uploads up to {self.upload_mb:,} MB each, within a "
            f"memory budget of {self.budget_bytes / 2**30:.1f} GB."
        )


def session_limits(
    budget: int,
    cores: int,
    *,
    sessions: int,
    upload_ceiling_mb: int = config.UPLOAD_MAX_MB,
    base: int = config.SERVER_BASE_MEMORY,
    min_memory: int = config.SESSION_MIN_MEMORY,
) -> SessionLimits:
    """Split a memory ``budget`` (bytes) and ``cores`` evenly between ``sessions``.

    The server's own ``base`` memory comes off the top; each session's share then holds its
    upload twice (Streamlit's copy while the page uses it, and the copy being parsed) and
    its DuckDB database in the rest. The upload is at most a quarter of the share and at
    most ``upload_ceiling_mb`` (``server.maxUploadSize``), so DuckDB gets at least half.
    Threads are the cores over the sessions, at least one.

    A 24 GB host at the default 75% budget, sized for 4 sessions on 2 cores:

    >>> lim = session_limits(18 * 2**30, 2, sessions=4)
    >>> lim.memory_limit, lim.threads, lim.upload_mb
    ('4058MiB', 1, 200)
    >>> config.SERVER_BASE_MEMORY + 4 * (lim.memory_bytes + 2 * lim.upload_mb * MB) <= 18 * 2**30
    True

    A small host: uploads shrink with the share, so a session cannot take another's memory.

    >>> lim = session_limits(3 * 2**30, 8, sessions=4)
    >>> lim.memory_limit, lim.threads, lim.upload_mb
    ('310MiB', 2, 154)
    >>> session_limits(2**30, 2, sessions=8)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: A memory budget of 1.0 GB leaves 53 MB to each of 8 sessions; each needs ...
    """
    if sessions < 1:
        raise ValueError(f"ABCORE_MAX_SESSIONS must be at least 1, got {sessions}.")
    if cores < 1:
        raise ValueError(f"ABCORE_THREADS must be at least 1, got {cores}.")
    if upload_ceiling_mb < 1:
        raise ValueError(f"upload_ceiling_mb must be at least 1, got {upload_ceiling_mb}.")
    share = (budget - base) // sessions
    if share < min_memory:
        raise ValueError(
            f"A memory budget of {budget / 2**30:.1f} GB leaves {max(share, 0) // MB} MB to "
            f"each of {sessions} sessions; each needs at least {min_memory // MB} MB. Lower "
            "ABCORE_MAX_SESSIONS or raise ABCORE_MEMORY_BUDGET."
        )
    upload_mb = max(1, min(upload_ceiling_mb, share // 4 // MB))
    memory = (share - 2 * upload_mb * MB) // MB * MB
    return SessionLimits(sessions, budget, memory, max(1, cores // sessions), upload_mb)


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.isdigit() else None


def host_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its container's limit if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        limit = _read_int(limit_file)  # "max" (no limit) reads as None
        if limit is not None and 0 < limit < total:
            total = limit
    return total


def host_cores() -> int:
    """Cores this process may use: its CPU affinity, or its container's CPU quota if lower."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores or 1, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cores or 1)


@functools.cache
def current_limits() -> SessionLimits:
    """This server's per-session limits, from :mod:`abcore.config`'s settings and the host.

    Raises:
        ValueError: a setting is malformed or leaves a session too little memory (the
            sentence names the setting); the app shows it instead of starting sessions.
    """
    memory = host_memory()
    budget = parse_size(config.MEMORY_BUDGET, total=memory, name="ABCORE_MEMORY_BUDGET")
    if budget > memory:
        raise ValueError(
            f"ABCORE_MEMORY_BUDGET is {budget / 2**30:.1f} GB but this host has "
            f"{memory / 2**30:.1f} GB: set at most that, or a share such as '75%'."
        )
    cores = config.THREAD_BUDGET or host_cores()
    return session_limits(budget, cores, sessions=config.MAX_SESSIONS)


def upload_too_large(
    name: str, size: int, limits: SessionLimits | None = None, *, files: int = 1
) -> str | None:
    """A sentence refusing an upload of ``size`` bytes (``files`` files named ``name``) over
    the session's limit, else None.

    >>> lim = SessionLimits(4, 18 * 2**30, 4 * 2**30, 1, 200)
    >>> print(upload_too_large("big.csv", 300 * UPLOAD_MB, lim))  # doctest: +ELLIPSIS
    big.csv is 300.0 MB: this server takes uploads of up to 200 MB per session. Upload only ...
    >>> upload_too_large("a.csv + b.csv", 250 * UPLOAD_MB, lim, files=2)[:80]
    'The 2 files (a.csv + b.csv) are 250.0 MB together: this server takes uploads of '
    >>> upload_too_large("small.csv", 200 * UPLOAD_MB, lim) is None
    True
    """
    limits = limits or current_limits()
    if size <= limits.upload_bytes:
        return None
    what = (
        f"{name} is {size / UPLOAD_MB:,.1f} MB"
        if files == 1
        else f"The {files} files ({name}) are {size / UPLOAD_MB:,.1f} MB together"
    )
    return (
        f"{what}: this server takes uploads of up to {limits.upload_mb:,} MB per session. "
        "Upload only the columns the analysis needs, or per-arm (or per-day) totals instead."
    )


def check_upload(
    name: str, size: int, limits: SessionLimits | None = None, *, files: int = 1
) -> None:
    """Raise InputError with :func:`upload_too_large`'s sentence when the upload is too big."""
    refusal = upload_too_large(name, size, limits, files=files)
    if refusal:
        raise InputError(refusal)


def _release(connection: duckdb.DuckDBPyConnection, folder: Path) -> None:
    with contextlib.suppress(duckdb.Error):  # already closed
        connection.close()  # closes its cursors too, and frees the in-memory tables
    shutil.rmtree(folder, ignore_errors=True)


class SessionDatabase:
    """One browser session's DuckDB database and the folder it spills to.

    The database is in memory, limited to ``limits.memory_limit`` and ``limits.threads``;
    beyond its limit DuckDB spills to a folder of its own under ``root``
    (``config.SPILL_DIR``, else the system's temporary folder). :meth:`close` closes the
    connection (and every cursor on it) and removes the folder; so does the garbage
    collection of this object, which is how a Streamlit session ends: the object lives in
    ``st.session_state``, freed when Streamlit drops the session
    (``server.disconnectedSessionTTL`` after its last tab closed). A session-scoped
    ``st.cache_resource`` would release it on every disconnect instead, and a brief network
    drop would then lose the tables that the session, once reconnected, still refers to.

    >>> db = SessionDatabase(SessionLimits(4, 2**32, 512 * MB, 1, 100))
    >>> db.cursor().execute("SELECT current_setting('threads')").fetchall()
    [(1,)]
    >>> folder = db.folder
    >>> db.close()
    >>> db.closed, folder.exists()
    (True, False)
    """

    def __init__(self, limits: SessionLimits | None = None, root: str | None = None) -> None:
        from abcore.ingest import connect

        limits = limits or current_limits()
        root = root if root is not None else config.SPILL_DIR
        if root:
            Path(root).mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="abcore-session-", dir=root))
        try:
            self.connection = connect(
                memory_limit=limits.memory_limit,
                threads=limits.threads,
                temp_directory=self.folder / "spill",
            )
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.limits = limits
        self._finalizer = weakref.finalize(self, _release, self.connection, self.folder)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on this database (the tables are shared; see ``ui.state``)."""
        return self.connection.cursor()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Close the database and remove its folder (again: nothing happens)."""
        self._finalizer()
