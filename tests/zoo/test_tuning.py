"""keras-tuner glue: the declared space, a 2-trial search, resuming, exporting the best model; `zoo tune`."""

import json

import keras_tuner as kt
import pytest

import zoo
from tests.helpers import SONNET, TOPICS, bars, emoticon_tweets, paraphrases, write_idx, write_quora
from zoo.cli import main
from zoo.export import read_card
from zoo.tasks import TASKS
from zoo.tasks.ner import compile_tagger, tune_ner
from zoo.tuning import ZooHyperModel, make_tuner


def test_hypermodel_builds_from_the_declared_space():
    spec = zoo.get_spec("bilstm_ner")
    hp = kt.HyperParameters()
    model = ZooHyperModel(spec, {"vocab_size": 30, "num_tags": 4}, compile_tagger).build(hp)
    assert hp.get("lstm_units") == 64 and hp.get("embedding_dim") == 50 and hp.get("learning_rate") == 1e-3
    assert model.compiled and model.get_layer("encoder_bilstm_0").forward_layer.units == 64


def test_unknown_tuner_is_named(tmp_path):
    hypermodel = ZooHyperModel(zoo.get_spec("bilstm_ner"), {"vocab_size": 30, "num_tags": 4}, compile_tagger)
    with pytest.raises(ValueError, match="algorithm='grid'"):
        make_tuner(hypermodel, algorithm="grid", objective=kt.Objective("val_loss", "min"), directory=tmp_path,
                   project_name="p")


@pytest.mark.parametrize("algorithm, max_epochs", [("random", 1), ("bayesian", 1), ("hyperband", 2)])
def test_search_exports_the_best_model_and_resumes(ner_data, tmp_path, algorithm, max_epochs):
    kwargs = dict(algorithm=algorithm, max_trials=2, max_epochs=max_epochs, directory=tmp_path / "tuning",
                  export_dir=tmp_path / "saved_models", workdir=tmp_path / "work", verbose=0)
    path, report, best = tune_ner("bilstm_ner", ner_data, **kwargs)
    card = read_card(path)
    assert card["tuning"]["best_hyperparameters"] == best
    assert card["config"]["lstm_units"] == best["lstm_units"]
    trials = sorted(p.name for p in (tmp_path / "tuning" / "bilstm_ner").glob("trial_*"))
    assert len(trials) == (2 if algorithm != "hyperband" else len(trials)) and trials
    # Running again with the same directory reloads the finished search instead of redoing it.
    # (Trials that tie on the objective may come back in either order, so compare scores.)
    again, report_again, _ = tune_ner("bilstm_ner", ner_data, **kwargs)
    assert again.name == "2"
    assert report_again["token_accuracy"] == pytest.approx(report["token_accuracy"], abs=0.02)
    assert sorted(p.name for p in (tmp_path / "tuning" / "bilstm_ner").glob("trial_*")) == trials


def test_crf_tagger_tunes_on_dev_f1(synthetic_sentences, tmp_path):
    from zoo.tasks.ner import prepare_ner_data

    data = prepare_ner_data(synthetic_sentences[:60], synthetic_sentences[60:80], model="bilstm_crf_ner", batch_size=32)
    path, report, best = tune_ner("bilstm_crf_ner", data, algorithm="random", max_trials=1, max_epochs=1,
                                  directory=tmp_path / "tuning", export_dir=tmp_path / "out", workdir=tmp_path / "w",
                                  verbose=0)
    card = read_card(path)
    assert card["model"] == "bilstm_crf_ner" and card["char_vocab_size"] == len(data.chars)
    assert set(best) >= {"char_filters", "lstm_units", "learning_rate"}
    (trial,) = (tmp_path / "tuning" / "bilstm_crf_ner").glob("trial_*/trial.json")
    assert '"val_f1"' in trial.read_text()  # dev entity F1 is logged for the objective


# ----------------------------------------------------------------------------- `zoo tune` for other tasks


def _tune_twice(args: list[str], tuning, capsys) -> tuple[dict, list[str]]:
    """Runs `zoo tune` twice with the same directory; checks the second run reloads the 2 finished trials.

    Returns the best hyperparameters the first run printed and the second run's output lines.
    """
    assert main(args) == 0
    first = capsys.readouterr().out
    best = json.loads(first.split("best hyperparameters: ")[1].splitlines()[0])
    trials = {p: p.stat().st_mtime_ns for p in tuning.glob("trial_*/trial.json")}
    assert len(trials) == 2 and first.count("Running Trial #") == 2
    assert main(args) == 0
    again = capsys.readouterr().out
    assert "Running Trial" not in again and f"best hyperparameters: {json.dumps(best)}" in again
    assert {p: p.stat().st_mtime_ns for p in tuning.glob("trial_*/trial.json")} == trials
    return best, again.splitlines()


def _tune_args(name: str, data: str, tmp_path) -> list[str]:
    return ["tune", name, "--data", data, "--tuner", "random", "--max-trials", "2", "--max-epochs", "1",
            "--batch-size", "32", "--preset", "tiny", "--directory", str(tmp_path / "tuning"),
            "--export-dir", str(tmp_path / "saved"), "--workdir", str(tmp_path / "work")]


def test_cli_tunes_an_image_classifier_on_val_accuracy_and_resumes(tmp_path, capsys):
    images, labels = bars(120, seed=0)
    data = f"idx:{write_idx(tmp_path / 'images', images)},{write_idx(tmp_path / 'labels', labels)}"
    best, again = _tune_twice(_tune_args("cnn_classifier", data, tmp_path), tmp_path / "tuning" / "cnn_classifier",
                              capsys)
    assert again[-1] == f"exported: {tmp_path / 'saved' / 'cnn_classifier' / '2'}"  # versioned like `zoo train`
    card = read_card(tmp_path / "saved" / "cnn_classifier" / "1")
    assert card["task"] == "image" and card["tuning"]["best_hyperparameters"] == best
    assert card["tuning"]["objective"] == "val_accuracy (max)"
    assert card["config"]["filters"] == [best["base_filters"], 2 * best["base_filters"]]
    assert card["config"]["input_shape"] == [8, 8, 1] and card["num_classes"] == 3
    assert 0 <= card["metrics"]["val_accuracy"] <= 1 and (tmp_path / "work" / "confusion_matrix.png").exists()


def test_cli_tunes_a_language_model_on_val_loss_and_resumes(tmp_path, capsys):
    (tmp_path / "sonnet.txt").write_text(SONNET, encoding="utf-8")
    data = f"text:{tmp_path / 'sonnet.txt'}"
    args = [*_tune_args("gru_lm", data, tmp_path), "--set", "window=16", "--set", "top_k=3"]
    best, again = _tune_twice(args, tmp_path / "tuning" / "gru_lm", capsys)
    assert again[-1] == f"exported: {tmp_path / 'saved' / 'gru_lm' / '2'}"
    card = read_card(tmp_path / "saved" / "gru_lm" / "1")
    assert card["task"] == "language_model" and card["tuning"]["best_hyperparameters"] == best
    assert card["tuning"]["objective"] == "val_loss (min)"
    assert {k: card["config"][k] for k in ("units", "num_layers", "residual")} == {
        k: best[k] for k in ("units", "num_layers", "residual")}
    assert card["data"]["window"] == 16 and card["top_k"] == 3
    assert card["training"]["learning_rate"] == best["learning_rate"]
    assert card["metrics"]["val_loss"] > 0


def test_fixing_a_searched_key_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "sonnet.txt").write_text(SONNET, encoding="utf-8")
    args = _tune_args("gru_lm", f"text:{tmp_path / 'sonnet.txt'}", tmp_path) + ["--set", "units=8"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: ['units'] of 'gru_lm' are searched by `zoo tune`") and err.count("\n") == 1
    assert not (tmp_path / "tuning").exists()


def test_tune_names_the_tasks_it_supports_for_one_it_does_not(monkeypatch, capsys):
    # Every registered task supports `zoo tune`, so the test unregisters one.
    monkeypatch.delitem(TASKS, "image")
    assert main(["tune", "cnn_classifier", "--data", "idx:no,files"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: `zoo tune` does not support 'image' models yet; it supports ")
    assert "language_model" in err and "ner" in err and "image" not in err.split("supports")[1]
    assert err.count("\n") == 1


def test_cli_tunes_a_sentiment_classifier_on_dev_accuracy_and_resumes(tmp_path, capsys):
    pos, neg = emoticon_tweets(tmp_path, per_class=40)
    args = _tune_args("sentiment_dnn", f"tweets:{pos},{neg}", tmp_path)
    best, again = _tune_twice(args, tmp_path / "tuning" / "sentiment_dnn", capsys)
    assert again[-1] == f"exported: {tmp_path / 'saved' / 'sentiment_dnn' / '2'}"
    card = read_card(tmp_path / "saved" / "sentiment_dnn" / "1")
    assert card["task"] == "sentiment" and card["tuning"]["best_hyperparameters"] == best
    assert card["tuning"]["objective"] == "val_accuracy (max)"
    assert card["config"]["embedding_dim"] == best["embedding_dim"] and card["config"]["hidden_units"] == [
        best["hidden_units"]]
    assert 0 <= card["metrics"]["dev_accuracy"] <= 1 and (tmp_path / "work" / "confusion_matrix.png").exists()


def test_cli_tunes_a_siamese_encoder_on_dev_auc_and_calibrates_tau(tmp_path, capsys):
    train = write_quora(tmp_path / "train.tsv", paraphrases(TOPICS[:12]))
    dev = write_quora(tmp_path / "dev.tsv", paraphrases(TOPICS[12:]))
    args = [*_tune_args("siamese_bow", f"quora:{train}", tmp_path), "--dev", f"quora:{dev}", "--batch-size", "8",
            "--margin", "0.5"]
    best, again = _tune_twice(args, tmp_path / "tuning" / "siamese_bow", capsys)
    assert again[-1].startswith(f"exported: {tmp_path / 'saved' / 'siamese_bow' / '2'} (tau ")
    card = read_card(tmp_path / "saved" / "siamese_bow" / "1")
    assert card["task"] == "siamese" and card["tuning"]["best_hyperparameters"] == best
    assert card["tuning"]["objective"] == "val_auc (max)" and card["training"]["margin"] == 0.5
    assert card["config"]["output_dim"] == best["output_dim"] and card["threshold"]["calibrated_on"] == "dev"
    assert -1 <= card["tau"] <= 1 and 0 <= card["metrics"]["dev_roc_auc"] <= 1
    assert (tmp_path / "work" / "similarity_histograms.png").exists()
