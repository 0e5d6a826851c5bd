"""User-facing errors: the CLI prints these as one line and exits non-zero."""

from pipelines.errors import DataError


class ZooError(Exception):
    """A problem the user can fix (a bad name, path or option), reported without a traceback."""


__all__ = ["DataError", "ZooError"]
