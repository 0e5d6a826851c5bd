"""BLEU and chrF through sacrebleu, checked against n-gram counts worked out by hand."""

import pytest

from zoo.metrics.bleu import caption_bleu, translation_scores


def test_corpus_bleu_sums_counts_over_sentences_cased_and_lowercased():
    """Sentence 1: "A b c d e f" vs "a b c d e g"; sentence 2 matches its reference, "x y z w", exactly.

    Cased, "A" matches nothing. Matches / n-grams, both sentences summed:
        1-grams (4 + 4) / (6 + 4) = 8/10, 2-grams (3 + 3) / (5 + 3) = 6/8,
        3-grams (2 + 2) / (4 + 2) = 4/6, 4-grams (1 + 1) / (3 + 1) = 2/4;
        lengths 10 = 10, so no brevity penalty: BLEU = (0.8 * 0.75 * 0.6667 * 0.5) ** (1/4) = 0.2 ** 0.25 = 66.87.
    Lowercased, "a" matches too: 9/10, 7/8, 5/6, 3/4 -> (0.4921875) ** 0.25 = 83.76.
    """
    scores = translation_scores(["A b c d e f", "x y z w"], ["a b c d e g", "x y z w"])
    assert scores["bleu"] == pytest.approx(100 * 0.2 ** 0.25, abs=1e-2)
    assert scores["bleu_lowercase"] == pytest.approx(100 * 0.4921875 ** 0.25, abs=1e-2)
    assert scores["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert "case:lc" in scores["bleu_lowercase_signature"]
    assert scores["chrf_signature"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no")
    assert translation_scores(["ein Hund"], ["ein Hund"])["chrf"] == pytest.approx(100.0)
    assert 0 < scores["chrf"] < 100


def test_caption_bleu_1_to_4_against_one_or_several_references():
    """Hypothesis "a dog runs on grass" (5 words).

    Against "a dog runs on the grass" alone: clipped precisions 5/5, 3/4 ("on grass" is not in it), 2/3, 1/2;
    brevity penalty exp(1 - 6/5) = 0.818731. BLEU-1 = 0.818731, BLEU-2 = 0.818731 * 0.75 ** (1/2) = 0.709042,
    BLEU-3 = 0.818731 * 0.5 ** (1/3) = 0.649830, BLEU-4 = 0.818731 * 0.25 ** (1/4) = 0.578928.
    With "The dog runs on grass" too, each n-gram is found in one reference or the other (4/4, 3/3, 2/2)
    and the closest reference length is 5: every BLEU-n is 1.
    """
    one = caption_bleu(["a dog runs on grass"], [["a dog runs on the grass"]])
    expected = [0.818731, 0.709042, 0.649830, 0.578928]
    assert [one[f"bleu_{n}"] for n in range(1, 5)] == pytest.approx([100 * e for e in expected], abs=1e-3)
    both = caption_bleu(["a dog runs on grass"], [["a dog runs on the grass", "The dog runs on grass"]])
    assert [both[f"bleu_{n}"] for n in range(1, 5)] == pytest.approx([100.0] * 4)
    assert "nrefs:2|case:lc" in both["bleu_signature"]


def test_references_must_line_up_with_hypotheses():
    varying = caption_bleu(["a b", "c d"], [["a b"], ["c d", "c e"]], max_order=2)
    assert varying["bleu_2"] == pytest.approx(100.0) and "nrefs:var" in varying["bleu_signature"]
    with pytest.raises(ValueError, match="2 hypotheses and 1 references"):
        translation_scores(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="empty reference list"):
        caption_bleu(["a"], [[]])
    with pytest.raises(ValueError, match="max_order=5"):
        caption_bleu(["a"], [["a"]], max_order=5)
