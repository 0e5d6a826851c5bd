"""`FORMAT:PATH` data specs: one parser for every reader family (tagged, pairs, images, sentiment, text)."""

from __future__ import annotations

from typing import Iterable

from pipelines.errors import DataError


def parse_spec(spec: str, formats: Iterable[str], *, noun: str = "a data spec", format_noun: str | None = "a format",
               splits: bool = False) -> tuple[str, str | None, str]:
    """Splits `"FORMAT[/SPLIT]:PATH"` at its first colon and checks FORMAT against `formats`.

    Args:
        spec: the spec as the user wrote it; PATH may contain further colons.
        formats: the known format names, in the order error messages list them.
        noun: what the spec is called in errors, e.g. "a pair-data spec".
        format_noun: what a FORMAT is called when it is unknown ("a pair format"); None reports an
            unknown format with the same message as a malformed spec.
        splits: whether `FORMAT/SPLIT` is allowed (sentiment's `tweets/test:...`).

    Returns:
        (format, split or None, path).

    Raises:
        DataError: naming the spec received and the formats allowed.
    """
    formats = list(formats)
    known = ", ".join(repr(name) for name in formats)
    head, colon, path = spec.partition(":")
    name, slash, split = head.partition("/") if splits else (head, "", "")
    shape = "FORMAT[/SPLIT]:PATHS" if splits else "FORMAT:PATH"
    malformed = f"expected {noun} '{shape}' with FORMAT one of {known}, got {spec!r}"
    if not colon or not path:
        raise DataError(None, None, malformed)
    if name not in formats:
        if format_noun is None:
            raise DataError(None, None, malformed)
        raise DataError(None, None, f"expected {format_noun} in {spec!r} among {known}, got {name!r}")
    return name, (split if slash else None), path
