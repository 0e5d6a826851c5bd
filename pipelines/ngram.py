"""Corpora for n-gram language models: reading, and the tokenization that counting and the export share.

A corpus is a list of sentences; each is scored with start and end markers. `read_corpus`
makes each line a sentence (`unit="line"`: a line break is the end marker) or the whole file
one sentence (`unit="text"`: line breaks are tokens like any other character).
"""

from __future__ import annotations

import os
from typing import Sequence

import tensorflow as tf

from pipelines.readers._io import read_lines

LEVELS = ("word", "char")
UNITS = ("line", "text")


def ngram_tokens(texts, level: str) -> tf.RaggedTensor:
    """(batch, None) ragged string tokens: Unicode characters, or whitespace-separated words.

    Words are split on whitespace only, so pre-tokenized corpora keep their tokens; every
    Unicode space counts, not ASCII alone.
    """
    check_level(level)
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    if level == "char":
        return tf.strings.unicode_split(texts, "UTF-8")
    return tf.strings.split(tf.strings.regex_replace(texts, r"[\s\pZ\x{85}]+", " "))


def token_lists(texts: Sequence[str], level: str, *, batch_size: int = 8192) -> tuple[list[bytes], list[int]]:
    """`ngram_tokens` of Python strings as (all tokens as UTF-8 bytes, tokens per text), through the same ops."""
    flat: list[bytes] = []
    lengths: list[int] = []
    for start in range(0, len(texts), batch_size):
        tokens = ngram_tokens(tf.constant(list(texts[start:start + batch_size]), dtype=tf.string), level)
        flat.extend(tokens.flat_values.numpy().tolist())
        lengths.extend(tokens.row_lengths().numpy().tolist())
    return flat, lengths


def read_corpus(path: str | os.PathLike, *, unit: str = "line", encoding: str = "utf-8") -> list[str]:
    """The sentences of a plain or gzipped text file: one per line, or the whole text as one.

    Raises:
        DataError: a missing or empty file, or a line that is not valid `encoding` (with its line).
    """
    if unit not in UNITS:
        raise ValueError(f"Unknown corpus unit. Received: unit={unit!r}; allowed: {list(UNITS)}")
    lines = [line for _, line in read_lines(path, encoding)]
    return lines if unit == "line" else ["\n".join(lines)]


def split_text(text: str, fraction: float) -> tuple[str, str]:
    """The first `fraction` of the characters and the rest, e.g. a 90/10 train/test cut."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1). Received: fraction={fraction}")
    cut = int(len(text) * fraction)
    return text[:cut], text[cut:]


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"Unknown token level. Received: level={level!r}; allowed: {list(LEVELS)}")
