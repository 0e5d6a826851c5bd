"""`entity_f1_by_novelty`: entity F1 of the entities that hold a word the training data never had, and of the rest."""

import pytest

from zoo.metrics.unseen_entities import entity_f1_by_novelty


def test_entities_are_grouped_by_their_own_words_and_scored_strictly():
    known = {"in", "met", "paris", "bob", "the", "bank"}
    tokens = [["zurbo", "met", "bob", "in", "paris"], ["the", "qwerty", "bank", "in", "paris"]]
    gold = [["B-PER", "O", "B-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG", "O", "B-LOC"]]
    # Sentence 1: "zurbo" (unseen) missed, "bob" found, "paris" typed wrong. Sentence 2: the unseen ORG
    # found one word short (a wrong prediction over seen words only), "paris" found.
    pred = [["O", "O", "B-PER", "O", "B-ORG"], ["B-ORG", "I-ORG", "O", "O", "B-LOC"]]
    scores = entity_f1_by_novelty(tokens, gold, pred, known)
    # unseen: gold {zurbo PER, "the qwerty bank" ORG}; predicted {"the qwerty" ORG, wrong}: 0 of 1, 0 of 2.
    assert scores["unseen"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    # seen: gold {bob, paris LOC, paris LOC} = 3; predicted {bob, paris ORG, paris LOC} = 3, 2 correct.
    assert scores["seen"]["support"] == 3
    assert scores["seen"]["precision"] == pytest.approx(2 / 3) and scores["seen"]["recall"] == pytest.approx(2 / 3)
    assert scores["seen"]["f1"] == pytest.approx(2 / 3)


def test_no_entities_score_zero_and_lengths_must_match():
    assert entity_f1_by_novelty([["a"]], [["O"]], [["O"]], set())["unseen"] == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    with pytest.raises(ValueError, match="differ in length: 2, 1, 1"):
        entity_f1_by_novelty([["a", "b"]], [["O"]], [["O"]], set())
