"""Argument types for `zoo`'s parser: argparse reports their errors as `zoo CMD: error: argument X: ...`, exit 2.

Kept apart from `zoo.cli` so that they import nothing heavy and are tested on their own.
"""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer >= 1 (epochs, batch sizes, trials): `--epochs 0` would train nothing."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def utf8_text(text: str) -> str:
    """A command-line text that was valid UTF-8.

    Python decodes arguments with `surrogateescape`, so bytes that are not UTF-8 (`$'\\xff\\xfe'`)
    arrive as lone surrogates that fail later, deep in TensorFlow; they are refused here instead.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raw = text[error.start : error.end].encode("utf-8", "surrogateescape")
        raise argparse.ArgumentTypeError(
            f"expected UTF-8 text, got the bytes {raw!r} at character {error.start + 1} of {_cut(text)!r}") from None
    return text


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
