"""Reader for SICK (`SICK.txt` and its SemEval portions): sentence pairs with a relatedness score."""

from __future__ import annotations

import os

from pipelines.errors import DataError, shown
from pipelines.readers.pair import Pair, check_text, parse_score, some_pairs, tab_rows

HEADER = ("pair_ID", "sentence_A", "sentence_B", "entailment_label", "relatedness_score", "entailment_AB",
          "entailment_BA", "sentence_A_original", "sentence_B_original", "sentence_A_dataset",
          "sentence_B_dataset", "SemEval_set")
ENTAILMENT = ("NEUTRAL", "ENTAILMENT", "CONTRADICTION")


def read_sick(path: str | os.PathLike, *, encoding: str = "utf-8") -> list[Pair]:
    """Reads a SICK file (plain or gzipped; CRLF or LF): the 12-column header, then one pair per line.

    Returns:
        `Pair(text_a=sentence_A, text_b=sentence_B, score=relatedness_score (1-5), id=pair_ID)`;
        `label` is `None` (turn scores into labels with a threshold, e.g. relatedness >= 4).

    Raises:
        DataError: a wrong header, a line without 12 fields, a relatedness outside 1-5, an
            entailment label outside NEUTRAL/ENTAILMENT/CONTRADICTION, an empty sentence, or no pairs.
    """
    pairs = []
    for n, fields in tab_rows(path, HEADER, header=True, encoding=encoding):
        if fields[3] not in ENTAILMENT:
            raise DataError(path, n, f"expected an entailment_label in {list(ENTAILMENT)}, got {shown(fields[3])}")
        pairs.append(Pair(check_text(path, n, fields[1], "sentence_A"), check_text(path, n, fields[2], "sentence_B"),
                          score=parse_score(path, n, fields[4], "relatedness_score", 1.0, 5.0), id=fields[0]))
    return some_pairs(pairs, path, "lines after the header")
