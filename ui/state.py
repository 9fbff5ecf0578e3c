"""Per-session state: the plan, the DuckDB connection, and the link that carries the plan.

Everything lives in ``st.session_state``, which Streamlit keeps per browser session, so two
users never share a plan or a connection.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from abcore import ExperimentPlan, InputError

PLAN_KEY = "plan"
WIDGET_PREFIX = "plan__"
LOADED_PARAM_KEY = "_loaded_plan_param"
DEMO_FLAG_KEY = "experiment_is_demo"
"""Whether the open experiment is the bundled demo (:mod:`ui.experiment_state`)."""
DEMO_PLAN_PATH = Path(__file__).resolve().parent.parent / "sample_data" / "demo_plan.json"


def seed(key: str, value: object) -> str:
    """Give a widget its starting value once (later reruns keep the user's); return the key."""
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def editor_seed(key: str, frame: object) -> object:
    """The data an editor starts from, fixed for the life of its key (edits are deltas)."""
    if key not in st.session_state:
        st.session_state[key] = frame
    return st.session_state[key]


def demo_plan() -> ExperimentPlan:
    """The plan of the bundled demo experiment, so the app opens on something real."""
    if DEMO_PLAN_PATH.exists():
        return ExperimentPlan.from_json(DEMO_PLAN_PATH.read_text(encoding="utf-8"))
    return ExperimentPlan(name="Demo experiment")


def get_plan() -> ExperimentPlan:
    if PLAN_KEY not in st.session_state:
        st.session_state[PLAN_KEY] = demo_plan()
    return st.session_state[PLAN_KEY]


def set_plan(plan: ExperimentPlan, *, reset_widgets: bool = False) -> None:
    """Store the plan; ``reset_widgets`` re-seeds the Plan page's inputs from it."""
    st.session_state[PLAN_KEY] = plan
    if reset_widgets:
        for key in [k for k in st.session_state if str(k).startswith(WIDGET_PREFIX)]:
            del st.session_state[key]


def load_plan_from_link() -> str | None:
    """Adopt the plan carried by the URL, once per distinct link; return an error sentence."""
    packed = st.query_params.get("plan")
    if not packed or st.session_state.get(LOADED_PARAM_KEY) == packed:
        return None
    st.session_state[LOADED_PARAM_KEY] = packed
    try:
        plan = ExperimentPlan.from_query_params({"plan": packed})
    except InputError as exc:
        return f"The shared link could not be opened: {exc} The demo plan is shown instead."
    except Exception:  # a link is untrusted: any failure (recursion, memory) is a sentence
        return (
            "The shared link could not be opened: its plan is malformed. "
            "The demo plan is shown instead."
        )
    set_plan(plan, reset_widgets=True)
    st.session_state[DEMO_FLAG_KEY] = False  # a shared plan is someone's own, not the demo
    return None


def sync_link(plan: ExperimentPlan) -> None:
    """Make the address bar carry ``plan``, remembering it so it is not re-adopted as new."""
    params = plan.to_query_params()
    st.session_state[LOADED_PARAM_KEY] = params["plan"]
    if st.query_params.get("plan") != params["plan"]:
        st.query_params.from_dict(params)


CONNECTION_KEY = "duckdb_con"


def get_connection():  # -> duckdb.DuckDBPyConnection (imported lazily: pages without data skip it)
    """A cursor on this session's own DuckDB database, created on first use.

    The database (:class:`abcore.hosting.SessionDatabase`: the session's share of the
    server's memory and threads, and a spill folder of its own) is kept in
    ``st.session_state``, never in a module global, so two browser sessions never see each
    other's tables; when Streamlit drops the session, the database is closed and its folder
    removed. Each call gets its own cursor (a connection to the same database): Streamlit
    can start a session's next run while the previous one is still inside a DuckDB call (an
    upload replaced mid-read), and DuckDB refuses a second call on a busy connection
    ("connection is busy with another call"), which reached the page as an error under load.
    Cursors share the session's tables, not its temporary ones, so a caller keeps one cursor
    for a whole step (the engine passes it along).
    """
    if CONNECTION_KEY not in st.session_state:
        from abcore.hosting import SessionDatabase

        st.session_state[CONNECTION_KEY] = SessionDatabase()
    return st.session_state[CONNECTION_KEY].cursor()


def upload_limit_mb() -> int:
    """Largest upload this session may send (MB): its share of the server, at most
    ``server.maxUploadSize``; give it to ``st.file_uploader(max_upload_size=...)`` so the
    browser refuses bigger files before sending them."""
    from abcore.hosting import current_limits

    return min(current_limits().upload_mb, int(st.get_option("server.maxUploadSize")))


def upload_refusal(files: object) -> str | None:
    """A sentence when an upload (one file or a list) is over this session's limit, else None.

    The browser already refuses a single file over the limit; this is the app's own check,
    for several files whose total is over it, and for clients that skip the browser's.
    """
    import dataclasses

    from abcore.hosting import current_limits, upload_too_large

    items = [] if files is None else list(files) if isinstance(files, list | tuple) else [files]
    if not items:
        return None
    size = sum(int(getattr(f, "size", 0) or 0) for f in items)
    name = " + ".join(str(getattr(f, "name", "upload")) for f in items)
    limits = dataclasses.replace(current_limits(), upload_mb=upload_limit_mb())
    return upload_too_large(name, size, limits, files=len(items))


class PlanWidgets:
    """Widgets that start from the plan, follow it when it changes elsewhere, and tell the
    page when the user moved them.

    A page seeds each widget with the value the plan implies (:meth:`seed`,
    :meth:`seed_editor`); when that value changes outside the widget (the Plan page edited
    the plan, a link was opened) the widget is re-seeded. :meth:`changed` and
    :meth:`editor_changed` say whether the user moved a widget in this run, so a page writes
    the plan only on a user's action, never because it was opened. After writing, the page
    calls :meth:`accept` so its own write is not mistaken for an outside change.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.keys: list[str] = []

    def _k(self, kind: str, key: str) -> str:
        return f"{self.prefix}{kind}__{key}"

    def seed(self, key: str, value: object, options: list | None = None) -> str:
        """Seed widget ``key`` with ``value``; return the widget's full key."""
        full, src = self.prefix + key, self._k("src", key)
        if full not in st.session_state or st.session_state.get(src) != value:
            st.session_state[full] = value
            st.session_state[src] = value
        if options is not None and st.session_state[full] not in options:
            st.session_state[full] = value if value in options else options[0]
            st.session_state[src] = st.session_state[full]
        self.keys.append(key)
        return full

    def changed(self, key: str) -> bool:
        return st.session_state.get(self.prefix + key) != st.session_state.get(self._k("src", key))

    @staticmethod
    def signature(frame: object) -> str:
        """A table's content as text, so tables compare equal when their cells do."""
        import json

        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        return json.dumps(records, default=str, sort_keys=True)

    def seed_editor(self, key: str, frame: object) -> object:
        """The data to give ``st.data_editor(key=prefix + key)``; a new seed drops its edits."""
        sig = self.signature(frame)
        if st.session_state.get(self._k("accepted", key)) != sig:
            st.session_state[self._k("seed", key)] = frame
            st.session_state[self._k("accepted", key)] = sig
            st.session_state.pop(self.prefix + key, None)
        return st.session_state[self._k("seed", key)]

    def editor_changed(self, key: str, edited: object) -> bool:
        sig = self.signature(edited.reset_index(drop=True))
        return sig != st.session_state.get(self._k("accepted", key))

    def accept(self, editors: dict | None = None) -> None:
        """The plan now holds what the widgets show: remember it as their seed.

        ``editors`` maps editor keys to the table the new plan implies; the editors keep
        their pending edits (the browser sends edits relative to the data it was given).
        """
        for key in self.keys:
            st.session_state[self._k("src", key)] = st.session_state.get(self.prefix + key)
        for key, frame in (editors or {}).items():
            st.session_state[self._k("accepted", key)] = self.signature(frame)
