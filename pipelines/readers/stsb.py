"""Reader for the STS Benchmark CSVs (`sts-train.csv`, `sts-dev.csv`): tab-separated, no header."""

from __future__ import annotations

import os

from pipelines.readers.pair import Pair, check_text, parse_score, some_pairs, tab_rows

COLUMNS = ("genre", "filename", "year", "id", "score", "sentence1", "sentence2")


def read_stsb(path: str | os.PathLike, *, encoding: str = "utf-8") -> list[Pair]:
    """Reads an STS-B file (plain or gzipped): `genre filename year id score sentence1 sentence2`.

    Some rows carry up to two extra source/license fields after the sentences; they are ignored.
    The text holds bare `"` characters, so no quoting is interpreted.

    Returns:
        `Pair(text_a=sentence1, text_b=sentence2, score=score (0-5), id="genre/filename/year/id")`.

    Raises:
        DataError: a line with fewer than 7 or more than 9 fields, a score outside 0-5, an empty
            sentence, or no pairs, each located by line.
    """
    pairs = [Pair(check_text(path, n, fields[5], "sentence1"), check_text(path, n, fields[6], "sentence2"),
                  score=parse_score(path, n, fields[4], "score", 0.0, 5.0), id="/".join(fields[:4]))
             for n, fields in tab_rows(path, COLUMNS, extra=2, encoding=encoding)]
    return some_pairs(pairs, path, "'" + "<TAB>".join(COLUMNS) + "' lines")
