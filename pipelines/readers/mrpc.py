"""Reader for the Microsoft Research Paraphrase Corpus file (`msr_paraphrase_train.txt`, SentEval/GLUE copy)."""

from __future__ import annotations

import os

from pipelines.readers.pair import Pair, check_text, parse_label, some_pairs, tab_rows

HEADER = ("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String")


def read_mrpc(path: str | os.PathLike, *, encoding: str = "utf-8") -> list[Pair]:
    """Reads an MRPC file (plain or gzipped): a header, then `Quality<TAB>#1 ID<TAB>#2 ID<TAB>#1 String<TAB>#2 String`.

    The file starts with a byte-order mark, which `read_lines` drops; the text holds bare
    `"` characters, so no quoting is interpreted.

    Returns:
        `Pair(text_a=#1 String, text_b=#2 String, label=Quality, id="#1 ID-#2 ID")` in file order.

    Raises:
        DataError: a wrong header, a line without 5 fields, a label other than 0 or 1, an empty
            sentence, or no pairs, each located by line.
    """
    pairs = [Pair(check_text(path, n, text_a, "#1 String"), check_text(path, n, text_b, "#2 String"),
                  label=parse_label(path, n, quality, "Quality"), id=f"{id_a}-{id_b}")
             for n, (quality, id_a, id_b, text_a, text_b) in tab_rows(path, HEADER, header=True, encoding=encoding)]
    return some_pairs(pairs, path, "lines after the header")
