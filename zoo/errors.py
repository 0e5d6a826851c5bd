"""User-facing errors: the CLI prints these as one line and exits non-zero."""

from pipelines.errors import DataError


class ZooError(Exception):
    """A problem the user can fix (a bad name, path or option), reported without a traceback."""


class ConfigError(ZooError, ValueError):
    """A model config the model cannot take: an unknown key or preset, a value of the wrong type or range."""


__all__ = ["ConfigError", "DataError", "ZooError"]
