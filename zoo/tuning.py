"""keras-tuner glue: a registered model's search space becomes a `HyperModel`, a tuner and a search."""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Sequence

import keras
import keras_tuner as kt

from zoo import distributed_tuning
from zoo.errors import ZooError
from zoo.registry import ModelSpec, build, get_spec
from zoo.training import quiet_dataset_warnings

TUNERS = ("hyperband", "random", "bayesian")


class ZooHyperModel(kt.HyperModel):
    """Builds `spec` with `fixed` config plus the spec's search space, compiled by `compile_fn`.

    The learning rate is searched too; it belongs to compiling, not to the builder. A `preset`
    fills in what neither the space nor `fixed` sets.
    """

    def __init__(self, spec: ModelSpec, fixed: dict, compile_fn: Callable[..., keras.Model],
                 learning_rates=(1e-3, 3e-3), preset: str | None = None):
        if spec.search_space is None:
            raise ValueError(f"Model {spec.name!r} declares no search space.")
        super().__init__(name=spec.name)
        self.spec = spec
        self.fixed = dict(fixed)
        self.compile_fn = compile_fn
        self.learning_rates = list(learning_rates)
        self.preset = preset

    def config(self, hp: kt.HyperParameters) -> dict:
        """The full builder config that `hp` stands for (defaults, preset, fixed, then the space)."""
        return self.spec.config(self.preset, **{**self.fixed, **self.spec.search_space(hp)})

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        model = build(self.spec.name, **self.config(hp))
        return self.compile_fn(model, learning_rate=hp.Choice("learning_rate", self.learning_rates))


def make_tuner(
    hypermodel: kt.HyperModel,
    *,
    algorithm: str = "hyperband",
    objective: kt.Objective,
    directory: str | os.PathLike,
    project_name: str,
    max_trials: int = 10,
    max_epochs: int = 10,
    seed: int = 0,
) -> kt.Tuner:
    """A tuner that resumes from `directory/project_name` when it already holds trials."""
    common = dict(objective=objective, directory=str(directory), project_name=project_name, seed=seed,
                  overwrite=False)
    if algorithm == "hyperband":
        return kt.Hyperband(hypermodel, max_epochs=max_epochs, factor=3, **common)
    if algorithm == "random":
        return kt.RandomSearch(hypermodel, max_trials=max_trials, **common)
    if algorithm == "bayesian":
        return kt.BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    raise ValueError(f"Unknown tuner. Received: algorithm={algorithm!r}; allowed: {list(TUNERS)}")


def check_fixed(spec: ModelSpec, fixed: dict, preset: str | None = None) -> None:
    """Raises `ZooError` for a preset or fixed key the model does not know, or a fixed key the space searches.

    A searched key cannot also be fixed: the trials would vary a hyperparameter that has no effect.
    """
    try:
        spec.config(preset, **fixed)
    except ValueError as error:
        raise ZooError(str(error)) from None
    searched = sorted(set(spec.search_space(kt.HyperParameters())) & set(fixed))
    if searched:
        raise ZooError(f"{searched} of {spec.name!r} are searched by `zoo tune`; fix only other keys. "
                       f"Received: {searched[0]}={fixed[searched[0]]!r}")


@dataclasses.dataclass
class SearchResult:
    """A finished search: the best model (trained in its trial), its hyperparameters and builder config,
    and the summary that goes into the model card under `tuning`."""

    model: keras.Model
    hyperparameters: dict
    config: dict
    summary: dict


def run_search(
    name: str,
    fixed: dict,
    compile_fn: Callable[..., keras.Model],
    train_ds,
    dev_ds,
    *,
    objective: kt.Objective,
    directory: str | os.PathLike,
    algorithm: str = "hyperband",
    max_trials: int = 10,
    max_epochs: int = 10,
    preset: str | None = None,
    patience: int = 2,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    seed: int = 0,
    verbose: int | str = "auto",
    chief_timeout: float = distributed_tuning.CHIEF_WAIT_S,
) -> SearchResult | None:
    """Searches a registered model's space and returns the best model; `directory/name` resumes a search.

    Args:
        name: a registered model with a search space.
        fixed: builder arguments held fixed (the data's sizes, user overrides); see `check_fixed`.
        compile_fn: `compile_fn(model, learning_rate=...)` compiles a built model.
        train_ds, dev_ds: the task's training and validation datasets.
        objective: the validation metric to select on, e.g. `kt.Objective("val_loss", "min")`.
        directory: the tuner's state; a finished search found there is reloaded, not redone.
        algorithm: "hyperband", "random" or "bayesian".
        max_trials: trials of random and bayesian search.
        max_epochs: epochs per trial (hyperband's largest budget).
        preset: the model's preset beneath the fixed keys and the space.
        patience: epochs without improvement of `objective` before a trial stops.
        callbacks: more callbacks for every trial (keras-tuner deep-copies them per trial).
        chief_timeout: seconds a keras-tuner worker waits for its chief (see `zoo.distributed_tuning`).

    Returns:
        A `SearchResult`, or None in a keras-tuner worker: there the chief holds the results and exports.
    """
    spec = get_spec(name)
    check_fixed(spec, fixed, preset)
    role = distributed_tuning.preflight(timeout=chief_timeout)  # before keras-tuner reads the environment
    keras.utils.set_random_seed(seed)
    hypermodel = ZooHyperModel(spec, fixed, compile_fn, preset=preset)
    tuner = make_tuner(hypermodel, algorithm=algorithm, objective=objective, directory=directory,
                       project_name=spec.name, max_trials=max_trials, max_epochs=max_epochs, seed=seed)
    stop = keras.callbacks.EarlyStopping(monitor=objective.name, mode=objective.direction, patience=patience)
    with quiet_dataset_warnings():
        tuner.search(train_ds, validation_data=dev_ds, epochs=max_epochs, verbose=verbose,
                     callbacks=[*callbacks, stop])
        if role == "worker":  # the chief exits once every worker is told to stop: ask it nothing more
            return None
        best = tuner.get_best_hyperparameters(1)[0]
        model = tuner.get_best_models(1)[0]
    summary = {"algorithm": algorithm, "objective": f"{objective.name} ({objective.direction})",
               "best_hyperparameters": best.values, "directory": str(directory)}
    return SearchResult(model=model, hyperparameters=best.values, config=hypermodel.config(best), summary=summary)
