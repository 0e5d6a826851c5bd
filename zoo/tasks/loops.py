"""The one train / tune / export / evaluate loop, shared by every task (`zoo.tasks.base.Task` hooks).

`train`, `tune`, `export_and_score` and `evaluate_export` are the only training, search, export
and evaluation loops, so a cross-cutting change (a distribution strategy in the fit call, warm-up
requests beside the export, a check before training) is made once, here or in `zoo.export`.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Sequence

from zoo.errors import ZooError
from zoo.tasks.base import Task, get_task

def _options(task: Task, options: dict) -> dict:
    unknown = sorted(set(options) - set(task.options))
    if unknown:
        raise TypeError(f"Unknown {task.name} option. Received: {unknown[0]}={options[unknown[0]]!r}; "
                        f"allowed: {sorted(task.options)}")
    return {**task.options, **options}


def check_training(task: Task, *, epochs: int, members: int, export_dir: str | os.PathLike | None = None) -> None:
    """Checks that must pass before any training starts (`export_dir`: that an export can be written there)."""
    from zoo.export import check_export_dir_writable

    if epochs < 1:
        raise ZooError(f"epochs must be at least 1: an untrained model is never exported. Received: epochs={epochs}")
    if members < 1:
        raise ZooError(f"members must be at least 1. Received: members={members}")
    if members > 1 and not task.ensembles:
        raise ZooError(f"{task.name!r} models do not train as ensembles. Received: members={members}")
    if export_dir is not None:
        check_export_dir_writable(export_dir)


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
    strategy=None,
    jit_compile: bool = False,
    data_service: str | None = None,
    monitor: tuple[str, str] | None = None,
    extra_card: dict | None = None,
    **options,
) -> tuple[Path, dict] | None:
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
        strategy: a `tf.distribute` strategy (`zoo.distribute.make_strategy`) whose scope builds the
            model; under `MultiWorkerMirroredStrategy` the model trains with `fit_multiworker`.
        jit_compile: XLA-compile the train step.
        data_service: `HOST:PORT` of a tf.data service dispatcher that runs the training pipeline.
        monitor: (metric, "min" or "max") that picks the epoch kept, instead of the task's dev metric
            (`refit` keeps the lowest training loss: its dev data is trained on).
        extra_card: entries that replace the export card's own (`refit`: the dev metrics of the first run).
        **options: the task's own options (`task.options`).

    Returns:
        (export path, dev report); None on a multi-worker task other than the chief, which exports.
    """
    import keras

    from zoo.distribute import check_export_float32, fit_model, strategy_scope, with_float32_outputs
    from zoo.export import ExportError
    from zoo.training import mark_trained, trained_history

    task = get_task(task)
    task.check_model(name)
    options = _options(task, options)
    # Only the process that exports checks the export folder: a multi-worker task other than the chief writes none.
    exports = strategy is None or strategy.extended.should_checkpoint
    check_training(task, epochs=epochs, members=members, export_dir=export_dir if exports else None)
    task.check_options(data, **options)
    data = _served(data, data_service)
    monitor, mode = monitor or (task.monitor, task.mode)
    models, runs, card_config = [], [], None
    started = time.perf_counter()
    for member in range(members):
        keras.utils.set_random_seed(seed + member)
        with strategy_scope(strategy):
            model, card_config = task.build(name, data, preset=preset, config=dict(config or {}), **options)
            model = with_float32_outputs(model)  # a mixed-precision model's losses and exports stay float32
            task.compile(model, learning_rate=learning_rate, data=data, epochs=epochs, **options)
        if jit_compile:
            model.jit_compile = True  # what compile(jit_compile=True) sets, for every task's compile
        member_dir = Path(workdir) / f"member_{member}" if members > 1 else workdir
        run = {"model": name, "config": card_config, "epochs": epochs, "patience": patience, "seed": seed + member,
               "learning_rate": _describe(learning_rate), "options": options}
        history, cluster = trained_history(member_dir, model, run), None  # a rerun of a finished run: no training
        if history is None:
            history, cluster = fit_model(strategy, model, data.train_ds, data.dev_ds, epochs=epochs, workdir=member_dir,
                                         monitor=monitor, mode=mode, patience=patience, verbose=verbose,
                                         jit_compile=jit_compile,
                                         callbacks=[*task.callbacks(data, workdir, model, **options), *callbacks])
        if cluster is not None and not cluster.is_chief:
            print(f"{cluster.task_type} {cluster.task_index}: training done; the chief ({cluster.chief}) exports")
            return None
        task.check_trained(model, **options)
        mark_trained(member_dir, run, history)  # only a model fit to export is picked up by a rerun
        models.append(model)
        runs.append({"seed": seed + member, "epochs_run": len(history.get("loss", [])), "history": history})
    training = {"epochs_run": runs[0]["epochs_run"], "learning_rate": _describe(learning_rate), "seed": seed,
                "seconds": round(time.perf_counter() - started, 1), "history": runs[0]["history"],
                **task.training_card(models, runs, epochs=epochs, **options)}
    if members > 1:  # each member's best dev figure alone, beside the ensemble's
        best = max if mode == "max" else min
        training["members"] = [{**run, f"best_{monitor}": round(best(run["history"].get(monitor) or [math.nan]), 4)}
                               for run in runs]
    try:
        path, report = export_and_score(task, models, data, name=name, export_dir=export_dir, workdir=workdir,
                                        seed=seed, extra_card={"config": card_config, "training": training,
                                                               **(extra_card or {})}, **options)
    except ExportError as error:  # the folder went read-only or the disk filled while training: keep the work
        raise ExportError(f"{error}. The trained weights are kept in {workdir}: run the same command again with "
                          f"--workdir {workdir} to export them without training again") from error
    check_export_float32(path)
    return path, report


def best_epochs(history: dict, monitor: str, mode: str) -> int:
    """How many epochs a run trained up to its best `monitor` value (the epoch its export kept)."""
    values = history.get(monitor) or []
    finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
    if not finite:
        raise ZooError(f"the run recorded no {monitor} to choose the epochs from")
    # The first of equal best values, as early stopping keeps it.
    best = max(finite, key=lambda pair: (pair[0], -pair[1])) if mode == "max" else min(finite)
    return best[1] + 1


def refit(task: str | Task, name: str, data, first: Path, *, workdir: str | os.PathLike, **train_options) -> tuple[Path, dict]:
    """Trains `name` again from scratch on train + dev (`data`, from `Task.read_data_with_dev`) for the
    epochs that the run exported at `first` chose on dev, and exports it as the next version.

    The new model keeps the epoch of lowest training loss (dev cannot choose any more), in practice the last.
    Its card records `refit` and carries the first run's dev `metrics`: the only held-out estimate.
    An ensemble is refit as one too, as many members with the same seeds, each for the median of
    the members' best epochs (one count for all: `train` trains every member alike).
    `train_options`: as `train`'s, the first run's.
    """
    import statistics

    from zoo.export import read_card

    task = get_task(task)
    if not task.refits:
        raise ZooError(f"{task.name!r} models cannot be refit on train + dev")
    card = read_card(first)
    runs = card["training"].get("members") or [card["training"]]
    chosen = [best_epochs(run["history"], task.monitor, task.mode) for run in runs]
    epochs = int(statistics.median_low(chosen))
    extra = {"metrics": card.get("metrics", {}),
             "refit": {"epochs": epochs, "chosen_on": card["data"].get("dev"), "first_export": str(first),
                       **({"member_epochs": chosen} if len(runs) > 1 else {}),
                       "note": "trained on train + dev for the epochs dev chose; metrics are the first export's, "
                               "on dev before dev was trained on"}}
    trained_on = data.info.get("train", "train + dev")
    trained_on = " + ".join(trained_on) if isinstance(trained_on, list) else trained_on
    print(f"refit: training again from scratch on {trained_on} for {epochs} epochs "
          f"(the best on dev in {first}" + (f": the median of its members' {chosen})" if len(runs) > 1 else ")"))
    train_options = {**train_options, **task.refit_options(card), "epochs": epochs, "patience": epochs,
                     "members": len(runs)}
    return train(task, name, data, workdir=workdir, monitor=("loss", "min"), extra_card=extra, **train_options)


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
    environment: dict | None = None,
    chief_timeout: float | None = None,
    data_service: str | None = None,
    **options,
) -> tuple[Path, dict, dict] | None:
    """Searches a model's space on `task.monitor` and exports the best model, scored like `train`'s.

    Args:
        workdir: the best model's dev pictures.
        config: fixes keys the space does not search.
        directory, algorithm, max_trials, max_epochs, preset, seed, verbose, chief_timeout: see
            `zoo.tuning.run_search`; the same directory resumes the search.
        environment: `KERASTUNER_*` variables set for the search (`zoo.distributed_tuning.tuner_environment`:
            the chief or a worker of a distributed search); keras-tuner also reads them from the process.
        data_service: `HOST:PORT` of a tf.data service dispatcher that runs the trials' training pipeline.
        **options: the task's own options (`task.options`), fixed for every trial.

    Returns:
        (export path, dev report, best hyperparameters); None on a worker of a distributed search,
        whose chief exports.
    """
    import functools

    import keras_tuner as kt

    from zoo import distributed_tuning
    from zoo.export import check_export_dir_writable
    from zoo.tuning import run_search

    task = get_task(task)
    task.check_model(name)
    options = _options(task, options)
    task.check_options(data, tuning=True, **options)
    check_export_dir_writable(export_dir)  # before the search, not after it (a failed export: rerun, trials are kept)
    workdir = Path(workdir or ".")
    with distributed_tuning.environment(environment or {}):
        if not distributed_tuning.is_chief():  # the chief runs no trial
            data = _served(data, data_service)
        result = run_search(
            name, {**(config or {}), **task.sizes(data)}, functools.partial(task.compile, data=data, **options),
            data.train_ds, data.dev_ds, objective=kt.Objective(task.monitor, task.mode),
            callbacks=task.callbacks(data, workdir, **options), directory=directory, algorithm=algorithm,
            max_trials=max_trials, max_epochs=max_epochs, preset=preset, seed=seed, verbose=verbose,
            chief_timeout=distributed_tuning.CHIEF_WAIT_S if chief_timeout is None else chief_timeout,
        )
        if result is None:
            print(f"worker {os.environ[distributed_tuning.ENV_ID]}: trials done; the chief exports the best model")
            return None
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
                                 models=task.traced_models(module), warmup=task.example_inputs())


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


def _served(data, address: str | None):
    """`data` with its training pipeline run by the tf.data service at `address` (None: `data` itself)."""
    if not address:
        return data
    from zoo.data_service import distribute_dataset

    data = copy.copy(data)
    data.train_ds = distribute_dataset(data.train_ds, address)
    return data


def _describe(learning_rate) -> Any:
    if isinstance(learning_rate, (int, float)):
        return learning_rate
    return {"schedule": type(learning_rate).__name__, **learning_rate.get_config()}
