"""keras-tuner glue: the declared space, a 2-trial search, resuming, exporting the best model."""

import keras_tuner as kt
import pytest

import zoo
from zoo.export import read_card
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
