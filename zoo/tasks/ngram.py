"""N-gram language models for TF Serving: the back-off tables in the graph, a signature that scores sentences.

The exported `serving_default` takes raw sentences, tokenizes them with the ops counting used
(`pipelines.ngram.ngram_tokens`), maps tokens to ids (unknown -> `<UNK>`), pads each sentence
with N-1 `<s>` and one `</s>`, and for every prediction looks up the longest seen n-gram and the
back-off weights of the longer contexts, exactly as `NgramLM.window_log_probs` does in NumPy.
N-gram keys are the ids joined by spaces, e.g. "0 0 17".
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from pipelines.ngram import ngram_tokens
from zoo.export import export_serving_module
from zoo.ngram import BOS_ID, EOS_ID, UNK_ID, NgramLM, key_rows

TASK = "ngram"
SIGNATURES = {
    "serving_default": "text: 1-D string batch of sentences -> log_prob (natural log of P(sentence), end marker "
    "included, float64), perplexity (exp(-log_prob / num_predictions), float64), num_predictions "
    "(tokens + 1, int64)",
}


def _table(keys: list[str], values: np.ndarray, default: float) -> tf.lookup.StaticHashTable:
    # Tables cannot be empty (a unigram model has no contexts): "" is a key no lookup ever asks for.
    keys, values = ["", *keys], np.concatenate([[default], values])
    initializer = tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys, dtype=tf.string), tf.constant(values, dtype=tf.float64))
    return tf.lookup.StaticHashTable(initializer, default_value=tf.constant(default, tf.float64))


class NgramScorer(tf.Module):
    """The exported graph: sentences in; log-probability, perplexity and prediction count per sentence out."""

    def __init__(self, lm: NgramLM):
        super().__init__(name="ngram_scorer")
        lm._check_fitted()
        self.order, self.level = lm.order, lm.level
        words = list(lm.vocab[UNK_ID:])
        self.vocab = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(words, dtype=tf.string),
                                                tf.range(UNK_ID, UNK_ID + len(words), dtype=tf.int64)),
            default_value=UNK_ID)
        gram_keys, log_probs, context_keys, backoffs = [], [], [], []
        for table in lm.tables:
            gram_keys += _key_strings(key_rows(table.keys, table.order, lm.bits))
            log_probs.append(table.log_probs)
            context_keys += _key_strings(key_rows(table.context_keys, table.order - 1, lm.bits))
            backoffs.append(table.context_log_backoffs)
        # 1.0 is no log-probability, so it marks "n-gram not seen"; an unseen context backs off with weight 1.
        self.log_probs = _table(gram_keys, np.concatenate(log_probs), 1.0)
        self.log_backoffs = _table(context_keys, np.concatenate(backoffs), 0.0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def score(self, text):
        ids = self.vocab.lookup(ngram_tokens(text, self.level))
        lengths = ids.row_lengths()
        predictions = lengths + 1
        sentence = tf.repeat(tf.range(tf.size(lengths, out_type=tf.int64)), predictions)
        step = tf.ragged.range(predictions).flat_values  # 0 .. length: the tokens, then </s>
        # One spare element keeps the gather valid for a batch without any token.
        values = tf.concat([ids.flat_values, [UNK_ID]], axis=0)
        first = tf.gather(ids.row_starts(), sentence)
        length = tf.gather(lengths, sentence)
        strings = []  # strings[j]: the id j steps before each prediction
        for lag in range(self.order):
            position = step - lag
            inside = tf.gather(values, first + tf.clip_by_value(position, 0, tf.maximum(length - 1, 0)))
            token = tf.where(position < 0, tf.constant(BOS_ID, tf.int64),
                             tf.where(position == length, tf.constant(EOS_ID, tf.int64), inside))
            strings.append(tf.strings.as_string(token))
        log_probs, backoffs = [], []
        for k in range(1, self.order + 1):
            log_probs.append(self.log_probs.lookup(tf.strings.join(strings[k - 1::-1], separator=" ")))
            context = strings[k - 1:0:-1]  # empty at order 1, which never backs off
            backoffs.append(self.log_backoffs.lookup(tf.strings.join(context, separator=" ")) if context
                            else tf.zeros_like(log_probs[0]))
        log_probs, backoffs = tf.stack(log_probs, axis=1), tf.stack(backoffs, axis=1)
        # The longest seen n-gram gives p*; every longer context backs off with its weight.
        orders = tf.range(1, self.order + 1, dtype=tf.int64)
        longest = tf.reduce_max(tf.where(log_probs <= 0.0, orders, tf.zeros_like(orders)), axis=1)
        chosen = tf.gather(log_probs, longest - 1, batch_dims=1)
        backed_off = tf.reduce_sum(tf.where(orders > longest[:, None], backoffs, tf.zeros_like(backoffs)), axis=1)
        total = tf.math.unsorted_segment_sum(chosen + backed_off, sentence, tf.size(lengths))
        return {"log_prob": total, "perplexity": tf.exp(-total / tf.cast(predictions, tf.float64)),
                "num_predictions": predictions}


def _key_strings(rows: np.ndarray) -> list[str]:
    return [" ".join(map(str, row)) for row in rows.tolist()]


def export_ngram(lm: NgramLM, *, base_dir: str | os.PathLike, name: str, card: dict) -> Path:
    """Exports `lm` as the next version of `base_dir/name`; its card holds the config and corpus counts."""
    scorer = NgramScorer(lm)
    card = {"task": TASK, "model": "ngram", "signatures": SIGNATURES, "config": lm.get_config(),
            "vocab_size": len(lm.vocab), "data": {k: v for k, v in lm.info.items()}, **card}
    return export_serving_module(scorer, {"serving_default": scorer.score}, card, base_dir=base_dir, name=name)
