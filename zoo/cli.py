"""The `zoo` command line. Every subcommand has `--help`; user errors print one line and exit 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from zoo import __version__, distribute  # argparse only, so `zoo --help` stays fast
from zoo.cli_types import Parser, config_overrides, positive_int, utf8_text, workdir_of
from zoo.errors import DataError, ZooError
from zoo.tasks.arguments import DATA_HELP, TRAINING_DATA_HELP

# Before TensorFlow loads: keep its C++ start-up chatter (e.g. "no CUDA drivers") off the screen.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EXPORT_HELP = "an export folder (saved_models/NAME/VERSION) or a model folder (its newest version is used)"


# ----------------------------------------------------------------------------- commands


def cmd_list(args) -> None:
    from zoo.registry import models_table

    print(models_table(params=args.params))


def cmd_info(args) -> None:
    from zoo.registry import describe_model

    print(describe_model(args.name, preset=args.preset))


def _task(task: str, command: str):
    """The registered task of a model or export; `ZooError` naming the tasks `zoo COMMAND` supports."""
    from zoo.tasks import TASKS, get_task

    if task not in TASKS:
        raise ZooError(f"`zoo {command}` does not support {task!r} models yet; it supports "
                       f"{', '.join(sorted(TASKS))} models")
    return get_task(task)


def _model_task(args, command: str):
    from zoo.registry import get_spec

    return _task(get_spec(args.name).task, command)  # an unknown name fails before any data is read


def _data(task, args) -> tuple:
    """(prepared data, model config, task options) from the `zoo train` / `zoo tune` arguments."""
    from zoo.registry import get_spec

    config = config_overrides(args.set)
    # An unknown preset or key, or a bad value, fails before the data is read.
    get_spec(args.name).config(args.preset, **{k: v for k, v in config.items() if k not in task.set_options})
    data, config, options = task.read_data(args, config)
    for note in data.info.get("notes", ()):  # what the data left out (stray files, ...), said once
        print(note)
    return data, config, {**{k: getattr(args, k) for k in task.options if hasattr(args, k)}, **options}


def _print_result(task, report: dict, path: Path) -> None:
    """A dev report (the task's `format_result`) and where the model was exported."""
    print(task.format_result(report))
    print(f"exported: {path}{task.export_note(report)}")


def cmd_train(args) -> None:
    from zoo.tasks.loops import train

    task = _model_task(args, "train")
    members = getattr(args, "members", 1)
    if args.refit and not task.refits:
        raise ZooError(f"--refit is for NER and Siamese models: {args.name!r} is a {task.name!r} model")
    if args.refit and args.strategy == "multiworker":
        raise ZooError("--refit works with --strategy none or mirrored: a cluster's workers stop at the first export")
    run = distribute.train_options(args)  # before the data: logical CPUs are set before TensorFlow starts
    vectors = [getattr(args, k, None) for k in ("word_vectors", "freeze_embeddings", "vectors_vocab")]
    if not task.word_vectors and any(vectors):
        raise ZooError(f"--word-vectors, --vectors-vocab and --freeze-embeddings are for NER, sentiment and Siamese "
                       f"models; {args.name!r} is a {task.name!r} model")
    data, config, options = _data(task, args)
    workdir = workdir_of(args.workdir, args.name)
    print(f"workdir: {workdir} (resume an interrupted run with --workdir {workdir})")
    shared = dict(export_dir=args.export_dir, preset=args.preset, config=config, learning_rate=args.learning_rate,
                  seed=args.seed, **run, **options)
    result = train(task, args.name, data, epochs=args.epochs, workdir=workdir, patience=args.patience,
                   members=members, **shared)
    if result is None:  # a multi-worker task other than the chief
        return
    path, report = result
    print(task.training_note(data, workdir))
    _print_result(task, report, path)
    if args.refit:
        from zoo.tasks.loops import refit

        data, _, _ = task.read_data_with_dev(args, config)
        result = refit(task, args.name, data, path, workdir=Path(workdir) / "refit", **shared)
        if result is not None:
            print(f"exported: {result[0]} (trained on train + dev; its card keeps the dev figures above, from {path})")


def cmd_tune(args) -> None:
    from zoo.tasks.loops import tune

    task = _model_task(args, "tune")
    search = distribute.tune_options(args)  # a bad --chief/--worker fails before the data is read
    data, config, options = _data(task, args)
    workdir = workdir_of(args.workdir, args.name)
    directory = Path(args.directory)
    print(f"tuner state: {directory / args.name} (run the same command again to resume the search)")
    result = tune(task, args.name, data, workdir=workdir, export_dir=args.export_dir, config=config,
                  directory=directory, algorithm=args.tuner, max_trials=args.max_trials,
                  max_epochs=args.max_epochs, preset=args.preset, seed=args.seed, **search, **options)
    if result is None:  # a worker of a distributed search
        return
    path, report, best = result
    print(f"best hyperparameters: {json.dumps(best)}")
    if task.tuned_pictures:
        print(task.tuned_pictures.format(workdir=workdir))
    _print_result(task, report, path)


def _export_task(args, command: str):
    from zoo.export import read_card, resolve_export

    return _task(read_card(resolve_export(args.export)).get("task", ""), command)


def _task_options(args, *shared: str) -> dict:
    """The options of `zoo evaluate` / `zoo predict` that the tasks added (`zoo.tasks.arguments`)."""
    return {k: v for k, v in vars(args).items() if k not in {"command", "func", *shared}}


def cmd_evaluate(args) -> None:
    from zoo.tasks.loops import evaluate_export

    task = _export_task(args, "evaluate")
    report, out_dir = evaluate_export(task, args.export, args.data, args.out, **_task_options(args, "export", "data", "out"))
    print(task.format_report(report))
    print(f"report: {out_dir / 'report.json'}")
    if task.picture:
        print(f"{task.picture[:-4].replace('_', ' ')}: {out_dir / task.picture}")


def cmd_predict(args) -> None:
    task = _export_task(args, "predict")
    results = task.predict(args.export, args.inputs, **_task_options(args, "export", "inputs", "json"))
    print(task.format_predictions(args.inputs, results, as_json=args.json))


def cmd_rest(args) -> int:
    from zoo.serving import load, read_request, rest_predict

    request = read_request(args.request)  # a missing or non-UTF-8 body fails before the export loads
    response = rest_predict(load(args.export), request)
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return 2 if "error" in response else 0  # TF Serving's HTTP 400: a bad request, exit 2 like every user error


def cmd_quickstart(args) -> None:
    from zoo.quickstart import quickstart

    quickstart(export_dir=args.export_dir, workdir=workdir_of(args.workdir, "quickstart"), epochs=args.epochs, seed=args.seed)


# ----------------------------------------------------------------------------- parser


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a registered model name (see `zoo list`)")
    parser.add_argument("--data", required=True, help=f"training data: {TRAINING_DATA_HELP}")
    parser.add_argument("--dev", help="development data (same forms as --data); default: the last 10%% of --data")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="examples per batch (default 64)")
    parser.add_argument("--min-count", type=positive_int, default=1, help="drop rarer words (default 1)")
    parser.add_argument("--max-vocab", type=positive_int, help="cap on the vocabulary size, <PAD> and <UNK> included")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling (default 0)")
    parser.add_argument("--workdir", help="checkpoints, logs, curves; the same workdir resumes a run (default runs/NAME-TIME)")
    parser.add_argument("--export-dir", default="saved_models",
                        help="export base; writes EXPORT_DIR/NAME/VERSION (default saved_models)")
    parser.add_argument("--preset", help="a named partial config of the model (see `zoo info NAME`)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a config value, e.g. --set lstm_units=256 (language models: also data options "
                             "level, mode, window and training options clip, clip_threshold, top_k)")


def build_parser() -> argparse.ArgumentParser:
    from zoo.tasks import add_task_arguments  # argparse only, so `zoo --help` stays fast

    parser = Parser(prog="zoo", description="Train, evaluate, tune and export named Keras models.")
    parser.add_argument("--version", action="version", version=f"zoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="the registered models", description="The registered models with task and description.")
    p.add_argument("--params", action="store_true", help="also count each model's parameters (builds every model: slower)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="a model's spec, config and layer shapes",
                       description="A model's spec, its config and the output shape of every layer.")
    p.add_argument("name", help="a registered model name")
    p.add_argument("--preset", help="show a preset's config instead of the defaults (e.g. tiny)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", help="train a model and export it",
                       description="Train a registered model on labelled files and export a SavedModel version.")
    _add_training_options(p)
    p.add_argument("--epochs", type=positive_int, default=10, help="most epochs; early stopping may end sooner (default 10)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    p.add_argument("--patience", type=int, default=3, help="epochs without dev improvement before stopping (default 3)")
    p.add_argument("--refit", action="store_true",
                   help="NER, Siamese: after the export, train again from scratch on --data plus --dev for the "
                        "epochs dev chose and export that model too (its card keeps the first model's dev figures; "
                        "Siamese: and its tau)")
    add_task_arguments(p, "train")
    distribute.add_arguments(p, "train")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tune", help="search hyperparameters with keras-tuner and export the best model",
                       description="Search the model's declared space (NER: dev entity F1; images: validation "
                                   "accuracy; sentiment: dev accuracy; Siamese: dev ROC AUC; language models: validation "
                                   "loss; translation, captioning: validation perplexity); rerunning the command "
                                   "resumes the search. --preset and --set fix keys the space does not search.")
    _add_training_options(p)
    p.add_argument("--tuner", choices=["hyperband", "random", "bayesian"], default="hyperband", help="search algorithm (default hyperband)")
    p.add_argument("--max-trials", type=positive_int, default=10, help="trials for random and bayesian search (default 10)")
    p.add_argument("--max-epochs", type=positive_int, default=10, help="epochs per trial, hyperband's largest budget (default 10)")
    p.add_argument("--directory", default="tuning", help="where the tuner keeps its state (default ./tuning)")
    add_task_arguments(p, "tune")
    distribute.add_arguments(p, "tune")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("evaluate", help="score an export on a labelled file",
                       description="Scores an export with its task's metrics (NER: masked token accuracy and strict "
                                   "IOB2 entity P/R/F1 per type; classifiers: accuracy, per-class P/R and a confusion-matrix "
                                   "PNG; language models: perplexity; Siamese: ROC AUC and accuracy at tau; translators: "
                                   "sacreBLEU BLEU and chrF with signatures; captioners: BLEU-1..4) into a JSON report.")
    p.add_argument("export", help=EXPORT_HELP)
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--out", help="report folder (default reports/NAME_vVERSION)")
    add_task_arguments(p, "evaluate")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="run an export on inputs",
                       description="Taggers: sentences -> tokens with tags; image classifiers: image files -> "
                                   "classes; language models: prompts -> text; Siamese models: two texts -> "
                                   "similarity; translators: sentences -> translations; captioners: image "
                                   "files -> captions.")
    p.add_argument("export", help=EXPORT_HELP)
    p.add_argument("inputs", nargs="+", type=utf8_text,
                   help="raw sentences for taggers and translators, prompts for language models, image files for "
                        "image classifiers and captioners (one argument each); for Siamese models, pairs: TEXT_A TEXT_B ...")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_task_arguments(p, "predict")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("rest", help="answer a TF Serving REST predict request locally",
                       description="Reads a TF Serving :predict request body ({\"instances\": ...} or {\"inputs\": ...}, "
                                   "optional signature_name) and prints the response the ModelServer would send.")
    p.add_argument("export", help=EXPORT_HELP)
    p.add_argument("request", help="a JSON file, or - for standard input")
    p.set_defaults(func=cmd_rest)

    p = sub.add_parser("quickstart", help="train and serve a tagger on the built-in synthetic corpus",
                       description="Generates the synthetic NER corpus, trains bilstm_ner, exports it, loads the export "
                                   "and tags a sentence. Needs no data and no network.")
    p.add_argument("--epochs", type=positive_int, default=6, help="training epochs (default 6)")
    p.add_argument("--seed", type=int, default=0, help="seed for the corpus, weights and shuffling")
    p.add_argument("--workdir", help="checkpoints and logs (default runs/quickstart-TIME)")
    p.add_argument("--export-dir", default="saved_models", help="export base (default saved_models)")
    p.set_defaults(func=cmd_quickstart)

    from zoo.ngram_cli import add_ngram_parser  # argparse only, so `zoo --help` stays fast

    add_ngram_parser(sub)
    from zoo.deploy.cli import add_serving_config_parser  # argparse only

    add_serving_config_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 ok, 2 user error)."""
    args = build_parser().parse_args(argv)
    from zoo.registry import UnknownModelError

    try:
        status = args.func(args)
    except (ZooError, DataError, UnknownModelError) as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
