"""Reader for CoNLL-2003 NER files: `word POS chunk NER` per line, blank lines between sentences."""

from __future__ import annotations

import os

from pipelines.errors import DataError, shown
from pipelines.readers._io import read_lines
from pipelines.readers.tagged import SentenceCollector, TaggedSentence

_COLUMNS = "word POS chunk NER"


def read_conll(
    path: str | os.PathLike, *, scheme: str = "iob1", encoding: str = "utf-8"
) -> list[TaggedSentence]:
    """Reads a CoNLL-2003 file (plain or gzipped) into sentences with IOB2 tags.

    Each token line has 4 whitespace-separated columns and the tag is the last one.
    `-DOCSTART-` lines are skipped and, like blank lines, end a sentence.

    Args:
        path: the file, e.g. `eng.train` or `eng.train.gz`.
        scheme: the tag scheme in the file: "iob1" (the real CoNLL-2003 release), "iob2" or
            "iobes". Tags are converted to IOB2; "iob2" is checked strictly.
        encoding: text encoding of the file.

    Returns:
        The sentences in file order, e.g. `TaggedSentence(("EU", "rejects"), ("B-ORG", "O"))`.

    Raises:
        DataError: a line without 4 columns, a malformed tag, a tag sequence invalid in
            `scheme` (at the line of the bad tag), or a file with no sentences.
    """
    sentences = SentenceCollector(path, scheme)
    for line_number, line in read_lines(path, encoding):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            sentences.end_sentence()
            continue
        if len(fields) != 4:
            raise DataError(
                path,
                line_number,
                f"expected 4 space-separated columns ({_COLUMNS}), got {len(fields)}: {shown(line)}",
            )
        sentences.add(line_number, fields[0], fields[3])
    return sentences.finish(f"'{_COLUMNS}' lines")
