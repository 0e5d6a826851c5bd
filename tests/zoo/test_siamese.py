"""Siamese duplicate detection: shared weights, calibration, search, collapse detection, export contract, CLI."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from pipelines.pairs import TextIds
from pipelines.readers.pair import Pair
from tests.helpers import TOPICS, check_export, paraphrases, write_quora
from zoo.cli import main
from zoo.export import read_card
from zoo.serving import check_serving_ops, graph_ops, load, rest_predict
from zoo.metrics.threshold import calibrate_threshold, roc_auc, threshold_metrics
from zoo.tasks.loops import evaluate_export
from zoo.tasks.siamese import CollapseWarning, DuplicateIndex, SiameseExport, prepare_siamese_data, train_siamese, verify

@pytest.fixture(scope="module")
def siamese_data():
    return prepare_siamese_data(paraphrases(TOPICS[:12]), paraphrases(TOPICS[12:]), batch_size=8,
                                text_ids=TextIds(oov_buckets=50, word_bigrams=50, char_ngrams=3, char_buckets=200))


@pytest.fixture(scope="module")
def loaded(siamese_export):
    return load(siamese_export[0])


@pytest.fixture(scope="module")
def siamese_export(tmp_path_factory, siamese_data):
    """`siamese_bow` (tiny) trained 4 epochs on template paraphrases and exported once per module."""
    root = tmp_path_factory.mktemp("siamese")
    path, report = train_siamese("siamese_bow", siamese_data, epochs=4, workdir=root / "work",
                                 export_dir=root / "saved_models", preset="tiny", learning_rate=0.02, verbose=0)
    return path, report, root / "work"


def test_one_encoder_serves_both_branches():
    model = zoo.build("siamese_lstm", preset="tiny", vocab_size=12)
    encoder = model.get_layer("encoder")
    assert len(model.weights) == len(encoder.weights)  # one set of weights
    ids = {"token_ids_a": np.array([[2, 3, 4]], "int32"), "token_ids_b": np.array([[5, 3, 0]], "int32")}
    before = keras.ops.convert_to_numpy(model(ids))
    np.testing.assert_allclose(before[0, 0], keras.ops.convert_to_numpy(encoder(ids["token_ids_a"]))[0], atol=1e-6)
    embedding = encoder.get_layer("token_embedding")
    table = embedding.get_weights()[0]
    table[3] += 0.5  # token 3 is in both texts
    embedding.set_weights([table])
    after = keras.ops.convert_to_numpy(model(ids))
    assert not np.allclose(before[0, 0], after[0, 0]) and not np.allclose(before[0, 1], after[0, 1])
    same = keras.ops.convert_to_numpy(model({"token_ids_a": ids["token_ids_a"], "token_ids_b": ids["token_ids_a"]}))
    np.testing.assert_allclose(same[0, 0], same[0, 1], atol=1e-6)


@pytest.mark.parametrize("name", ["siamese_lstm", "siamese_bow"])
def test_encodings_are_unit_vectors_and_an_empty_text_is_the_zero_vector(name):
    model = zoo.build(name, preset="tiny", vocab_size=12)
    out = keras.ops.convert_to_numpy(model({"token_ids_a": np.array([[2, 3], [0, 0]], "int32"),
                                            "token_ids_b": np.array([[4, 0], [5, 6]], "int32")}))
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), [[1, 1], [0, 1]], atol=1e-5)


def test_course_preset_is_lstm_128_masked_mean_and_l2():
    config = zoo.get_spec("siamese_lstm").config("course", vocab_size=100)
    assert (config["lstm_units"], config["bidirectional"], config["pooling"], config["project"]) == (128, False, ["mean"], False)


@pytest.mark.parametrize("name", ["siamese_lstm", "siamese_bow"])
def test_search_space_is_declared_beside_the_builder(name):
    import keras_tuner as kt

    hp = kt.HyperParameters()
    spec = zoo.get_spec(name)
    config = spec.search_space(hp)
    assert set(config) <= set(spec.defaults)
    assert hp.get("embedding_dim") == 64 and hp.get("dropout") == 0.0


def test_calibration_by_hand():
    """Scores 0.9 0.8 0.7 0.4 0.3 with labels 1 0 1 0 0. Cuts (predict >= cut): 0.9 -> acc (1 + 3) / 5 = 0.8;
    0.8 -> 0.6; 0.7 -> (2 + 2) / 5 = 0.8; 0.4 -> 0.6; 0.3 -> 0.4; none -> 0.6. Best accuracy first at
    tau = (0.9 + 0.8) / 2 = 0.85 (P 1, R 0.5, F1 2/3). F1 is best at cut 0.7 (P 2/3, R 1, F1 0.8):
    tau = (0.7 + 0.4) / 2 = 0.55. AUC: 0.9 beats 3 negatives, 0.7 beats 2 of 3: 5 / 6."""
    scores, labels = [0.9, 0.8, 0.7, 0.4, 0.3], [1, 0, 1, 0, 0]
    best = calibrate_threshold(scores, labels)
    assert best["tau"] == pytest.approx(0.85) and best["accuracy"] == pytest.approx(0.8)
    assert (best["precision"], best["recall"]) == (pytest.approx(1.0), pytest.approx(0.5))
    f1 = calibrate_threshold(scores, labels, objective="f1")
    assert f1["tau"] == pytest.approx(0.55) and f1["f1"] == pytest.approx(0.8) and f1["precision"] == pytest.approx(2 / 3)
    assert best["roc_auc"] == pytest.approx(5 / 6) and roc_auc([0.5, 0.5], [1, 0]) == 0.5
    assert threshold_metrics(scores, labels, 0.55)["f1"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="objective='auc'"):
        calibrate_threshold(scores, labels, objective="auc")


def fake_embed(texts):
    """Unit vectors by first letter: a -> (1, 0), b -> (0.6, 0.8), anything else -> (0, 1); '' -> 0."""
    table = {"a": [1.0, 0.0], "b": [0.6, 0.8]}
    return np.array([table.get(t[:1], [0.0, 1.0]) if t else [0.0, 0.0] for t in texts], np.float32)


def test_verify_compares_the_cosine_with_tau_and_warns_about_empty_texts():
    similarity, duplicate = verify(fake_embed, ["apple", "apple"], ["avocado", "banana"], tau=0.7)
    np.testing.assert_allclose(similarity, [1.0, 0.6])
    assert duplicate.tolist() == [True, False]
    with pytest.warns(UserWarning, match=r"text_b\[0\] is empty"):
        similarity, duplicate = verify(fake_embed, "apple", "", tau=0.7)
    assert similarity.tolist() == [0.0] and not duplicate[0]


def test_nearest_duplicate_search_returns_the_top_k():
    index = DuplicateIndex(fake_embed, ["zebra", "banana", "apple", "apricot"], batch_size=2)
    results = index.search(["avocado", "blueberry", "kiwi"], k=2)
    assert [i for i, _ in results[0]] in ([2, 3], [3, 2]) and results[0][0][1] == pytest.approx(1.0)
    assert results[1][0] == (1, pytest.approx(1.0)) and results[1][1][1] == pytest.approx(0.8)
    assert results[2][0] == (0, pytest.approx(1.0))
    assert len(index.search(["a"], k=10)[0]) == 4


def test_collapse_warning_says_so_and_stops(capsys):
    callback = CollapseWarning(0.25, patience=2)
    model = keras.Sequential()
    model.stop_training = False
    callback.set_model(model)
    callback.on_epoch_end(0, {"loss": 0.4})
    assert capsys.readouterr().out == ""
    callback.on_epoch_end(1, {"loss": 0.2501})
    assert "encoder has collapsed" in capsys.readouterr().out and not callback.model.stop_training
    callback.on_epoch_end(2, {"loss": 0.25})
    assert callback.model.stop_training and callback.collapsed_epochs == [1, 2]


def test_training_that_collapses_is_detected(tmp_path, capsys):
    """With no vocabulary at all every text is <UNK> <UNK> ..., so all encodings coincide: the loss is the margin."""
    from zoo.tasks.siamese import compile_siamese
    from zoo.training import fit

    pairs = [Pair(f"q{i} x", f"p{i} y", label=1) for i in range(12)]
    data = prepare_siamese_data(pairs, paraphrases(TOPICS[:2]), batch_size=4, min_count=1000)
    model = compile_siamese(zoo.build("siamese_bow", preset="tiny", vocab_size=data.num_ids))
    fit(model, data.train_ds, data.dev_ds, epochs=4, workdir=tmp_path, verbose=0,
        extra_callbacks=[CollapseWarning(model.loss.collapsed_value)])
    out = capsys.readouterr().out
    assert "stuck at 0.2500" in out and "training stopped after 2 collapsed epochs" in out


def test_read_data_holds_out_dev_without_shared_questions_and_adds_only_extra_duplicates(tmp_path):
    from zoo.tasks.siamese import read_siamese_data

    quora = tmp_path / "q.tsv"
    quora.write_text("".join(f"{p.label}\t{p.text_a}\t{p.text_b}\t{i}\n" for i, p in enumerate(paraphrases(TOPICS))))
    mrpc = tmp_path / "m.txt"
    mrpc.write_text("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA cat sat .\tA cat was sitting .\n"
                    "0\t3\t4\tA dog ran .\tA dog slept .\n")
    train, dev, info = read_siamese_data([f"quora:{quora}"], extra_specs=[f"mrpc:{mrpc}"], dev_fraction=0.25)
    assert len(train) + len(dev) == len(paraphrases(TOPICS)) + 1 and 0.15 < len(dev) / len(train) < 0.4
    assert not {t for p in train for t in p[:2]} & {t for p in dev for t in p[:2]}
    assert train[-1] == Pair("A cat sat .", "A cat was sitting .", label=1, id="1-2")
    assert info["extra_positives"] == [f"mrpc:{mrpc}"]
    total = len(paraphrases(TOPICS))
    assert info["dev"] == (f"{len(dev)} of {total} pairs of quora:{quora} held out ({len(dev) / total:.1%}; "
                           "split_pairs, seed 0, no text on both sides)")
    assert info["notes"] == [f"dev: {info['dev']}"]


def test_bad_training_data_is_a_clear_error():
    from pipelines.errors import DataError

    with pytest.raises(DataError, match="batch_size=64 is larger than the 3 distinct duplicate groups"):
        prepare_siamese_data([Pair(f"a{i}", f"b{i}", label=1) for i in range(3)], paraphrases(TOPICS[:2]))
    with pytest.raises(DataError, match="expected dev pairs with both labels"):
        prepare_siamese_data(paraphrases(TOPICS[:4]), [Pair("a", "b", label=1)], batch_size=4)


def test_an_ensemble_embeds_with_the_mean_of_its_members_similarities(tmp_path, siamese_data):
    from zoo.tasks.siamese import export_siamese, make_server

    models = [zoo.build("siamese_bow", preset="tiny", vocab_size=siamese_data.num_ids) for _ in range(2)]
    single = [make_server(m, siamese_data.vocab, siamese_data.text_ids, tmp_path / f"s{i}") for i, m in enumerate(models)]
    ensemble = make_server(models, siamese_data.vocab, siamese_data.text_ids, tmp_path / "e", tau=0.5)
    texts = ["How do I learn chess ?", "What is the best way to learn chess ?", ""]
    parts = [server.embed(texts) for server in single]
    vectors = ensemble.embed(texts)
    np.testing.assert_allclose(vectors, np.concatenate(parts, axis=-1) / np.sqrt(2), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=-1), [1, 1, 0], atol=1e-5)
    pair = ensemble.serve_pairs(text_a=tf.constant(texts[:1]), text_b=tf.constant(texts[1:2]))["similarity"].numpy()
    np.testing.assert_allclose(pair, [np.mean([p[0] @ p[1] for p in parts])], atol=1e-5)
    path = export_siamese(ensemble, base_dir=tmp_path / "out", name="siamese_bow", card={})
    card = read_card(path)
    assert card["members"] == 2 and card["embedding_dim"] == 16 and card["tau"] == 0.5


def test_export_card_metrics_and_pictures(siamese_export):
    path, report, workdir = siamese_export
    card = read_card(path)
    assert card["task"] == "siamese" and card["model"] == "siamese_bow"
    assert card["tau"] == pytest.approx(report["calibrated"]["tau"], abs=1e-6)
    assert {"dev_roc_auc", "dev_accuracy", "dev_precision", "dev_recall", "dev_f1", "dev_accuracy_at_0.7"} <= set(card["metrics"])
    assert card["text_ids"]["char_ngrams"] == 3 and card["data"]["hard_negatives"] is True
    assert report["roc_auc"] > 0.7  # the templates are easy
    assert (workdir / "similarity_histograms.png").stat().st_size > 1000
    assert sorted(os.listdir(path / "assets")) == ["vocab.txt"]


def test_graph_uses_only_allowed_ops(siamese_export):
    path = siamese_export[0]
    check_serving_ops(path)
    ops = graph_ops(path)
    assert "StringSplitV2" in ops and "StringNGrams" in ops
    assert not {op for op in ops if "PyFunc" in op}


TEXT_A = ["How do I learn chess ?", "Why is yoga so popular ?", "", "Is painting hard to master ?"]
TEXT_B = ["What is the best way to learn chess ?", "How do I learn yoga ?", "What makes yoga popular ?", ""]


def test_fresh_process_without_zoo_gives_the_same_outputs(siamese_export, loaded):
    outputs = check_export(siamese_export[0], {"serving_default": {"text_a": TEXT_A, "text_b": TEXT_B},
                                               "embed": {"text": TEXT_A}})
    embedding = outputs["embed"]["embedding"]
    np.testing.assert_allclose(np.sum(embedding[0] * embedding[0]), 1.0, atol=1e-5)


def test_empty_strings_give_zero_similarity_and_no_nan(loaded):
    out = loaded.signatures["serving_default"](text_a=tf.constant(["", "", "chess"]), text_b=tf.constant(["", "x", ""]))
    assert np.isfinite(out["similarity"].numpy()).all()
    assert out["similarity"].numpy().tolist() == [0.0, 0.0, 0.0] and not out["is_duplicate"].numpy().any()
    empty = loaded.signatures["embed"](text=tf.constant(["", "  "]))["embedding"].numpy()
    assert np.isfinite(empty).all() and not empty.any()


def test_is_duplicate_uses_the_calibrated_tau(siamese_export):
    path = siamese_export[0]
    model = SiameseExport(path)
    out = model.loaded.signatures["serving_default"](text_a=tf.constant(TEXT_A), text_b=tf.constant(TEXT_B))
    assert (out["is_duplicate"].numpy() == (out["similarity"].numpy() >= model.tau)).all()
    similarity, duplicate = model.verify(TEXT_A[:2], TEXT_B[:2])
    np.testing.assert_allclose(similarity, out["similarity"].numpy()[:2], atol=1e-5)
    assert duplicate.tolist() == out["is_duplicate"].numpy()[:2].tolist()
    assert model.verify(TEXT_A[:1], TEXT_B[:1], tau=1.01)[1].tolist() == [False]
    collection = ["What is the best way to learn chess ?", "Why is yoga so popular ?", "How old is history ?"]
    assert model.index(collection).search(["How do I learn chess ?"], k=1)[0][0][0] == 0


def test_rest_bodies(siamese_export, loaded):
    rows = rest_predict(loaded, {"instances": [{"text_a": a, "text_b": b} for a, b in zip(TEXT_A, TEXT_B)]})["predictions"]
    assert len(rows) == 4 and set(rows[0]) == {"similarity", "is_duplicate"}
    assert rows[2]["similarity"] == 0.0 and rows[2]["is_duplicate"] is False
    embedded = rest_predict(loaded, {"signature_name": "embed", "instances": ["How do I learn chess ?"]})
    assert len(embedded["predictions"][0]) == read_card(siamese_export[0])["embedding_dim"]
    mismatch = rest_predict(loaded, {"inputs": {"text_a": ["a", "b"], "text_b": ["a"]}})
    assert set(mismatch) == {"error"} and "same number of texts" in mismatch["error"]


def test_evaluate_and_cli(siamese_export, tmp_path, capsys):
    path = siamese_export[0]
    data = tmp_path / "dev.tsv"
    write_quora(data, paraphrases(TOPICS[12:]))
    report, out_dir = evaluate_export("siamese", path, f"quora:{data}", tmp_path / "report")
    assert report["at_tau"]["tau"] == pytest.approx(read_card(path)["tau"]) and 0 <= report["roc_auc"] <= 1
    assert (out_dir / "similarity_histograms.png").exists() and json.loads((out_dir / "report.json").read_text())
    assert main(["evaluate", str(path), "--data", f"quora:{data}", "--out", str(tmp_path / "cli")]) == 0
    assert "ROC AUC" in capsys.readouterr().out
    assert main(["predict", str(path), "How do I learn chess ?", "What is the best way to learn chess ?", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert set(result) == {"text_a", "text_b", "similarity", "is_duplicate", "tau"}
    assert main(["predict", str(path), "only one text"]) == 2
    assert "TEXT_A TEXT_B" in capsys.readouterr().err


def test_cli_trains_an_lstm_and_exports_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.tsv").write_text("".join(f"{p.label}\t{p.text_a}\t{p.text_b}\t{i}\n"
                                                for i, p in enumerate(paraphrases(TOPICS)))
                                        + "".join(f"1\tWhere is {t} ?\tWhere can I find {t} ?\t{t}\n" for t in TOPICS))
    assert main(["train", "siamese_lstm", "--data", "quora:train.tsv", "--epochs", "1", "--preset", "tiny",
                 "--batch-size", "8", "--workdir", "run", "--export-dir", "out", "--threshold-objective", "f1"]) == 0
    out = capsys.readouterr().out
    assert "exported: out/siamese_lstm/1" in out and "ROC AUC" in out
    card = read_card(tmp_path / "out" / "siamese_lstm" / "1")
    assert card["threshold"]["objective"] == "f1" and card["text_ids"]["oov_buckets"] == 2000
    assert main(["train", "siamese_lstm", "--data", "quora:train.tsv", "--batch-size", "500", "--epochs", "1"]) == 2
    assert "batch_size=500 is larger than the" in capsys.readouterr().err


def test_word_vectors_fill_the_vocabulary_rows_and_the_buckets_get_random_ones(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("zzfresh 0.1 0.2 0.3 0.4\nlearn 1 0 0 0\nchess 0 1 0 0\npython 0 0 1 0\n", encoding="utf-8")
    text_ids = TextIds(oov_buckets=50, word_bigrams=50, char_ngrams=3, char_buckets=200)
    data = prepare_siamese_data(paraphrases(TOPICS[:12]), paraphrases(TOPICS[12:]), batch_size=8, text_ids=text_ids,
                                word_vectors=str(vectors), vectors_vocab=1)
    plain = prepare_siamese_data(paraphrases(TOPICS[:12]), paraphrases(TOPICS[12:]), batch_size=8, text_ids=text_ids)
    assert "zzfresh" in data.vocab.tokens and len(data.vocab) == len(plain.vocab) + 1
    assert data.embeddings.shape == (data.num_ids, 4) and data.num_ids == plain.num_ids + 1
    for word, row in [("learn", [1, 0, 0, 0]), ("python", [0, 0, 1, 0]), ("zzfresh", [0.1, 0.2, 0.3, 0.4])]:
        np.testing.assert_allclose(data.embeddings[data.vocab.index[word]], row)
    buckets = data.embeddings[len(data.vocab):]
    assert buckets.shape[0] == 300 and buckets.std() > 0.05  # OOV, bigram and n-gram rows: random, not zeros
    assert data.info["word_vectors"]["covered"] == 3  # "chess" is a dev topic only: not in the vocabulary


def test_cli_trains_a_siamese_encoder_from_word_vectors(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_quora(tmp_path / "train.tsv", paraphrases(TOPICS))
    (tmp_path / "vectors.txt").write_text("learn 1 0 0 0\nchess 0 1 0 0\npython 0 0 1 0\n", encoding="utf-8")
    args = ["train", "siamese_bow", "--data", "quora:train.tsv", "--epochs", "1", "--preset", "tiny", "--batch-size", "8",
            "--word-vectors", "vectors.txt", "--freeze-embeddings", "--workdir", "run", "--export-dir", "out"]
    assert main(args) == 0
    card = read_card(tmp_path / "out" / "siamese_bow" / "1")
    assert card["config"]["embedding_dim"] == 4 and card["data"]["word_vectors"]["covered"] == 3
    assert card["training"]["freeze_embeddings"] is True
    assert main([*args, "--set", "embedding_dim=8"]) == 2
    assert "the word vectors have 4 dimensions, so embedding_dim must be 4" in capsys.readouterr().err
    fine_tuned = [a for a in args if a != "--freeze-embeddings"]
    assert main([*fine_tuned, "--set", "embedding_dim=2"]) == 2  # wider is allowed when fine-tuned, narrower never
    assert "so embedding_dim must be at least 4 (larger: the extra dimensions are learned)" in capsys.readouterr().err


def test_cli_refit_trains_on_train_plus_dev_and_keeps_the_first_tau(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_quora(tmp_path / "train.tsv", paraphrases(TOPICS[:14]))
    write_quora(tmp_path / "dev.tsv", paraphrases(TOPICS[14:]))
    assert main(["train", "siamese_bow", "--data", "quora:train.tsv", "--dev", "quora:dev.tsv", "--epochs", "2",
                 "--preset", "tiny", "--batch-size", "8", "--members", "2", "--workdir", "run", "--export-dir", "out",
                 "--refit"]) == 0
    out = capsys.readouterr().out
    assert "exported: out/siamese_bow/2 (trained on train + dev" in out
    first, second = (read_card(tmp_path / "out" / "siamese_bow" / str(v)) for v in (1, 2))
    # τ cannot be calibrated on dev once dev is trained on: the serving graph and the card keep the first one.
    assert second["tau"] == first["tau"] and second["threshold"]["given"] == first["tau"]
    assert second["metrics"] == first["metrics"] and second["members"] == 2
    assert second["data"]["train_pairs"] == first["data"]["train_pairs"] + first["data"]["dev_pairs"]
    served = load(tmp_path / "out" / "siamese_bow" / "2").signatures["serving_default"]
    similarity = served(text_a=tf.constant(["How do I learn chess ?"]), text_b=tf.constant(["Where is chess ?"]))
    assert bool(similarity["is_duplicate"][0]) == (float(similarity["similarity"][0]) >= first["tau"])


def test_a_given_tau_outside_the_cosine_range_is_refused(siamese_data):
    from zoo.errors import ZooError
    from zoo.tasks.base import get_task

    task = get_task("siamese")
    task.check_options(siamese_data, tau=0.5)
    with pytest.raises(ZooError, match=r"tau is a cosine similarity, in \[-1, 1\]. Received: tau=1.5"):
        task.check_options(siamese_data, tau=1.5)
