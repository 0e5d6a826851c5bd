"""Fit-loop glue shared by every task: callbacks, checkpoints, resume, TensorBoard, curves."""

from __future__ import annotations

import contextlib
import csv
import math
import os
import warnings
from pathlib import Path

import keras

from zoo.errors import ZooError
from zoo.plots import plot_history


class StopOnNaN(keras.callbacks.Callback):
    """Stops training with a clear message when the loss becomes NaN or infinite.

    The epoch it happens in is then ignored by `FiniteModelCheckpoint` and `FiniteEarlyStopping`,
    so the checkpoint on disk and the weights restored at the end are the last good ones.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
            self.nan_batch = batch
            print(f"\nzoo: loss became {loss} at batch {batch}; training stopped (last good checkpoint kept). "
                  "Try a lower learning rate or gradient clipping.")


def _finite_loss(logs) -> bool:
    loss = (logs or {}).get("loss")
    return loss is None or math.isfinite(float(loss))


class _SkipNonFiniteEpochs:
    """Mixin for epoch-end callbacks: an epoch whose training loss is NaN is neither saved nor kept as best.

    Without it a NaN epoch can count as an improvement (a max-mode monitor such as accuracy still
    gets a number from NaN weights, and the first epoch always improves on nothing), which would
    overwrite the best checkpoint with NaN weights and restore them at the end.
    """

    def on_epoch_end(self, epoch, logs=None):
        if _finite_loss(logs):
            super().on_epoch_end(epoch, logs)


class FiniteModelCheckpoint(_SkipNonFiniteEpochs, keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint` that never saves an epoch whose training loss went NaN."""


class FiniteEarlyStopping(_SkipNonFiniteEpochs, keras.callbacks.EarlyStopping):
    """`EarlyStopping` whose restored best weights never come from an epoch whose loss went NaN."""


def training_callbacks(
    workdir: str | os.PathLike,
    *,
    monitor: str = "val_loss",
    mode: str = "auto",
    patience: int = 3,
    extra: list | None = None,
) -> list[keras.callbacks.Callback]:
    """Checkpoints, resume-after-interruption, early stopping, TensorBoard and a CSV log.

    `extra` callbacks run first, so a callback that adds a metric to `logs` (e.g. dev F1) is
    seen by the ones that monitor it.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    return [
        *(extra or []),
        StopOnNaN(),
        keras.callbacks.BackupAndRestore(str(workdir / "backup")),
        FiniteModelCheckpoint(
            str(workdir / "best.weights.h5"), monitor=monitor, mode=mode, save_best_only=True,
            save_weights_only=True,
        ),
        FiniteEarlyStopping(monitor=monitor, mode=mode, patience=patience, restore_best_weights=True),
        keras.callbacks.TensorBoard(str(workdir / "logs")),
        keras.callbacks.CSVLogger(str(workdir / "history.csv"), append=True),
    ]


@contextlib.contextmanager
def quiet_dataset_warnings():
    """Silences Keras warnings that are expected with bucketed, self-shuffling tf.data input."""
    with warnings.catch_warnings():
        # Bucketed datasets have no known length, so Keras warns at the end of the first epoch.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        warnings.filterwarnings("ignore", message="`shuffle=True` was passed")
        # Best models come back from the tuner without optimizer state, which export does not need.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        yield


def fit(
    model: keras.Model,
    train,
    validation,
    *,
    epochs: int,
    workdir: str | os.PathLike,
    monitor: str = "val_loss",
    mode: str = "auto",
    patience: int = 3,
    extra_callbacks: list | None = None,
    verbose: int | str = "auto",
) -> dict[str, list[float]]:
    """Trains a compiled model; re-running with the same `workdir` resumes an interrupted run.

    Returns the full history (read back from the CSV log, so epochs from before a resume are
    included) and writes `training_curves.png` into `workdir`.

    Raises:
        ZooError: `epochs` below 1, or a run that ended with no epoch trained: a model that
            trained zero steps must never reach an export.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ZooError(f"expected epochs >= 1, got {epochs!r}; nothing was trained or exported")
    callbacks = training_callbacks(workdir, monitor=monitor, mode=mode, patience=patience, extra=extra_callbacks)
    with quiet_dataset_warnings():
        model.fit(train, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=verbose,
                  shuffle=False)  # the tf.data pipeline shuffles
    history = read_history(Path(workdir) / "history.csv")
    if not history.get("loss"):
        raise ZooError(f"training in {workdir} ended without a completed epoch; nothing was exported")
    plot_history(history, Path(workdir) / "training_curves.png")
    return history


def read_history(path: str | os.PathLike) -> dict[str, list[float]]:
    """The CSV log as columns; a repeated epoch (run again after a crash) keeps its last row."""
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    by_epoch = {int(row["epoch"]): row for row in rows}
    ordered = [by_epoch[e] for e in sorted(by_epoch)]
    keys = [k for k in (ordered[0] if ordered else {}) if k != "epoch"]
    return {k: [_number(row[k]) for row in ordered] for k in keys}


def _number(value: str) -> float:
    # CSVLogger writes "NA" for a metric an epoch did not log (e.g. no validation data).
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
