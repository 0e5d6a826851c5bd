"""keras-tuner glue: a registered model's search space becomes a `HyperModel` and a tuner."""

from __future__ import annotations

import os
from typing import Callable

import keras
import keras_tuner as kt

from zoo.registry import ModelSpec, build

TUNERS = ("hyperband", "random", "bayesian")


class ZooHyperModel(kt.HyperModel):
    """Builds `spec` with `fixed` config plus the spec's search space, compiled by `compile_fn`.

    The learning rate is searched too; it belongs to compiling, not to the builder.
    """

    def __init__(self, spec: ModelSpec, fixed: dict, compile_fn: Callable[..., keras.Model], learning_rates=(1e-3, 3e-3)):
        if spec.search_space is None:
            raise ValueError(f"Model {spec.name!r} declares no search space.")
        super().__init__(name=spec.name)
        self.spec = spec
        self.fixed = dict(fixed)
        self.compile_fn = compile_fn
        self.learning_rates = list(learning_rates)

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        config = {**self.fixed, **self.spec.search_space(hp)}
        model = build(self.spec.name, **config)
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
