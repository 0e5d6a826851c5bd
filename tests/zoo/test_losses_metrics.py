"""Golden values for the padding-aware loss and accuracy, worked out by hand."""

import numpy as np
import pytest

import zoo
from zoo.losses import MaskedSparseNLL, masked_token_nll
from zoo.metrics import MaskedAccuracy

# One sentence of 2 real tokens over 3 tags, padded with label -1:
#   p(token 0) = [0.5, 0.25, 0.25], label 0 -> -log 0.5  = 0.693147
#   p(token 1) = [0.1, 0.2, 0.7],   label 1 -> -log 0.2  = 1.609438
# mean over real tokens = (0.693147 + 1.609438) / 2 = 1.151293
# argmax = [0, 2] vs labels [0, 1] -> accuracy 1/2.
PROBS = np.array([[[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]]])
LABELS = np.array([[0, 1]])


def padded(length):
    probs = np.concatenate([PROBS, np.full((1, length - 2, 3), 1 / 3)], axis=1)
    labels = np.concatenate([LABELS, np.full((1, length - 2), -1)], axis=1)
    return np.log(probs).astype("float32"), labels.astype("int32")


@pytest.mark.parametrize("length", [2, 10, 100])
def test_loss_is_mean_over_real_tokens(length):
    log_probs, labels = padded(length)
    assert float(MaskedSparseNLL()(labels, log_probs)) == pytest.approx(1.151293, abs=1e-5)


def test_per_token_nll_is_zero_at_padding():
    log_probs, labels = padded(4)
    nll, mask = masked_token_nll(labels, log_probs)
    np.testing.assert_allclose(np.asarray(nll), [[0.693147, 1.609438, 0.0, 0.0]], atol=1e-5)
    np.testing.assert_array_equal(np.asarray(mask), [[True, True, False, False]])


@pytest.mark.parametrize("length", [2, 10, 100])
def test_accuracy_ignores_padding(length):
    log_probs, labels = padded(length)
    metric = MaskedAccuracy()
    metric.update_state(labels, log_probs)
    assert float(metric.result()) == pytest.approx(0.5)


def test_accuracy_accumulates_over_batches_by_token_count():
    # batch 1: 1 of 2 right; batch 2: 3 of 3 right -> 4/5, not the mean of 0.5 and 1.0.
    metric = MaskedAccuracy()
    log_probs, labels = padded(2)
    metric.update_state(labels, log_probs)
    right = np.log(np.eye(3)[None, [0, 1, 2]] * 0.98 + 0.01).astype("float32")
    metric.update_state(np.array([[0, 1, 2]]), right)
    assert float(metric.result()) == pytest.approx(0.8)


def test_model_evaluation_is_the_same_padded_to_10_or_100(ner_data):
    """The tagger's loss and accuracy on a batch do not change with how far it is padded."""
    from zoo.tasks.ner import compile_tagger

    model = compile_tagger(zoo.build("bilstm_ner", preset="tiny", vocab_size=len(ner_data.vocab),
                                     num_tags=len(ner_data.tags)))
    token_ids, tag_ids = next(iter(ner_data.dev_ds))
    token_ids, tag_ids = np.asarray(token_ids), np.asarray(tag_ids)
    results = []
    for width in (token_ids.shape[1] + 1, 100):
        extra = width - token_ids.shape[1]
        x = np.pad(token_ids, [[0, 0], [0, extra]])
        y = np.pad(tag_ids, [[0, 0], [0, extra]], constant_values=-1)
        results.append(model.evaluate(x, y, verbose=0, return_dict=True))
    assert results[0]["masked_accuracy"] == pytest.approx(results[1]["masked_accuracy"], abs=1e-6)
    assert results[0]["loss"] == pytest.approx(results[1]["loss"], rel=1e-5)


def test_loss_and_metric_serialize():
    import keras

    loss = keras.losses.deserialize(keras.losses.serialize(MaskedSparseNLL(name="nll")))
    assert isinstance(loss, MaskedSparseNLL) and loss.name == "nll"
    metric = keras.metrics.deserialize(keras.metrics.serialize(MaskedAccuracy(name="acc")))
    assert isinstance(metric, MaskedAccuracy) and metric.name == "acc"
