"""Reader for GLUE SST-2 TSV files: a `sentence<TAB>label` header, then one phrase and its 0/1 label a line."""

from __future__ import annotations

import os

from pipelines.errors import DataError, shown
from pipelines.readers._io import read_lines

_HEADER = ["sentence", "label"]


def read_sst2_tsv(path: str | os.PathLike, *, encoding: str = "utf-8") -> tuple[list[str], list[int]]:
    """Reads a GLUE SST-2 `train.tsv` or `dev.tsv` (plain or gzipped).

    The text is already lowercased and tokenized; the space GLUE leaves before the tab is
    dropped. Label 1 is positive, 0 negative.

    Returns:
        (texts, labels) in file order, e.g. `(["hide new secretions from the parental units"], [0])`.

    Raises:
        DataError: a header other than `sentence<TAB>label`, a line without exactly two
            tab-separated fields, an empty text, a label other than 0 or 1, or no rows.
    """
    texts: list[str] = []
    labels: list[int] = []
    for line_number, line in read_lines(path, encoding):
        fields = line.split("\t")
        if line_number == 1:
            if fields != _HEADER:
                raise DataError(path, 1, f"expected the header 'sentence<TAB>label', got {shown(line)}")
            continue
        if len(fields) != 2:
            raise DataError(path, line_number, f"expected 2 tab-separated fields (sentence, label), "
                                               f"got {len(fields)}: {shown(line)}")
        text, label = fields[0].strip(), fields[1].strip()
        if not text:
            raise DataError(path, line_number, "the sentence is empty")
        if label not in ("0", "1"):
            raise DataError(path, line_number, f"expected the label 0 or 1, got {shown(label)}")
        texts.append(text)
        labels.append(int(label))
    if not texts:
        raise DataError(path, None, "no sentences after the header")
    return texts, labels
