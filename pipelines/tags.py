"""Pure functions on sequence-labelling tags: validation and IOB1 / IOB2 / IOBES conversion.

A tag is `O` or `{B,I,E,S}-TYPE`. The project's canonical scheme is IOB2 (BIO): every entity
starts with `B-TYPE` and continues with `I-TYPE`. For example, one sentence in each scheme:

    tokens  EU     rejects  German  call  to  boycott  British  lamb  .
    IOB1    I-ORG  O        I-MISC  O     O   O        I-MISC   O     O
    IOB2    B-ORG  O        B-MISC  O     O   O        B-MISC   O     O
    IOBES   S-ORG  O        S-MISC  O     O   O        S-MISC   O     O
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from pipelines.errors import shown

TAG_PATTERN = re.compile(r"O|[BIES]-\S+")
SCHEMES = ("iob1", "iob2", "iobes")


class TagSequenceError(ValueError):
    """A tag sequence that breaks its scheme; `index` is the 0-based position of the bad tag.

    Readers use `index` to point at the line of the bad tag and `detail` as the message.
    """

    def __init__(self, index: int, detail: str):
        self.index = index
        self.detail = detail
        super().__init__(f"position {index}: {detail}")


# Real corpora use a handful of distinct tags over millions of tokens, so caching the
# regex verdict makes per-token validation nearly free.
@functools.lru_cache(maxsize=1024)
def _is_tag(tag: str) -> bool:
    return TAG_PATTERN.fullmatch(tag) is not None


def check_tag(tag: str) -> None:
    """Raises `ValueError` unless `tag` is `O` or `{B,I,E,S}-TYPE` with a non-empty TYPE."""
    if not (isinstance(tag, str) and _is_tag(tag)):
        raise ValueError(
            f"expected a tag 'O' or B-/I-/E-/S- followed by a type (e.g. 'B-PER'), got {shown(tag)}"
        )


def _first_violation(tags: Sequence[str], scheme: str) -> tuple[int, str] | None:
    """(index, detail) of the first tag that breaks `scheme`, else None.

    IOB1 allows B-/I-/O in any order. IOB2 and IOBES also require every continuation tag
    (I-X, and E-X in IOBES) to follow B-X or I-X. IOBES is not checked further (e.g. that
    B-X is closed by E-X): that rule is not needed for a well-formed IOB2 result.
    """
    prefixes = "BIES" if scheme == "iobes" else "BI"
    continuations = {"iob1": "", "iob2": "I", "iobes": "IE"}[scheme]
    previous = "O"
    for index, tag in enumerate(tags):
        try:
            check_tag(tag)
        except ValueError as err:
            return index, str(err)
        if tag != "O":
            if tag[0] not in prefixes:
                allowed = ", ".join(f"{prefix}-" for prefix in prefixes)
                return index, f"expected 'O' or a tag starting {allowed} ({scheme}), got {tag!r}"
            entity = tag[2:]
            if tag[0] in continuations and previous not in (f"B-{entity}", f"I-{entity}"):
                before = repr(previous) if index else "the start of the sentence"
                return index, (
                    f"expected 'B-{entity}' or 'I-{entity}' before {tag!r} (strict {scheme}), "
                    f"got {before}"
                )
        previous = tag
    return None


def _check_scheme_tags(tags: Sequence[str], scheme: str) -> None:
    violation = _first_violation(tags, scheme)
    if violation is not None:
        raise TagSequenceError(*violation)


def first_iob2_violation(tags: Sequence[str]) -> int | None:
    """Index of the first tag that breaks strict IOB2, else None.

    That is an `I-X` not preceded by `B-X` or `I-X`, or a tag that is not IOB2 at all
    (malformed, or `E-`/`S-`). `["O", "I-PER"]` -> 1; `["B-PER", "I-PER"]` -> None.
    """
    violation = _first_violation(tags, "iob2")
    return None if violation is None else violation[0]


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    """IOB1 -> IOB2: an `I-X` that does not continue an X entity becomes `B-X`.

    `["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]` -> `["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]`.
    """
    return _relabel_entity_starts(tags, "iob1", old="I", new="B")


def iob2_to_iob1(tags: Sequence[str]) -> list[str]:
    """IOB2 -> IOB1: `B-X` becomes `I-X` unless it directly follows another X entity."""
    return _relabel_entity_starts(tags, "iob2", old="B", new="I")


def _relabel_entity_starts(tags: Sequence[str], scheme: str, *, old: str, new: str) -> list[str]:
    """Validates `tags` in `scheme`, then gives prefix `new` to each `old`-prefixed tag that
    does not follow a tag of its own type. IOB1 and IOB2 differ only in that prefix."""
    _check_scheme_tags(tags, scheme)
    result = []
    previous_type = None
    for tag in tags:
        entity = None if tag == "O" else tag[2:]
        result.append(f"{new}-{entity}" if tag[0] == old and entity != previous_type else tag)
        previous_type = entity
    return result


def iob2_to_iobes(tags: Sequence[str]) -> list[str]:
    """Strict IOB2 -> IOBES: single-token entities become `S-X`, last tokens become `E-X`.

    `["B-PER", "I-PER", "O", "B-LOC"]` -> `["B-PER", "E-PER", "O", "S-LOC"]`.
    """
    _check_scheme_tags(tags, "iob2")
    result = []
    for index, tag in enumerate(tags):
        if tag == "O":
            result.append(tag)
            continue
        # In strict IOB2 a following I- tag can only continue this same entity.
        continues = index + 1 < len(tags) and tags[index + 1][0] == "I"
        prefix = {"B": "B" if continues else "S", "I": "I" if continues else "E"}[tag[0]]
        result.append(f"{prefix}{tag[1:]}")
    return result


def iobes_to_iob2(tags: Sequence[str]) -> list[str]:
    """IOBES -> IOB2: `S-X` becomes `B-X` and `E-X` becomes `I-X`.

    Raises `TagSequenceError` where an `I-X` or `E-X` does not follow `B-X` or `I-X`.
    """
    _check_scheme_tags(tags, "iobes")
    mapping = {"S": "B", "E": "I"}
    return [tag if tag == "O" else f"{mapping.get(tag[0], tag[0])}{tag[1:]}" for tag in tags]


def check_scheme(scheme: str, argument: str = "scheme") -> None:
    """Raises `ValueError` naming `argument` unless `scheme` is one of `SCHEMES`."""
    if scheme not in SCHEMES:
        allowed = ", ".join(repr(name) for name in SCHEMES)
        raise ValueError(f"`{argument}` must be one of {allowed}. Received: {argument}={scheme!r}")


def convert(tags: Sequence[str], source: str, target: str = "iob2") -> list[str]:
    """Converts `tags` from the `source` scheme to the `target` scheme.

    Schemes are "iob1", "iob2" and "iobes". The input is validated against `source`
    (strictly for "iob2"), so a bad sequence raises `TagSequenceError` (a `ValueError`)
    whose message gives the position of the bad tag.
    """
    check_scheme(source, "source")
    check_scheme(target, "target")
    to_iob2 = {"iob1": iob1_to_iob2, "iob2": _strict_iob2, "iobes": iobes_to_iob2}[source]
    from_iob2 = {"iob1": iob2_to_iob1, "iob2": list, "iobes": iob2_to_iobes}[target]
    return from_iob2(to_iob2(tags))


def _strict_iob2(tags: Sequence[str]) -> list[str]:
    _check_scheme_tags(tags, "iob2")
    return list(tags)


def entity_types(tag_sequences: Iterable[Sequence[str]]) -> list[str]:
    """Sorted entity types in `tag_sequences`: `[["B-PER", "O"], ["S-LOC"]]` -> `["LOC", "PER"]`."""
    types = set()
    for tags in tag_sequences:
        for tag in tags:
            check_tag(tag)
            if tag != "O":
                types.add(tag[2:])
    return sorted(types)
