"""Tests for pipelines.tags: hand-written examples of each scheme and their conversions."""

import pytest

from pipelines.tags import (
    TagSequenceError,
    check_tag,
    convert,
    entity_types,
    first_iob2_violation,
    iob1_to_iob2,
    iob2_to_iob1,
    iob2_to_iobes,
    iobes_to_iob2,
)

# One sentence per row in each scheme; IOB1 writes B- only between touching entities of one type.
#   tokens: Peter Blackburn visited EU  Commission Paris Berlin
EXAMPLES = [
    {
        "iob1": ["I-PER", "I-PER", "O", "I-ORG", "I-ORG", "I-LOC", "B-LOC"],
        "iob2": ["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "B-LOC", "B-LOC"],
        "iobes": ["B-PER", "E-PER", "O", "B-ORG", "E-ORG", "S-LOC", "S-LOC"],
    },
    # I-X after another type starts a new entity; three-token entity; entity at the end.
    {
        "iob1": ["I-MISC", "I-PER", "I-PER", "I-PER", "O", "I-LOC"],
        "iob2": ["B-MISC", "B-PER", "I-PER", "I-PER", "O", "B-LOC"],
        "iobes": ["S-MISC", "B-PER", "I-PER", "E-PER", "O", "S-LOC"],
    },
    {"iob1": ["O", "O"], "iob2": ["O", "O"], "iobes": ["O", "O"]},
    {"iob1": [], "iob2": [], "iobes": []},
]


@pytest.mark.parametrize("tag", ["O", "B-PER", "I-geo", "E-X", "S-LOC-CITY", "B-é"])
def test_check_tag_accepts(tag):
    check_tag(tag)


@pytest.mark.parametrize("tag", ["", "o", "B-", "B", "X-PER", "B-P ER", "B_PER", " O", None])
def test_check_tag_rejects_and_quotes_the_tag(tag):
    with pytest.raises(ValueError, match="expected a tag 'O' or") as info:
        check_tag(tag)
    assert repr(tag) in str(info.value)


@pytest.mark.parametrize("example", EXAMPLES)
def test_conversions_between_all_schemes(example):
    for source in example:
        for target in example:
            assert convert(example[source], source, target) == example[target], (source, target)


def test_named_conversions_match_examples():
    for example in EXAMPLES:
        assert iob1_to_iob2(example["iob1"]) == example["iob2"]
        assert iob2_to_iob1(example["iob2"]) == example["iob1"]
        assert iob2_to_iobes(example["iob2"]) == example["iobes"]
        assert iobes_to_iob2(example["iobes"]) == example["iob2"]


def test_iob1_keeps_b_after_o():
    # The CoNLL-2003 quirk: "the Atlanta Games" has B-MISC after O; it stays B-MISC.
    assert iob1_to_iob2(["O", "B-MISC", "I-MISC"]) == ["O", "B-MISC", "I-MISC"]


def test_iob2_input_is_returned_as_a_new_list():
    tags = ("B-PER", "I-PER")
    assert convert(tags, "iob2") == ["B-PER", "I-PER"]


@pytest.mark.parametrize(
    "tags, index",
    [
        (["B-PER", "I-PER", "O"], None),
        (["I-PER"], 0),
        (["O", "B-PER", "O", "I-PER"], 3),
        (["B-PER", "I-LOC"], 1),
        (["B-PER", "E-PER"], 1),
        (["O", "bad"], 1),
    ],
)
def test_first_iob2_violation(tags, index):
    assert first_iob2_violation(tags) == index


def test_convert_from_iob2_names_the_position_and_tags():
    with pytest.raises(TagSequenceError) as info:
        convert(["B-PER", "O", "I-PER"], "iob2", "iobes")
    assert info.value.index == 2
    assert str(info.value) == (
        "position 2: expected 'B-PER' or 'I-PER' before 'I-PER' (strict iob2), got 'O'"
    )
    assert isinstance(info.value, ValueError)


def test_violation_at_the_start_says_so():
    with pytest.raises(ValueError, match="got the start of the sentence"):
        convert(["I-LOC"], "iob2")


@pytest.mark.parametrize(
    "tags, source, bad",
    [
        (["O", "E-PER"], "iobes", "'E-PER'"),
        (["S-PER", "I-PER"], "iobes", "'I-PER'"),
        (["B-PER", "S-PER"], "iob1", "'S-PER'"),
        (["B-PER", "E-PER"], "iob2", "'E-PER'"),
        (["O", "PER"], "iob1", "'PER'"),
    ],
)
def test_invalid_sequences_raise_at_position_one(tags, source, bad):
    with pytest.raises(TagSequenceError, match="^position 1: ") as info:
        convert(tags, source)
    assert bad in str(info.value)


@pytest.mark.parametrize("argument", ["source", "target"])
def test_unknown_scheme_names_value_and_allowed(argument):
    kwargs = {"source": "iob2", "target": "iob2", argument: "bio"}
    with pytest.raises(ValueError) as info:
        convert(["O"], **kwargs)
    assert str(info.value) == (
        f"`{argument}` must be one of 'iob1', 'iob2', 'iobes'. Received: {argument}='bio'"
    )


def test_entity_types_sorted_and_unique():
    assert entity_types([["B-per", "I-per", "O"], ["S-LOC", "B-geo"], []]) == ["LOC", "geo", "per"]
