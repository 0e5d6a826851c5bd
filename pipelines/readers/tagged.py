"""The record every tagged-text reader returns, and the assembly of records from lines."""

from __future__ import annotations

import os
from typing import NamedTuple

from pipelines.errors import DataError
from pipelines.tags import TagSequenceError, check_scheme, check_tag, convert


class TaggedSentence(NamedTuple):
    """One sentence: its tokens and one IOB2 tag per token."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]


class SentenceCollector:
    """Gathers `(line, token, tag)` triples into `TaggedSentence`s with IOB2 tags.

    Shared by the readers so that every format validates tags, converts schemes and
    reports errors at the line of the bad tag in the same way.
    """

    def __init__(self, path: str | os.PathLike, scheme: str):
        check_scheme(scheme)
        self.path = path
        self.scheme = scheme
        self.sentences: list[TaggedSentence] = []
        self._tokens: list[str] = []
        self._tags: list[str] = []
        self._line_numbers: list[int] = []

    def add(self, line_number: int, token: str, tag: str) -> None:
        """Appends a token to the current sentence; a malformed tag raises `DataError`."""
        try:
            check_tag(tag)
        except ValueError as err:
            raise DataError(self.path, line_number, str(err)) from None
        self._tokens.append(token)
        self._tags.append(tag)
        self._line_numbers.append(line_number)

    def end_sentence(self) -> None:
        """Closes the current sentence, if it has tokens, converting its tags to IOB2."""
        if not self._tokens:
            return
        try:
            tags = convert(self._tags, self.scheme)
        except TagSequenceError as err:
            raise DataError(self.path, self._line_numbers[err.index], err.detail) from None
        self.sentences.append(TaggedSentence(tuple(self._tokens), tuple(tags)))
        self._tokens, self._tags, self._line_numbers = [], [], []

    def finish(self, expected: str) -> list[TaggedSentence]:
        """Closes the last sentence and returns all; none at all raises `DataError`.

        `expected` describes a sentence's lines for the message, e.g. "'token<TAB>tag' lines".
        """
        self.end_sentence()
        if not self.sentences:
            message = f"expected at least one sentence ({expected}), got none"
            raise DataError(self.path, None, message)
        return self.sentences
