"""The registry's errors, each with a sentence a page can show as it is."""

from __future__ import annotations

import datetime as dt

from abcore.errors import InputError

__all__ = [
    "ConflictError",
    "ExperimentNotFound",
    "RegistryError",
    "RegistryInputError",
    "RegistryUnavailable",
]


class RegistryError(Exception):
    """Anything the registry refuses or cannot do; the message is the sentence to show."""


class RegistryUnavailable(RegistryError):
    """The database cannot be used (a locked, missing or damaged file, a server that does not
    answer). The calculators keep working without it: only saving and the list are off."""


class ConflictError(RegistryError):
    """Someone saved the experiment since the caller read it: nothing was written, so neither
    change is lost; the caller reloads and applies theirs again.

    ``saved_at`` is when the other save happened (UTC), for a page that shows local time.
    """

    def __init__(self, message: str, saved_at: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.saved_at = saved_at


class ExperimentNotFound(RegistryError, LookupError):
    """No experiment with this id in the caller's workspaces (one that exists in another
    workspace reads the same, so its existence does not leak)."""


class RegistryInputError(RegistryError, InputError):
    """A request the registry cannot carry out as asked (a plan that cannot be read, a second
    registration, an import that is not an experiment file)."""
