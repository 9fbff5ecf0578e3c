"""Experiments: the saved experiments of the user's workspaces, and what they teach.

A saved experiment's address is this page with ``?experiment=<id>`` (the "Copy link"
under the list): it reopens the experiment when it is in the user's workspaces, and says
it is not otherwise (whether it exists elsewhere is never said).

Thin page: the registry (:mod:`abcore.registry`) is opened once per process by
``ui.experiments_state``; ``ui.experiments_sections`` draws the list, the actions, the
timeline, the import and the learning views (statistics from :mod:`abcore.learning`). When
the database cannot be used the page says so in a sentence and every calculator keeps
working.
"""

from __future__ import annotations

import streamlit as st

from abcore.registry import Registry, RegistryError
from ui import experiments_sections as sections
from ui import experiments_state as ers
from ui.text import md


def render_saved(reg: Registry) -> None:
    """The filters, the list, the chosen experiment's actions and timeline, the import."""
    search, statuses = sections.render_filters()
    me = ers.who()
    try:
        experiments = reg.list(me.workspaces, search=search, status=statuses or None)
        total = len(reg.list(me.workspaces)) if (search or statuses) else len(experiments)
    except RegistryError as exc:
        st.error(md(exc), icon=":material/error:")
        return
    flash = st.session_state.pop(sections.K + "flash", None)
    if flash:
        st.success(md(flash), icon=":material/check:")
    if not experiments:
        st.info(
            "No experiment matches these filters."
            if total
            else "No saved experiment yet: open or start one, then press Save in the sidebar.",
            icon=":material/inventory_2:",
        )
    else:
        where = f" · workspace {md(me.workspace)}" if me.logged_in else ""
        st.caption(f"{len(experiments)} of {total} experiments{where}")
        chosen = sections.render_list(experiments)
        if chosen is not None:
            sections.render_actions(reg, chosen)
            sections.render_timeline(reg, chosen)
    sections.render_import(reg)


LOGIN_SENTENCE = (
    "Log in to open saved experiments (the button is in the sidebar); only the members of an "
    "experiment's workspace can open it. Without an account the calculators and the shared "
    "plan and results links work as usual."
)


def render_page() -> None:
    # checked first: an anonymous visitor reads no workspace (the registry refuses an empty
    # list) and opens no database; a link's id is not looked up, so nothing about it leaks
    if not ers.who().workspaces:
        st.info(LOGIN_SENTENCE, icon=":material/login:")
        return
    reg = ers.registry()
    if reg is None:
        st.warning(md(ers.unavailable()), icon=":material/database_off:")
        return
    sections.render_link(reg)
    render_saved(reg)
    sections.render_learning(reg)


st.title("Experiments")
st.caption(
    "Every experiment saved in your workspace: its status, owner, dates and verdict. Open one "
    "to bring its plan and latest results back on every page; what the decided ones did "
    "sets the expectations for the next."
)
render_page()
