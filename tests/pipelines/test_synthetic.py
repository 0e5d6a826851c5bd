"""Tests for pipelines.synthetic: determinism, strict IOB2, and enough variety to learn context."""

import pytest

from pipelines.synthetic import synthetic_ner_corpus
from pipelines.tags import entity_types, first_iob2_violation

TARGET = (
    ("Sharon", "flew", "to", "Miami", "last", "Friday", "."),
    ("B-per", "O", "O", "B-geo", "O", "B-tim", "O"),
)


@pytest.fixture(scope="module")
def corpus():
    return synthetic_ner_corpus()


def entities(corpus, entity_type):
    """The set of entity strings of one type, e.g. {"New York", "Miami"} for "geo"."""
    found = set()
    for tokens, tags in corpus:
        for index, tag in enumerate(tags):
            if tag == f"B-{entity_type}":
                end = index + 1
                while end < len(tags) and tags[end] == f"I-{entity_type}":
                    end += 1
                found.add(" ".join(tokens[index:end]))
    return found


def test_size_and_determinism(corpus):
    assert len(corpus) == 3000
    assert synthetic_ner_corpus(50, seed=0) == corpus[:50]
    assert synthetic_ner_corpus(50, seed=1) != corpus[:50]


def test_every_sentence_is_strict_iob2_and_punctuated(corpus):
    for tokens, tags in corpus:
        assert len(tokens) == len(tags)
        assert first_iob2_violation(tags) is None, (tokens, tags)
        assert tokens[-1] in {".", "?", "!"} and tags[-1] == "O"
        assert all(token and " " not in token for token in tokens)


def test_types_and_several_entities_per_sentence(corpus):
    assert entity_types(tags for _, tags in corpus) == ["geo", "org", "per", "tim"]
    entity_counts = [sum(tag.startswith("B-") for tag in tags) for _, tags in corpus]
    assert sum(entity_counts) / len(corpus) >= 2.5


def test_variety_of_names_places_organisations_and_templates(corpus):
    first_names = {name.split()[0] for name in entities(corpus, "per") if "." not in name}
    assert len(first_names) >= 40
    assert len(entities(corpus, "geo")) >= 40
    assert len(entities(corpus, "org")) >= 20
    assert {"New York", "Miami"} <= entities(corpus, "geo")
    assert "Sharon" in entities(corpus, "per")
    # A template's shape: its words, each entity replaced by its type, time phrases dropped
    # (they vary within one template), e.g. "per flew to geo .".
    time_words = {"last", "next", "on", "in", "yesterday", "today", "this", "week", "month"}
    shapes = set()
    for tokens, tags in corpus:
        words = [
            token if tag == "O" else tag[2:]
            for token, tag in zip(tokens, tags)
            if tag[0] != "I" and tag != "B-tim" and token not in time_words
        ]
        shapes.add(" ".join(words))
    assert len(shapes) >= 25


def test_times_tag_dates_but_not_modifiers(corpus):
    pairs = {(token, tag) for tokens, tags in corpus for token, tag in zip(tokens, tags)}
    assert {("last", "O"), ("Friday", "B-tim"), ("March", "B-tim"), ("2019", "I-tim")} <= pairs


def test_target_pattern_is_common_but_target_sentence_rare(corpus):
    # "Sharon flew to Miami last Friday ." is learnable from "{per} flew to {geo} {tim}" sentences
    # and "last <weekday>" phrases, without the sentence itself.
    flew_to = [tags for tokens, tags in corpus if "flew" in tokens and tags[0] == "B-per"]
    last_day = [
        tags
        for tokens, tags in corpus
        for i, token in enumerate(tokens[:-1])
        if token == "last" and tags[i + 1] == "B-tim"
    ]
    assert len(flew_to) >= 200
    assert len(last_day) >= 100
    assert sum(tuple(sentence) == TARGET for sentence in corpus) <= 2


@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_bad_size(n):
    with pytest.raises(ValueError, match=f"Received: n_sentences={n}"):
        synthetic_ner_corpus(n)
