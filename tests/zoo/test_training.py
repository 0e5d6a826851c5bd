"""Fit glue: resume after an interruption, logs and curves, NaN stop."""

import numpy as np
import pytest

import zoo
from zoo.tasks.ner import compile_tagger
from zoo.training import fit, read_history


class Interrupt(Exception):
    pass


class CrashAfterEpoch:
    """A Keras callback that dies at the end of a given epoch, like a killed job."""

    def __new__(cls, epoch):
        import keras

        class _Crash(keras.callbacks.Callback):
            def on_epoch_end(self, e, logs=None):
                if e == epoch:
                    raise Interrupt(f"killed after epoch {e}")

        return _Crash()


def nan_loss(y_true, y_pred):
    return np.nan * y_pred[..., 0]


def _model(data):
    return compile_tagger(zoo.build("bilstm_ner", preset="tiny", vocab_size=len(data.vocab), num_tags=len(data.tags)))


def test_an_interrupted_run_resumes_where_it_stopped(ner_data, tmp_path):
    with pytest.raises(Interrupt):
        fit(_model(ner_data), ner_data.train_ds, ner_data.dev_ds, epochs=3, workdir=tmp_path,
            extra_callbacks=[CrashAfterEpoch(1)], verbose=0, patience=10)
    # The crash hits before epoch 1 is logged or backed up, like a job killed during epoch 1.
    assert len(read_history(tmp_path / "history.csv")["loss"]) == 1
    resumed = _model(ner_data)
    seen = []
    import keras

    counter = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))
    history = fit(resumed, ner_data.train_ds, ner_data.dev_ds, epochs=3, workdir=tmp_path,
                  extra_callbacks=[counter], verbose=0, patience=10)
    assert seen == [1, 2]  # only the epochs that had not completed
    assert len(history["loss"]) == 3 and "val_masked_accuracy" in history


def test_fit_writes_checkpoint_logs_and_curves(ner_data, tmp_path):
    fit(_model(ner_data), ner_data.train_ds, ner_data.dev_ds, epochs=1, workdir=tmp_path, verbose=0)
    assert (tmp_path / "best.weights.h5").exists()
    assert (tmp_path / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert not (tmp_path / "backup").exists()  # removed once training completed


def test_nan_loss_stops_training_with_a_message(ner_data, tmp_path, capsys):
    model = _model(ner_data)
    model.compile(optimizer="sgd", loss=nan_loss)
    fit(model, ner_data.train_ds, ner_data.dev_ds, epochs=3, workdir=tmp_path, verbose=0)
    assert "loss became nan" in capsys.readouterr().out
    assert len(read_history(tmp_path / "history.csv")["loss"]) == 1


def test_read_history_keeps_the_last_row_of_a_repeated_epoch(tmp_path):
    (tmp_path / "h.csv").write_text("epoch,loss\n0,3.0\n1,2.0\n1,1.5\n2,1.0\n")
    assert read_history(tmp_path / "h.csv") == {"loss": [3.0, 1.5, 1.0]}
    assert read_history(tmp_path / "missing.csv") == {}
    (tmp_path / "na.csv").write_text("epoch,loss,val_loss\n0,3.0,NA\n")
    assert np.isnan(read_history(tmp_path / "na.csv")["val_loss"][0])


@pytest.mark.parametrize("epochs", [0, -1])
def test_fit_refuses_non_positive_epochs_before_touching_the_workdir(ner_data, tmp_path, epochs):
    with pytest.raises(zoo.errors.ZooError, match=f"expected epochs >= 1, got {epochs}; nothing was trained"):
        fit(_model(ner_data), ner_data.train_ds, ner_data.dev_ds, epochs=epochs, workdir=tmp_path / "w", verbose=0)
    assert not (tmp_path / "w").exists()


def test_fit_that_completes_no_epoch_is_an_error(ner_data, tmp_path):
    model = _model(ner_data)
    model.fit = lambda *args, **kwargs: None  # a run that ends before its first epoch does
    with pytest.raises(zoo.errors.ZooError, match="ended without a completed epoch; nothing was exported"):
        fit(model, ner_data.train_ds, ner_data.dev_ds, epochs=2, workdir=tmp_path, verbose=0)


@pytest.mark.parametrize("epochs", ["0", "-1"])
def test_cli_train_with_no_epochs_exports_nothing(tmp_path, synthetic_sentences, capsys, monkeypatch, epochs):
    from pipelines.readers import write_token_tag
    from zoo.cli import main

    monkeypatch.chdir(tmp_path)
    write_token_tag(tmp_path / "train.tsv", synthetic_sentences[:40])
    assert main(["train", "bilstm_ner", "--data", "tsv:train.tsv", "--epochs", epochs, "--preset", "tiny",
                 "--workdir", "run", "--export-dir", "out"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: ") and "expected epochs >= 1" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
