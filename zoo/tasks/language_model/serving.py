"""The exported language-model graph: `score` texts with the full model, `generate` step by step from the cells.

The recurrent state is carried from step to step inside a `tf.while_loop`, so generating n tokens
costs n cell steps, not n full passes.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipelines.language_model import BOS, EOS, LEVELS, check_level, split_tokens
from pipelines.vocab import PAD, UNK, Vocabulary
from zoo.losses import masked_token_nll
from zoo.models.language_model import HEAD_NAME, STACK_NAME


class LanguageModelGraph(tf.Module):
    """The exported graph: `score` texts with the full model, `generate` step by step from the cells."""

    def __init__(self, model: keras.Model, vocab: Vocabulary, *, level: str, mode: str, top_k: int = 0):
        super().__init__(name="language_model")
        self.model = model
        self.level = check_level(level)
        self.sentences = mode == "sentences"
        self.top_k = int(top_k)
        self.table = vocab.table()
        self.token_strings = tf.constant(vocab.tokens, dtype=tf.string)
        self.bos_id, self.eos_id = vocab.index[BOS], vocab.index[EOS]
        never = {PAD, UNK, BOS} | (set() if self.sentences else {EOS})  # EOS ends sentences; windows never see it
        self.banned = tf.constant([t in never for t in vocab.tokens])
        self.rnn_names = [layer.name for layer in model.layers if isinstance(layer, keras.layers.RNN)]
        self.residual = [f"{STACK_NAME}_residual_{i}" in {layer.name for layer in model.layers}
                         for i in range(len(self.rnn_names))]

    # -- pieces

    def _ids(self, texts) -> tf.RaggedTensor:
        tokens = split_tokens(texts, self.level)
        return tf.cast(self.table.lookup(tokens), tf.int32)

    def _step(self, token_ids, states):
        """One decoding step: the next-token log-probabilities after `token_ids` (batch,), and new states."""
        x = tf.gather(self.model.get_layer("token_embedding").embeddings, token_ids)
        new_states = []
        for name, residual, state in zip(self.rnn_names, self.residual, states):
            y, state = self.model.get_layer(name).cell(x, state, training=False)
            new_states.append(list(state))
            x = x + y if residual else y
        logits = self.model.get_layer(f"{HEAD_NAME}_dense")(x)
        return tf.nn.log_softmax(logits), new_states

    def _initial_states(self, batch):
        return [list(self.model.get_layer(name).cell.get_initial_state(batch)) for name in self.rnn_names]

    def _sample(self, log_probs, temperature, top_k, seed, step):
        """Greedy when `temperature <= 0`, else a draw from softmax(log_probs / T) over the `top_k` best."""
        log_probs = tf.where(self.banned[None, :], -np.inf, log_probs)
        greedy = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        vocab_size = tf.shape(log_probs)[1]
        k = tf.where(tf.logical_and(top_k > 0, top_k < vocab_size), top_k, vocab_size)
        kth_best = tf.math.top_k(log_probs, k).values[:, -1:]
        logits = tf.where(log_probs < kth_best, -np.inf, log_probs) / tf.maximum(temperature, 1e-6)
        if seed is None:
            drawn = tf.random.categorical(logits, 1, dtype=tf.int32)[:, 0]
        else:
            drawn = tf.random.stateless_categorical(logits, 1, seed=tf.stack([seed, step]), dtype=tf.int32)[:, 0]
        return tf.where(temperature > 0, drawn, greedy)

    def _generate(self, prompt, steps, temperature, top_k, seed=None) -> dict:
        prompt = tf.reshape(prompt, [-1])
        steps = tf.maximum(steps, 0)
        ids = self._ids(prompt)
        # Sentence models start from <BOS>; window models only when there is no prompt at all.
        starts = tf.logical_or(self.sentences, tf.equal(ids.row_lengths(), 0))
        bos = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(tf.cast(starts, tf.int32))], self.bos_id), tf.cast(starts, tf.int64))
        ids = tf.concat([bos, ids], axis=1)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        batch = tf.shape(prompt)[0]
        width = tf.reduce_max(lengths) + steps
        tokens = ids.to_tensor(default_value=0, shape=tf.stack([batch, width]))
        states = self._initial_states(batch)
        for t in tf.range(width - 1):
            log_probs, states = self._step(tokens[:, t], states)
            chosen = tf.where(t + 1 < lengths, tokens[:, t + 1], self._sample(log_probs, temperature, top_k, seed, t))
            tokens = tf.where(tf.equal(tf.range(width), t + 1)[None, :], chosen[:, None], tokens)
        generated = tf.gather(tokens, lengths[:, None] + tf.range(steps)[None, :], batch_dims=1)
        before_eos = tf.equal(tf.cumsum(tf.cast(tf.equal(generated, self.eos_id), tf.int32), axis=1), 0)
        out_lengths = tf.reduce_sum(tf.cast(before_eos, tf.int32), axis=1)
        kept = tf.RaggedTensor.from_tensor(generated, lengths=out_lengths)
        text = tf.strings.reduce_join(tf.gather(self.token_strings, kept), axis=1, separator=LEVELS[self.level])
        return {"text": text, "token_ids": tf.where(before_eos, generated, -1), "lengths": out_lengths}

    # -- signatures

    @tf.function(input_signature=[tf.TensorSpec(None, tf.string, name="prompt"),
                                  tf.TensorSpec([], tf.int32, name="steps"),
                                  tf.TensorSpec([], tf.float32, name="temperature")])
    def generate(self, prompt, steps, temperature):
        return self._generate(prompt, steps, temperature, tf.constant(self.top_k))

    @tf.function(input_signature=[tf.TensorSpec(None, tf.string, name="prompt"),
                                  tf.TensorSpec([], tf.int32, name="steps"),
                                  tf.TensorSpec([], tf.float32, name="temperature"),
                                  tf.TensorSpec([], tf.int32, name="top_k"),
                                  tf.TensorSpec([], tf.int32, name="seed")])
    def generate_seeded(self, prompt, steps, temperature, top_k, seed):
        return self._generate(prompt, steps, temperature, top_k, seed)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def score(self, texts):
        ids = self._ids(texts)
        if self.sentences:
            batch = tf.shape(texts)[0]
            ids = tf.concat([tf.fill([batch, 1], self.bos_id), ids, tf.fill([batch, 1], self.eos_id)], axis=1)
        inputs, targets = ids[:, :-1], ids[:, 1:]
        shape = tf.stack([tf.cast(tf.shape(texts)[0], tf.int64), tf.maximum(tf.reduce_max(targets.row_lengths()), 1)])
        log_probs = self.model(inputs.to_tensor(default_value=0, shape=shape), training=False)
        nll, mask = masked_token_nll(targets.to_tensor(default_value=-1, shape=shape), log_probs)
        log_likelihood = -tf.reduce_sum(nll, axis=1)
        num_tokens = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        perplexity = tf.exp(-log_likelihood / tf.cast(tf.maximum(num_tokens, 1), tf.float32))
        return {"log_likelihood": log_likelihood, "num_tokens": num_tokens, "perplexity": perplexity}


def sample_text(graph: LanguageModelGraph, *, top_k: int = 0, seed: int = 0) -> str:
    """200 tokens generated from nothing at temperature 0.8, for the report."""
    return graph.generate_seeded(tf.constant([""]), 200, 0.8, top_k, seed)["text"].numpy()[0].decode("utf-8")
