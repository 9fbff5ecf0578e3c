"""When the registry's database cannot be used, a sentence, and the rest of abcore works.

A locked SQLite file, a folder that cannot be created, a damaged file, a PostgreSQL server
that does not answer, a URL that is not one: each raises ``RegistryUnavailable`` with a
sentence saying what is wrong and what to do. Nothing of the registry runs at import, and
no module of abcore imports it, so the calculators never depend on a database.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from test_imports import import_graph

from abcore.plan import ExperimentPlan
from abcore.registry import RegistryUnavailable, database_url, open_registry

ROOT = Path(__file__).resolve().parents[1]


def test_a_locked_file_gives_a_sentence_and_nothing_is_lost(tmp_path):
    path = tmp_path / "abcore.sqlite"
    reg = open_registry(f"sqlite:///{path}", timeout=0.2)
    try:
        exp = reg.create("team", name="A", owner="ana", plan=ExperimentPlan())
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(RegistryUnavailable, match=r"is locked by another program"):
                reg.update("team", exp.id, expected_version=1, by="ana", notes="while locked")
            with pytest.raises(RegistryUnavailable, match=r"try again in a moment"):
                reg.create("team", name="B", owner="ana", plan=ExperimentPlan())
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert reg.get("team", exp.id).notes == ""  # the failed save wrote nothing
        assert reg.update("team", exp.id, expected_version=1, by="ana", notes="later").version == 2
    finally:
        reg.close()


def test_a_folder_that_cannot_be_created_gives_a_sentence(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(RegistryUnavailable, match=r"folder of the experiments database .* cannot"):
        open_registry(f"sqlite:///{blocker / 'db' / 'abcore.sqlite'}")


def test_a_damaged_file_gives_a_sentence(tmp_path):
    path = tmp_path / "abcore.sqlite"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(RegistryUnavailable, match=r"is damaged: it is not a readable SQLite"):
        open_registry(f"sqlite:///{path}")


def test_a_file_damaged_after_opening_gives_a_sentence(tmp_path):
    path = tmp_path / "abcore.sqlite"
    reg = open_registry(f"sqlite:///{path}")
    try:
        reg.close()
        path.write_bytes(b"not a database at all, " * 400)
        with pytest.raises(RegistryUnavailable, match=r"is damaged"):
            reg.list("team")
    finally:
        reg.close()


def test_an_unreachable_postgresql_gives_a_sentence():
    pytest.importorskip("psycopg")
    # port 1 on the loopback: nothing listens there, the connection is refused at once
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/experiments"
    with pytest.raises(RegistryUnavailable, match=r"cannot be reached") as raised:
        open_registry(url, timeout=2)
    assert "secret" not in str(raised.value)  # the password is never shown
    assert "127.0.0.1:1/experiments" in str(raised.value)


def test_a_url_that_is_not_one_gives_a_sentence():
    with pytest.raises(RegistryUnavailable, match=r"ABCORE_DB_URL must be a database URL"):
        open_registry("not a url")


def test_the_url_comes_from_the_environment_else_a_file_beside_the_app():
    assert database_url({"ABCORE_DB_URL": "postgresql+psycopg://u@h/db"}) == (
        "postgresql+psycopg://u@h/db"
    )
    assert database_url({}) == f"sqlite:///{ROOT / 'data' / 'abcore.sqlite'}"


def test_importing_abcore_opens_no_database(tmp_path):
    """``import abcore`` loads neither the registry nor SQLAlchemy, and importing the
    registry creates no file: it is opened on first use only."""
    target = tmp_path / "never" / "abcore.sqlite"
    code = (
        "import sys, abcore, abcore.analysis, abcore.share\n"
        "assert 'abcore.registry' not in sys.modules, 'abcore imports the registry'\n"
        "assert 'sqlalchemy' not in sys.modules, 'abcore imports sqlalchemy'\n"
        "import abcore.registry\n"
    )
    env = {**os.environ, "ABCORE_DB_URL": f"sqlite:///{target}"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert not target.parent.exists()


def test_no_module_of_abcore_imports_the_registry():
    """The registry sits on top: it may import plan, model and share; only the app's pages
    import it."""
    graph = import_graph()
    outside = {
        module: sorted(t for t in targets if t.startswith("abcore.registry"))
        for module, targets in graph.items()
        if not module.startswith("abcore.registry")
    }
    assert {m: t for m, t in outside.items() if t} == {}
    assert "abcore.plan" in graph["abcore.registry.store"]
