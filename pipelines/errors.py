"""The one error type that data readers and pipelines raise for bad input."""

from __future__ import annotations

import os


class DataError(ValueError):
    """Bad input data, located by file and line so a user can fix it.

    Args:
        path: the file the problem is in (or `None` for in-memory data).
        line: 1-based line number, or `None` when the problem is the whole file.
        message: what was found and what was expected.
    """

    def __init__(self, path: str | os.PathLike | None, line: int | None, message: str):
        self.path = None if path is None else str(path)
        self.line = line
        self.message = message
        where = self.path or "<data>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


def shown(value: object, limit: int = 80) -> str:
    """`repr(value)` cut to `limit` characters, for error messages that quote a line or a row of input.

    A quoted line must not flood the terminal (a 1 MB line is one line too), so the rest is
    replaced by a count: `shown("x" * 100, 10)` is `'xxxxxxxxx... (92 more characters)`.
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"
