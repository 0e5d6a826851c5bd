"""NER ensembles (`zoo train bilstm_crf_ner --members N`): one export whose CRF decodes the members' mean scores."""

import json

import numpy as np
import pytest
import tensorflow as tf

import keras
import zoo
from pipelines.readers import write_token_tag
from tests.helpers import check_export
from zoo.cli import main
from zoo.tasks.ner import prepare_ner_data
from zoo.tasks.ner.serving import crf_layer, make_tagger
from zoo.tasks.ner.viterbi import decode_with_marginals


@pytest.fixture(scope="module")
def ner_data(synthetic_sentences):
    return prepare_ner_data(synthetic_sentences[:200], synthetic_sentences[200:240], model="bilstm_crf_ner",
                            scheme="iobes")


def members(data, count: int) -> list:
    built = []
    for seed in range(count):
        keras.utils.set_random_seed(seed)
        model = zoo.build("bilstm_crf_ner", preset="tiny", **data.sizes())
        crf = crf_layer(model)
        # Untrained emissions are near zero: larger (and different) transitions make the members disagree.
        crf.transitions.assign(crf.transitions * (10.0 + 10.0 * seed))
        built.append(model)
    return built


def test_an_ensemble_decodes_the_mean_of_its_members_emissions_and_crf(ner_data, synthetic_sentences, tmp_path):
    models = members(ner_data, 2)
    singles = [make_tagger(m, ner_data, tmp_path / f"m{i}", snapshot=True) for i, m in enumerate(models)]
    ensemble = make_tagger(models, ner_data, tmp_path / "ensemble", snapshot=True)
    assert len(ensemble.models) == 2 and len(ensemble.lstm_kernels) == 2
    tokens = tf.ragged.constant([list(s.tokens) for s in synthetic_sentences[240:260]])
    width = tf.cast(tf.reduce_max(tokens.row_lengths()), tf.int64)
    emissions = [tagger._emissions(tokens, width)[0].numpy() for tagger in singles]
    assert np.abs(emissions[0] - emissions[1]).max() > 1e-3  # the members differ
    mask = tf.sequence_mask(tokens.row_lengths(), width)
    crfs = [crf_layer(m) for m in models]
    expected = decode_with_marginals(tf.constant((emissions[0] + emissions[1]) / 2), mask,
                                     *[(getattr(crfs[0], k) + getattr(crfs[1], k)) / 2 for k in ("transitions", "start", "end")])
    received = ensemble._decode(tokens, width)
    np.testing.assert_array_equal(received[0].numpy(), expected[0].numpy())
    np.testing.assert_allclose(received[1].numpy(), expected[1].numpy(), rtol=1e-5, atol=1e-6)
    alone = [tagger._decode(tokens, width)[0].numpy() for tagger in singles]
    assert (alone[0] != alone[1]).any()  # so the ensemble's tags are a choice between them, not a copy of one


def test_an_ensemble_of_one_model_twice_tags_as_the_model(ner_data, synthetic_sentences, tmp_path):
    model = members(ner_data, 1)[0]
    text = tf.constant([" ".join(s.tokens) for s in synthetic_sentences[240:250]])
    taggers = [make_tagger(m, ner_data, tmp_path / f"t{i}", snapshot=True) for i, m in enumerate([model, [model, model]])]
    single, twice = (tagger.serve_text(text) for tagger in taggers)
    np.testing.assert_array_equal(twice["tags"].numpy(), single["tags"].numpy())
    np.testing.assert_allclose(twice["scores"].numpy(), single["scores"].numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_cli_trains_an_ner_ensemble_into_one_export_and_refits_it(tmp_path, synthetic_sentences, monkeypatch, capsys):
    # Also the check of `--refit` for NER: one model's refit is the same code with one member.
    from pipelines.readers import TaggedSentence
    from zoo.tasks.loops import best_epochs

    monkeypatch.chdir(tmp_path)
    write_token_tag(tmp_path / "train.tsv", synthetic_sentences[:160])
    dev = [*synthetic_sentences[160:200], TaggedSentence(("Zyxwvut", "flew", "."), ("B-per", "O", "O"))]
    write_token_tag(tmp_path / "dev.tsv", dev)
    assert main(["train", "bilstm_crf_ner", "--data", "tsv:train.tsv", "--dev", "tsv:dev.tsv", "--epochs", "3",
                 "--preset", "tiny", "--members", "2", "--workdir", "run", "--export-dir", "out", "--refit"]) == 0
    out = capsys.readouterr().out
    assert "exported: out/bilstm_crf_ner/1" in out
    assert "exported: out/bilstm_crf_ner/2 (trained on train + dev" in out
    export = tmp_path / "out" / "bilstm_crf_ner" / "1"
    card = json.loads((export / "model_card.json").read_text())
    assert card["members"] == 2
    assert [m["seed"] for m in card["training"]["members"]] == [0, 1]
    assert all(0.0 <= m["best_val_f1"] <= 1.0 for m in card["training"]["members"])
    single = zoo.build("bilstm_crf_ner", **card["config"])
    assert card["training"]["parameters"] == 2 * single.count_params()
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"member_0", "member_1"}
    # The refit is an ensemble of as many members, each trained for the median of their best epochs on dev.
    refit = json.loads((tmp_path / "out" / "bilstm_crf_ner" / "2" / "model_card.json").read_text())
    chosen = [best_epochs(m["history"], "val_f1", "max") for m in card["training"]["members"]]
    assert refit["members"] == 2 and refit["refit"]["member_epochs"] == chosen
    assert refit["refit"]["epochs"] == min(chosen)  # the lower median of two
    assert [m["epochs_run"] for m in refit["training"]["members"]] == [min(chosen)] * 2
    assert refit["metrics"] == card["metrics"]  # the held-out estimate, not dev after training on it
    assert refit["refit"]["first_export"] == "out/bilstm_crf_ner/1"
    assert refit["data"]["train"] == "tsv:train.tsv + tsv:dev.tsv"
    assert refit["data"]["train_sentences"] == card["data"]["train_sentences"] + len(dev)
    # The vocabulary is rebuilt from train + dev: the dev-only word is known to the second model only.
    vocabularies = [(tmp_path / f"out/bilstm_crf_ner/{v}/assets/vocab.txt").read_text().split("\n") for v in (1, 2)]
    assert "zyxwvut" not in vocabularies[0] and "zyxwvut" in vocabularies[1]
    check_export(export, {"serving_default": {"text": ["Sharon flew to Miami last Friday ."]},
                          "tag_tokens": {"tokens": [["Sharon", "flew", "to", "Miami", "."]]}})
