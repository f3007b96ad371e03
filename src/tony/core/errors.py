"""Errors a user can cause. The CLI prints their message (one line) and exits 2."""

from typing import TypeVar

T = TypeVar("T")


_ESCAPED_LINE_BREAKS = str.maketrans({c: repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


class TonyError(Exception):
    """Base of every error that the user can fix; the message says how."""

    exit_code = 2

    def __str__(self) -> str:
        # One line whatever the user typed into it: a line break in a name or a value is shown escaped.
        return super().__str__().translate(_ESCAPED_LINE_BREAKS)


class SpecError(TonyError):
    """A spec, run entry or argument is invalid."""


class UnknownComponentError(SpecError):
    """A scenario, model, adapter or metric name is not registered."""


class DataError(TonyError):
    """A data file is missing, unreadable or malformed."""


class DataNotInstalledError(DataError):
    """Data that comes from a package is not installed here (`tony run --skip-missing-data` leaves such runs out)."""


class StoreError(TonyError):
    """The results store cannot be opened or written."""


class ModelError(TonyError):
    """A model could not be loaded or failed to answer."""


class ModelServerError(ModelError):
    """A model server is down, hangs or answers badly after every retry."""


class RequestError(ModelError):
    """One request cannot be answered (too long for the context, refused by the server as malformed),
    while the model itself is fine: a run records that instance as an error and goes on."""


def all_or_first_refusal(answers: list[T | RequestError]) -> list[T]:
    """`answers` where none is a RequestError; otherwise the first one is raised (for all-or-nothing callers)."""
    for answer in answers:
        if isinstance(answer, RequestError):
            raise answer
    return answers  # type: ignore[return-value]  # none is a RequestError; mypy does not narrow a list


class ReportError(TonyError):
    """The results site cannot be built or served (no runs yet, a folder that is not a site, a port in use)."""
