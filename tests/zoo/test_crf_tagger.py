"""`bilstm_crf_ner` end to end: chars + shapes + CRF, IOBES training, Viterbi and spans in the graph."""

import os

import numpy as np
import pytest
import tensorflow as tf

from pipelines.readers import TaggedSentence
from tests.helpers import check_export
from zoo.export import read_card
from zoo.serving import check_serving_ops, graph_ops, load
from zoo.tasks.ner import DevF1, iob2_name, prepare_ner_data, split_long, train_ner
from zoo.training import read_history


@pytest.fixture(scope="module")
def crf_data(synthetic_sentences):
    return prepare_ner_data(synthetic_sentences[:360], synthetic_sentences[360:], model="bilstm_crf_ner",
                            scheme="iobes", batch_size=32)


@pytest.fixture(scope="module")
def crf_export(tmp_path_factory, crf_data):
    root = tmp_path_factory.mktemp("crf")
    path, report = train_ner("bilstm_crf_ner", crf_data, epochs=3, workdir=root / "work",
                             export_dir=root / "saved_models", preset="quickstart", learning_rate=2e-2, lr_decay=0.05,
                             ema=0.9, verbose=0)
    return path


def test_data_uses_chars_shapes_lowercase_words_and_iobes(crf_data):
    assert crf_data.features.chars and crf_data.features.shapes and crf_data.features.lowercase
    assert "sharon" in crf_data.vocab.tokens and "Sharon" not in crf_data.vocab.tokens
    assert {"S-per", "E-per"} <= set(crf_data.tags.tokens)
    x, y = next(iter(crf_data.train_ds))
    assert set(x) == {"token_ids", "char_ids", "shape_ids"}
    assert x["char_ids"].shape[:2] == x["token_ids"].shape and x["char_ids"].shape[2] <= 20
    assert ((x["token_ids"].numpy() != 0) == (y.numpy() >= 0)).all()
    assert crf_data.sizes() == {"vocab_size": len(crf_data.vocab), "num_tags": len(crf_data.tags),
                                "char_vocab_size": len(crf_data.chars)}


def test_training_logs_dev_f1_and_exports_card(crf_export):
    card = read_card(crf_export)
    assert card["model"] == "bilstm_crf_ner" and card["tag_scheme"] == "iobes"
    assert card["features"] == {"chars": True, "shapes": True, "max_word_length": 20}
    assert card["tags"] == sorted(card["tags"], key=lambda t: (t != "O", t[2:], t[:2]))
    assert not any(t.startswith(("S-", "E-")) for t in card["tags"])  # served tags are IOB2
    assert "val_f1" in card["training"]["history"] and card["training"]["lr_decay"] == 0.05
    assert card["training"]["ema"] == 0.9
    assert card["metrics"]["dev_f1"] > 0.5
    assert sorted(os.listdir(crf_export / "assets")) == ["chars.txt", "tags.txt", "vocab.txt"]


def test_graph_decodes_with_viterbi_and_returns_spans(crf_export):
    serve = load(crf_export).signatures["serving_default"]
    out = serve(text=tf.constant(["Sharon flew to New York last Friday.", ""]))
    assert out["tokens"].shape == (2, 8) and out["lengths"].numpy().tolist() == [8, 0]
    n = int(out["num_spans"][0])
    spans = [(out["span_types"][0, i].numpy().decode(), int(out["span_starts"][0, i]), int(out["span_ends"][0, i]),
              out["span_texts"][0, i].numpy().decode()) for i in range(n)]
    tags = out["tags"].numpy()[0].astype(str).tolist()
    # The spans are exactly the entities of the returned tags.
    from seqeval.metrics.sequence_labeling import get_entities

    assert [(t, a, b) for t, a, b, _ in spans] == get_entities(tags)
    assert all(text == " ".join(out["tokens"].numpy()[0, a:b + 1].astype(str)) for _, a, b, text in spans)
    assert int(out["num_spans"][1]) == 0
    one_word = serve(text=tf.constant(["Sharon"]))  # once failed: the CRF scans had no step to run
    assert one_word["tokens"].shape == (1, 1) and one_word["lengths"].numpy().tolist() == [1]
    scores = out["scores"].numpy()[0]
    assert ((scores > 0) & (scores <= 1.0 + 1e-6)).all()  # CRF marginals of the chosen tags
    ops = graph_ops(crf_export)
    check_serving_ops(crf_export)
    assert "While" in ops  # the Viterbi and forward-backward loops run in the graph


def test_tags_do_not_depend_on_the_other_sentences_padding(crf_export):
    # The BiLSTM skips padding: every input branch (words, characters, shapes) carries the mask.
    serve = load(crf_export).signatures["tag_tokens"]
    alone = serve(tokens=tf.constant([["Maria", "met", "Bob", "."]]))
    padded = serve(tokens=tf.constant([["Maria", "met", "Bob", "."] + [""] * 8, ["x"] * 12]))
    np.testing.assert_allclose(padded["scores"].numpy()[0, :4], alone["scores"].numpy()[0], rtol=1e-5, atol=1e-6)


def test_crf_export_reloads_without_zoo(crf_export):
    check_export(crf_export, {"serving_default": {"text": ["Maria met the World Bank in Paris on Monday ."]}})


def test_the_export_reads_a_snapshot_of_the_lstm_kernels(crf_export):
    # zoo train's export: each BiLSTM direction's fused kernel is a saved variable, not a per-request concat.
    (kernels,) = load(crf_export).lstm_kernels  # one model, one snapshot
    assert kernels and {key.rsplit("_", 1)[1] for key in kernels} == {"forward", "backward"}
    assert all(len(v.shape) == 2 for v in kernels.values())


def test_same_seed_same_run(synthetic_sentences, tmp_path):
    data = prepare_ner_data(synthetic_sentences[:80], synthetic_sentences[80:100], batch_size=32, seed=3)
    runs = []
    for i in range(2):
        _, report = train_ner("bilstm_ner", data, epochs=1, workdir=tmp_path / f"w{i}", preset="tiny",
                              export_dir=tmp_path / "out", seed=3, verbose=0)
        runs.append((read_history(tmp_path / f"w{i}" / "history.csv")["loss"][0], report["token_accuracy"]))
    # Same weights, same batches; multi-threaded float sums may differ in the last bits.
    assert runs[0][0] == pytest.approx(runs[1][0], rel=1e-5)
    assert runs[0][1] == runs[1][1]


def test_long_sentences_are_split_into_valid_iob2_pieces():
    sentence = TaggedSentence(tuple("abcde"), ("O", "B-per", "I-per", "I-per", "O"))
    pieces = split_long([sentence], 2)
    assert [p.tokens for p in pieces] == [("a", "b"), ("c", "d"), ("e",)]
    assert [p.tags for p in pieces] == [("O", "B-per"), ("B-per", "I-per"), ("O",)]
    with pytest.raises(ValueError, match="max_length=0"):
        split_long([sentence], 0)


def test_prepare_splits_long_training_sentences_and_checks_schemes(synthetic_sentences, capsys):
    data = prepare_ner_data(synthetic_sentences[:50], synthetic_sentences[50:60], max_length=5)
    assert "were split into pieces" in capsys.readouterr().out
    assert max(len(x[0]) for x, _ in [(b, None) for b, _ in data.train_ds.unbatch().batch(1)]) <= 5
    with pytest.raises(ValueError, match="scheme='bio'"):
        prepare_ner_data(synthetic_sentences[:5], synthetic_sentences[5:6], scheme="bio")


def test_iob2_names():
    assert [iob2_name(t) for t in ["O", "B-per", "I-per", "S-geo", "E-geo"]] == ["O", "B-per", "I-per", "B-geo", "I-geo"]


def test_dev_f1_callback_adds_val_f1(crf_data, tmp_path):
    import zoo
    from zoo.tasks.ner import compile_tagger

    model = compile_tagger(zoo.build("bilstm_crf_ner", preset="tiny", **crf_data.sizes()))
    callback = DevF1(crf_data, tmp_path)
    callback.set_model(model)
    logs = {}
    callback.on_epoch_end(0, logs)
    assert 0.0 <= logs["val_f1"] <= 1.0
    np.testing.assert_equal(callback._tagger.model is model, True)


def test_ema_writes_the_weight_average_into_the_model_every_epoch(crf_data):
    import zoo
    from zoo.tasks.ner import compile_tagger

    model = compile_tagger(zoo.build("bilstm_crf_ner", preset="tiny", **crf_data.sizes()), learning_rate=0.05,
                           ema=0.5, epoch_steps=3)
    x, y = next(iter(crf_data.train_ds))
    emissions = model.get_layer("emissions").kernel
    for step in range(3):
        before = emissions.numpy()
        model.train_on_batch(x, y)
        index = next(i for i, v in enumerate(model.optimizer._trainable_variables) if v is emissions)
        average = model.optimizer._model_variables_moving_average[index].numpy()
        if step == 1:  # the raw weights train on; the average (the weights after step 0) trails them
            assert np.abs(emissions.numpy() - average).max() > 1e-4
        else:  # the epoch's last step: the average becomes the weights
            np.testing.assert_allclose(emissions.numpy(), average, atol=1e-7)
            assert np.abs(emissions.numpy() - before).max() > 0
    with pytest.raises(ValueError, match="ema needs epoch_steps"):
        compile_tagger(zoo.build("bilstm_crf_ner", preset="tiny", **crf_data.sizes()), ema=0.9)
    # A run's card records the average: `crf_export` trains with ema=0.9.


def test_momentum_trains_with_sgd(crf_data):
    import keras

    import zoo
    from zoo.errors import ZooError
    from zoo.tasks.ner.task import NerTask, compile_tagger

    model = compile_tagger(zoo.build("bilstm_crf_ner", preset="tiny", **crf_data.sizes()), momentum=0.9)
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.optimizer.momentum == 0.9
    assert isinstance(compile_tagger(zoo.build("bilstm_crf_ner", preset="tiny", **crf_data.sizes())).optimizer,
                      keras.optimizers.Adam)
    # A run's card names it: test_a_character_bilstm_tagger_trains_and_exports trains with --momentum.
    with pytest.raises(ZooError, match=r"momentum is SGD's, in \[0, 1\) \(0: Adam\). Received: momentum=1.0"):
        NerTask().check_options(crf_data, momentum=1.0)


def test_an_ema_longer_than_an_epoch_is_warned_about(crf_data):
    import zoo
    from zoo.tasks.ner.task import NerTask

    model = zoo.build("bilstm_crf_ner", preset="tiny", **crf_data.sizes())
    with pytest.warns(UserWarning, match=r"averages over about 100 steps, and an epoch has \d+: "):
        NerTask().compile(model, learning_rate=0.01, data=crf_data, ema=0.99)


def test_variational_dropout_drops_the_same_features_at_every_token():
    import keras

    import zoo

    model = zoo.build("bilstm_crf_ner", preset="tiny", vocab_size=50, char_vocab_size=20, num_tags=5, dropout=0.5,
                      variational_dropout=True)
    ones = np.ones((4, 7, 16), "float32")
    for name in ("feature_dropout", "encoder_dropout_0"):
        layer = model.get_layer(name)
        assert isinstance(layer, keras.layers.SpatialDropout1D)
        out = keras.ops.convert_to_numpy(layer(ones, training=True))
        assert (out == 0).any() and (out != 0).any()
        np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))  # one mask per sentence
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(ones, training=False)), ones)
    plain = zoo.build("bilstm_crf_ner", preset="tiny", vocab_size=50, char_vocab_size=20, num_tags=5, dropout=0.5)
    assert type(plain.get_layer("feature_dropout")) is keras.layers.Dropout


@pytest.mark.slow
def test_a_character_bilstm_tagger_trains_and_exports(tmp_path, synthetic_sentences, monkeypatch, capsys):
    # `--set char_encoder=bilstm` (Lample et al.'s character features): the export serves it like the CNN one.
    # The run also trains with SGD (`--momentum`), which its card records.
    from pipelines.readers import write_token_tag
    from zoo.cli import main

    monkeypatch.chdir(tmp_path)
    write_token_tag(tmp_path / "train.tsv", synthetic_sentences[:160])
    write_token_tag(tmp_path / "dev.tsv", synthetic_sentences[160:200])
    assert main(["train", "bilstm_crf_ner", "--data", "tsv:train.tsv", "--dev", "tsv:dev.tsv", "--epochs", "1",
                 "--preset", "tiny", "--set", "char_encoder=bilstm", "--momentum", "0.9", "--learning-rate", "0.05",
                 "--workdir", "run", "--export-dir", "out"]) == 0
    export = tmp_path / "out" / "bilstm_crf_ner" / "1"
    card = read_card(export)
    assert card["config"]["char_encoder"] == "bilstm"
    assert card["training"]["optimizer"] == "sgd (momentum 0.9)"
    serve = load(export).signatures["tag_tokens"]
    alone = serve(tokens=tf.constant([["Maria", "met", "Bob", "."]]))
    padded = serve(tokens=tf.constant([["Maria", "met", "Bob", "."] + [""] * 8, ["Internationalisation"] * 12]))
    np.testing.assert_allclose(padded["scores"].numpy()[0, :4], alone["scores"].numpy()[0], rtol=1e-5, atol=1e-6)
    check_export(export, {"serving_default": {"text": ["Maria met the World Bank in Paris on Monday ."]}})
    assert main(["train", "bilstm_crf_ner", "--data", "tsv:train.tsv", "--preset", "tiny",
                 "--set", "char_encoder=lstm", "--workdir", "run2", "--export-dir", "out2"]) == 2
    assert "char_encoder='lstm'; allowed: ['cnn', 'bilstm', 'cnn+bilstm']" in capsys.readouterr().err


def test_both_character_encoders_side_by_side():
    import zoo

    sizes = {"vocab_size": 50, "char_vocab_size": 20, "num_tags": 5}
    both = zoo.build("bilstm_crf_ner", preset="tiny", char_encoder="cnn+bilstm", char_units=3, **sizes)
    assert both.get_layer("char_features").output.shape[-1] == 4 + 6  # tiny's 4 filters + 2 x 3 units
    assert {"char_cnn", "char_bilstm"} <= {layer.name for layer in both.layers}
    assert "char_bilstm" not in {layer.name for layer in zoo.build("bilstm_crf_ner", preset="tiny", **sizes).layers}
