"""Errors a user can cause. The CLI prints their message (one line) and exits 2."""


class TonyError(Exception):
    """Base of every error that the user can fix; the message says how."""

    exit_code = 2


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


class ReportError(TonyError):
    """The results site cannot be built or served (no runs yet, a folder that is not a site, a port in use)."""
