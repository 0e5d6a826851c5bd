"""Vocabularies: `<PAD>`=0 and `<UNK>`=1, built from training data, saved as one token per line."""

from __future__ import annotations

import collections
import dataclasses
import os
from pathlib import Path
from typing import Iterable

import tensorflow as tf

from pipelines.errors import DataError

PAD = "<PAD>"
UNK = "<UNK>"


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """An ordered list of tokens; a token's id is its position.

    Attributes:
        tokens: all entries, specials first.
        unknown: the token unknown inputs map to (`<UNK>`), or `None` for closed sets such as tags.
    """

    tokens: tuple[str, ...]
    unknown: str | None = UNK

    def __post_init__(self):
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("Vocabulary tokens must be unique.")
        if self.unknown is not None and self.unknown not in self.tokens:
            raise ValueError(f"The unknown token {self.unknown!r} is not in the vocabulary.")

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def index(self) -> dict[str, int]:
        return {token: i for i, token in enumerate(self.tokens)}

    @property
    def unknown_id(self) -> int:
        return -1 if self.unknown is None else self.tokens.index(self.unknown)

    def ids(self, tokens: Iterable[str]) -> list[int]:
        """Python-side lookup, for tests and closed sets; graphs use `table()`."""
        index, default = self.index, self.unknown_id
        return [index.get(token, default) for token in tokens]

    def table(self) -> tf.lookup.StaticHashTable:
        """An in-graph lookup table from token to int64 id (unknown -> `unknown_id`)."""
        initializer = tf.lookup.KeyValueTensorInitializer(
            keys=tf.constant(self.tokens, dtype=tf.string),
            values=tf.range(len(self.tokens), dtype=tf.int64),
        )
        return tf.lookup.StaticHashTable(initializer, default_value=self.unknown_id)

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for token in self.tokens:
                f.write(token + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike, *, unknown: str | None = UNK) -> "Vocabulary":
        with open(path, encoding="utf-8") as f:
            tokens = tuple(line.rstrip("\n") for line in f)
        if not tokens:
            raise DataError(path, None, "vocabulary file is empty")
        return cls(tokens, unknown=unknown)


def build_vocabulary(
    token_lists: Iterable[Iterable[str]],
    *,
    min_count: int = 1,
    max_size: int | None = None,
) -> Vocabulary:
    """`<PAD>`, `<UNK>`, then tokens seen at least `min_count` times, most frequent first.

    Ties are broken alphabetically so the same data always gives the same ids. `max_size`
    caps the total size, specials included.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1. Received: min_count={min_count}")
    if max_size is not None and max_size < 3:
        raise ValueError(f"max_size must leave room for <PAD>, <UNK> and a token. Received: max_size={max_size}")
    counts = collections.Counter(token for tokens in token_lists for token in tokens)
    counts.pop(PAD, None)
    counts.pop(UNK, None)
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    if max_size is not None:
        kept = kept[: max_size - 2]
    return Vocabulary((PAD, UNK, *kept))


def build_tag_vocabulary(tag_lists: Iterable[Iterable[str]]) -> Vocabulary:
    """The closed set of tags, `O` first, then sorted by entity type and prefix."""
    tags = {tag for tags in tag_lists for tag in tags}
    ordered = sorted(tags, key=lambda t: (t != "O", t[2:], t[:2]))
    return Vocabulary(tuple(ordered), unknown=None)


def file_table(path: str | os.PathLike, *, default_id: int) -> tf.lookup.StaticHashTable:
    """A lookup table read from a vocabulary file (line number = id).

    Inside a SavedModel the file becomes an asset, so the vocabulary ships with the model.
    TensorFlow shares one table among the tables of a process whose initializers have the same
    file name, size and columns: so the name is made absolute and the size is given, or a second
    model trained in the same process with a workdir of the same relative name would silently look
    its words up in the first model's vocabulary. (An anonymous table would avoid sharing, but its
    `AnonymousHashTable` op is outside the ops we check exports against.)
    """
    path = Path(path).resolve()
    data = path.read_bytes()  # lines as TensorFlow counts them: split at b"\n" only
    size = data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
    initializer = tf.lookup.TextFileInitializer(
        str(path),
        vocab_size=size,
        key_dtype=tf.string,
        key_index=tf.lookup.TextFileIndex.WHOLE_LINE,
        value_dtype=tf.int64,
        value_index=tf.lookup.TextFileIndex.LINE_NUMBER,
    )
    return tf.lookup.StaticHashTable(initializer, default_value=default_id)
