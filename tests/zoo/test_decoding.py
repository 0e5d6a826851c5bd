"""Greedy and beam search over step functions: a hand-built bigram table and a tiny overfit seq2seq model."""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from pipelines.seq2seq import seq2seq_dataset
from zoo.decoding import beam_search, greedy_decode, length_penalty
from zoo.losses import MaskedSparseNLL
from zoo.models.seq2seq_step import Seq2SeqStep

PAD, UNK, BOS, EOS, A, B = range(6)


def table_step(probabilities):
    """A step function whose next-token distribution depends on the previous token only (a bigram table)."""
    rows = np.full((6, 6), 1e-6)
    for previous, row in probabilities.items():
        for token, p in row.items():
            rows[previous, token] = p
    table = tf.constant(np.log(rows / rows.sum(1, keepdims=True)), tf.float32)

    def step(token_ids, states, context):
        return tf.gather(table, token_ids), states

    return step


# Greedy takes A (0.6), then EOS (0.4): p(A) = 0.24. B (0.4) then EOS (0.9) is p(B) = 0.36, but greedy
# never looks past B's 0.4 < 0.6. Beam width 2 keeps both A and B after step 1; step 2's candidates are
# A EOS 0.24, A A 0.18, A B 0.18, B EOS 0.36, B A 0.02, B B 0.02 -> the best two, B EOS and A EOS, are
# both finished, so the search stops and B (0.36) wins.
TRAP = {BOS: {A: 0.6, B: 0.4}, A: {EOS: 0.4, A: 0.3, B: 0.3}, B: {EOS: 0.9, A: 0.05, B: 0.05}}
ONE_ROW = ([tf.zeros([1, 1])], {"unused": tf.zeros([1, 1])})


def test_beam_search_finds_the_sequence_greedy_misses():
    step = table_step(TRAP)
    greedy = greedy_decode(step, *ONE_ROW, max_length=5)
    assert greedy.tokens.numpy().tolist() == [[A, 0, 0, 0, 0]] and greedy.lengths.numpy().tolist() == [1]
    np.testing.assert_allclose(greedy.scores, np.log([0.24]), atol=1e-4)
    beam = beam_search(step, *ONE_ROW, beam_width=2, max_length=5, alpha=0.0)
    assert beam.tokens.numpy().tolist() == [[B, 0, 0, 0, 0]] and beam.lengths.numpy().tolist() == [1]
    np.testing.assert_allclose(beam.scores, np.log([0.36]), atol=1e-4)


# p(EOS) = 0.4 at once, else A (0.6) and then A or B (0.5 each) forever: no longer path ends.
EARLY_END = {BOS: {EOS: 0.4, A: 0.6}, A: {A: 0.5, B: 0.5}, B: {A: 0.5, B: 0.5}}


def test_a_finished_beam_is_frozen_and_wins_without_length_penalty():
    """Width 2, alpha 0, max_length 3. Step 1: "EOS" 0.4 (finished, frozen) and "A" 0.6. Step 2: frozen "EOS"
    0.4 beats "A A" = "A B" = 0.3, so it keeps its slot beside "A A" (ties go to the lower id). Step 3: "EOS"
    0.4 against "A A A" = "A A B" = 0.15: still kept; max length reached, "EOS" wins: an empty output of
    score log 0.4. Greedy, never looking back, returns "A A A" at 0.15."""
    step = table_step(EARLY_END)
    beam = beam_search(step, *ONE_ROW, beam_width=2, max_length=3, alpha=0.0)
    assert beam.tokens.numpy().tolist() == [[0, 0, 0]] and beam.lengths.numpy().tolist() == [0]
    np.testing.assert_allclose(beam.scores, np.log([0.4]), atol=1e-4)
    greedy = greedy_decode(step, *ONE_ROW, max_length=3)
    assert greedy.tokens.numpy().tolist() == [[A, A, A]]
    np.testing.assert_allclose(greedy.scores, np.log([0.15]), atol=1e-4)


def test_the_length_penalty_favours_longer_outputs():
    """alpha 3: lp(n) = ((5 + n) / 6) ** 3 = 1 for n = 1, 1.588 for 2, 2.370 for 3. Step 2 ranks "A A" at
    log 0.3 / 1.588 = -0.758 above the finished "EOS" at log 0.4 / 1 = -0.916, so "EOS" drops out, and
    "A A A" (log 0.15 / 2.370 = -0.800) is returned."""
    np.testing.assert_allclose(length_penalty(tf.constant([1, 7]), 1.0), [1.0, 2.0])
    beam = beam_search(table_step(EARLY_END), *ONE_ROW, beam_width=2, max_length=3, alpha=3.0)
    assert beam.tokens.numpy().tolist() == [[A, A, A]] and beam.lengths.numpy().tolist() == [3]
    np.testing.assert_allclose(beam.scores, np.log([0.15]), atol=1e-4)


def test_decoding_stops_at_max_length_when_eos_never_comes():
    step = table_step({BOS: {A: 1.0}, A: {A: 1.0}})
    for decoded in (greedy_decode(step, *ONE_ROW, max_length=4),
                    beam_search(step, *ONE_ROW, beam_width=3, max_length=4)):
        assert decoded.tokens.numpy().tolist() == [[A, A, A, A]] and decoded.lengths.numpy().tolist() == [4]
    with pytest.raises(ValueError, match="beam_width=0"):
        beam_search(step, *ONE_ROW, beam_width=0, max_length=4)


@pytest.mark.parametrize("name, attention", [("gru_seq2seq", "additive"), ("lstm_seq2seq", "dot"),
                                             ("gru_seq2seq", "none"), ("cnn_rnn_captioner", "additive")])
def test_the_step_function_reproduces_the_trained_graph_token_by_token(name, attention):
    """Fed the reference one token at a time, the step gives the teacher-forced model's log-probs."""
    sizes = {"target_vocab_size": 9} if name == "cnn_rnn_captioner" else {"source_vocab_size": 12,
                                                                           "target_vocab_size": 9}
    model = zoo.build(name, preset="tiny", attention=attention, **sizes)
    source = (np.random.default_rng(0).random((2, 8, 8, 3), dtype=np.float32) if name == "cnn_rnn_captioner"
              else np.array([[4, 5, 6, 0], [7, 0, 0, 0]], "int32"))
    target_in = np.array([[2, 4, 5], [2, 6, 7]], "int32")
    inputs = dict(zip([x.name for x in model.inputs], [source, target_in]))
    full = np.asarray(model(inputs))
    step = Seq2SeqStep(model)
    context, states = step.encode(tf.constant(source))
    for t in range(3):
        log_probs, states = step.step(tf.constant(target_in[:, t]), states, context)
        np.testing.assert_allclose(log_probs, full[:, t], atol=1e-5)


SOURCES = [[5, 9, 4], [12, 7], [6, 6, 10, 13, 8], [11, 4, 5, 9], [13, 12], [8, 10, 6], [7, 11, 4, 12, 9], [4, 13]]
TARGETS = [[t + 6 for t in reversed(s)] for s in SOURCES]  # reversed and renamed: attention must find each token


@pytest.fixture(scope="module")
def overfit():
    """A tiny `gru_seq2seq` trained until it reproduces 8 sentence pairs (batch of all 8, 120 steps)."""
    import keras

    keras.utils.set_random_seed(0)
    model = zoo.build("gru_seq2seq", source_vocab_size=14, target_vocab_size=20, embedding_dim=16, units=32,
                      attention_units=16)
    model.compile(keras.optimizers.Adam(0.03), loss=MaskedSparseNLL())
    dataset = seq2seq_dataset(tf.ragged.constant(SOURCES), tf.ragged.constant(TARGETS), batch_size=8, num_buckets=1,
                              shuffle=False)
    model.fit(dataset.repeat(), steps_per_epoch=120, epochs=1, verbose=0)
    source_ids = next(iter(dataset))[0]["source_ids"]
    return model, source_ids, model.evaluate(dataset, verbose=0)


def test_tiny_model_overfits_and_greedy_reproduces_the_targets(overfit):
    model, source_ids, loss = overfit
    assert loss < 0.05
    step = Seq2SeqStep(model)
    greedy = greedy_decode(step.step, *reversed(step.encode(source_ids)), max_length=10)
    assert [row[:n] for row, n in zip(greedy.tokens.numpy().tolist(), greedy.lengths.numpy())] == TARGETS


def test_beam_width_1_equals_greedy_and_wider_beams_agree_on_an_easy_task(overfit):
    model, source_ids, _ = overfit
    step = Seq2SeqStep(model)
    context, states = step.encode(source_ids)
    greedy = greedy_decode(step.step, states, context, max_length=10)
    one = beam_search(step.step, states, context, beam_width=1, max_length=10, alpha=0.6)
    np.testing.assert_array_equal(one.tokens, greedy.tokens)
    np.testing.assert_allclose(one.scores, greedy.scores, atol=1e-5)
    three = beam_search(step.step, states, context, beam_width=3, max_length=10)
    np.testing.assert_array_equal(three.tokens, greedy.tokens)


class Translator(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.step = Seq2SeqStep(model)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="source_ids"),
                                  tf.TensorSpec([], tf.int32, name="max_length")])
    def beam(self, source_ids, max_length):
        context, states = self.step.encode(source_ids)
        return beam_search(self.step.step, states, context, beam_width=3, max_length=max_length)._asdict()

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="source_ids"),
                                  tf.TensorSpec([], tf.int32, name="max_length")])
    def greedy(self, source_ids, max_length):
        context, states = self.step.encode(source_ids)
        return greedy_decode(self.step.step, states, context, max_length=max_length)._asdict()


def test_decoders_run_as_graphs_and_survive_a_saved_model_reload(overfit, tmp_path):
    """Inside tf.function with an input signature, saved with tf.saved_model.save and reloaded; a 1,000-token
    source does not crash and a source of only padding decodes without error."""
    model, source_ids, _ = overfit
    translator = Translator(model)
    eager = greedy_decode(translator.step.step, *reversed(translator.step.encode(source_ids)), max_length=10)
    tf.saved_model.save(translator, str(tmp_path / "translator"))
    reloaded = tf.saved_model.load(str(tmp_path / "translator"))
    for decode in (reloaded.greedy, reloaded.beam):
        out = decode(source_ids, tf.constant(10))
        np.testing.assert_array_equal(out["tokens"], eager.tokens)
        np.testing.assert_allclose(out["scores"], eager.scores, atol=1e-4)
    long = np.random.default_rng(0).integers(4, 14, (2, 1000)).astype("int32")
    long[1, :] = 0
    out = reloaded.beam(long, tf.constant(7))
    assert out["tokens"].shape == (2, 7) and np.all(out["lengths"].numpy() <= 7)
