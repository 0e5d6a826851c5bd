"""Sentiment: the two models, the CLI end to end, and the export contract (zoo-free reload, ops, REST)."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from pipelines.errors import DataError
from pipelines.sentiment import sentiment_vocabulary
from tests.helpers import check_export, emoticon_tweets
from zoo.cli import main
from zoo.export import read_card
from zoo.layers.masked_max_pooling import MaskedGlobalMaxPooling1D
from zoo.layers.multi_width_conv import MultiWidthConv1D
from zoo.serving import check_serving_ops, graph_ops, load, rest_predict
from zoo.tasks.sentiment import export_classifier, make_classifier, read_sentiment_data, sentiment_report

TEXTS = ["what a day :-)", "lost the game :(", "", "Zoë ❤️ Zürich @zoe http://t.co/x :D"]


@pytest.fixture(scope="module")
def tweet_files(tmp_path_factory):
    """60 positive and 60 negative synthetic tweets; only the emoticon tells them apart."""
    return emoticon_tweets(tmp_path_factory.mktemp("tweets"))


@pytest.fixture(scope="module")
def sentiment_export(tmp_path_factory, tweet_files):
    """`sentiment_dnn` trained through `zoo train` on the synthetic tweets and exported once."""
    root = tmp_path_factory.mktemp("sentiment")
    pos, neg = tweet_files
    keras.utils.set_random_seed(0)
    assert main(["train", "sentiment_dnn", "--data", f"tweets:{pos},{neg}", "--epochs", "4", "--batch-size", "16",
                 "--set", "embedding_dim=8", "--set", "hidden_units=[8]", "--learning-rate", "0.05",
                 "--workdir", str(root / "work"), "--export-dir", str(root / "out")]) == 0
    return root / "out" / "sentiment_dnn" / "1"


def test_train_exports_a_classifier_with_its_card(sentiment_export):
    card = read_card(sentiment_export)
    assert card["task"] == "sentiment" and card["model"] == "sentiment_dnn"
    assert card["classes"] == ["negative", "positive"]
    assert card["data"]["train_texts"] == 96 and card["data"]["dev_texts"] == 12
    assert card["metrics"]["dev_accuracy"] == 1.0  # the emoticons separate the classes
    assert os.listdir(sentiment_export / "assets") == ["vocab.txt"]
    assert (sentiment_export.parent.parent.parent / "work" / "confusion_matrix.png").exists()


def test_graph_tokenizes_in_graph_with_allowed_ops_only(sentiment_export):
    check_serving_ops(sentiment_export)
    ops = graph_ops(sentiment_export)
    assert {"StaticRegexReplace", "StringSplitV2", "LookupTableFindV2"} <= ops
    assert not {op for op in ops if "PyFunc" in op or "Cudnn" in op}


def test_fresh_process_without_zoo_gives_the_same_outputs(sentiment_export):
    outputs = check_export(sentiment_export, {"serving_default": {"text": TEXTS}})
    assert outputs["serving_default"]["label"][:2].tolist() == [b"positive", b"negative"]


def test_edge_inputs_give_probabilities(sentiment_export):
    serve = load(sentiment_export).signatures["serving_default"]
    out = serve(text=tf.constant(["", "   ", " ".join(["day"] * 10_000), "😀"]))
    probabilities = out["probabilities"].numpy()
    assert probabilities.shape == (4, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert set(out["label"].numpy()) <= {b"negative", b"positive"}


def test_rest_predict_row_format(sentiment_export):
    response = rest_predict(load(sentiment_export), {"instances": TEXTS[:2]})
    rows = response["predictions"]
    assert [row["label"] for row in rows] == ["positive", "negative"]
    assert [row["label_id"] for row in rows] == [1, 0] and len(rows[0]["probabilities"]) == 2


def test_evaluate_and_predict_commands(sentiment_export, tweet_files, tmp_path, capsys):
    pos, neg = tweet_files
    assert main(["evaluate", str(sentiment_export), "--data", f"tweets/test:{pos},{neg}", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["texts"] == 12 and report["accuracy"] == 1.0
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["predict", str(sentiment_export.parent), "so happy :)", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["label"] == "positive" and set(result["probabilities"]) == {"negative", "positive"}


def test_birnn_exports_with_generic_recurrent_kernels(tmp_path):
    vocab = sentiment_vocabulary(["a good day :)", "a bad day :("])
    model = zoo.build("sentiment_birnn", preset="tiny", vocab_size=len(vocab), num_classes=2, cell="lstm")
    classifier = make_classifier(model, vocab, tmp_path / "work")
    expected = classifier.serve_text(text=tf.constant(TEXTS))["probabilities"].numpy()
    path = export_classifier(classifier, base_dir=tmp_path, name="birnn", card={})
    assert not {op for op in graph_ops(path) if "Cudnn" in op}
    got = load(path).signatures["serving_default"](text=tf.constant(TEXTS))["probabilities"].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_masked_max_pooling_ignores_padding():
    """Row 0: steps [1, 5], [3, -2] are real, [9, 9] is padding -> max [3, 5]. Row 1: no real step -> [0, 0]."""
    x = np.array([[[1.0, 5.0], [3.0, -2.0], [9.0, 9.0]], [[4.0, 4.0], [1.0, 1.0], [2.0, 2.0]]], dtype="float32")
    mask = np.array([[True, True, False], [False, False, False]])
    pooled = MaskedGlobalMaxPooling1D()(x, mask=mask)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pooled), [[3.0, 5.0], [0.0, 0.0]])


@pytest.mark.parametrize("name", ["sentiment_dnn", "sentiment_cnn", "sentiment_birnn"])
def test_padding_does_not_change_the_prediction(name):
    model = zoo.build(name, preset="tiny", vocab_size=10, num_classes=2)
    short = model(np.array([[4, 7, 3]], dtype="int32"))
    padded = model(np.array([[4, 7, 3, 0, 0, 0]], dtype="int32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(short), keras.ops.convert_to_numpy(padded), rtol=1e-5)


def test_multi_width_convolutions_see_ngrams_and_skip_padding():
    """One width-2 filter that sums its window: the best bigram of [1, 2, 5] is 2 + 5 = 7; with "same"
    padding the last step sees 5 + 0 (zeroed padding, not the padded row's 9). A row of padding gives 0."""
    layer = MultiWidthConv1D(filters=1, kernel_sizes=[2], activation="linear")
    x = np.array([[[1.0], [2.0], [5.0], [9.0]], [[3.0], [3.0], [3.0], [3.0]]], dtype="float32")
    layer.build(x.shape)
    layer.convs[0].set_weights([np.ones((2, 1, 1), "float32"), np.zeros(1, "float32")])
    pooled = layer(x, mask=np.array([[True, True, True, False], [False] * 4]))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pooled), [[7.0], [0.0]])
    assert MultiWidthConv1D.from_config(layer.get_config()).kernel_sizes == [2]
    with pytest.raises(ValueError, match="kernel_sizes=\\[\\]"):
        MultiWidthConv1D(kernel_sizes=[])


@pytest.mark.parametrize("name, config, message", [
    ("sentiment_birnn", {"pooling": "attention"}, "pooling='attention'"),
    ("sentiment_birnn", {"cell": "transformer"}, "cell='transformer'"),
    ("sentiment_dnn", {"activation": "nope"}, "activation='nope'"),
])
def test_bad_config_names_the_argument(name, config, message):
    with pytest.raises(ValueError, match=message):
        zoo.build(name, vocab_size=10, num_classes=2, **config)


def test_report_counts_and_confusion():
    """true [0, 0, 1, 1], predicted [0, 1, 1, 1]: accuracy 3/4, negative recall 1/2, positive precision 2/3."""
    report = sentiment_report([0, 0, 1, 1], [0, 1, 1, 1])
    assert report["accuracy"] == 0.75 and report["errors"] == 1
    assert report["confusion"]["matrix"] == [[1, 1], [0, 2]]
    assert report["classes"]["negative"]["recall"] == 0.5
    assert report["classes"]["positive"]["precision"] == pytest.approx(2 / 3)


def test_training_on_a_held_out_split_needs_a_dev_spec(tweet_files):
    pos, neg = tweet_files
    with pytest.raises(DataError, match="needs a dev spec"):
        read_sentiment_data(f"tweets/test:{pos},{neg}")


def test_pretrained_vectors_set_the_embedding_and_freezing_keeps_it():
    from zoo.errors import ZooError
    from zoo.pretrained import set_token_embedding
    from zoo.tasks.sentiment import compile_sentiment

    model = zoo.build("sentiment_dnn", vocab_size=6, num_classes=2, embedding_dim=3, hidden_units=[4])
    matrix = np.arange(18, dtype="float32").reshape(6, 3) / 10
    set_token_embedding(model, matrix, trainable=False)
    compile_sentiment(model, learning_rate=0.5)
    model.train_on_batch(np.array([[2, 3, 0], [4, 5, 1]], dtype="int32"), np.array([1, 0], dtype="int32"))
    np.testing.assert_array_equal(model.get_layer("token_embedding").get_weights()[0], matrix)
    with pytest.raises(ZooError, match="build it with embedding_dim=4"):
        set_token_embedding(model, np.zeros((6, 4), "float32"))
    siamese = zoo.build("siamese_bow", preset="tiny", vocab_size=6)
    assert set_token_embedding(siamese, np.ones((6, 8), "float32")).name == "token_embedding"  # inside the encoder


def test_an_embedding_wider_than_the_vectors_starts_with_them_and_learns_the_rest():
    from zoo.errors import ZooError
    from zoo.pretrained import build_with_vectors

    matrix = np.arange(18, dtype="float32").reshape(6, 3) / 10
    sizes = {"vocab_size": 6, "num_classes": 2}
    model, config = build_with_vectors("sentiment_dnn", embeddings=matrix, config={"embedding_dim": 5}, **sizes)
    weights = model.get_layer("token_embedding").get_weights()[0]
    assert config["embedding_dim"] == 5 and weights.shape == (6, 5)
    np.testing.assert_array_equal(weights[:, :3], matrix)  # the vectors first
    assert not weights[0, 3:].any() and weights[1:, 3:].std() > 0.1  # <PAD> stays 0; the rest at the vectors' scale
    assert model.get_layer("token_embedding").trainable
    assert build_with_vectors("sentiment_dnn", embeddings=matrix, config={}, **sizes)[1]["embedding_dim"] == 3
    with pytest.raises(ZooError, match="so embedding_dim must be at least 3 .*Received: embedding_dim=2"):
        build_with_vectors("sentiment_dnn", embeddings=matrix, config={"embedding_dim": 2}, **sizes)
    with pytest.raises(ZooError, match="so embedding_dim must be 3. Received: embedding_dim=5"):  # frozen random
        build_with_vectors("sentiment_dnn", embeddings=matrix, config={"embedding_dim": 5}, freeze=True, **sizes)
    with pytest.raises(ZooError, match="Received: embedding_dim=wide"):
        build_with_vectors("sentiment_dnn", embeddings=matrix, config={"embedding_dim": "wide"}, **sizes)


def test_cli_trains_from_word_vectors_and_extends_the_vocabulary(tweet_files, tmp_path, capsys):
    pos, neg = tweet_files
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("zzfresh 0.1 0.2 0.3 0.4\nday 1 0 0 0\n:) 0 1 0 0\n:( 0 0 1 0\n", encoding="utf-8")
    args = ["train", "sentiment_dnn", "--data", f"tweets:{pos},{neg}", "--epochs", "1", "--batch-size", "16",
            "--word-vectors", str(vectors), "--vectors-vocab", "1", "--freeze-embeddings",
            "--workdir", str(tmp_path / "work"), "--export-dir", str(tmp_path / "out")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "word vectors: 4 of " in out and str(vectors) in out
    export = tmp_path / "out" / "sentiment_dnn" / "1"
    card = read_card(export)
    assert card["config"]["embedding_dim"] == 4 and card["data"]["word_vectors"]["covered"] == 4
    assert card["training"]["freeze_embeddings"] is True
    assert "zzfresh" in (export / "assets" / "vocab.txt").read_text(encoding="utf-8").split("\n")  # from --vectors-vocab
    assert main([*args, "--set", "embedding_dim=8"]) == 2
    assert "the word vectors have 4 dimensions, so embedding_dim must be 4" in capsys.readouterr().err
    assert main(["train", "gru_lm", "--data", "text:x.txt", "--word-vectors", str(vectors)]) == 2
    assert "are for NER, sentiment and Siamese models" in capsys.readouterr().err


def test_an_ensemble_averages_its_members_probabilities(tmp_path):
    vocab = sentiment_vocabulary(["a good day", "a bad day"])
    models = [zoo.build("sentiment_dnn", vocab_size=len(vocab), num_classes=2, embedding_dim=4, hidden_units=[4])
              for _ in range(2)]
    for i, model in enumerate(models):  # two different members: the output bias
        model.trainable_weights[-1].assign([0.4 * i, -0.4 * i])
    classifiers = [make_classifier(m, vocab, tmp_path / f"s{i}") for i, m in enumerate(models)]
    single = [c.serve_text(tf.constant(TEXTS))["probabilities"].numpy() for c in classifiers]
    ensemble = make_classifier(models, vocab, tmp_path / "e")
    out = ensemble.serve_text(tf.constant(TEXTS))
    np.testing.assert_allclose(out["probabilities"].numpy(), (single[0] + single[1]) / 2, atol=1e-6)
    assert np.abs(single[0] - single[1]).max() > 0.05
    np.testing.assert_array_equal(out["label_id"].numpy(), out["probabilities"].numpy().argmax(-1))


def test_cli_trains_an_ensemble_and_cards_each_member(tweet_files, tmp_path):
    pos, neg = tweet_files
    assert main(["train", "sentiment_dnn", "--data", f"tweets:{pos},{neg}", "--epochs", "2", "--batch-size", "16",
                 "--set", "embedding_dim=8", "--set", "hidden_units=[8]", "--learning-rate", "0.05", "--members", "2",
                 "--workdir", str(tmp_path / "work"), "--export-dir", str(tmp_path / "out")]) == 0
    export = tmp_path / "out" / "sentiment_dnn" / "1"
    training = read_card(export)["training"]
    assert [m["seed"] for m in training["members"]] == [0, 1]
    assert all(0.0 <= m["best_val_accuracy"] <= 1.0 for m in training["members"])
    single = zoo.build("sentiment_dnn", vocab_size=read_card(export)["vocab_size"], num_classes=2, embedding_dim=8,
                       hidden_units=[8])
    assert training["parameters"] == 2 * single.count_params()
    check_export(export, {"serving_default": {"text": TEXTS}})
