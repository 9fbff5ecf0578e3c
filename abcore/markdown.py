"""User text made inert inside Markdown: the one escape of the engine's reports and the UI.

Plan names, arm names, column and file names, notes and anything read from a link come from
other people on a hosted app. A Markdown viewer (the downloaded reports) and Streamlit (every
``st.markdown``, caption, heading, alert and widget label) would otherwise turn such a string
into an image (a tracking pixel fetched by every reader), a link, LaTeX, an emoji or icon
shortcode, a coloured span or a heading. Raw HTML is already shown as text by Streamlit;
everything else is neutralised here, once, for the reports and the UI (``ui.text.md`` is this
function under the UI's name).

How: every ASCII punctuation character that Markdown, GitHub-flavoured Markdown or
Streamlit's extensions give a meaning to is backslash-escaped (CommonMark turns ``\\x``
back into ``x``); a colon is followed by a zero-width space, because Streamlit's emoji,
icon (``:material/…:``) and colour (``:red[…]``) directives are matched on the text after
escapes are removed (and autolinks need ``scheme:`` followed by ``//``); line breaks become
spaces, so a name cannot open a new block (a heading, a list, a rule). The text reads the
same.

Inside a code span a backslash is shown, not removed, so a name set in code is fenced by
:func:`code` instead: a run of backticks longer than any run in the name.
"""

from __future__ import annotations

import re

__all__ = ["code", "inert"]

# CommonMark's escapable punctuation that means something in Markdown, GFM or Streamlit's
# extensions ($ for LaTeX, ~ for strikethrough, | for tables, = for setext headings).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$&=\"'^])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")
_BACKTICK_RUNS = re.compile(r"`+")
_ZERO_WIDTH_SPACE = "\u200b"


def inert(text: object) -> str:
    """``text`` escaped for any Markdown renderer (Streamlit's included).

    Use it for every value that did not come from our own code: names, labels, notes,
    column and file names, anything read from a link or a file. Our own sentences keep
    their Markdown; only the user's part goes through here.

    >>> inert("**bold** [click](http://host)")
    '\\\\*\\\\*bold\\\\*\\\\* \\\\[click\\\\]\\\\(http:\\u200b//host\\\\)'
    >>> inert("$x$ :smile:") == "\\\\$x\\\\$ :\\u200bsmile:\\u200b"
    True
    >>> inert("first\\n\\n# second")
    'first \\\\# second'
    >>> inert(12)
    '12'
    """
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)))
    return escaped.replace(":", ":" + _ZERO_WIDTH_SPACE)


def code(text: object) -> str:
    """``text`` as one inline code span, whatever backticks it holds.

    CommonMark closes a code span at the first run of exactly as many backticks as opened
    it, and shows backslashes inside it as typed; so the fence is one backtick longer than
    the longest run in ``text``, padded with a space when ``text`` starts or ends with a
    backtick (the renderer strips one space on each side). Nothing inside a code span is
    Markdown: no link, image, emphasis or LaTeX; a colon gets the same zero-width space as
    in :func:`inert`, so Streamlit's directives cannot match either.

    >>> code("revenue")
    '`revenue`'
    >>> code("a`b")
    '``a`b``'
    >>> code("``x") == "``` ``x ```"
    True
    >>> code(":red[x]") == "`:\\u200bred[x]`"
    True
    >>> code("two\\nlines")
    '`two lines`'
    """
    body = _LINE_BREAKS.sub(" ", str(text)).replace(":", ":" + _ZERO_WIDTH_SPACE)
    runs = _BACKTICK_RUNS.findall(body)
    fence = "`" * (max((len(r) for r in runs), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"
