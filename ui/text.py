"""User text shown as text: one escape for every string a user (or a link) supplied.

Plan names, arm names, column and file names, notes and anything read from a link come from
other people on a hosted app. Streamlit draws ``st.markdown``, ``st.caption``, headings,
alerts and widget labels as Markdown, so such a string could otherwise draw an image (a
tracking pixel fetched by every visitor's browser), a link, LaTeX, an emoji or icon
shortcode, a coloured span or a heading inside a trusted page. Raw HTML is already shown as
text by Streamlit; everything else is neutralised here, once, for the whole UI.

How: every ASCII punctuation character that Markdown, GitHub-flavoured Markdown or
Streamlit's extensions give a meaning to is backslash-escaped (CommonMark turns ``\\x``
back into ``x``); a colon is followed by a zero-width space, because Streamlit's emoji,
icon (``:material/…:``) and colour (``:red[…]``) directives are matched on the text after
escapes are removed; line breaks become spaces, so a name cannot open a new block (a
heading, a list, a rule). The text reads the same on the page.
"""

from __future__ import annotations

import re

__all__ = ["md"]

# CommonMark's escapable punctuation that means something in Markdown, GFM or Streamlit's
# extensions ($ for LaTeX, ~ for strikethrough, | for tables, = for setext headings).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$&=\"'^])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")
_ZERO_WIDTH_SPACE = "\u200b"


def md(text: object) -> str:
    """``text`` escaped for any Streamlit element that renders Markdown.

    Use it for every value that did not come from our own code: names, labels, notes,
    column and file names, anything read from a link or a file. Our own sentences keep
    their Markdown; only the user's part goes through here.

    >>> md("**bold** [click](http://host)")
    '\\\\*\\\\*bold\\\\*\\\\* \\\\[click\\\\]\\\\(http:\\u200b//host\\\\)'
    >>> md("$x$ :smile:") == "\\\\$x\\\\$ :\\u200bsmile:\\u200b"
    True
    >>> md("first\\n\\n# second")
    'first \\\\# second'
    >>> md(12)
    '12'
    """
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)))
    return escaped.replace(":", ":" + _ZERO_WIDTH_SPACE)
