"""Reader for tab-separated sentence pairs: Tatoeba / ManyThings Anki files, `eng<TAB>deu<TAB>attribution`."""

from __future__ import annotations

import os

from pipelines.errors import DataError
from pipelines.readers.pair import check_text, tab_rows
from pipelines.readers.parallel_pair import ParallelPair

COLUMNS = ("source", "target")


def read_tsv_pairs(path: str | os.PathLike, *, encoding: str = "utf-8") -> list[ParallelPair]:
    """Reads `source<TAB>target` lines (plain or gzipped), a third column (the attribution) ignored.

    Example line: `Go.<TAB>Geh.<TAB>CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #8597805 (Roujin)`.
    Blank lines are skipped; there is no header.

    Raises:
        DataError: a line with fewer than 2 or more than 3 fields, an empty source or target, or a
            file without pairs, each located by line.
    """
    pairs = [ParallelPair(check_text(path, n, fields[0], "source").strip(),
                          check_text(path, n, fields[1], "target").strip())
             for n, fields in tab_rows(path, COLUMNS, extra=1, encoding=encoding)]
    if not pairs:
        raise DataError(path, None, "expected 'source<TAB>target[<TAB>attribution]' lines, found none")
    return pairs
