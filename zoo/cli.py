"""The `zoo` command line. Every subcommand has `--help`; user errors print one line and exit 2."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

from zoo.tasks.arguments import DATA_HELP  # argparse only, so `zoo --help` stays fast

# Before TensorFlow loads: keep its C++ start-up chatter (e.g. "no CUDA drivers") off the screen.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EXPORT_HELP = "an export folder (saved_models/NAME/VERSION) or a model folder (its newest version is used)"

def _workdir(args, name: str) -> Path:
    if args.workdir:
        return Path(args.workdir)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{name}-{stamp}"


def _config_overrides(pairs: list[str]) -> dict:
    config = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise _user_error(f"--set expects KEY=VALUE. Received: {pair!r}")
        try:
            config[key] = json.loads(value)
        except json.JSONDecodeError:
            config[key] = value
    return config


def _user_error(message: str):
    from zoo.errors import ZooError

    return ZooError(message)


# ----------------------------------------------------------------------------- commands


def cmd_list(args) -> None:
    from zoo.registry import models_table

    print(models_table())


def cmd_info(args) -> None:
    from zoo.registry import describe_model

    print(describe_model(args.name, preset=args.preset))


def _task(task: str, command: str):
    """The registered task of a model or export; `ZooError` naming the tasks `zoo COMMAND` supports."""
    from zoo.tasks import TASKS, get_task

    if task not in TASKS:
        raise _user_error(f"`zoo {command}` does not support {task!r} models yet; it supports "
                          f"{', '.join(sorted(TASKS))} models")
    return get_task(task)


def _model_task(args, command: str):
    from zoo.registry import get_spec

    return _task(get_spec(args.name).task, command)  # an unknown name fails before any data is read


def _data(task, args) -> tuple:
    """(prepared data, model config, task options) from the `zoo train` / `zoo tune` arguments."""
    config = _config_overrides(args.set)  # a bad option fails before the data is read
    data, config, options = task.read_data(args, config)
    return data, config, {**{k: getattr(args, k) for k in task.options if hasattr(args, k)}, **options}


def _print_result(task, report: dict, path: Path) -> None:
    """A dev report (the task's `format_result`) and where the model was exported."""
    print(task.format_result(report))
    print(f"exported: {path}{task.export_note(report)}")


def cmd_train(args) -> None:
    from zoo.tasks.base import train

    task = _model_task(args, "train")
    vectors = [getattr(args, k, None) for k in ("word_vectors", "freeze_embeddings", "vectors_vocab")]
    if not task.word_vectors and any(vectors):
        raise _user_error(f"--word-vectors, --vectors-vocab and --freeze-embeddings are for NER and sentiment "
                          f"models; {args.name!r} is a {task.name!r} model")
    data, config, options = _data(task, args)
    workdir = _workdir(args, args.name)
    print(f"workdir: {workdir} (resume an interrupted run with --workdir {workdir})")
    path, report = train(task, args.name, data, epochs=args.epochs, workdir=workdir, export_dir=args.export_dir,
                         preset=args.preset, config=config, learning_rate=args.learning_rate, patience=args.patience,
                         members=getattr(args, "members", 1), seed=args.seed, **options)
    if "word_vectors" in data.info:
        vectors = data.info["word_vectors"]
        print(f"word vectors: {vectors['covered']:,} of {vectors['vocab_size'] - 2:,} vocabulary words "
              f"({vectors['coverage']:.1%}) from {vectors['path']}")
    pictures = task.train_pictures
    shown = (f"training curves: {workdir / 'training_curves.png'}" if len(pictures) == 1
             else f"pictures: {workdir}/{{{','.join(pictures)}}}.png")
    print(f"{shown}; TensorBoard: tensorboard --logdir {workdir / 'logs'}")
    _print_result(task, report, path)


def cmd_tune(args) -> None:
    from zoo.tasks.base import tune

    task = _model_task(args, "tune")
    data, config, options = _data(task, args)
    workdir = _workdir(args, args.name)
    directory = Path(args.directory)
    print(f"tuner state: {directory / args.name} (run the same command again to resume the search)")
    path, report, best = tune(task, args.name, data, workdir=workdir, export_dir=args.export_dir, config=config,
                              directory=directory, algorithm=args.tuner, max_trials=args.max_trials,
                              max_epochs=args.max_epochs, preset=args.preset, seed=args.seed, **options)
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
    from zoo.tasks.base import evaluate_export

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


def cmd_rest(args) -> None:
    from zoo.serving import load, rest_predict

    request = sys.stdin.read() if args.request == "-" else Path(args.request).read_text(encoding="utf-8")
    response = rest_predict(load(args.export), request)
    print(json.dumps(response, indent=2, ensure_ascii=False))
    if "error" in response:
        raise SystemExit(1)


def cmd_quickstart(args) -> None:
    from zoo.quickstart import quickstart

    quickstart(export_dir=args.export_dir, workdir=_workdir(args, "quickstart"), epochs=args.epochs, seed=args.seed)


# ----------------------------------------------------------------------------- parser


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a registered model name (see `zoo list`)")
    parser.add_argument("--data", required=True, help=f"training data: {DATA_HELP}")
    parser.add_argument("--dev", help="development data (same forms as --data); default: the last 10%% of --data")
    parser.add_argument("--batch-size", type=int, default=64, help="examples per batch (default 64)")
    parser.add_argument("--min-count", type=int, default=1, help="drop words seen fewer times from the vocabulary")
    parser.add_argument("--max-vocab", type=int, help="cap on the vocabulary size, <PAD> and <UNK> included")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling (default 0)")
    parser.add_argument("--workdir", help="checkpoints, logs, curves; the same workdir resumes a run (default runs/NAME-TIME)")
    parser.add_argument("--export-dir", default="saved_models", help="export base; writes EXPORT_DIR/NAME/VERSION")
    parser.add_argument("--preset", help="a named partial config of the model (see `zoo info NAME`)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a config value, e.g. --set lstm_units=256 (language models: also data options "
                             "level, mode, window and training options clip, clip_threshold, top_k)")


def build_parser() -> argparse.ArgumentParser:
    from zoo.tasks import add_task_arguments  # argparse only, so `zoo --help` stays fast

    parser = argparse.ArgumentParser(prog="zoo", description="Train, evaluate, tune and export named Keras models.")
    parser.add_argument("--version", action="version", version=f"zoo {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="the registered models", description="The registered models with task and parameter count.")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="a model's spec, config and layer shapes",
                       description="A model's spec, its config and the output shape of every layer.")
    p.add_argument("name", help="a registered model name")
    p.add_argument("--preset", help="show a preset's config instead of the defaults (e.g. tiny)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", help="train a model and export it",
                       description="Train a registered model on labelled files and export a SavedModel version.")
    _add_training_options(p)
    p.add_argument("--epochs", type=int, default=10, help="maximum epochs (early stopping may end sooner)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    p.add_argument("--patience", type=int, default=3, help="epochs without dev improvement before stopping")
    add_task_arguments(p, "train")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tune", help="search hyperparameters with keras-tuner and export the best model",
                       description="Search the model's declared space (NER: dev entity F1; images: validation "
                                   "accuracy; sentiment: dev accuracy; Siamese: dev ROC AUC; language models: validation "
                                   "loss); rerunning the command resumes the search. --preset and --set fix keys the "
                                   "space does not search.")
    _add_training_options(p)
    p.add_argument("--tuner", choices=["hyperband", "random", "bayesian"], default="hyperband", help="search algorithm")
    p.add_argument("--max-trials", type=int, default=10, help="trials for random and bayesian search")
    p.add_argument("--max-epochs", type=int, default=10, help="epochs per trial (hyperband's largest budget)")
    p.add_argument("--directory", default="tuning", help="where the tuner keeps its state (default ./tuning)")
    add_task_arguments(p, "tune")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("evaluate", help="score an export on a labelled file",
                       description="Token accuracy (padding masked), strict IOB2 entity P/R/F1 per type (seqeval), "
                                   "a confusion-matrix PNG and a JSON report.")
    p.add_argument("export", help=EXPORT_HELP)
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--out", help="report folder (default reports/NAME_vVERSION)")
    add_task_arguments(p, "evaluate")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="run an export on inputs",
                       description="Taggers: sentences -> tokens with tags; image classifiers: image files -> "
                                   "classes; language models: prompts -> text; Siamese models: two texts -> "
                                   "similarity.")
    p.add_argument("export", help=EXPORT_HELP)
    p.add_argument("inputs", nargs="+", help="raw sentences for taggers, prompts for language models (one argument each); "
                   "for Siamese models, pairs: TEXT_A TEXT_B [TEXT_A TEXT_B ...]")
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
    p.add_argument("--epochs", type=int, default=6, help="training epochs (default 6)")
    p.add_argument("--seed", type=int, default=0, help="seed for the corpus, weights and shuffling")
    p.add_argument("--workdir", help="checkpoints and logs (default runs/quickstart-TIME)")
    p.add_argument("--export-dir", default="saved_models", help="export base (default saved_models)")
    p.set_defaults(func=cmd_quickstart)

    from zoo.ngram_cli import add_ngram_parser  # argparse only, so `zoo --help` stays fast

    add_ngram_parser(sub)
    from zoo.deploy.cli import add_serving_config_parser  # argparse only
    add_serving_config_parser(sub)
    return parser


def _version() -> str:
    from zoo import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 ok, 2 user error)."""
    args = build_parser().parse_args(argv)
    from pipelines.errors import DataError
    from zoo.errors import ZooError
    from zoo.registry import UnknownModelError

    try:
        args.func(args)
    except (ZooError, DataError, UnknownModelError) as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
