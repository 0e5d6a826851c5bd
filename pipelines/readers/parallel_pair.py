"""The record the translation readers return: a source sentence and its translation."""

from __future__ import annotations

from typing import NamedTuple


class ParallelPair(NamedTuple):
    """One sentence and its translation, e.g. `ParallelPair("A dog runs .", "Ein Hund rennt .")`.

    Attributes:
        source: the text to translate.
        target: its translation.
    """

    source: str
    target: str
