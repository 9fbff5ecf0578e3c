"""Errors a person can act on."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input data: the message says what is wrong and how to fix it.

    It is a ``ValueError`` so notebook code that already catches those keeps working; pages
    show its message as it is, never a traceback.
    """


class ParameterError(ValueError):
    """A parameter outside its bounds (:func:`abcore._checks.check_scalar`).

    ``parameter`` names it, so a page can say which of its own fields is wrong without
    reading the sentence.
    """

    def __init__(self, message: str, *, parameter: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class InfeasiblePlan(InputError):
    """A plan no test can carry out: it needs more than ``config.PLAN_HORIZON_DAYS`` of its
    traffic, or more units than ``config.SAMPLE_SIZE_MAX``.

    The message says how long it would take and what would make it feasible; the numbers
    are kept for code that wants them. ``at_least`` marks sizes past the unit bound, where
    ``n_total`` and ``days`` are lower bounds.
    """

    def __init__(self, message: str, *, n_total: float, days: float, at_least: bool) -> None:
        super().__init__(message)
        self.n_total = n_total
        self.days = days
        self.at_least = at_least
