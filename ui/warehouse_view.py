"""The Results page's "Run this in your warehouse": the table name as typed, the query of
the current roles, and the sentences around it. Pure functions (no Streamlit), doctested.

The same readout then comes from the query's result, uploaded (:mod:`ui.results_state`
reads it).
"""

from __future__ import annotations

from dataclasses import dataclass

from abcore import warehouse
from abcore.model import Mapping
from abcore.sql import capped_mapping

TABLE_PLACEHOLDER = "your_table"
"""The table the query reads until the user names theirs."""
_QUOTES = {'"': '"', "`": "`"}


def table_parts(text: str) -> tuple[str, ...]:
    """A table name as typed, split on dots into its parts (catalog, schema, table).

    A part in double quotes or backticks keeps its dots; inside, a doubled quote is a quote.
    Empty text gives ``(TABLE_PLACEHOLDER,)``.

    >>> table_parts("project.dataset.events")
    ('project', 'dataset', 'events')
    >>> table_parts('shop."events.v2"'), table_parts("`my-proj`.web.`hits.2026`")
    (('shop', 'events.v2'), ('my-proj', 'web', 'hits.2026'))

    Raises:
        ValueError: a sentence naming what is wrong (an empty part, an open quote, more than
            three parts).
    """
    text = text.strip()
    if not text:
        return (TABLE_PLACEHOLDER,)
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] in _QUOTES:
            quote, i, part = text[i], i + 1, []
            while True:
                if i >= n:
                    raise ValueError(f"The table name {text!r} opens a {quote} it never closes.")
                if text[i] == quote:
                    if i + 1 < n and text[i + 1] == quote:
                        part.append(quote)
                        i += 2
                        continue
                    i += 1
                    break
                part.append(text[i])
                i += 1
            name = "".join(part)
            while i < n and text[i].isspace():
                i += 1
            if i < n and text[i] != ".":
                raise ValueError(
                    f"The table name {text!r} has text right after a closing {quote}: put a "
                    "dot between the parts."
                )
        else:
            end = text.find(".", i)
            end = n if end < 0 else end
            name = text[i:end].strip()
            if any(q in name for q in _QUOTES):
                raise ValueError(
                    f"The table name {text!r} has a quote inside a part: quote the whole part, "
                    'as in shop."events.v2".'
                )
            i = end
        if not name:
            raise ValueError(f"The table name {text!r} has an empty part (two dots in a row?).")
        parts.append(name)
        if i >= n:
            break
        i += 1  # the dot
        if i >= n:
            raise ValueError(f"The table name {text!r} ends with a dot.")
    if len(parts) > 3:
        raise ValueError(
            f"The table name {text!r} has {len(parts)} parts; at most 3 (catalog, schema, "
            "table). Quote a part that holds a dot."
        )
    return tuple(parts)


def mapping_columns(mapping: Mapping) -> list[str]:
    """The columns a mapping reads, each once, in the order of its roles.

    >>> from abcore.model import MetricMapping
    >>> m = Mapping(variant="arm", unit="uid", segments=("os",), metrics=(
    ...     MetricMapping("revenue", "continuous", covariate="pre"),
    ...     MetricMapping("ctr", "ratio", numerator="clicks", denominator="views")))
    >>> mapping_columns(m)
    ['arm', 'uid', 'os', 'revenue', 'pre', 'clicks', 'views']
    """
    names = [mapping.variant, mapping.unit, mapping.timestamp, *mapping.segments]
    for m in mapping.metrics:
        names += [m.column, m.numerator, m.denominator, *m.adjusters]
    return [n for n in dict.fromkeys(names) if n]


def output_roles_sentence(mapping: Mapping) -> str:
    """The roles an uploaded warehouse result carries, in one line.

    >>> from abcore.model import MetricMapping
    >>> m = Mapping(variant="arm", control="a", timestamp="ts", segments=("os", "country"),
    ...     metrics=(MetricMapping("converted", "binary"), MetricMapping("revenue", "continuous")))
    >>> print(output_roles_sentence(m))
    arms in 'arm', control arm 'a'; metrics converted and revenue; by day; segments os and country.
    """
    parts = [
        f"arms in '{mapping.variant}'"
        + (f", control arm '{mapping.control}'" if mapping.control else "")
    ]
    parts.append(
        f"metric{'s' if len(mapping.metrics) > 1 else ''} "
        + _and([m.name for m in mapping.metrics])
    )
    if mapping.timestamp:
        parts.append("by day")
    if mapping.segments:
        parts.append(
            f"segment{'s' if len(mapping.segments) > 1 else ''} " + _and(list(mapping.segments))
        )
    return "; ".join(parts) + "."


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class WarehouseQuery:
    """The query to show, or why there is none."""

    sql: str | None
    problem: str | None = None


def query_file_name(dialect: str) -> str:
    """The name of the downloaded query: ``experiment_stats_bigquery.sql``."""
    return f"experiment_stats_{dialect}.sql"


def warehouse_query(
    mapping: Mapping | None, table: str, dialect: str, *, cap: float | None = None
) -> WarehouseQuery:
    """The sufficient-statistics query of the page's current mapping over ``table`` (as
    typed), in ``dialect``; or a sentence saying why it cannot be written. ``cap`` is the
    settings' one-click cap (:func:`abcore.sql.capped_mapping`): the query caps as the
    readout does, each metric by its own capping."""
    if mapping is None:
        return WarehouseQuery(
            None, "The query follows the columns and roles: fix them above to see it."
        )
    if mapping.is_aggregated:
        return WarehouseQuery(
            None,
            "This file already holds totals per arm, which is what the query would return: "
            "there is nothing to run. The query reads one row per user (or per user and day).",
        )
    try:
        mapping = capped_mapping(mapping, cap)
        return WarehouseQuery(warehouse.stats_query(mapping, table_parts(table), dialect=dialect))
    except ValueError as exc:
        message = str(exc)
        return WarehouseQuery(None, message[:1].upper() + message[1:])
