"""Reader for the NLTK `twitter_samples` CSV export: one tweet a row, the text in the last column."""

from __future__ import annotations

import csv
import os

from pipelines.errors import DataError, shown
from pipelines.readers._io import read_lines

_TEXT_COLUMN = "tweet_text"


def read_tweets_csv(path: str | os.PathLike, *, encoding: str = "utf-8") -> list[str]:
    """Reads the tweet texts of a `twitter_samples` CSV file (plain or gzipped), in file order.

    The header names carry leading spaces and its last column is `tweet_text`. Data rows end in
    CRLF and quoted fields may hold newlines, so a row may span several lines; an embedded line
    break comes back as `\\n` (a lone `\\r` inside a line is kept as it is).

    Args:
        path: e.g. `positive_tweets.csv.gz`.
        encoding: text encoding of the file.

    Returns:
        The texts, e.g. `["#FollowFriday @France_Inte ... :)", ...]`.

    Raises:
        DataError: a header without a last column `tweet_text`, a row with a different number of
            fields than the header (at the row's first line), an unterminated quote, or no rows.
    """
    lines = read_lines(path, encoding)
    # csv joins a quoted field across lines only when each line keeps its line break.
    reader = csv.reader((line + "\n" for _, line in lines), strict=True)
    texts: list[str] = []
    first_line = 1
    try:
        header = next(reader)
        if header[-1].strip() != _TEXT_COLUMN:
            raise DataError(path, 1, f"expected a header whose last column is {_TEXT_COLUMN!r}, got {shown(header)}")
        first_line = reader.line_num + 1
        for row in reader:
            if len(row) != len(header):
                raise DataError(path, first_line, f"expected {len(header)} comma-separated fields like the header, "
                                                  f"got {len(row)}: {shown(row)}")
            texts.append(row[-1])
            first_line = reader.line_num + 1
    except csv.Error as err:
        raise DataError(path, first_line, f"cannot parse the CSV row: {err}") from None
    if not texts:
        raise DataError(path, None, "no tweets after the header")
    return texts
