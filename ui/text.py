"""User text shown as text: one escape for every string a user (or a link) supplied.

Plan names, arm names, column and file names, notes and anything read from a link come from
other people on a hosted app. Streamlit draws ``st.markdown``, ``st.caption``, headings,
alerts, widget labels, ``help=`` tooltips, tab and expander labels and radio options as
Markdown, so such a string could otherwise draw an image (a tracking pixel fetched by every
visitor's browser), a link, LaTeX, an emoji or icon shortcode, a coloured span or a heading
inside a trusted page. The escape itself lives in :mod:`abcore.markdown`, so the downloaded
reports and the pages share one implementation; this module is the UI's name for it.

``md(name)`` for a name inside our own sentence; ``code(name)`` for a name set in a code span
(a backslash would show there, so the span's fence outgrows the name's backticks instead).
Selectbox and multiselect options and table cells are plain text in Streamlit: they need
neither.
"""

from __future__ import annotations

from abcore.markdown import code, inert

__all__ = ["code", "md"]


def md(text: object) -> str:
    """``text`` escaped for any Streamlit element that renders Markdown.

    >>> print(md("**bold** [click](http://host) $x$").replace("\\u200b", "<zwsp>"))
    \\*\\*bold\\*\\* \\[click\\](http:<zwsp>//host) \\$x\\$
    """
    return inert(text)
