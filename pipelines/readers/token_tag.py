"""Reader and writer for `token<TAB>tag` files: a token per line, blank lines between sentences."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Sequence

from pipelines.errors import DataError, shown
from pipelines.readers._io import read_lines
from pipelines.readers.tagged import SentenceCollector, TaggedSentence
from pipelines.tags import TagSequenceError, convert


def read_token_tag(
    path: str | os.PathLike, *, scheme: str = "iob2", encoding: str = "utf-8"
) -> list[TaggedSentence]:
    """Reads a `token<TAB>tag` file (plain or gzipped) into sentences with IOB2 tags.

    Tokens may contain spaces; only the tab separates the columns.

    Args:
        path: the file.
        scheme: the tag scheme in the file: "iob2" (checked strictly), "iob1" or "iobes".
        encoding: text encoding of the file.

    Raises:
        DataError: a line without exactly 2 non-empty tab-separated columns, a malformed tag,
            a tag sequence invalid in `scheme`, or an empty file.
    """
    sentences = SentenceCollector(path, scheme)
    for line_number, line in read_lines(path, encoding):
        if not line.strip():
            sentences.end_sentence()
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0]:
            raise DataError(
                path,
                line_number,
                f"expected 2 tab-separated columns (token, tag), got {len(fields)}: {shown(line)}",
            )
        sentences.add(line_number, fields[0], fields[1])
    return sentences.finish("'token<TAB>tag' lines")


def write_token_tag(
    path: str | os.PathLike,
    sentences: Iterable[tuple[Sequence[str], Sequence[str]]],
    *,
    encoding: str = "utf-8",
) -> None:
    """Writes `(tokens, tags)` pairs, e.g. `TaggedSentence`s, in the format `read_token_tag` reads.

    A path ending in `.gz` is gzipped (with a zero timestamp, so equal data give equal bytes).

    Raises:
        DataError: no sentences, or one that could not be read back: no tokens, token and
            tag counts that differ, an empty token or one with a tab or line break, or tags
            that are not strict IOB2.
    """
    lines = []
    for number, (tokens, tags) in enumerate(sentences, 1):
        if not tokens or len(tokens) != len(tags):
            raise DataError(
                None,
                None,
                f"sentence {number}: expected as many tags as tokens (at least 1), "
                f"got {len(tokens)} tokens and {len(tags)} tags",
            )
        for index, token in enumerate(tokens, 1):
            if not token or any(char in token for char in "\t\r\n"):
                raise DataError(
                    None,
                    None,
                    f"sentence {number}, token {index}: expected a non-empty token "
                    f"without tabs or line breaks, got {shown(token)}",
                )
        try:
            # The reader checks strict IOB2 by default, so refuse what it would refuse.
            convert(tags, "iob2")
        except TagSequenceError as err:
            where = f"sentence {number}, token {err.index + 1}"
            raise DataError(None, None, f"{where}: {err.detail}") from None
        lines.extend(f"{token}\t{tag}\n" for token, tag in zip(tokens, tags))
        lines.append("\n")
    if not lines:
        raise DataError(None, None, "expected at least one sentence to write, got none")
    data = "".join(lines).encode(encoding)
    if os.fspath(path).endswith(".gz"):
        with gzip.GzipFile(path, "wb", mtime=0) as file:
            file.write(data)
    else:
        with open(path, "wb") as file:
            file.write(data)
