"""Reader for the Kaggle GMB NER corpus, `ner_dataset.csv`: one token per row."""

from __future__ import annotations

import csv
import os

from pipelines.errors import DataError, shown
from pipelines.readers._io import read_lines
from pipelines.readers.tagged import SentenceCollector, TaggedSentence

HEADER = ("Sentence #", "Word", "POS", "Tag")


def read_gmb_csv(
    path: str | os.PathLike, *, scheme: str = "iob2", encoding: str = "latin1"
) -> list[TaggedSentence]:
    """Reads `ner_dataset.csv` (plain or gzipped) into sentences with IOB2 tags.

    The header is `Sentence #,Word,POS,Tag`. The first column holds a sentence id such as
    `Sentence: 1` on a sentence's first row and is empty on the rest, so a non-empty value
    starts a new sentence. The tags are IOB2 already and are checked strictly.

    Args:
        path: the file, e.g. `ner_dataset.csv` or `ner_dataset.csv.gz`.
        encoding: text encoding; the real file is not valid UTF-8, hence latin1.

    Raises:
        DataError: a wrong header, a row without 4 fields, a first data row without a
            sentence id, a malformed tag or a strict IOB2 violation, all with line numbers.
    """
    sentences = SentenceCollector(path, scheme)
    # Each item fed to csv is one physical line, so `rows.line_num` is the file's line number.
    rows = csv.reader(line for _, line in read_lines(path, encoding))
    try:
        header = next(rows)
        if tuple(header) != HEADER:
            raise DataError(
                path, 1, f"expected the header {','.join(HEADER)!r}, got {shown(','.join(header))}"
            )
        in_sentence = False
        for row in rows:
            if len(row) != 4:
                raise DataError(
                    path,
                    rows.line_num,
                    f"expected 4 comma-separated fields ({', '.join(HEADER)}), "
                    f"got {len(row)}: {shown(row)}",
                )
            sentence_id, word, _, tag = row
            if sentence_id:
                sentences.end_sentence()
            elif not in_sentence:
                raise DataError(
                    path,
                    rows.line_num,
                    "expected a sentence id such as 'Sentence: 1' in the first field of the "
                    f"first data row, got {shown(row)}",
                )
            in_sentence = True
            sentences.add(rows.line_num, word, tag)
    except csv.Error as err:
        raise DataError(path, rows.line_num, f"expected well-formed CSV: {err}") from None
    return sentences.finish(f"rows after the header {','.join(HEADER)!r}")
