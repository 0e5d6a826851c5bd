"""Reader for the Quora question-pairs TSV of the BiMPM partition: `is_duplicate<TAB>q1<TAB>q2<TAB>id`."""

from __future__ import annotations

import os

from pipelines.readers.pair import Pair, check_text, parse_label, some_pairs, tab_rows

COLUMNS = ("is_duplicate", "question1", "question2", "id")


def read_quora_tsv(path: str | os.PathLike, *, encoding: str = "utf-8") -> list[Pair]:
    """Reads a Quora question-pairs file (plain or gzipped), one labelled pair per line, no header.

    Example line: `1<TAB>How can I stop my depression ?<TAB>What can I do to stop being depressed ?<TAB>339556`.

    Returns:
        `Pair(text_a=question1, text_b=question2, label=is_duplicate, id=id)` in file order.

    Raises:
        DataError: a line without exactly 4 fields, a label other than 0 or 1, an empty question,
            or a file without pairs, each located by line.
    """
    pairs = [Pair(check_text(path, n, question1, "question1"), check_text(path, n, question2, "question2"),
                  label=parse_label(path, n, label, "is_duplicate"), id=pair_id)
             for n, (label, question1, question2, pair_id) in tab_rows(path, COLUMNS, encoding=encoding)]
    return some_pairs(pairs, path, "'" + "<TAB>".join(COLUMNS) + "' lines")
