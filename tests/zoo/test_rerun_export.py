"""Work is never lost to the export folder: it is checked before training, and a finished run that could not
be exported is exported by rerunning the same command, without training again."""

import errno
import json

import keras
import pytest

import zoo.export
from pipelines.readers import write_token_tag
from tests.helpers import TOPICS, paraphrases, write_quora
from zoo.cli import main


def _refuse(monkeypatch, code, reason, *, names=("NamedTemporaryFile", "mkdtemp")):
    """Makes the export folder refuse writes as a read-only folder or a full disk does (we may run as root)."""
    def refuse(*args, **kwargs):
        raise OSError(code, reason)

    for name in names:
        monkeypatch.setattr(zoo.export.tempfile, name, refuse)


def _no_fit(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(keras.Model, "fit", fail)


@pytest.fixture
def ner_args(tmp_path, synthetic_sentences, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_token_tag(tmp_path / "train.tsv", synthetic_sentences[:120])
    write_token_tag(tmp_path / "dev.tsv", synthetic_sentences[120:160])
    return ["train", "bilstm_ner", "--data", "tsv:train.tsv", "--dev", "tsv:dev.tsv", "--epochs", "2",
            "--preset", "tiny", "--batch-size", "32", "--workdir", "run", "--export-dir", "out"]


def test_a_read_only_export_folder_stops_the_run_before_training(ner_args, tmp_path, monkeypatch, capsys):
    _refuse(monkeypatch, errno.EACCES, "Permission denied")
    _no_fit(monkeypatch)
    assert main(ner_args) == 2
    assert capsys.readouterr().err == (f"zoo: error: out: cannot write the export there (Permission denied); "
                                       "fix its permissions or pass another --export-dir\n")
    assert not (tmp_path / "run" / "history.csv").exists()


@pytest.mark.parametrize("code, reason", [(errno.ENOSPC, "No space left on device"), (errno.EACCES, "Permission denied")])
def test_an_export_that_fails_after_training_is_done_by_rerunning(ner_args, tmp_path, monkeypatch, capsys, code, reason):
    with monkeypatch.context() as patch:  # the check before training passes; the disk fills (or the folder locks) later
        _refuse(patch, code, reason, names=("mkdtemp",))
        assert main(ner_args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"zoo: error: out/bilstm_ner: cannot write the export there ({reason})") and err.count("\n") == 1
    assert "The trained weights are kept in run: run the same command again with --workdir run" in err
    assert not (tmp_path / "out" / "bilstm_ner" / "1").exists()
    epochs = len(json.loads((tmp_path / "run" / "trained.json").read_text())["history"]["loss"])

    _no_fit(monkeypatch)
    assert main(ner_args) == 0
    out = capsys.readouterr().out
    assert "had finished" in out and "exported: out/bilstm_ner/1" in out
    card = json.loads((tmp_path / "out/bilstm_ner/1/model_card.json").read_text())
    assert card["training"]["epochs_run"] == epochs >= 1


def test_a_changed_command_trains_again(ner_args, tmp_path, capsys):
    assert main(ner_args) == 0
    calls = []
    original = keras.Model.fit

    def counted(self, *args, **kwargs):
        calls.append(kwargs["epochs"])
        return original(self, *args, **kwargs)

    keras.Model.fit, saved = counted, keras.Model.fit
    try:
        assert main([*ner_args, "--set", "lstm_units=5"]) == 0
    finally:
        keras.Model.fit = saved
    assert calls == [2]
    assert "exported: out/bilstm_ner/2" in capsys.readouterr().out


def test_an_ensemble_is_exported_by_rerunning(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_quora(tmp_path / "train.tsv", paraphrases(TOPICS[:8]))
    write_quora(tmp_path / "dev.tsv", paraphrases(TOPICS[8:12]))
    args = ["train", "siamese_bow", "--data", "quora:train.tsv", "--dev", "quora:dev.tsv", "--epochs", "1",
            "--preset", "tiny", "--batch-size", "8", "--members", "2", "--workdir", "run", "--export-dir", "out"]
    with monkeypatch.context() as patch:
        _refuse(patch, errno.ENOSPC, "No space left on device", names=("mkdtemp",))
        assert main(args) == 2
    assert "--workdir run to export them" in capsys.readouterr().err
    assert all((tmp_path / "run" / f"member_{i}" / "trained.json").exists() for i in range(2))
    _no_fit(monkeypatch)
    assert main(args) == 0
    assert json.loads((tmp_path / "out/siamese_bow/1/model_card.json").read_text())["members"] == 2


def test_a_read_only_export_folder_stops_a_search_before_its_first_trial(ner_args, monkeypatch, capsys):
    import zoo.tuning

    def no_search(*args, **kwargs):
        raise AssertionError("searched")

    monkeypatch.setattr(zoo.tuning, "run_search", no_search)
    _refuse(monkeypatch, errno.EACCES, "Permission denied")
    tune_args = ["tune", *ner_args[1:ner_args.index("--epochs")], "--max-trials", "1", "--export-dir", "out"]
    assert main(tune_args) == 2
    assert "out: cannot write the export there (Permission denied)" in capsys.readouterr().err
