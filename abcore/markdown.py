"""User text made inert inside Markdown: the one escape of the engine's reports and the UI.

Plan names, arm names, column and file names, notes and anything read from a link come from
other people on a hosted app. A Markdown viewer (the downloaded reports) and Streamlit (every
``st.markdown``, caption, heading, alert and widget label) would otherwise turn such a string
into an image (a tracking pixel fetched by every reader), a link, LaTeX, an emoji or icon
shortcode, a coloured span or a heading. Raw HTML is already shown as text by Streamlit;
everything else is neutralised here, once, for the reports and the UI (``ui.text.md`` is this
function under the UI's name).

How, with as few backslashes as make it inert (a report read as plain text, and a message a
test or a notebook compares, stay readable): the characters that mean something anywhere in a
line are backslash-escaped (``\\ ` * _ [ ] $ ~ | & @``, ``_`` but inside a word: emphasis,
code, links and images, LaTeX, strikethrough, tables, entities, e-mail autolinks; CommonMark
turns ``\\x`` back into ``x``); a colon before a non-space and the dot of ``www.`` get a zero-width
space, because Streamlit's emoji, icon (``:material/…:``) and colour (``:red[…]``) directives
are matched on the text after escapes are removed, and autolinks need ``scheme://`` or
``www.``; line breaks become spaces, so a name cannot open a new block, and what opens a block
at the start of a line (``#``, ``>``, ``+``, ``-``, ``=``, ``1.``, an indent) is escaped or
dropped at the start of the text. ``<`` is escaped where it opens a tag (``<img``, ``</``,
``<!--``), which a report's Markdown viewer might render; ``< > ( ) ! . -`` elsewhere are left
as typed (``p < 0.05``), and without ``[`` a parenthesis or ``!`` makes nothing. The
text reads the same.

Inside a code span a backslash is shown, not removed, so a name set in code is fenced by
:func:`code` instead: a run of backticks longer than any run in the name.
"""

from __future__ import annotations

import re

__all__ = ["code", "inert"]

# Punctuation that means something anywhere in a line in Markdown, GFM or Streamlit's
# extensions ($ for LaTeX, ~ for strikethrough, | for tables, & for entities, @ for e-mail),
# and < where it opens an HTML tag, comment or autolink (a report's viewer may render HTML).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]|~$&@]|<(?=[A-Za-z/!?]))|(_+)")
# What opens a block when it starts a line: a heading, a quote, a list item, a setext line.
_BLOCK_START = re.compile(r"^([#>+\-=]|\d{1,9}[.)])")
_WWW = re.compile(r"(?i)\b(www)\.")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")
_BACKTICK_RUNS = re.compile(r"`+")
_ZERO_WIDTH_SPACE = "\u200b"
# A directive or a scheme starts right after its colon (:smile:, :red[, http://); a colon
# before a space or at the end, as in our sentences ("names: 'x'"), opens nothing.
_COLON = re.compile(r":(?=\S)")


def inert(text: object) -> str:
    """``text`` escaped for any Markdown renderer (Streamlit's included).

    Use it for every value that did not come from our own code: names, labels, notes,
    column and file names, anything read from a link or a file. Our own sentences keep
    their Markdown; only the user's part goes through here.

    >>> print(inert("**bold** ![x](http://host/x.png)").replace("\\u200b", "<zwsp>"))
    \\*\\*bold\\*\\* !\\[x\\](http:<zwsp>//host/x.png)
    >>> print(inert("$x$ :red[y] _a_b_ x@www.host.org").replace("\\u200b", "<zwsp>"))
    \\$x\\$ :<zwsp>red\\[y\\] \\_a_b\\_ x\\@www<zwsp>.host.org
    >>> print(inert("first\\n\\n# second"), inert("# title"), inert("  - item"), inert("1. one"))
    first # second \\# title \\- item 1\\. one
    >>> print(inert("Baseline must be > 0 (got -1.5), p < 0.05!"))
    Baseline must be > 0 (got -1.5), p < 0.05!
    >>> print(inert('<img src="http://host/x.png"> </b>'))
    \\<img src="http:\u200b//host/x.png"> \\</b>
    >>> inert(12)
    '12'
    """
    one_line = _LINE_BREAKS.sub(" ", str(text)).lstrip()
    escaped = _MARKDOWN_PUNCTUATION.sub(_escape_punctuation, one_line)
    escaped = _BLOCK_START.sub(_escape_block_start, escaped, count=1)
    escaped = _WWW.sub("\\1" + _ZERO_WIDTH_SPACE + ".", escaped)
    return _COLON.sub(":" + _ZERO_WIDTH_SPACE, escaped)


def _escape_punctuation(match: re.Match[str]) -> str:
    """One punctuation mark backslash-escaped; a run of ``_`` inside a word (``page_load_ms``)
    is left as typed: CommonMark never opens or closes emphasis there."""
    if match.group(1):
        return "\\" + match.group(1)
    run, text = match.group(2), match.string
    start, end = match.span()
    inside = start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()
    return run if inside else "\\_" * len(run)


def _escape_block_start(match: re.Match[str]) -> str:
    """``# x`` → ``\\# x``; ``1. x`` → ``1\\. x`` (the digits cannot be escaped, the dot can)."""
    marker = match.group(1)
    return marker[:-1] + "\\" + marker[-1] if marker[0].isdigit() else "\\" + marker


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
    body = _COLON.sub(":" + _ZERO_WIDTH_SPACE, _LINE_BREAKS.sub(" ", str(text)))
    runs = _BACKTICK_RUNS.findall(body)
    fence = "`" * (max((len(r) for r in runs), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"
