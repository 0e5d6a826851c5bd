"""Entity F1 split by whether an entity holds a word the training data never had.

Held-out NER scores fall with the share of unseen words (CoNLL-2003 `eng.testb` has about 12% of
tokens outside the training words, `eng.testa` 8%): the F1 of the entities that hold one says how a
tagger treats them, which the overall F1 on a dev split mixes with the easier, seen ones.
"""

from __future__ import annotations

from typing import Collection, Sequence


def _score(correct: int, predicted: int, gold: int) -> dict:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": gold}


def entity_f1_by_novelty(tokens: Sequence[Sequence[str]], true_tags: Sequence[Sequence[str]],
                         pred_tags: Sequence[Sequence[str]], known: Collection[str]) -> dict:
    """Strict entity P/R/F1 (IOB2; type, start and end must match) of `seen` and `unseen` entities.

    An entity, gold or predicted, is `unseen` when a token of it is not in `known` (pass the
    tokens and the training words as the same keys, e.g. `pipelines.features.word_key_strings`,
    lower-cased for a lower-casing vocabulary): each group is scored on its own spans, so a prediction
    over unseen words that matches no gold entity counts against the `unseen` precision.

    Example (one sentence, "Zurbo" unseen; the tagger finds "Paris" and misses "Zurbo"):
        >>> entity_f1_by_novelty([["Zurbo", "in", "Paris"]], [["B-PER", "O", "B-LOC"]],
        ...                      [["O", "O", "B-LOC"]], known={"in", "Paris"})["unseen"]["recall"]
        0.0
    """
    from seqeval.metrics.sequence_labeling import get_entities

    counts = {group: {"correct": 0, "predicted": 0, "gold": 0} for group in ("seen", "unseen")}
    for words, gold_tags, predicted_tags in zip(tokens, true_tags, pred_tags):
        if not len(words) == len(gold_tags) == len(predicted_tags):
            raise ValueError(f"tokens, true and predicted tags differ in length: {len(words)}, {len(gold_tags)}, "
                             f"{len(predicted_tags)}")
        unseen = [word not in known for word in words]
        gold = set(get_entities(list(gold_tags)))
        predicted = set(get_entities(list(predicted_tags)))

        def group(entity):
            return "unseen" if any(unseen[entity[1]:entity[2] + 1]) else "seen"

        for entity in gold:
            counts[group(entity)]["gold"] += 1
        for entity in predicted:
            counts[group(entity)]["predicted"] += 1
            counts[group(entity)]["correct"] += entity in gold
    return {group: _score(**c) for group, c in counts.items()}
