"""Recurrent language models: loss and perplexity, step-wise generation, sampling, export, NaN, CLI."""

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from pipelines.language_model import lm_vocabulary
from tests.helpers import SONNET, check_export
from zoo.cli import main
from zoo.errors import ZooError
from zoo.export import read_card
from zoo.metrics.perplexity import Perplexity
from zoo.serving import check_serving_ops, graph_ops, load, rest_predict
from zoo.tasks.language_model import (
    LanguageModelGraph,
    compile_language_model,
    prepare_lm_data,
    split_corpus,
    train_language_model,
)
from zoo.training import fit

TEXT = SONNET
SCORED = ["Thou art more lovely", "a summer's day", "Zoë?"]


def test_loss_is_the_mean_over_time_steps_and_batch_and_perplexity_its_exp():
    """Row 1: p(y)=1/2 then 1/4; row 2: p(y)=1/4, then padding (-1).
    J = (ln 2 + ln 4 + ln 4) / 3 real tokens = 5/3 ln 2 = 1.1552; perplexity = 2^(5/3) = 3.1748.
    Row 1 alone is the plain mean over its time steps: (ln 2 + ln 4) / 2 = 1.5 ln 2."""
    probs = np.array([[[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]],
                      [[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]], np.float32)
    y = np.array([[0, 0], [1, -1]])
    loss = compile_language_model(zoo.build("gru_lm", preset="tiny", vocab_size=3)).loss
    np.testing.assert_allclose(float(loss(y, np.log(probs))), 5 / 3 * math.log(2), rtol=1e-6)
    np.testing.assert_allclose(float(loss(y[:1], np.log(probs[:1]))), 1.5 * math.log(2), rtol=1e-6)
    metric = Perplexity()
    metric.update_state(y[:1], np.log(probs[:1]))  # batches of different length: the token average is kept
    metric.update_state(y[1:], np.log(probs[1:]))
    np.testing.assert_allclose(float(metric.result()), 2 ** (5 / 3), rtol=1e-5)


@pytest.fixture(scope="module")
def char_vocab():
    return lm_vocabulary([list("abcdefgh ")])


def _graph(vocab, mode="windows", **config):
    model = zoo.build("lstm_lm", vocab_size=len(vocab), units=8, embedding_dim=4, **config)
    return model, LanguageModelGraph(model, vocab, level="char", mode=mode)


def test_stepwise_generation_matches_rerunning_the_full_model(char_vocab):
    model, graph = _graph(char_vocab, num_layers=2, residual=True)
    out = graph.generate_seeded(tf.constant(["abc", "h"]), 5, 0.0, 0, 0)
    banned = graph.banned.numpy()
    for prompt, row in zip(["abc", "h"], out["token_ids"].numpy()):
        ids = char_vocab.ids(prompt)
        for _ in range(5):  # the slow reference: a full pass over the growing sequence per token
            log_probs = model(np.array([ids]), training=False).numpy()[0, -1]
            ids.append(int(np.where(banned, -np.inf, log_probs).argmax()))
        assert row.tolist() == ids[len(prompt):]
    assert [len(t) for t in out["text"].numpy()] == [5, 5]


def test_sampling_is_reproducible_by_seed_and_top_k_1_is_greedy(char_vocab):
    _, graph = _graph(char_vocab)
    prompt = tf.constant(["ab", ""])  # an empty prompt starts from <BOS>
    first = graph.generate_seeded(prompt, 20, 1.5, 0, 7)["token_ids"].numpy()
    assert (first == graph.generate_seeded(prompt, 20, 1.5, 0, 7)["token_ids"].numpy()).all()
    assert (first != graph.generate_seeded(prompt, 20, 1.5, 0, 8)["token_ids"].numpy()).any()
    greedy = graph.generate_seeded(prompt, 20, 0.0, 0, 0)["token_ids"].numpy()
    np.testing.assert_array_equal(graph.generate_seeded(prompt, 20, 1.5, 1, 3)["token_ids"].numpy(), greedy)
    assert set(first.ravel()) <= set(range(4, len(char_vocab)))  # never <PAD>, <UNK>, <BOS>, <EOS>
    assert graph.generate(tf.constant("ab"), 3, 1.0)["text"].shape == (1,)  # a scalar prompt is a batch of one


def test_sentence_models_score_bos_to_eos_and_stop_generating_at_eos(char_vocab):
    model, graph = _graph(char_vocab, mode="sentences")
    ids = char_vocab.ids(["<BOS>", "a", "b", "<EOS>"])
    log_probs = model(np.array([ids[:-1]])).numpy()[0]
    expected = sum(log_probs[t, ids[t + 1]] for t in range(3))
    scored = graph.score(tf.constant(["ab", ""]))
    np.testing.assert_allclose(scored["log_likelihood"].numpy()[0], expected, rtol=1e-5)
    assert scored["num_tokens"].numpy().tolist() == [3, 1]  # "" still predicts <EOS>
    head = model.get_layer("next_token_log_probs_dense")
    kernel, bias = head.get_weights()
    bias[char_vocab.index["<EOS>"]] = 100.0  # makes <EOS> the certain next token
    head.set_weights([kernel, bias])
    out = graph.generate_seeded(tf.constant(["ab"]), 4, 0.0, 0, 0)
    assert out["text"].numpy().tolist() == [b""] and out["lengths"].numpy().tolist() == [0]
    assert out["token_ids"].numpy().tolist() == [[-1, -1, -1, -1]]


# ----------------------------------------------------------------------------- training and export


@pytest.fixture(scope="module")
def lm_data():
    train, val = split_corpus(TEXT)
    return prepare_lm_data(train, val, level="char", window=16, batch_size=8)


@pytest.fixture(scope="module")
def lm_export(tmp_path_factory, lm_data):
    root = tmp_path_factory.mktemp("lm")
    path, report = train_language_model("lstm_lm", lm_data, epochs=1, workdir=root / "work",
                                        export_dir=root / "saved_models", preset="tiny", top_k=5, learning_rate=1e-2,
                                        config={"num_layers": 2, "residual": True}, verbose=0)
    return path, report


def test_export_card_ops_and_signatures(lm_export):
    path, report = lm_export
    card = read_card(path)
    assert card["task"] == "language_model" and card["level"] == "char" and card["top_k"] == 5
    assert card["config"]["num_layers"] == 2 and card["metrics"]["val_loss"] == report["val_loss"]
    assert {"generate", "generate_seeded", "score", "serving_default"} <= set(load(path).signatures)
    ops = graph_ops(path)
    assert not {op for op in ops if "PyFunc" in op or "Cudnn" in op}
    assert {"While", "StatelessMultinomial", "Multinomial", "TopKV2"} <= ops
    check_serving_ops(path)
    assert math.isfinite(report["val_loss"]) and isinstance(report["sample"], str)


def test_fresh_process_without_zoo_scores_and_generates_the_same(lm_export):
    path, _ = lm_export
    outputs = check_export(path, {
        "score": {"texts": SCORED},
        "generate": {"prompt": ["Thou ", ""], "steps": 12, "temperature": 0.0},
        "generate_seeded": {"prompt": ["Thou "], "steps": 12, "temperature": 1.0, "top_k": 5, "seed": 7},
    })
    greedy = load(path).signatures["generate_seeded"](prompt=tf.constant(["Thou ", ""]), steps=tf.constant(12),
                                                      temperature=tf.constant(0.0), top_k=tf.constant(0),
                                                      seed=tf.constant(0))["text"].numpy().tolist()
    assert outputs["generate"]["text"].tolist() == greedy and all(len(t) == 12 for t in greedy)
    rows = rest_predict(load(path), {"signature_name": "score", "instances": SCORED[:2]})["predictions"]
    assert [row["num_tokens"] for row in rows] == [19, 13]


def test_cli_generates_evaluates_and_refuses_a_bidirectional_lm(lm_export, tmp_path, capsys):
    path, _ = lm_export
    assert main(["predict", str(path), "Thou ", "--steps", "6", "--temperature", "0", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["prompt"] == "Thou " and len(row["continuation"]) == 6
    (tmp_path / "held_out.txt").write_text(TEXT[-200:], encoding="utf-8")
    assert main(["evaluate", str(path), "--data", f"text:{tmp_path / 'held_out.txt'}", "--out", str(tmp_path)]) == 0
    assert "nats per character" in capsys.readouterr().out
    assert json.loads((tmp_path / "report.json").read_text())["tokens"] > 150
    assert main(["train", "gru_lm", "--data", f"text:{tmp_path / 'held_out.txt'}", "--set", "bidirectional=true",
                 "--workdir", str(tmp_path / "w"), "--export-dir", str(tmp_path / "sm")]) == 2
    assert "cannot be bidirectional" in capsys.readouterr().err


# ----------------------------------------------------------------------------- NaN losses


def _poison_at(epoch: int, batch: int):
    """A callback that turns the embeddings into NaN just before the given batch, as a diverging run would."""
    seen = {}

    def begin(b, logs=None):
        if seen.get("epoch") == epoch and b == batch:
            embeddings = callback.model.get_layer("token_embedding").embeddings
            embeddings.assign(tf.fill(embeddings.shape, np.nan))

    callback = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.update(epoch=e),
                                              on_train_batch_begin=begin)
    return callback


def _tiny_lm(data):
    return compile_language_model(zoo.build("gru_lm", preset="tiny", vocab_size=len(data.vocab)))


def test_nan_stops_with_a_message_and_keeps_the_last_good_checkpoint(lm_data, tmp_path, capsys):
    model = _tiny_lm(lm_data)
    fit(model, lm_data.train_ds, lm_data.dev_ds, epochs=3, workdir=tmp_path, verbose=0,
        extra_callbacks=[_poison_at(1, 1)])
    assert "loss became nan" in capsys.readouterr().out
    good = zoo.build("gru_lm", preset="tiny", vocab_size=len(lm_data.vocab))
    good.load_weights(tmp_path / "best.weights.h5")  # saved after epoch 0
    assert all(np.isfinite(w).all() for w in good.get_weights())
    for restored, saved in zip(model.get_weights(), good.get_weights()):  # the model is back at the good epoch
        np.testing.assert_array_equal(restored, saved)


def test_a_nan_epoch_is_never_saved_as_best_even_by_a_max_mode_monitor(lm_data, tmp_path):
    from zoo.metrics import MaskedAccuracy

    model = zoo.build("gru_lm", preset="tiny", vocab_size=len(lm_data.vocab))
    model.compile(optimizer="adam", loss=compile_language_model(model).loss, metrics=[MaskedAccuracy()])
    fit(model, lm_data.train_ds, lm_data.dev_ds, epochs=2, workdir=tmp_path, verbose=0, monitor="val_masked_accuracy",
        mode="max", extra_callbacks=[_poison_at(0, 1)])
    assert not (tmp_path / "best.weights.h5").exists()  # no good epoch, so no "best" checkpoint of NaN weights


def test_training_that_diverges_before_any_good_epoch_exports_nothing(lm_data, tmp_path):
    with pytest.raises(ZooError, match="diverged.*nothing exported"):
        train_language_model("gru_lm", lm_data, epochs=2, workdir=tmp_path / "w", export_dir=tmp_path / "sm",
                             preset="tiny", learning_rate=float("nan"), clip=None, verbose=0)
    assert not (tmp_path / "sm").exists()
