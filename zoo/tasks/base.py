"""The task protocol: one `Task` class per task family, and the one train / tune / export / evaluate loop.

A task says what differs (how data becomes batches, how a model is compiled, which serving graph
is exported, how it is scored); `train`, `tune`, `export_and_score` and `evaluate_export` below
are the only training, search, export and evaluation loops, so a cross-cutting change (a
distribution strategy in the fit call, warm-up requests beside the export, a check before
training) is made once, here or in `zoo.export`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, ClassVar, Sequence

from zoo.errors import ZooError

# The hooks every task must define; `missing_hooks` names those a task left to the base class.
REQUIRED_HOOKS = ("read_data", "sizes", "build", "compile", "serving_module", "serving_signatures", "card", "score",
                  "read_labelled", "score_export", "format_report", "predict", "format_predictions",
                  "example_inputs")


class Task:
    """A task family: the hooks the shared loops call. Subclasses set the class attributes and the hooks.

    Attributes:
        name: the task name that registered models declare (`ModelSpec.task`) and model cards record.
        noun: the task's models in errors, e.g. "an NER tagger".
        monitor, mode: the dev metric that selects the best epoch and trial ("max" or "min").
        signatures: signature name -> description, written into the model card.
        options: keyword options of `train` beyond the shared ones, with their defaults.
        ensembles: whether `train(members=N)` may train N models and export them together.
        word_vectors: whether the task's data can start the embedding from pretrained vectors.
        picture: the PNG that `evaluate_export` draws into the report folder, if any.
        train_pictures: the PNGs training leaves in the workdir (the command line lists them).
        tuned_pictures: what `zoo tune` says about the best model's pictures ("{workdir}" is filled in).
    """

    name: ClassVar[str] = ""
    noun: ClassVar[str] = ""
    monitor: ClassVar[str] = "val_loss"
    mode: ClassVar[str] = "min"
    signatures: ClassVar[dict] = {}
    options: ClassVar[dict] = {}
    ensembles: ClassVar[bool] = False
    word_vectors: ClassVar[bool] = False
    picture: ClassVar[str | None] = None
    train_pictures: ClassVar[tuple[str, ...]] = ("training_curves",)
    tuned_pictures: ClassVar[str | None] = None

    # -- data

    def read_data(self, args, config: dict) -> tuple[Any, dict, dict]:
        """Reads and prepares the data that `zoo train` / `zoo tune` arguments name.

        Returns:
            (prepared data, the model config, task options that came with the config).
        """
        raise NotImplementedError

    # -- training

    def sizes(self, data) -> dict:
        """The data-dependent builder arguments (vocabulary size, classes, ...)."""
        raise NotImplementedError

    def build(self, name: str, data, *, preset: str | None, config: dict, **options):
        """(An uncompiled model, the full builder config the model card records)."""
        raise NotImplementedError

    def compile(self, model, *, learning_rate, data=None, epochs: int | None = None, **options):
        """Compiles `model`; `epochs` is None inside a tuner trial (no schedule that depends on it)."""
        raise NotImplementedError

    def callbacks(self, data, workdir, model=None, **options) -> list:
        """Callbacks that add the dev metric to the logs (e.g. dev F1), run before the shared ones.

        `model` is the compiled model being trained, or None for the trials of a search.
        """
        return []

    def check_options(self, data, *, tuning: bool = False, **options) -> None:
        """Raises `ZooError` for options that cannot work (checked before any training)."""

    def check_trained(self, model, **options) -> None:
        """Raises `ZooError` when a trained model must not be exported (e.g. NaN weights)."""

    def training_card(self, models: Sequence, runs: list[dict], **options) -> dict:
        """Task entries of the model card's `training` section."""
        return {}

    def tuning_card(self, result, **options) -> dict:
        """Task entries of a tuned export's model card."""
        return {}

    # -- export

    def serving_module(self, models: Sequence, data, workdir):
        """The `tf.Module` to export for trained `models` (one, or an ensemble's members)."""
        raise NotImplementedError

    def serving_signatures(self, module) -> dict:
        """Signature name -> the module's `tf.function`, as `signatures` describes them."""
        raise NotImplementedError

    def traced_models(self, module) -> Sequence:
        """Models whose recurrent layers must be traced with the generic kernels when saving."""
        return ()

    def card(self, module) -> dict:
        """Model-card entries that describe the serving graph (classes, vocabulary size, ...)."""
        raise NotImplementedError

    def score(self, module, data, *, name: str, workdir, seed: int = 0, **options) -> tuple[dict, dict]:
        """Scores the serving graph on dev (and draws its pictures into `workdir`):
        (report, model-card entries such as `metrics`)."""
        raise NotImplementedError

    def example_inputs(self) -> dict:
        """A small request for `serving_default`: input name -> list of values (warm-up, documentation)."""
        raise NotImplementedError

    # -- evaluation and prediction

    def read_labelled(self, data_spec: str, card: dict, **options):
        """Labelled data from a spec, checked against the export's card (e.g. its tags or classes)."""
        raise NotImplementedError

    def score_export(self, loaded, card: dict, data) -> dict:
        """The report of a loaded export on labelled data."""
        raise NotImplementedError

    def draw(self, report: dict, data, path: Path, *, title: str) -> None:
        """Draws `picture` for an evaluation report: by default the confusion matrix of a classifier's report."""
        import numpy as np

        from zoo.plots import plot_confusion_matrix

        confusion = report["confusion"]
        plot_confusion_matrix(np.array(confusion["matrix"]), confusion["labels"], path, title=title)

    def format_report(self, report: dict) -> str:
        raise NotImplementedError

    def format_result(self, report: dict) -> str:
        """The dev report after training or tuning."""
        return self.format_report(report)

    def export_note(self, report: dict) -> str:
        """Said after the export path on the command line."""
        return ""

    def predict(self, export, inputs: Sequence[str], **options) -> list:
        """JSON-ready results of an export on raw inputs from the command line."""
        raise NotImplementedError

    def format_predictions(self, inputs: Sequence[str], results: list, *, as_json: bool = False) -> str:
        """`predict`'s results as `zoo predict` prints them: a table, or JSON."""
        raise NotImplementedError

    # -- checks

    def check_model(self, name: str):
        """The spec of registered model `name`; `ZooError` unless it is one of this task's models."""
        from zoo.registry import get_spec

        spec = get_spec(name)
        if spec.task != self.name:
            raise ZooError(f"{name!r} is a {spec.task!r} model, not {self.noun}")
        return spec


def missing_hooks(task: Task) -> list[str]:
    """The required hooks `task` does not define itself."""
    return [hook for hook in REQUIRED_HOOKS if getattr(type(task), hook) is getattr(Task, hook)]


# ----------------------------------------------------------------------------- the shared loops


def _options(task: Task, options: dict) -> dict:
    unknown = sorted(set(options) - set(task.options))
    if unknown:
        raise TypeError(f"Unknown {task.name} option. Received: {unknown[0]}={options[unknown[0]]!r}; "
                        f"allowed: {sorted(task.options)}")
    return {**task.options, **options}


def check_training(task: Task, *, epochs: int, members: int) -> None:
    """Checks that must pass before any training starts."""
    if epochs < 1:
        raise ZooError(f"epochs must be at least 1: an untrained model is never exported. Received: epochs={epochs}")
    if members < 1:
        raise ZooError(f"members must be at least 1. Received: members={members}")
    if members > 1 and not task.ensembles:
        raise ZooError(f"{task.name!r} models do not train as ensembles. Received: members={members}")


def train(
    task: str | Task,
    name: str,
    data,
    *,
    epochs: int,
    workdir: str | os.PathLike,
    export_dir: str | os.PathLike = "saved_models",
    preset: str | None = None,
    config: dict | None = None,
    learning_rate=1e-3,
    patience: int = 3,
    members: int = 1,
    seed: int = 0,
    callbacks: Sequence = (),
    verbose: int | str = "auto",
    **options,
) -> tuple[Path, dict]:
    """Builds, trains (best dev epoch kept), scores on dev and exports a registered model of `task`.

    Args:
        task: a registered task name or instance.
        name: a registered model of that task.
        data: the task's prepared data (`train_ds`, `dev_ds`, `info` and what its hooks read).
        epochs: the most epochs; early stopping on `task.monitor` may end sooner.
        workdir: checkpoints, logs and pictures; the same workdir resumes an interrupted run.
        export_dir: the export is the next version of `export_dir/name`.
        preset, config: the model's preset and the config keys set on top of it.
        learning_rate: Adam's learning rate (a float or a schedule).
        patience: epochs without dev improvement before stopping.
        members: models trained with seeds `seed`, `seed + 1`, ... and exported as one ensemble
            (tasks with `ensembles`); each trains in `workdir/member_i`.
        callbacks: more callbacks for the fit.
        **options: the task's own options (`task.options`).

    Returns:
        (export path, dev report).
    """
    import keras

    from zoo.training import fit

    task = get_task(task)
    task.check_model(name)
    options = _options(task, options)
    check_training(task, epochs=epochs, members=members)
    task.check_options(data, **options)
    models, runs, card_config = [], [], None
    started = time.perf_counter()
    for member in range(members):
        keras.utils.set_random_seed(seed + member)
        model, card_config = task.build(name, data, preset=preset, config=dict(config or {}), **options)
        task.compile(model, learning_rate=learning_rate, data=data, epochs=epochs, **options)
        member_dir = Path(workdir) / f"member_{member}" if members > 1 else workdir
        history = fit(model, data.train_ds, data.dev_ds, epochs=epochs, workdir=member_dir, monitor=task.monitor,
                      mode=task.mode, patience=patience, verbose=verbose,
                      extra_callbacks=[*task.callbacks(data, workdir, model, **options), *callbacks])
        task.check_trained(model, **options)
        models.append(model)
        runs.append({"seed": seed + member, "epochs_run": len(history.get("loss", [])), "history": history})
    training = {"epochs_run": runs[0]["epochs_run"], "learning_rate": _describe(learning_rate), "seed": seed,
                "seconds": round(time.perf_counter() - started, 1), "history": runs[0]["history"],
                **task.training_card(models, runs, epochs=epochs, **options)}
    return export_and_score(task, models, data, name=name, export_dir=export_dir, workdir=workdir, seed=seed,
                            extra_card={"config": card_config, "training": training}, **options)


def tune(
    task: str | Task,
    name: str,
    data,
    *,
    workdir: str | os.PathLike | None = None,
    export_dir: str | os.PathLike = "saved_models",
    config: dict | None = None,
    directory: str | os.PathLike = "tuning",
    algorithm: str = "hyperband",
    max_trials: int = 10,
    max_epochs: int = 10,
    preset: str | None = None,
    seed: int = 0,
    verbose: int | str = "auto",
    **options,
) -> tuple[Path, dict, dict]:
    """Searches a model's space on `task.monitor` and exports the best model, scored like `train`'s.

    Args:
        workdir: the best model's dev pictures.
        config: fixes keys the space does not search.
        directory, algorithm, max_trials, max_epochs, preset, seed, verbose: see `zoo.tuning.run_search`;
            the same directory resumes the search.
        **options: the task's own options (`task.options`), fixed for every trial.

    Returns:
        (export path, dev report, best hyperparameters).
    """
    import functools

    import keras_tuner as kt

    from zoo.tuning import run_search

    task = get_task(task)
    task.check_model(name)
    options = _options(task, options)
    task.check_options(data, tuning=True, **options)
    workdir = Path(workdir or ".")
    result = run_search(
        name, {**(config or {}), **task.sizes(data)}, functools.partial(task.compile, data=data, **options),
        data.train_ds, data.dev_ds, objective=kt.Objective(task.monitor, task.mode),
        callbacks=task.callbacks(data, workdir, **options), directory=directory, algorithm=algorithm,
        max_trials=max_trials, max_epochs=max_epochs, preset=preset, seed=seed, verbose=verbose,
    )
    task.check_trained(result.model, **options)
    path, report = export_and_score(task, [result.model], data, name=name, export_dir=export_dir, workdir=workdir,
                                    seed=seed, **options, extra_card={"config": result.config, "tuning": result.summary,
                                                                      **task.tuning_card(result, seed=seed, **options)})
    return path, report, result.hyperparameters


def export_and_score(task: str | Task, models: Sequence, data, *, name: str, export_dir: str | os.PathLike,
                     workdir: str | os.PathLike, extra_card: dict, seed: int = 0, **options) -> tuple[Path, dict]:
    """Scores trained `models` on dev through their serving graph, then exports it with the scores.

    Returns:
        (export path, dev report).
    """
    task = get_task(task)
    Path(workdir).mkdir(parents=True, exist_ok=True)
    module = task.serving_module(models, data, workdir, **options)
    report, entries = task.score(module, data, name=name, workdir=workdir, seed=seed, **options)
    card = {"model": name, "data": data.info, **entries, **extra_card}
    return export_module(task, module, card, base_dir=export_dir, name=name), report


def export_module(task: str | Task, module, card: dict, *, base_dir: str | os.PathLike, name: str) -> Path:
    """Exports a task's serving graph as the next version of `base_dir/name` (see `zoo.export.export_serving_module`)."""
    from zoo.export import export_serving_module

    task = get_task(task)
    card = {"task": task.name, "signatures": task.signatures, **task.card(module), **card}
    return export_serving_module(module, task.serving_signatures(module), card, base_dir=base_dir, name=name,
                                 models=task.traced_models(module))


def load_export(task: str | Task, export: str | os.PathLike) -> tuple[Path, dict]:
    """(export folder, model card) of an export of `task`; `ZooError` for another task's export."""
    from zoo.export import read_card, resolve_export

    task = get_task(task)
    export = resolve_export(export)
    card = read_card(export)
    if card.get("task") != task.name:
        raise ZooError(f"{export}: a {card.get('task')!r} model, not {task.noun}")
    return export, card


def evaluate_export(task: str | Task, export: str | os.PathLike, data_spec: str,
                    out_dir: str | os.PathLike | None = None, **options) -> tuple[dict, Path]:
    """Scores an export on labelled data; writes `report.json` (and the task's `picture`) into `out_dir`.

    Returns:
        (report, the report folder: `out_dir`, by default reports/NAME_vVERSION).
    """
    from zoo.serving import load

    task = get_task(task)
    export, card = load_export(task, export)
    data = task.read_labelled(data_spec, card, **options)
    report = task.score_export(load(export), card, data)
    report.update({"export": str(export), "data": data_spec})
    out_dir = Path(out_dir or Path("reports") / f"{card['name']}_v{card.get('version')}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    if task.picture:
        task.draw(report, data, out_dir / task.picture, title=f"{card['name']} v{card.get('version')} on {data_spec}")
    return report, out_dir


def _describe(learning_rate) -> Any:
    if isinstance(learning_rate, (int, float)):
        return learning_rate
    return {"schedule": type(learning_rate).__name__, **learning_rate.get_config()}


def get_task(task: str | Task) -> Task:
    from zoo.tasks import get_task as lookup

    return task if isinstance(task, Task) else lookup(task)
