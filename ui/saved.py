"""The Start page's view of saved experiments on a host with accounts: the ones in the
user's workspaces, and the one a link names (``/?experiment=<id>``).

Only with login configured (:func:`ui.auth.login_configured`): a single-user app shows
nothing new here and opens no database. Everything is read through the registry with the
session's :func:`ui.auth.identity` workspaces, so another user's experiment reads as missing
whether it is looked for by list, by address or by link.
"""

from __future__ import annotations

import streamlit as st

from abcore.registry import (
    Experiment,
    ExperimentNotFound,
    Registry,
    RegistryError,
    database_url,
    open_registry,
)
from ui.auth import Identity
from ui.text import code, md

LINK_PARAM = "experiment"


@st.cache_resource(show_spinner=False)
def _registry(url: str) -> Registry:
    """One registry per database URL and process (its connections are pooled)."""
    return open_registry(url)


def registry() -> Registry:
    """The app's registry (``ABCORE_DB_URL``, else the SQLite file beside the app)."""
    return _registry(database_url())


def linked_id() -> str:
    """The experiment id the address names, '' without one."""
    return str(st.query_params.get(LINK_PARAM, "")).strip()


def saved_line(exp: Experiment) -> str:
    """One line of the list: name, owner, status, last saved (UTC)."""
    return (
        f"**{md(exp.name)}** · {md(exp.owner)} · {exp.status} · "
        f"saved {exp.updated_at:%Y-%m-%d %H:%M} UTC"
    )


def render_saved(who: Identity) -> None:
    """The user's saved experiments, and the one the address names, or a sentence."""
    st.subheader("Your saved experiments", divider="gray")
    wanted = linked_id()
    if who.anonymous:
        if wanted:
            st.info(
                "This link names a saved experiment: log in (in the sidebar) to open it. "
                "Only its owner's workspaces can.",
                icon=":material/lock:",
            )
        st.caption(
            "Saved experiments need an account. Without one, the calculators and shared "
            "plan and results links work as usual."
        )
        return
    try:
        reg = registry()
        if wanted:
            try:
                exp = reg.get(who.workspaces, wanted)
            except ExperimentNotFound as exc:
                st.error(md(str(exc)), icon=":material/link_off:")
            else:
                with st.container(border=True, key="saved__linked"):
                    st.markdown(f"Opened from the link: {saved_line(exp)}")
        mine = reg.list(who.workspaces)
    except RegistryError as exc:
        st.warning(md(str(exc)), icon=":material/database:")
        return
    with st.container(key="saved__list"):
        st.caption(
            f"{len(mine)} saved experiment{'s' if len(mine) != 1 else ''} in "
            f"{', '.join(code(w) for w in who.workspaces)}."
        )
        for exp in mine:
            st.markdown(f"- {saved_line(exp)}")
