"""Untrusted payloads: share links and plan files read within bounds, then checked field by
field before anything is built from them.

A link is whatever its sender typed. Inflating it is bounded (a 1 MB link can hold a 1 GiB
"plan"), parsing it is bounded in depth (nested brackets exhaust the recursion limit), and
every field is checked for its type, finiteness, range and size against the same limits the
page widgets and uploads apply (:mod:`abcore.config`), so a link cannot ask for work or show
a verdict that the app itself would never produce. Anything outside them raises
:class:`~abcore.errors.InputError` with a sentence naming the field.

>>> inflate(deflate('{"a":1}'), max_bytes=100, what="plan")
'{"a":1}'
>>> check_plan_payload({"name": 123})
Traceback (most recent call last):
...
abcore.errors.InputError: The plan's name must be text, got 123.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from collections.abc import Mapping
from typing import Any

from abcore import config
from abcore.capping import CAPPING_KINDS
from abcore.errors import InputError
from abcore.model import FILTER_OPS, PREP_KINDS

__all__ = [
    "check_depth",
    "check_plan_payload",
    "check_prep_steps",
    "check_results_payload",
    "deflate",
    "inflate",
    "parse_json",
]

_CHUNK = 65_536


# ---- reading --------------------------------------------------------------------------------
def deflate(text: str) -> str:
    """``text`` deflated and base64url-encoded without padding: a link's packed value."""
    return base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")


def inflate(packed: str, *, max_bytes: int, what: str, max_chars: int | None = None) -> str:
    """The text a link's packed value holds, inflating at most ``max_bytes`` of it.

    The value is refused before any work when longer than ``max_chars`` (default
    ``config.LINK_MAX_CHARS``), and inflation
    stops as soon as the output would pass ``max_bytes``: a deflate bomb (1,000 bytes of
    output per byte of input) never gets further than the bound.

    Raises:
        InputError: the value is too long, damaged or inflates past ``max_bytes``.
    """
    damaged = InputError(
        f"This link's {what} is damaged (it may have been cut when copied): ask for the link again."
    )
    if not isinstance(packed, str):
        raise damaged
    max_chars = config.LINK_MAX_CHARS if max_chars is None else max_chars
    if len(packed) > max_chars:
        raise InputError(
            f"This link's {what} is {len(packed):,} characters long, more than the "
            f"{max_chars:,} a link may carry: share the exported file instead."
        )
    try:
        data = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
    except (ValueError, binascii.Error) as exc:
        raise damaged from exc
    inflater = zlib.decompressobj()
    out = bytearray()
    try:
        pending = data
        while not inflater.eof:
            chunk = inflater.decompress(pending, min(_CHUNK, max_bytes + 1 - len(out)))
            out += chunk
            if len(out) > max_bytes:
                raise InputError(
                    f"This link's {what} holds more than {max_bytes:,} bytes, far more than "
                    "any real one: it was not opened."
                )
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                break
        if not inflater.eof:
            raise damaged
    except zlib.error as exc:
        raise damaged from exc
    try:
        return out.decode()
    except UnicodeDecodeError as exc:
        raise damaged from exc


def check_depth(value: Any, *, what: str, max_depth: int = config.PAYLOAD_MAX_DEPTH) -> None:
    """Refuse a parsed payload nested deeper than ``max_depth`` lists and objects.

    Walked with a stack, not recursion; parsing itself stops at the interpreter's
    recursion limit (``[[[[...``), which :func:`parse_json` turns into the same sentence.

    >>> check_depth([[1]], what="plan", max_depth=2)
    >>> check_depth([[[1]]], what="plan", max_depth=2)
    Traceback (most recent call last):
    ...
    abcore.errors.InputError: This plan is nested more than 2 levels deep, deeper than any real one.
    """
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                raise _too_deep(what, max_depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _too_deep(what: str, max_depth: int) -> InputError:
    return InputError(
        f"This {what} is nested more than {max_depth} levels deep, deeper than any real one."
    )


def parse_json(text: str | bytes, *, what: str, max_bytes: int) -> Any:
    """JSON text as Python objects, within ``max_bytes`` and :data:`config.PAYLOAD_MAX_DEPTH`.

    ``NaN`` and ``Infinity`` parse (so the field check can name where they are); numbers
    too long to be one raise InputError.
    """
    if isinstance(text, bytes | bytearray):
        if len(text) > max_bytes:
            raise _too_large(what, len(text), max_bytes)
        try:
            text = bytes(text).decode()
        except UnicodeDecodeError as exc:
            raise InputError(f"This {what} is not text (UTF-8): {exc.reason}.") from exc
    if len(text) > max_bytes:
        raise _too_large(what, len(text), max_bytes)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"This {what} is not valid JSON ({exc.msg}).") from exc
    except RecursionError as exc:
        raise _too_deep(what, config.PAYLOAD_MAX_DEPTH) from exc
    except ValueError as exc:
        raise InputError(f"This {what} cannot be read: {exc}") from exc
    check_depth(data, what=what)
    return data


def _too_large(what: str, size: int, limit: int) -> InputError:
    return InputError(f"This {what} is {size:,} characters long, more than the {limit:,} allowed.")


# ---- field checks ----------------------------------------------------------------------------
def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(value: Any, field: str, *, limit: int = config.NAME_MAX_CHARS, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise InputError(f"{field} must be text, got {_show(value)}.")
    if len(value) > limit:
        raise InputError(f"{field} is {len(value):,} characters long; at most {limit:,} allowed.")
    if not empty and not value.strip():
        raise InputError(f"{field} must not be empty.")
    return value


def _optional_text(value: Any, field: str) -> None:
    if value is not None:
        _text(value, field)


def _number(
    value: Any,
    field: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> float:
    """A finite real number within the bounds; ``field`` names it in the sentence."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{field} must be a number, got {_show(value)}.")
    if isinstance(value, int) and abs(value) > 10**300:
        raise InputError(f"{field} must be a finite number, got a {len(str(value))}-digit one.")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"{field} must be a finite number, got {_show(value)}.")
    for bound, ok, sign in (
        (gt, lambda b: number > b, ">"),
        (ge, lambda b: number >= b, ">="),
        (lt, lambda b: number < b, "<"),
        (le, lambda b: number <= b, "<="),
    ):
        if bound is not None and not ok(bound):
            raise InputError(f"{field} must be {sign} {bound:g}, got {_show(value)}.")
    return number


def _whole(
    value: Any, field: str, *, gt: int | None = None, ge: int | None = None, le: int
) -> None:
    _number(value, field, gt=gt, ge=ge, le=le)
    if not float(value).is_integer():
        raise InputError(f"{field} must be a whole number, got {_show(value)}.")


def _choice(value: Any, field: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        options = ", ".join(map(repr, allowed))
        raise InputError(f"{field} must be one of {options}, got {_show(value)}.")


def _boolean(value: Any, field: str) -> None:
    if not isinstance(value, bool):
        raise InputError(f"{field} must be true or false, got {_show(value)}.")


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{field} must be an object of named values, got {_show(value)}.")
    return value


def _sequence(value: Any, field: str, *, most: int, least: int = 0) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InputError(f"{field} must be a list, got {_show(value)}.")
    if not least <= len(value) <= most:
        raise InputError(f"{field} must hold {least} to {most:,} items, got {len(value):,}.")
    return list(value)


def _finite_everywhere(value: Any, field: str) -> None:
    """Every number inside ``value`` (unknown keys kept as they are) is finite and no larger
    than ``config.SAMPLE_SIZE_MAX`` if whole (a 400-digit count overflows a float)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise InputError(f"{field} holds a number that is not finite ({item!r}).")
        if isinstance(item, int) and abs(item) > config.SAMPLE_SIZE_MAX:
            raise InputError(f"{field} holds a whole number too large to be a count.")
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


# ---- plans -----------------------------------------------------------------------------------
_PLAN_TEXT = {
    "name": config.NAME_MAX_CHARS,
    "hypothesis": config.TEXT_MAX_CHARS,
    "randomization_unit": config.NAME_MAX_CHARS,
    "control": config.NAME_MAX_CHARS,
}


def _check_metric(metric: Any, where: str) -> None:
    metric = _mapping(metric, where)
    if "name" not in metric:
        raise InputError(f"{where} has no name.")
    _text(metric["name"], f"The name of {where.lower()}", empty=False)
    where = f"metric {metric['name']!r}"
    for key, allowed in (
        ("role", ("success", "secondary", "guardrail")),
        ("type", ("binary", "continuous", "ratio", "quantile")),
        ("direction", ("increase", "decrease")),
    ):
        if key in metric:
            _choice(metric[key], f"The {key} of {where}", allowed)
    big = config.NUMBER_MAX_ABS
    if metric.get("baseline") is not None:
        if metric.get("type", "binary") == "binary":
            _number(metric["baseline"], f"The baseline rate of {where}", ge=0, le=1)
        else:
            _number(metric["baseline"], f"The baseline of {where}", ge=-big, le=big)
    if metric.get("sd") is not None:
        _number(metric["sd"], f"The standard deviation of {where}", ge=0, le=big)
    if metric.get("mde") is not None:
        _number(metric["mde"], f"The minimum detectable effect of {where}", ge=-big, le=big)
    if metric.get("margin") is not None:
        _number(metric["margin"], f"The margin of {where}", ge=0, le=big)
    if "relative" in metric:
        _boolean(metric["relative"], f"Whether the effect of {where} is relative")
    if metric.get("quantile") is not None:
        _number(metric["quantile"], f"The quantile of {where}", gt=0, lt=1)
    for key in ("numerator", "denominator", "column"):
        _optional_text(metric.get(key), f"The {key} of {where}")
    _finite_everywhere(metric, where)


def check_plan_payload(data: Any) -> None:
    """Raise InputError naming the first field of a plan dict outside the app's limits.

    Checks what :class:`abcore.plan.ExperimentPlan` would accept plus the sizes and ranges
    of the Plan page: names and texts (``NAME_MAX_CHARS``, ``TEXT_MAX_CHARS``), metrics
    (``PLAN_MAX_METRICS``), arms (``PLAN_MAX_ARMS``), looks (``PLAN_MAX_LOOKS``), days
    (``PLAN_HORIZON_DAYS``), units (``SAMPLE_SIZE_MAX``), traffic and CUPED. Keys it does not
    know are kept by the plan, so only their numbers' finiteness is checked here (their size
    is bounded by the payload's).
    """
    if not isinstance(data, Mapping):
        raise InputError(
            f"A plan must be a JSON object with keys such as alpha and metrics, got {_show(data)}."
        )
    for key, limit in _PLAN_TEXT.items():
        if key in data:
            _text(data[key], f"The plan's {key}", limit=limit)
    if "expected_shares" in data:
        shares = _mapping(data["expected_shares"], "The plan's expected_shares")
        if not 2 <= len(shares) <= config.PLAN_MAX_ARMS:
            raise InputError(
                f"The plan's expected_shares must name 2 to {config.PLAN_MAX_ARMS} arms, got "
                f"{len(shares):,}."
            )
        for arm, share in shares.items():
            _text(arm, "An arm's name")
            _number(share, f"The expected share of arm {arm!r}", ge=config.PLAN_MIN_SHARE, le=1)
    for key, bounds in (
        ("alpha", {"gt": 0, "lt": 1}),
        ("power", {"gt": 0, "lt": 1}),
        ("min_effect_to_launch", {"ge": 0, "lt": 1}),
        ("daily_units", {"ge": 1, "le": config.PLAN_MAX_DAILY_UNITS}),
        ("exposure", {"gt": 0, "le": 1}),
        ("variance_reduction", {"ge": 0, "le": config.PLAN_MAX_VARIANCE_REDUCTION}),
        ("rho", {"gt": 0, "le": config.SPENDING_MAX_RHO}),
    ):
        if key in data:
            _number(data[key], f"The plan's {key}", **bounds)
    for key, low, high in (
        ("planned_n_per_arm", {"gt": 0}, config.SAMPLE_SIZE_MAX),
        ("tuning_n", {"gt": 0}, config.SAMPLE_SIZE_MAX),
        ("planned_days", {"gt": 0}, config.PLAN_HORIZON_DAYS),
        ("looks", {"ge": 1}, config.PLAN_MAX_LOOKS),
    ):
        if data.get(key) is not None:
            _whole(data[key], f"The plan's {key}", **low, le=high)
    for key, allowed in (
        ("alternative", config.ALTERNATIVES),
        ("method", config.SEQUENTIAL_METHODS),
        ("spending", config.SPENDING_FUNCTIONS),
    ):
        if key in data:
            _choice(data[key], f"The plan's {key}", allowed)
    if data.get("start_date") is not None:
        _text(data["start_date"], "The plan's start_date", limit=40)
    if "metrics" in data:
        metrics = _sequence(data["metrics"], "The plan's metrics", most=config.PLAN_MAX_METRICS)
        for i, metric in enumerate(metrics):
            _check_metric(metric, f"Metric {i + 1}")
    if "funnel" in data:
        _check_funnel(data["funnel"])
    _finite_everywhere(data, "The plan")


def _check_funnel(funnel: Any) -> None:
    """The Metrics page's funnel, which the plan keeps under ``funnel``."""
    funnel = _mapping(funnel, "The plan's funnel")
    most = config.FUNNEL_MAX_STAGES
    for name in _sequence(funnel.get("stages", []), "The funnel's stages", most=most):
        _text(name, "A funnel stage's name")
    for key in ("reached", "steps"):
        for share in _sequence(funnel.get(key, []), f"The funnel's {key}", most=most):
            _number(share, f"A share in the funnel's {key}", ge=0, le=1)
    for count in _sequence(funnel.get("users") or [], "The funnel's users", most=most):
        _whole(count, "A count of the funnel's users", ge=0, le=config.SAMPLE_SIZE_MAX)
    if "lift" in funnel:
        _number(funnel["lift"], "The funnel's target lift", gt=0, le=config.FUNNEL_MAX_LIFT)
    for key in ("change_stage", "population", "template", "unit"):
        _optional_text(funnel.get(key), f"The funnel's {key}")
    if funnel.get("source") is not None:
        _text(funnel["source"], "The funnel's source", limit=config.TEXT_MAX_CHARS)


# ---- results ---------------------------------------------------------------------------------
_MAPPING_TEXT = ("variant", "control", "unit", "timestamp", "n_column")
_METRIC_KINDS = ("binary", "continuous", "ratio", "proportion_of_counts", "quantile")
_KEY_COLUMNS = ("level", "variant", "day", "segment", "segment_value")


def _check_mapping(mapping: Any) -> None:
    mapping = _mapping(mapping, "The results' mapping")
    if "shape" in mapping:
        _text(mapping["shape"], "The results' shape")
    for key in _MAPPING_TEXT:
        _optional_text(mapping.get(key), f"The results' {key} column")
    metrics = _sequence(
        mapping.get("metrics", []), "The results' metrics", most=config.LINK_MAX_METRICS
    )
    for i, metric in enumerate(metrics):
        metric = _mapping(metric, f"Results metric {i + 1}")
        _text(metric.get("name"), f"The name of results metric {i + 1}", empty=False)
        if "kind" in metric:
            _choice(metric["kind"], f"The kind of results metric {metric['name']!r}", _METRIC_KINDS)
        for key, value in metric.items():
            if key == "covariates":
                where = f"The covariates of results metric {metric['name']!r}"
                for name in _sequence(value, where, most=config.MAX_COVARIATES):
                    _text(name, f"A name in {where[0].lower()}{where[1:]}", empty=False)
            elif key == "capping" and value is not None:
                _check_capping(value, f"The capping of results metric {metric['name']!r}")
            elif key == "quantile":
                _number(value, f"The quantile of results metric {metric['name']!r}", gt=0, lt=1)
            elif key not in ("name", "kind", "capping"):
                _optional_text(value, f"The {key} of results metric {metric['name']!r}")
    for key, most in (
        ("segments", config.LINK_MAX_SEGMENTS),
        ("covariates", config.LINK_MAX_METRICS),
        ("notes", config.LINK_MAX_METRICS),
    ):
        for name in _sequence(mapping.get(key, []), f"The results' {key}", most=most):
            _text(name, f"A name in the results' {key}", limit=config.TEXT_MAX_CHARS)
    for key in ("day_label", "aggregate_units"):
        if key in mapping:
            _boolean(mapping[key], f"The results' {key}")


def _check_capping(capping: Any, where: str) -> None:
    """A metric's capping (:class:`abcore.capping.Capping`) in a link: known keys, a kind,
    bounds that are numbers in range (a percentile 0 to 100, an amount within
    ``CAPPING_MAX_ABS``) and in order, ``ignore_zeros`` true or false."""
    capping = _mapping(capping, where)
    extra = sorted(str(k) for k in capping if k not in ("lower", "upper", "kind", "ignore_zeros"))
    if extra:
        raise InputError(f"{where} takes lower, upper, kind and ignore_zeros, not {_show(extra)}.")
    kind = capping.get("kind", "percentile")
    _choice(kind, f"The kind of {where[4:]}", CAPPING_KINDS)
    most = 100 if kind == "percentile" else config.CAPPING_MAX_ABS
    least = 0 if kind == "percentile" else -config.CAPPING_MAX_ABS
    bounds = []
    for side in ("lower", "upper"):
        if capping.get(side) is not None:
            bounds.append(
                _number(capping[side], f"The {side} bound of {where[4:]}", ge=least, le=most)
            )
    if not bounds:
        raise InputError(f"{where} has neither a lower nor an upper bound.")
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        raise InputError(
            f"{where} has its lower bound ({bounds[0]:g}) above its upper bound ({bounds[1]:g})."
        )
    if "ignore_zeros" in capping:
        _boolean(capping["ignore_zeros"], f"Whether {where[4:]} ignores zeros")


def _check_rows(columns: list[Any], rows: list[Any]) -> None:
    width = len(columns)
    arms: set[str] = set()
    days: set[Any] = set()
    values: dict[str, set[Any]] = {}
    for i, row in enumerate(rows):
        where = f"Row {i + 1} of the results"
        row = _sequence(row, where, most=width, least=width)
        level, variant, day, segment, value = row[:5]
        _choice(level, f"The level of {where.lower()}", ("overall", "day", "segment"))
        _text(variant, f"The arm of {where.lower()}")
        for cell, name in ((day, "day"), (segment, "segment"), (value, "segment value")):
            if cell is not None:
                _text(cell, f"The {name} of {where.lower()}")
        for cell in row[5:]:
            if cell is not None:
                _number(cell, f"A number in {where.lower()}")
        arms.add(variant)
        if level == "day":
            days.add(day)
        if level == "segment":
            values.setdefault(str(segment), set()).add(value)
    if not 2 <= len(arms) <= config.VARIANT_MAX_LEVELS:
        raise InputError(
            f"The results must compare 2 to {config.VARIANT_MAX_LEVELS} arms, got {len(arms):,}."
        )
    if len(days) > config.RESULTS_MAX_DAYS:
        raise InputError(
            f"The results cover {len(days):,} days; at most {config.RESULTS_MAX_DAYS} are read."
        )
    if len(values) > config.LINK_MAX_SEGMENTS:
        raise InputError(
            f"The results break down by {len(values):,} segment columns; at most "
            f"{config.LINK_MAX_SEGMENTS} are read."
        )
    for segment, seen in values.items():
        if len(seen) > config.RESULTS_MAX_SEGMENT_VALUES:
            raise InputError(
                f"Segment {segment!r} has {len(seen):,} values in the results; at most "
                f"{config.RESULTS_MAX_SEGMENT_VALUES} are read."
            )


def check_prep_steps(steps: Any) -> None:
    """Raise InputError naming the first field of a link's data-preparation steps outside
    what the Results page records (:class:`abcore.model.PrepStep`): at most
    ``PREP_MAX_STEPS`` steps, known kinds and operators, names within ``NAME_MAX_CHARS``,
    at most ``PREP_MAX_VALUES`` values of text, numbers or TRUE/FALSE, and whole counts of
    removed rows no larger than ``SAMPLE_SIZE_MAX``. The step itself then checks how its
    fields fit together (a window's order, an operator's number of values)."""
    steps = _sequence(steps, "The results' preparation", most=config.PREP_MAX_STEPS)
    for i, step in enumerate(steps):
        where = f"Preparation step {i + 1}"
        step = _mapping(step, where)
        _choice(step.get("kind"), f"The kind of {where.lower()}", PREP_KINDS)
        for key in ("column", "unit"):
            _optional_text(step.get(key), f"The {key} of {where.lower()}")
        if step.get("op") is not None:
            _choice(step["op"], f"The operator of {where.lower()}", FILTER_OPS)
        values = _sequence(
            step.get("values", []), f"The values of {where.lower()}", most=config.PREP_MAX_VALUES
        )
        for value in values:
            if value is None or isinstance(value, bool):
                continue
            if isinstance(value, str):
                _text(value, f"A value of {where.lower()}")
            else:
                _number(value, f"A value of {where.lower()}")
        for key in ("rows_removed", "units_removed"):
            if step.get(key) is not None:
                _whole(step[key], f"The {key} of {where.lower()}", ge=0, le=config.SAMPLE_SIZE_MAX)
                if not isinstance(step[key], int):
                    raise InputError(f"The {key} of {where.lower()} must be a whole number.")


_CHECK_STATUSES = ("pass", "warn", "fail")


def _check_input_checks(checks: Any) -> None:
    """The row-level checks a link carries (:attr:`abcore.analysis.Analysis.input_checks`):
    typed fields, a known status and kind, bounded text. A failed gate among them blocks the
    reviewer's verdict as it blocked the owner's."""
    from abcore.model import CHECK_KINDS

    for i, check in enumerate(
        _sequence(checks, "The results' checks", most=config.LINK_MAX_CHECKS)
    ):
        where = f"check {i + 1} of the results"
        check = _mapping(check, where[0].upper() + where[1:])
        _text(check.get("name"), f"The name of {where}", limit=config.TEXT_MAX_CHARS, empty=False)
        _text(check.get("message", ""), f"The finding of {where}", limit=config.TEXT_MAX_CHARS)
        _choice(check.get("status"), f"The status of {where}", _CHECK_STATUSES)
        _choice(check.get("kind", "gate"), f"The kind of {where}", CHECK_KINDS)
        _text(check.get("topic", ""), f"The topic of {where}")
        unknown = set(check) - {"name", "message", "status", "kind", "topic"}
        if unknown:
            raise InputError(f"The {where} has fields no check has: {', '.join(sorted(unknown))}.")


def _check_notes(notes: Any) -> None:
    """Date notes (``{"day": ..., "note": ...}``), shown on the time charts."""
    for i, note in enumerate(_sequence(notes, "The results' notes", most=config.LINK_MAX_NOTES)):
        where = f"note {i + 1} of the results"
        note = _mapping(note, where[0].upper() + where[1:])
        if set(note) != {"day", "note"}:
            raise InputError(f"The {where} must have a day and a note, got {_show(note)}.")
        _text(note["day"], f"The day of {where}", empty=False)
        _text(note["note"], f"The text of {where}", limit=config.TEXT_MAX_CHARS, empty=False)


def _check_shares(shares: Any) -> None:
    shares = _mapping(shares, "The results' expected_shares")
    if not 2 <= len(shares) <= config.VARIANT_MAX_LEVELS:
        raise InputError(
            f"The results' expected_shares must name 2 to {config.VARIANT_MAX_LEVELS} arms, got "
            f"{len(shares):,}."
        )
    for arm, share in shares.items():
        _text(arm, "An arm's name in the results' expected_shares")
        _number(share, f"The expected share of arm {arm!r} in the results", gt=0, le=1)


def check_results_payload(data: Any) -> None:
    """Raise InputError naming the first field of a results link's payload outside the
    limits of an upload: arms (``VARIANT_MAX_LEVELS``), days (``RESULTS_MAX_DAYS``), segment
    values (``RESULTS_MAX_SEGMENT_VALUES``), metrics, names, finite numbers and the options
    the Results page offers; and what the rows alone could tell, so a reviewer sees what the
    owner saw: the row-level checks (``checks``), the data-preparation steps
    (``preparation``) and the date notes (``notes``), each typed and bounded."""
    data = _mapping(data, "A results link")
    if "aggregates" not in data:
        raise InputError("A results link must carry its aggregates; this one has none.")
    agg = _mapping(data["aggregates"], "The results' aggregates")
    _check_mapping(agg.get("mapping"))
    columns = _sequence(
        agg.get("columns"), "The results' columns", most=config.INGEST_MAX_COLUMNS, least=5
    )
    for column in columns:
        _text(column, "A column name of the results")
    if tuple(columns[:5]) != _KEY_COLUMNS:
        raise InputError(
            f"The results' columns must start with {', '.join(_KEY_COLUMNS)}, got "
            f"{_show(columns[:5])}."
        )
    rows = _sequence(agg.get("rows"), "The results' rows", most=config.LINK_MAX_ROWS, least=1)
    _check_rows(columns, rows)
    covariates = {
        m.get("name"): len(m.get("covariates", ())) for m in agg["mapping"].get("metrics", [])
    }
    for key in ("caps", "shifts", "floors"):
        named = _mapping(agg.get(key, {}), f"The results' {key}")
        if len(named) > config.LINK_MAX_METRICS:
            raise InputError(
                f"The results' {key} name {len(named):,} metrics; at most "
                f"{config.LINK_MAX_METRICS} are read."
            )
        for name, value in named.items():
            _text(name, f"A metric named in the results' {key}")
            most = 2 + covariates.get(name, 0)  # y, x, then one per covariate
            one = key != "shifts"
            cells = [value] if one else _sequence(value, key, most=most, least=2)
            for cell in cells:
                _number(cell, f"The {key[:-1]} of metric {name!r}")
    options = _mapping(data.get("options", {}), "The results' options")
    if "alpha" in options:
        _number(
            options["alpha"],
            "The results' alpha",
            ge=config.RESULTS_MIN_ALPHA,
            le=config.RESULTS_MAX_ALPHA,
        )
    for key, allowed in (
        ("correction", config.CORRECTIONS),
        ("relative_method", config.RELATIVE_CI_METHODS),
    ):
        if key in options:
            _choice(options[key], f"The results' {key}", allowed)
    if "cuped" in options:
        _boolean(options["cuped"], "The results' cuped option")
    if options.get("strata") is not None:
        _text(options["strata"], "The results' strata", empty=False)
    if options.get("expected_shares") is not None:
        _check_shares(options["expected_shares"])
    for key, check in (
        ("checks", _check_input_checks),
        ("preparation", check_prep_steps),
        ("notes", _check_notes),
    ):
        if key in data:
            check(data[key])
    _finite_everywhere(data, "The results link")
