"""Readers for tagged-text formats, each returning a list of `TaggedSentence` with IOB2 tags."""

from __future__ import annotations

from collections.abc import Callable

from pipelines.readers._io import read_lines
from pipelines.readers.conll import read_conll
from pipelines.readers.gmb_csv import read_gmb_csv
from pipelines.readers.spec import parse_spec
from pipelines.readers.tagged import TaggedSentence
from pipelines.readers.token_tag import read_token_tag, write_token_tag

FORMATS: dict[str, Callable[..., list[TaggedSentence]]] = {
    "conll2003": read_conll,
    "gmb": read_gmb_csv,
    "tsv": read_token_tag,
}

__all__ = [
    "FORMATS",
    "TaggedSentence",
    "read_conll",
    "read_gmb_csv",
    "read_lines",
    "read_tagged",
    "read_token_tag",
    "write_token_tag",
]


def read_tagged(spec: str, *, scheme: str | None = None) -> list[TaggedSentence]:
    """Reads the data named by `spec`, `"FORMAT:PATH"`, with that format's reader and defaults.

    `scheme` ("iob1", "iob2" or "iobes") overrides the tag scheme the format's reader expects
    (CoNLL-2003: iob1; the others: iob2); tags always come back as IOB2.

    Example: `read_tagged("conll2003:data/eng.train.gz")`. Only the first colon splits, so
    PATH may contain colons. FORMAT is a key of `FORMATS`.
    """
    name, _, path = parse_spec(spec, FORMATS)
    return FORMATS[name](path) if scheme is None else FORMATS[name](path, scheme=scheme)
