"""The record every sentence-pair reader returns, and the field checks they share."""

from __future__ import annotations

import os
from typing import Iterator, NamedTuple, Sequence

from pipelines.errors import DataError, shown
from pipelines.readers._io import read_lines


class Pair(NamedTuple):
    """Two texts with a binary label (duplicate / paraphrase = 1), a graded score, or both.

    Attributes:
        text_a: the first text.
        text_b: the second text.
        label: 1 if the texts mean the same, 0 if not, `None` when the format has no label.
        score: a graded similarity (SICK relatedness 1-5, STS-B 0-5), `None` when there is none.
        id: the pair's id in its file, or "" when the format has none.
    """

    text_a: str
    text_b: str
    label: int | None = None
    score: float | None = None
    id: str = ""


def tab_rows(path: str | os.PathLike, columns: Sequence[str], *, header: bool = False, extra: int = 0,
             encoding: str = "utf-8") -> Iterator[tuple[int, list[str]]]:
    """`(line_number, fields)` of each non-blank line, split by `tab_fields`; with `header`, line 1 must be
    exactly the column names and is skipped."""
    for line_number, line in read_lines(path, encoding):
        if header and line_number == 1:
            check_header(path, line, columns)
        elif line.strip():
            yield line_number, tab_fields(path, line_number, line, columns, extra=extra)


def tab_fields(path: str | os.PathLike, line_number: int, line: str, columns: Sequence[str], *,
               extra: int = 0) -> list[str]:
    """Splits a line on tabs; fewer than `len(columns)` or more than `len(columns) + extra` fields is an error."""
    fields = line.split("\t")
    if not len(columns) <= len(fields) <= len(columns) + extra:
        expected = f"{len(columns)}" + (f" to {len(columns) + extra}" if extra else "")
        raise DataError(path, line_number, f"expected {expected} tab-separated fields ({', '.join(columns)}), "
                                           f"got {len(fields)}: {shown(line)}")
    return fields


def check_header(path: str | os.PathLike, line: str, expected: Sequence[str]) -> None:
    """The first line must be exactly the tab-separated `expected` column names."""
    if line.split("\t") != list(expected):
        raise DataError(path, 1, f"expected the header {chr(9).join(expected)!r}, got {shown(line)}")


def parse_label(path: str | os.PathLike, line_number: int, value: str, column: str) -> int:
    """A binary label: "0" or "1"."""
    if value not in ("0", "1"):
        raise DataError(path, line_number, f"expected a label 0 or 1 in column {column}, got {shown(value)}")
    return int(value)


def parse_score(path: str | os.PathLike, line_number: int, value: str, column: str, low: float, high: float) -> float:
    """A graded score in [low, high]."""
    try:
        score = float(value)
    except ValueError:
        score = float("nan")
    if not low <= score <= high:
        raise DataError(path, line_number, f"expected a score from {low:g} to {high:g} in column {column}, got {shown(value)}")
    return score


def check_text(path: str | os.PathLike, line_number: int, value: str, column: str) -> str:
    """A text field that is not empty or blank."""
    if not value.strip():
        raise DataError(path, line_number, f"expected text in column {column}, got an empty field")
    return value


def some_pairs(pairs: list[Pair], path: str | os.PathLike, what: str) -> list[Pair]:
    """`pairs`, or a `DataError` when there are none."""
    if not pairs:
        raise DataError(path, None, f"expected at least one pair ({what}), found none")
    return pairs
