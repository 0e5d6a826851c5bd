"""Corpus BLEU and chrF with sacrebleu, for translations and captions, with the signatures that make scores comparable.

BLEU (Papineni et al., 2002) is computed on the whole corpus (n-gram counts summed over sentences,
not sentence scores averaged), on detokenized text that sacrebleu tokenizes itself (13a, the WMT
standard), so scores compare with published ones when the signature matches.
"""

from __future__ import annotations

from itertools import zip_longest
from typing import Sequence


def _reference_streams(hypotheses: Sequence[str], references) -> list[list[str | None]]:
    """sacrebleu's layout: stream j holds every sentence's j-th reference (None where a sentence has fewer)."""
    rows = [[r] if isinstance(r, str) else list(r) for r in references]
    if len(rows) != len(hypotheses):
        raise ValueError(f"Expected one reference (or list of references) per hypothesis. Received: "
                         f"{len(hypotheses)} hypotheses and {len(rows)} references")
    if any(not row for row in rows):
        raise ValueError("Every hypothesis needs at least one reference. Received: an empty reference list")
    return [list(stream) for stream in zip_longest(*rows)]


def translation_scores(hypotheses: Sequence[str], references) -> dict:
    """Cased and lowercased corpus BLEU, chrF, and their sacrebleu signatures.

    Args:
        hypotheses: the system's outputs, one string per source sentence.
        references: one reference string per sentence, or a list of references per sentence.

    Returns:
        `{"bleu", "bleu_signature", "bleu_lowercase", "bleu_lowercase_signature", "chrf", "chrf_signature"}`,
        scores on sacrebleu's 0-100 scale, e.g. `{"bleu": 35.2, "bleu_signature":
        "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0", ...}`.
    """
    from sacrebleu.metrics import BLEU, CHRF

    streams = _reference_streams(hypotheses, references)
    scores = {}
    for key, metric in (("bleu", BLEU()), ("bleu_lowercase", BLEU(lowercase=True)), ("chrf", CHRF())):
        scores[key] = float(metric.corpus_score(list(hypotheses), streams).score)
        scores[f"{key}_signature"] = str(metric.get_signature())
    return scores


def caption_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]], *, max_order: int = 4,
                 lowercase: bool = True) -> dict:
    """BLEU-1 .. BLEU-`max_order` of captions against all their references (five per Flickr8k image).

    BLEU-n is the brevity penalty times the geometric mean of the clipped 1- to n-gram precisions, as in
    the captioning literature (Xu et al., 2015); a hypothesis n-gram counts up to its most frequent
    occurrence in any one reference, and the brevity penalty uses the reference length closest to each
    hypothesis. Captions are lower-cased by default, as those papers do.

    Returns:
        `{"bleu_1": ..., ..., "bleu_{max_order}": ..., "bleu_signature": ...}` on a 0-100 scale; the
        signature is BLEU-`max_order`'s.
    """
    from sacrebleu.metrics import BLEU

    if not 1 <= max_order <= 4:
        raise ValueError(f"max_order must be 1 to 4. Received: max_order={max_order}")
    streams = _reference_streams(hypotheses, references)
    scores = {}
    for order in range(1, max_order + 1):
        metric = BLEU(max_ngram_order=order, lowercase=lowercase)
        scores[f"bleu_{order}"] = float(metric.corpus_score(list(hypotheses), streams).score)
    scores["bleu_signature"] = str(metric.get_signature())
    return scores
