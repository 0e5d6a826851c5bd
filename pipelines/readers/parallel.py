"""Reader for line-aligned parallel files (Multi30k, WMT, Europarl): line n of one file translates line n of the other."""

from __future__ import annotations

import itertools
import os

from pipelines.errors import DataError
from pipelines.readers._io import read_lines
from pipelines.readers.parallel_pair import ParallelPair


def read_parallel(source_path: str | os.PathLike, target_path: str | os.PathLike, *,
                  encoding: str = "utf-8") -> list[ParallelPair]:
    """Reads two line-aligned files (plain or gzipped) into sentence pairs, in file order.

    Lines blank in both files are skipped (a trailing blank line, a paragraph break kept on both
    sides); a line blank on one side only means the files have slipped out of alignment.

    Args:
        source_path: one sentence per line in the source language, e.g. `train.en.gz`.
        target_path: the translations, line by line, e.g. `train.de.gz`.
        encoding: text encoding of both files.

    Raises:
        DataError: the files have different numbers of lines (naming both files and their counts,
            at the first line only one of them has), a line is blank on one side only (naming both
            files and the line), or no pair is left.
    """
    pairs = []
    lines = itertools.zip_longest(read_lines(source_path, encoding), read_lines(target_path, encoding))
    for source, target in lines:
        if source is None or target is None:
            longer, shorter = (source_path, target_path) if target is None else (target_path, source_path)
            line_number = (source or target)[0]
            total = line_number + sum(1 for _ in lines)
            raise DataError(shorter, line_number, f"the parallel files differ in length: {os.fspath(longer)!r} has "
                                                  f"{total} lines, {os.fspath(shorter)!r} only {line_number - 1}")
        (line_number, source_text), (_, target_text) = source, target
        if not source_text.strip() and not target_text.strip():
            continue
        for path, text, other in ((source_path, source_text, target_path), (target_path, target_text, source_path)):
            if not text.strip():
                raise DataError(path, line_number, f"expected a sentence on line {line_number} as in "
                                                   f"{os.fspath(other)!r}, got an empty line; the files are not "
                                                   "aligned line by line")
        pairs.append(ParallelPair(source_text.strip(), target_text.strip()))
    if not pairs:
        raise DataError(source_path, None, f"expected sentence pairs in it and {os.fspath(target_path)!r}, "
                                           "found only blank lines")
    return pairs


def read_parallel_spec(paths: str, *, encoding: str = "utf-8") -> list[ParallelPair]:
    """`read_parallel` of the PATH part of a `parallel:SRC,TGT` data spec, e.g. `"train.en.gz,train.de.gz"`.

    The last comma splits, so a source path may itself contain commas.
    """
    source_path, comma, target_path = paths.rpartition(",")
    if not comma or not source_path or not target_path:
        raise DataError(None, None, f"expected two files 'SOURCE,TARGET' for parallel data, got {paths!r}")
    return read_parallel(source_path, target_path, encoding=encoding)
