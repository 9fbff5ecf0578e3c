"""The registry: saved experiments in a SQL database (SQLite by default, PostgreSQL by URL).

Nothing here runs at import: :func:`open_registry` creates the engine, the folder of a
SQLite file and the tables (Alembic migrations to the newest revision) on first use, so the
calculators work whether or not a database is there. Every failure to reach the database
raises :class:`RegistryUnavailable` with a sentence; a save that lost a race raises
:class:`ConflictError`; an experiment outside the caller's workspaces reads as missing.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> reg = open_registry(f"sqlite:///{folder / 'data' / 'x.sqlite'}")
>>> exp = reg.create("team", name="Checkout copy", owner="ana", plan=ExperimentPlan())
>>> [e.name for e in reg.list("team")], reg.list("other")
(['Checkout copy'], ())
>>> reg.close()
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import uuid
from collections.abc import Iterable, Iterator
from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine

from abcore import config
from abcore.errors import InputError
from abcore.limits import check_results_payload
from abcore.model import Aggregates, Check, Mapping
from abcore.plan import ExperimentPlan
from abcore.registry.diff import PlanChange, plan_diff
from abcore.registry.errors import (
    ConflictError,
    ExperimentNotFound,
    RegistryInputError,
    RegistryUnavailable,
)
from abcore.registry.records import (
    Amendment,
    DataFingerprint,
    Decision,
    Experiment,
    Registration,
    Snapshot,
    TimelineEntry,
)
from abcore.registry.schema import (
    STATUSES,
    AmendmentRow,
    DecisionRow,
    ExperimentRow,
    RegistrationRow,
    SnapshotRow,
)
from abcore.share import results_to_dict

__all__ = [
    "EXPORT_FORMAT",
    "Registry",
    "alembic_config",
    "database_url",
    "open_registry",
    "upgrade",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
EXPORT_FORMAT = "abcore-experiment"
EXPORT_VERSION = 1
UNSET: Any = object()
"""A field not given to :meth:`Registry.update` (None is a value: no mapping)."""


# --- where the database is and how to reach it -----------------------------------------------


def _app_folder() -> Path:
    """The folder of the app: the checkout holding ``app.py`` when abcore runs from one,
    else the working directory (abcore installed as a package, a notebook)."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "app.py").is_file() else Path.cwd()


def database_url(environ: MappingABC[str, str] | None = None) -> str:
    """The registry's URL: ``ABCORE_DB_URL`` when set, else a SQLite file in ``data/``
    beside the app (:data:`abcore.config.REGISTRY_FILE`)."""
    env = os.environ if environ is None else environ
    url = env.get(config.REGISTRY_URL_ENV, "").strip()
    return url or f"sqlite:///{_app_folder() / config.REGISTRY_FILE}"


def _where(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return f"file {url.database}" if url.database else "in memory"
    return f"at {url.render_as_string(hide_password=True)}"


def _unavailable_sentence(exc: BaseException, url: URL) -> str:
    """A sentence for a database error: what is wrong and what to do."""
    where = _where(url)
    raw = str(getattr(exc, "orig", None) or exc)
    text = raw.lower()
    if "locked" in text or "busy" in text:
        return (
            f"The experiments database ({where}) is locked by another program; nothing was "
            "saved: try again in a moment."
        )
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return (
            f"The experiments database ({where}) is damaged: it is not a readable SQLite "
            "file. Move it aside (the app starts a new one) or set ABCORE_DB_URL to another "
            "database; the calculators keep working meanwhile."
        )
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return (
            f"The experiments database ({where}) cannot be opened for writing; check the "
            "folder's permissions or set ABCORE_DB_URL to a writable place."
        )
    first = raw.strip().splitlines()[0] if raw.strip() else type(exc).__name__
    return (
        f"The experiments database ({where}) cannot be reached ({first}); the calculators "
        "keep working, but experiments cannot be saved or listed until it answers."
    )


def _make_engine(url_text: str, timeout: float) -> Engine:
    try:
        url = sa.make_url(url_text)
    except sa_exc.ArgumentError as exc:
        raise RegistryUnavailable(
            f"{config.REGISTRY_URL_ENV} must be a database URL such as "
            "sqlite:///data/abcore.sqlite or postgresql+psycopg://user@host/db, "
            f"got {url_text!r}."
        ) from exc
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            folder = Path(url.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RegistryUnavailable(
                    f"The folder of the experiments database ({folder}) cannot be created "
                    f"({exc.strerror or exc}); set {config.REGISTRY_URL_ENV} to a writable "
                    "place. The calculators keep working meanwhile."
                ) from exc
        connect_args = {"timeout": timeout, "check_same_thread": False}
    elif url.get_backend_name() == "postgresql":
        connect_args = {"connect_timeout": max(1, math.ceil(timeout))}
    try:
        engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    except ImportError as exc:
        raise RegistryUnavailable(
            f"The driver for {url.get_backend_name()} is not installed ({exc.name}): "
            "pip install psycopg[binary] for PostgreSQL."
        ) from exc
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on (deleting an experiment deletes its records)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextlib.contextmanager
def _guard(url: URL) -> Iterator[None]:
    """Turn what the database raises into the registry's errors, each with a sentence."""
    try:
        yield
    except sa_exc.IntegrityError as exc:
        raise ConflictError(
            "Someone else changed this experiment at the same moment; nothing was saved: "
            "reload to see their change."
        ) from exc
    except (sa_exc.OperationalError, sa_exc.DatabaseError, sa_exc.InterfaceError) as exc:
        raise RegistryUnavailable(_unavailable_sentence(exc, url)) from exc
    except CommandError as exc:
        raise RegistryUnavailable(
            f"The experiments database ({_where(url)}) was written by a newer version of "
            f"abcore ({exc}); update abcore to open it."
        ) from exc


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code (no alembic.ini): the migrations folder inside
    this package and, when given, the connection they run on."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as con:
        command.upgrade(alembic_config(con), revision)


def upgrade(url: str | None = None, revision: str = "head", *, timeout: float = 0) -> None:
    """Migrate the database at ``url`` (default :func:`database_url`) to ``revision``.

    :func:`open_registry` calls it with ``"head"``; tests use an earlier revision to build a
    database as an older abcore left it.
    """
    engine = _make_engine(url or database_url(), timeout or config.REGISTRY_TIMEOUT_S)
    try:
        with _guard(engine.url):
            _upgrade(engine, revision)
    finally:
        engine.dispose()


def open_registry(url: str | None = None, *, timeout: float | None = None) -> Registry:
    """Open (and create or migrate) the registry at ``url``, default :func:`database_url`.

    ``timeout`` is how long a save waits for a locked file or a silent server (default
    :data:`abcore.config.REGISTRY_TIMEOUT_S`). The app opens it once per process
    (``st.cache_resource``) and closes it with :meth:`Registry.close`.
    """
    engine = _make_engine(url or database_url(), timeout or config.REGISTRY_TIMEOUT_S)
    try:
        with _guard(engine.url):
            _upgrade(engine, "head")
    except BaseException:
        engine.dispose()
        raise
    return Registry(engine)


# --- converting between rows, records and documents ------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _spaces(workspaces: str | Iterable[str]) -> tuple[str, ...]:
    spaces = (workspaces,) if isinstance(workspaces, str) else tuple(workspaces)
    if not spaces or not all(isinstance(w, str) and w for w in spaces):
        raise RegistryInputError(
            f"workspaces must name at least one workspace (a non-empty string), got {spaces!r}."
        )
    return spaces


def _plan_dict(plan: ExperimentPlan | MappingABC[str, Any]) -> dict[str, Any]:
    """A plan as stored: validated by :class:`ExperimentPlan` (a bad one raises InputError)."""
    if isinstance(plan, ExperimentPlan):
        return plan.to_dict()
    return ExperimentPlan.from_dict(plan).to_dict()


def _mapping_dict(mapping: Mapping | MappingABC[str, Any] | None) -> dict[str, Any] | None:
    if mapping is None:
        return None
    if isinstance(mapping, Mapping):
        return mapping.to_dict()
    try:
        return Mapping.from_dict(dict(mapping)).to_dict()
    except (TypeError, ValueError) as exc:
        raise InputError(f"mapping cannot be read: {exc}") from exc


def _json_ready(value: Any, name: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise RegistryInputError(f"{name} must be JSON (text, numbers, lists): {exc}.") from exc


def _snapshot_results(results: Any) -> dict[str, Any]:
    """An imported snapshot's results, checked as a results link is
    (:func:`abcore.limits.check_results_payload`: an export is a file from anyone, so what a
    later reopen analyses is held to the same limits), with its checks readable."""
    try:
        check_results_payload(results)
        for c in results.get("checks", ()):
            Check(**c)
    except (InputError, TypeError, ValueError) as exc:
        raise RegistryInputError(f"A snapshot in this file cannot be read: {exc}") from exc
    return _json_ready(results, "a snapshot")


def _document(plan: Any, mapping: Any, options: Any, exclusions: Any, notes: Any) -> dict[str, Any]:
    if not isinstance(notes, str):
        raise RegistryInputError(f"notes must be text, got {type(notes).__name__}.")
    return {
        "plan": _plan_dict(plan),
        "mapping": _mapping_dict(mapping),
        "options": _json_ready(dict(options or {}), "options"),
        "exclusions": _json_ready(list(exclusions or ()), "exclusions"),
        "notes": notes,
    }


def _experiment(row: ExperimentRow) -> Experiment:
    doc = row.document
    return Experiment(
        id=row.id,
        workspace=row.workspace,
        name=row.name,
        owner=row.owner,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        plan=doc["plan"],
        mapping=doc.get("mapping"),
        options=dict(doc.get("options") or {}),
        exclusions=tuple(doc.get("exclusions") or ()),
        notes=str(doc.get("notes") or ""),
        verdict=row.verdict,
    )


def _registration(row: RegistrationRow) -> Registration:
    return Registration(
        row.experiment_id, row.registered_at, row.registered_by, row.plan, row.fingerprint
    )


def _amendment(row: AmendmentRow) -> Amendment:
    return Amendment(
        row.experiment_id,
        row.amended_at,
        row.amended_by,
        row.reason,
        row.plan_before,
        row.plan_after,
        tuple(PlanChange.from_dict(c) for c in row.changes),
    )


def _snapshot(row: SnapshotRow) -> Snapshot:
    fingerprint = DataFingerprint(row.file_hash, row.rows, row.first_day, row.last_day)
    return Snapshot(
        row.id, row.experiment_id, row.taken_at, row.taken_by, row.source, row.results, fingerprint
    )


def _decision(row: DecisionRow) -> Decision:
    return Decision(
        row.id,
        row.experiment_id,
        row.decided_at,
        row.decided_by,
        row.verdict,
        tuple(row.reasons),
        row.rationale,
        row.snapshot_id,
    )


def _text(value: Any, name: str, *, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RegistryInputError(f"{name} must be non-empty text, got {value!r}.")
    if len(value) > limit:
        raise RegistryInputError(f"{name} must be at most {limit} characters, got {len(value)}.")
    return value.strip()


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat()


def _parse_time(value: Any, name: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise RegistryInputError(f"{name} must be an ISO date and time, got {value!r}.") from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# --- the repository ------------------------------------------------------------------------


class Registry:
    """Saved experiments, scoped by workspace.

    Every method takes the caller's workspace(s) first and never reads or writes an
    experiment outside them. Changes of the document name the ``expected_version`` they
    read; a save that lost a race raises :class:`ConflictError` and writes nothing.
    Snapshots and decisions are appended (they change no field a save writes), so they move
    the status forward without a version check.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def url(self) -> str:
        """The database's URL without its password."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close the connections (a SQLite file is then free to move)."""
        self._engine.dispose()

    @contextlib.contextmanager
    def _session(self) -> Iterator[sa.orm.Session]:
        with _guard(self._engine.url), sa.orm.Session(self._engine) as session, session.begin():
            yield session

    def _row(
        self, session: sa.orm.Session, spaces: tuple[str, ...], experiment_id: str
    ) -> ExperimentRow:
        row = session.get(ExperimentRow, experiment_id)
        if row is None or row.workspace not in spaces:
            raise ExperimentNotFound(
                f"No experiment {experiment_id!r} in your workspaces ({', '.join(spaces)}): "
                "it was deleted, or it belongs to a workspace you are not in."
            )
        return row

    @staticmethod
    def _check_version(row: ExperimentRow, expected_version: int) -> None:
        if row.version != expected_version:
            raise ConflictError(
                f"Someone else saved this experiment at {row.updated_at:%H:%M} UTC "
                f"({row.updated_at:%Y-%m-%d}); reload to see their change.",
                saved_at=row.updated_at,
            )

    @staticmethod
    def _bump(
        session: sa.orm.Session, row: ExperimentRow, expected_version: int, values: dict[str, Any]
    ) -> None:
        """Write ``values`` only if the row still holds ``expected_version``: the check and
        the write are one UPDATE, so two sessions cannot both pass the check."""
        Registry._check_version(row, expected_version)
        now = _now()
        done = session.execute(
            sa.update(ExperimentRow)
            .where(ExperimentRow.id == row.id, ExperimentRow.version == expected_version)
            .values(**values, version=expected_version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            session.refresh(row)
            Registry._check_version(row, expected_version)
        session.refresh(row)

    # ---- experiments ----
    def create(
        self,
        workspace: str,
        *,
        name: str,
        owner: str,
        plan: ExperimentPlan | MappingABC[str, Any],
        mapping: Mapping | MappingABC[str, Any] | None = None,
        options: MappingABC[str, Any] | None = None,
        exclusions: Iterable[Any] = (),
        notes: str = "",
    ) -> Experiment:
        """A new draft experiment in ``workspace``."""
        document = _document(plan, mapping, options, exclusions, notes)
        now = _now()
        row = ExperimentRow(
            id=uuid.uuid4().hex,
            workspace=_text(workspace, "workspace"),
            name=_text(name, "name"),
            owner=_text(owner, "owner"),
            status="draft",
            created_at=now,
            updated_at=now,
            version=1,
            document=document,
            verdict=None,
        )
        with self._session() as session:
            session.add(row)
            session.flush()
            return _experiment(row)

    def get(self, workspaces: str | Iterable[str], experiment_id: str) -> Experiment:
        """One experiment; :class:`ExperimentNotFound` outside the caller's workspaces."""
        spaces = _spaces(workspaces)
        with self._session() as session:
            return _experiment(self._row(session, spaces, experiment_id))

    def list(
        self,
        workspaces: str | Iterable[str],
        *,
        status: str | Iterable[str] | None = None,
        owner: str | None = None,
        search: str | None = None,
    ) -> tuple[Experiment, ...]:
        """The workspaces' experiments, last saved first; ``status`` one or several of
        :data:`STATUSES`, ``search`` a piece of the name (any case)."""
        spaces = _spaces(workspaces)
        query = sa.select(ExperimentRow).where(ExperimentRow.workspace.in_(spaces))
        if status is not None:
            wanted = (status,) if isinstance(status, str) else tuple(status)
            unknown = [s for s in wanted if s not in STATUSES]
            if unknown:
                raise RegistryInputError(
                    f"status must be one of {', '.join(STATUSES)}, got {unknown[0]!r}."
                )
            query = query.where(ExperimentRow.status.in_(wanted))
        if owner:
            query = query.where(ExperimentRow.owner == owner)
        if search and search.strip():
            query = query.where(
                sa.func.lower(ExperimentRow.name).contains(search.strip().lower(), autoescape=True)
            )
        query = query.order_by(ExperimentRow.updated_at.desc(), ExperimentRow.id)
        with self._session() as session:
            return tuple(_experiment(r) for r in session.scalars(query))

    def update(
        self,
        workspaces: str | Iterable[str],
        experiment_id: str,
        *,
        expected_version: int,
        by: str,
        name: str = UNSET,
        plan: ExperimentPlan | MappingABC[str, Any] = UNSET,
        mapping: Mapping | MappingABC[str, Any] | None = UNSET,
        options: MappingABC[str, Any] = UNSET,
        exclusions: Iterable[Any] = UNSET,
        notes: str = UNSET,
        status: str = UNSET,
        reason: str = "",
    ) -> Experiment:
        """Save the fields given, if the experiment is still at ``expected_version``.

        A plan changed after registration is recorded as an amendment (dated, by ``by``,
        with ``reason`` and its diff) in the same transaction: it cannot be changed silently.
        """
        experiment, _ = self._save(
            _spaces(workspaces),
            experiment_id,
            expected_version,
            by,
            reason,
            {
                "name": name,
                "plan": plan,
                "mapping": mapping,
                "options": options,
                "exclusions": exclusions,
                "notes": notes,
                "status": status,
            },
        )
        return experiment

    def _save(
        self,
        spaces: tuple[str, ...],
        experiment_id: str,
        expected_version: int,
        by: str,
        reason: str,
        given: dict[str, Any],
    ) -> tuple[Experiment, Amendment | None]:
        by = _text(by, "by")
        with self._session() as session:
            row = self._row(session, spaces, experiment_id)
            self._check_version(row, expected_version)
            current = _experiment(row)
            doc = current.document
            fields = {k: (doc[k] if v is UNSET else v) for k, v in given.items() if k in doc}
            document = _document(**fields)
            values: dict[str, Any] = {"document": document}
            if given["name"] is not UNSET:
                values["name"] = _text(given["name"], "name")
            registered = session.scalar(
                sa.select(RegistrationRow).where(RegistrationRow.experiment_id == row.id)
            )
            if given["status"] is not UNSET:
                if given["status"] not in STATUSES:
                    raise RegistryInputError(
                        f"status must be one of {', '.join(STATUSES)}, got {given['status']!r}."
                    )
                if given["status"] == "registered" and registered is None:
                    raise RegistryInputError(
                        "status 'registered' comes from register(), which freezes the plan: "
                        "register the experiment instead."
                    )
                values["status"] = given["status"]
            amendment = None
            changes = plan_diff(doc["plan"], document["plan"])
            if registered is not None and changes:
                amendment_row = AmendmentRow(
                    experiment_id=row.id,
                    amended_at=_now(),
                    amended_by=by,
                    reason=str(reason),
                    plan_before=doc["plan"],
                    plan_after=document["plan"],
                    changes=[c.to_dict() for c in changes],
                )
                session.add(amendment_row)
                amendment = _amendment(amendment_row)
            self._bump(session, row, expected_version, values)
            return _experiment(row), amendment

    def duplicate(
        self,
        workspaces: str | Iterable[str],
        experiment_id: str,
        *,
        owner: str,
        name: str | None = None,
        workspace: str | None = None,
    ) -> Experiment:
        """A new draft with the same document (plan, mapping, options, exclusions, notes),
        without its registration, snapshots or decisions; ``workspace`` must be one of the
        caller's (default: the original's)."""
        spaces = _spaces(workspaces)
        original = self.get(spaces, experiment_id)
        target = workspace or original.workspace
        if target not in spaces:
            raise ExperimentNotFound(f"You cannot save into workspace {target!r}: not yours.")
        doc = original.document
        return self.create(
            target,
            name=name or f"Copy of {original.name}"[:200],
            owner=owner,
            plan=doc["plan"],
            mapping=doc["mapping"],
            options=doc["options"],
            exclusions=doc["exclusions"],
            notes=doc["notes"],
        )

    def archive(
        self, workspaces: str | Iterable[str], experiment_id: str, *, expected_version: int, by: str
    ) -> Experiment:
        """Put the experiment away (status ``archived``); its records stay."""
        return self.update(
            workspaces, experiment_id, expected_version=expected_version, by=by, status="archived"
        )

    def delete(
        self,
        workspaces: str | Iterable[str],
        experiment_id: str,
        *,
        expected_version: int | None = None,
    ) -> None:
        """Delete the experiment and all its records (the page asks for confirmation first);
        with ``expected_version``, only if nobody saved it since."""
        spaces = _spaces(workspaces)
        with self._session() as session:
            row = self._row(session, spaces, experiment_id)
            if expected_version is not None:
                self._check_version(row, expected_version)
            for table in (DecisionRow, SnapshotRow, AmendmentRow, RegistrationRow):
                session.execute(sa.delete(table).where(table.experiment_id == row.id))
            session.delete(row)

    # ---- registration and amendments ----
    def register(
        self, workspaces: str | Iterable[str], experiment_id: str, *, expected_version: int, by: str
    ) -> Registration:
        """Freeze the current plan with a timestamp and its fingerprint (pre-registration);
        status ``registered``. Later plan changes become amendments."""
        spaces = _spaces(workspaces)
        by = _text(by, "by")
        with self._session() as session:
            row = self._row(session, spaces, experiment_id)
            self._check_version(row, expected_version)
            if session.scalar(
                sa.select(RegistrationRow.id).where(RegistrationRow.experiment_id == row.id)
            ):
                raise RegistryInputError(
                    f"{row.name!r} is registered already: a change of its plan is saved as an "
                    "amendment."
                )
            plan = row.document["plan"]
            reg = RegistrationRow(
                experiment_id=row.id,
                registered_at=_now(),
                registered_by=by,
                plan=plan,
                fingerprint=ExperimentPlan.from_dict(plan).fingerprint(),
            )
            session.add(reg)
            status = "registered" if row.status == "draft" else row.status
            self._bump(session, row, expected_version, {"status": status})
            return _registration(reg)

    def registration(
        self, workspaces: str | Iterable[str], experiment_id: str
    ) -> Registration | None:
        """The frozen plan, None while the experiment is a draft."""
        spaces = _spaces(workspaces)
        with self._session() as session:
            row = self._row(session, spaces, experiment_id)
            reg = session.scalar(
                sa.select(RegistrationRow).where(RegistrationRow.experiment_id == row.id)
            )
            return None if reg is None else _registration(reg)

    def amend(
        self,
        workspaces: str | Iterable[str],
        experiment_id: str,
        plan: ExperimentPlan | MappingABC[str, Any],
        *,
        expected_version: int,
        by: str,
        reason: str,
    ) -> Amendment:
        """Change a registered plan, recording a dated amendment with its diff and reason."""
        spaces = _spaces(workspaces)
        if self.registration(spaces, experiment_id) is None:
            raise RegistryInputError(
                "This experiment is not registered yet: save its plan as a draft, or register "
                "it first."
            )
        _, amendment = self._save(
            spaces,
            experiment_id,
            expected_version,
            by,
            reason,
            {k: UNSET for k in ("name", "mapping", "options", "exclusions", "notes", "status")}
            | {"plan": plan},
        )
        if amendment is None:
            raise RegistryInputError("The plan is unchanged: there is nothing to amend.")
        return amendment

    def amendments(
        self, workspaces: str | Iterable[str], experiment_id: str
    ) -> tuple[Amendment, ...]:
        """The amendments, oldest first (the Decision page and the report list them)."""
        spaces = _spaces(workspaces)
        with self._session() as session:
            row = self._row(session, spaces, experiment_id)
            rows = session.scalars(
                sa.select(AmendmentRow)
                .where(AmendmentRow.experiment_id == row.id)
                .order_by(AmendmentRow.amended_at, AmendmentRow.id)
            )
            return tuple(_amendment(r) for r in rows)

    # ---- snapshots and decisions ----
    def add_snapshot(
        self,
        workspaces: str | Iterable[str],
        experiment_id: str,
        aggregates: Aggregates,
        options: MappingABC[str, Any] | None = None,
        *,
        by: str,
        source: str = "upload",
        fingerprint: DataFingerprint | None = None,
        checks: Iterable[Check] = (),
    ) -> Snapshot:
        """Save a readout's aggregated cells (never rows), the checks only the rows could
        give (``analysis.input_checks``) and the data's fingerprint; a draft or registered
        experiment becomes ``running``."""
        spaces = _spaces(workspaces)
        results = results_to_dict(aggregates, options)
        results["checks"] = [dataclasses.asdict(c) for c in checks]
        results = _json_ready(results, "the snapshot")
        fp = fingerprint or DataFingerprint()
        with self._session() as session:
            row = self._row(session, spaces, experiment_id)
            snap = SnapshotRow(
                experiment_id=row.id,
                taken_at=_now(),
                taken_by=_text(by, "by"),
                source=_text(source, "source", limit=40),
                results=results,
                file_hash=fp.file_hash,
                rows=fp.rows,
                first_day=fp.first_day,
                last_day=fp.last_day,
            )
            session.add(snap)
            if row.status in ("draft", "registered"):
                row.status = "running"
            session.flush()
            return _snapshot(snap)

    def snapshots(
        self, workspaces: str | Iterable[str], experiment_id: str
    ) -> tuple[Snapshot, ...]:
        """The snapshots, oldest first (the last one is the readout to reopen)."""
        spaces = _spaces(workspaces)
        with self._session() as session:
            row = self._row(session, spaces, experiment_id)
            rows = session.scalars(
                sa.select(SnapshotRow)
                .where(SnapshotRow.experiment_id == row.id)
                .order_by(SnapshotRow.taken_at, SnapshotRow.id)
            )
            return tuple(_snapshot(r) for r in rows)

    def record_decision(
        self,
        workspaces: str | Iterable[str],
        experiment_id: str,
        *,
        verdict: str,
        reasons: Iterable[str],
        by: str,
        rationale: str = "",
        snapshot_id: int | None = None,
    ) -> Decision:
        """Record a decision (the verdict, its reasons, who, when, why); status ``decided``,
        and the list shows the verdict."""
        spaces = _spaces(workspaces)
        reasons = tuple(str(r) for r in reasons)
        verdict = _text(verdict, "verdict", limit=40)
        with self._session() as session:
            row = self._row(session, spaces, experiment_id)
            if snapshot_id is not None:
                snap = session.get(SnapshotRow, snapshot_id)
                if snap is None or snap.experiment_id != row.id:
                    raise RegistryInputError(
                        f"snapshot_id {snapshot_id!r} is not a snapshot of this experiment."
                    )
            decision = DecisionRow(
                experiment_id=row.id,
                decided_at=_now(),
                decided_by=_text(by, "by"),
                verdict=verdict,
                reasons=list(reasons),
                rationale=str(rationale),
                snapshot_id=snapshot_id,
            )
            session.add(decision)
            row.verdict = verdict
            if row.status != "archived":
                row.status = "decided"
            session.flush()
            return _decision(decision)

    def decisions(
        self, workspaces: str | Iterable[str], experiment_id: str
    ) -> tuple[Decision, ...]:
        """The decision records, oldest first (the last one is the current verdict)."""
        spaces = _spaces(workspaces)
        with self._session() as session:
            row = self._row(session, spaces, experiment_id)
            rows = session.scalars(
                sa.select(DecisionRow)
                .where(DecisionRow.experiment_id == row.id)
                .order_by(DecisionRow.decided_at, DecisionRow.id)
            )
            return tuple(_decision(r) for r in rows)

    def timeline(
        self, workspaces: str | Iterable[str], experiment_id: str
    ) -> tuple[TimelineEntry, ...]:
        """Every dated event of the experiment, oldest first: created, registered, each
        amendment, snapshot and decision."""
        spaces = _spaces(workspaces)
        exp = self.get(spaces, experiment_id)
        entries = [TimelineEntry(exp.created_at, "created", exp.owner, f"{exp.name} created")]
        reg = self.registration(spaces, experiment_id)
        if reg is not None:
            entries.append(
                TimelineEntry(
                    reg.registered_at,
                    "registered",
                    reg.registered_by,
                    f"plan registered (fingerprint {reg.fingerprint})",
                )
            )
        for a in self.amendments(spaces, experiment_id):
            summary = a.text + (f" ({a.reason})" if a.reason else "")
            entries.append(TimelineEntry(a.amended_at, "amended", a.amended_by, summary))
        for s in self.snapshots(spaces, experiment_id):
            fp = s.fingerprint
            rows = f", {fp.rows:,} rows" if fp.rows is not None else ""
            days = f", {fp.first_day} to {fp.last_day}" if fp.first_day and fp.last_day else ""
            summary = f"results from {s.source}{rows}{days}"
            entries.append(TimelineEntry(s.taken_at, "snapshot", s.taken_by, summary))
        for d in self.decisions(spaces, experiment_id):
            summary = f"decided: {d.verdict}" + (f" ({d.rationale})" if d.rationale else "")
            entries.append(TimelineEntry(d.decided_at, "decided", d.decided_by, summary))
        return tuple(sorted(entries, key=lambda e: e.at))

    # ---- export and import ----
    def export_experiment(
        self, workspaces: str | Iterable[str], experiment_id: str
    ) -> dict[str, Any]:
        """One experiment and all its records as a single JSON-ready dict (``json.dumps``
        it to a file); :meth:`import_experiment` reads it back."""
        spaces = _spaces(workspaces)
        exp = self.get(spaces, experiment_id)
        reg = self.registration(spaces, experiment_id)
        snaps = self.snapshots(spaces, experiment_id)
        snap_index = {s.id: i for i, s in enumerate(snaps)}
        return {
            "format": EXPORT_FORMAT,
            "format_version": EXPORT_VERSION,
            "experiment": {
                "id": exp.id,
                "workspace": exp.workspace,
                "name": exp.name,
                "owner": exp.owner,
                "status": exp.status,
                "verdict": exp.verdict,
                "created_at": _iso(exp.created_at),
                "updated_at": _iso(exp.updated_at),
                "version": exp.version,
                "document": exp.document,
            },
            "registration": None
            if reg is None
            else {
                "registered_at": _iso(reg.registered_at),
                "registered_by": reg.registered_by,
                "plan": reg.plan,
                "fingerprint": reg.fingerprint,
            },
            "amendments": [
                {
                    "amended_at": _iso(a.amended_at),
                    "amended_by": a.amended_by,
                    "reason": a.reason,
                    "plan_before": a.plan_before,
                    "plan_after": a.plan_after,
                    "changes": [c.to_dict() for c in a.changes],
                }
                for a in self.amendments(spaces, experiment_id)
            ],
            "snapshots": [
                {
                    "taken_at": _iso(s.taken_at),
                    "taken_by": s.taken_by,
                    "source": s.source,
                    "results": s.results,
                    "fingerprint": s.fingerprint.to_dict(),
                }
                for s in snaps
            ],
            "decisions": [
                {
                    "decided_at": _iso(d.decided_at),
                    "decided_by": d.decided_by,
                    "verdict": d.verdict,
                    "reasons": list(d.reasons),
                    "rationale": d.rationale,
                    "snapshot": snap_index.get(d.snapshot_id) if d.snapshot_id else None,
                }
                for d in self.decisions(spaces, experiment_id)
            ],
        }

    def import_experiment(
        self, workspace: str, exported: MappingABC[str, Any] | str | bytes
    ) -> Experiment:
        """Read back :meth:`export_experiment`'s document into ``workspace`` (the caller's).

        The record keeps its id, dates, owner and history; if the id is taken in this
        database (an import of an experiment that is still here) it gets a new id.
        """
        data = self._exported(exported)
        workspace = _text(workspace, "workspace")
        try:
            return self._import(workspace, data)
        except (KeyError, TypeError, AttributeError) as exc:
            raise RegistryInputError(
                f"This file is not a complete abcore experiment (missing or wrong {exc})."
            ) from exc

    @staticmethod
    def _exported(exported: MappingABC[str, Any] | str | bytes) -> MappingABC[str, Any]:
        if isinstance(exported, str | bytes):
            try:
                exported = json.loads(exported)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise RegistryInputError(f"This file is not valid JSON ({exc}).") from exc
        if not isinstance(exported, MappingABC) or exported.get("format") != EXPORT_FORMAT:
            raise RegistryInputError(
                "This file is not an abcore experiment export (its 'format' is not "
                f"{EXPORT_FORMAT!r})."
            )
        if exported.get("format_version", 0) > EXPORT_VERSION:
            raise RegistryInputError(
                "This experiment was exported by a newer version of abcore: update to import it."
            )
        return exported

    def _import(self, workspace: str, data: MappingABC[str, Any]) -> Experiment:
        e = data["experiment"]
        doc = e["document"]
        document = _document(
            doc["plan"], doc.get("mapping"), doc.get("options"), doc.get("exclusions"),
            doc.get("notes", ""),
        )  # fmt: skip
        status = e["status"] if e["status"] in STATUSES else "draft"
        with self._session() as session:
            exp_id = str(e["id"])
            if session.get(ExperimentRow, exp_id) is not None:
                exp_id = uuid.uuid4().hex
            row = ExperimentRow(
                id=exp_id,
                workspace=workspace,
                name=_text(e["name"], "name"),
                owner=_text(e["owner"], "owner"),
                status=status,
                created_at=_parse_time(e["created_at"], "created_at"),
                updated_at=_parse_time(e["updated_at"], "updated_at"),
                version=int(e["version"]),
                document=document,
                verdict=e.get("verdict"),
            )
            session.add(row)
            session.flush()
            reg = data.get("registration")
            if reg:
                session.add(
                    RegistrationRow(
                        experiment_id=exp_id,
                        registered_at=_parse_time(reg["registered_at"], "registered_at"),
                        registered_by=str(reg["registered_by"]),
                        plan=_plan_dict(reg["plan"]),
                        fingerprint=str(reg["fingerprint"]),
                    )
                )
            for a in data.get("amendments", ()):
                session.add(
                    AmendmentRow(
                        experiment_id=exp_id,
                        amended_at=_parse_time(a["amended_at"], "amended_at"),
                        amended_by=str(a["amended_by"]),
                        reason=str(a.get("reason", "")),
                        plan_before=_plan_dict(a["plan_before"]),
                        plan_after=_plan_dict(a["plan_after"]),
                        changes=[PlanChange.from_dict(c).to_dict() for c in a["changes"]],
                    )
                )
            snap_rows = []
            for s in data.get("snapshots", ()):
                fp = DataFingerprint.from_dict(s.get("fingerprint") or {})
                snap = SnapshotRow(
                    experiment_id=exp_id,
                    taken_at=_parse_time(s["taken_at"], "taken_at"),
                    taken_by=str(s["taken_by"]),
                    source=str(s["source"]),
                    results=_snapshot_results(s["results"]),
                    **dataclasses.asdict(fp),
                )
                session.add(snap)
                snap_rows.append(snap)
            session.flush()
            for d in data.get("decisions", ()):
                index = d.get("snapshot")
                session.add(
                    DecisionRow(
                        experiment_id=exp_id,
                        decided_at=_parse_time(d["decided_at"], "decided_at"),
                        decided_by=str(d["decided_by"]),
                        verdict=_text(d["verdict"], "verdict", limit=40),
                        reasons=[str(r) for r in d.get("reasons", ())],
                        rationale=str(d.get("rationale", "")),
                        snapshot_id=None if index is None else snap_rows[int(index)].id,
                    )
                )
            session.flush()
            return _experiment(row)
