"""Errors a person can act on."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input data: the message says what is wrong and how to fix it.

    It is a ``ValueError`` so notebook code that already catches those keeps working; pages
    show its message as it is, never a traceback.
    """
