"""The `zoo` command line. Every subcommand has `--help`; user errors print one line and exit 2."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

# Before TensorFlow loads: keep its C++ start-up chatter (e.g. "no CUDA drivers") off the screen.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EXPORT_HELP = "an export folder (saved_models/NAME/VERSION) or a model folder (its newest version is used)"
DATA_HELP = "FORMAT:PATH with FORMAT one of conll2003, gmb, tsv (token<TAB>tag); .gz files are read as they are"


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
    from zoo.registry import build, get_spec, list_models

    print(f"{'name':<20}{'task':<8}{'parameters':>12}  description")
    for name in list_models():
        spec = get_spec(name)
        model = build(name, **spec.example_sizes)
        print(f"{name:<20}{spec.task:<8}{model.count_params():>12,}  {spec.description}")
    print("(parameters: default config with the example sizes that `zoo info NAME` shows)")


def cmd_info(args) -> None:
    from zoo.registry import build, get_spec

    spec = get_spec(args.name)
    config = spec.config(args.preset, **spec.example_sizes)
    print(f"name:        {spec.name}\ntask:        {spec.task}\ninputs:      {', '.join(spec.inputs)}")
    print(f"description: {spec.description}")
    print(f"required:    {', '.join(spec.required)} (set from the data; example values: {spec.example_sizes})")
    print(f"presets:     {json.dumps(spec.presets)}")
    print(f"search space: {'yes (zoo tune ' + spec.name + ')' if spec.search_space else 'none'}")
    print(f"config{' (preset ' + args.preset + ')' if args.preset else ' (defaults)'}:\n{json.dumps(config, indent=2)}")
    model = build(spec.name, **config)
    print(f"\n{'layer':<32}{'type':<22}{'output shape':<28}{'params':>10}")
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", "?")
        print(f"{layer.name:<32}{type(layer).__name__:<22}{str(shape):<28}{layer.count_params():>10,}")
    print(f"total parameters: {model.count_params():,}")


def _ner_data(args):
    from zoo.tasks.ner import prepare_ner_data, read_ner_data

    train, dev, info = read_ner_data(args.data, args.dev)
    return prepare_ner_data(train, dev, batch_size=args.batch_size, seed=args.seed, min_count=args.min_count,
                            max_vocab=args.max_vocab, info=info)


def _print_dev(report: dict, path: Path) -> None:
    from zoo.tasks.ner import format_report

    print(format_report(report))
    print(f"exported: {path}")


def _train_ner(args) -> None:
    from zoo.tasks.ner import train_ner

    data = _ner_data(args)
    workdir = _workdir(args, args.name)
    print(f"workdir: {workdir} (resume an interrupted run with --workdir {workdir})")
    path, report = train_ner(
        args.name, data, epochs=args.epochs, workdir=workdir, export_dir=args.export_dir, preset=args.preset,
        config=_config_overrides(args.set), learning_rate=args.learning_rate, patience=args.patience, seed=args.seed,
    )
    print(f"training curves: {workdir / 'training_curves.png'}; TensorBoard: tensorboard --logdir {workdir / 'logs'}")
    _print_dev(report, path)


def _tune_ner(args) -> None:
    from zoo.tasks.ner import tune_ner

    data = _ner_data(args)
    workdir = _workdir(args, args.name)
    directory = Path(args.directory)
    print(f"tuner state: {directory / args.name} (run the same command again to resume the search)")
    path, report, best = tune_ner(
        args.name, data, algorithm=args.tuner, max_trials=args.max_trials, max_epochs=args.max_epochs,
        directory=directory, export_dir=args.export_dir, workdir=workdir, seed=args.seed,
    )
    print(f"best hyperparameters: {json.dumps(best)}")
    _print_dev(report, path)


def _evaluate_ner(args) -> None:
    from zoo.tasks.ner import evaluate_export, format_report

    report, out_dir = evaluate_export(args.export, args.data, args.out)
    print(format_report(report))
    print(f"report: {out_dir / 'report.json'}\nconfusion matrix: {out_dir / 'confusion_matrix.png'}")


def _predict_ner(args) -> None:
    from zoo.tasks.ner import predict_texts

    results = predict_texts(args.export, args.inputs)
    if args.json:
        print(json.dumps([[{"token": t, "tag": g, "score": round(s, 4)} for t, g, s in r] for r in results], indent=2))
        return
    for text, result in zip(args.inputs, results):
        print(text)
        for token, tag, score in result:
            print(f"  {token:<20}{tag:<10}{score:.3f}")


# Each task plugs its commands in here; `train`/`tune` dispatch on the model's task and
# `evaluate`/`predict` on the task recorded in the export's model card.
TASK_COMMANDS = {
    "ner": {"train": _train_ner, "tune": _tune_ner, "evaluate": _evaluate_ner, "predict": _predict_ner},
}


def _task_command(task: str, command: str):
    try:
        return TASK_COMMANDS[task][command]
    except KeyError:
        raise _user_error(f"`zoo {command}` does not support {task!r} models yet") from None


def cmd_train(args) -> None:
    from zoo.registry import get_spec

    _task_command(get_spec(args.name).task, "train")(args)  # an unknown name fails before any data is read


def cmd_tune(args) -> None:
    from zoo.registry import get_spec

    _task_command(get_spec(args.name).task, "tune")(args)


def _export_task(export) -> str:
    from zoo.export import read_card, resolve_export

    return read_card(resolve_export(export)).get("task", "")


def cmd_evaluate(args) -> None:
    _task_command(_export_task(args.export), "evaluate")(args)


def cmd_predict(args) -> None:
    _task_command(_export_task(args.export), "predict")(args)


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


def build_parser() -> argparse.ArgumentParser:
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
    p.add_argument("--preset", help="a named partial config of the model (see `zoo info NAME`)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config value, e.g. --set lstm_units=256")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    p.add_argument("--patience", type=int, default=3, help="epochs without dev improvement before stopping")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tune", help="search hyperparameters with keras-tuner and export the best model",
                       description="Search the model's declared space; rerunning the command resumes the search.")
    _add_training_options(p)
    p.add_argument("--tuner", choices=["hyperband", "random", "bayesian"], default="hyperband", help="search algorithm")
    p.add_argument("--max-trials", type=int, default=10, help="trials for random and bayesian search")
    p.add_argument("--max-epochs", type=int, default=10, help="epochs per trial (hyperband's largest budget)")
    p.add_argument("--directory", default="tuning", help="where the tuner keeps its state (default ./tuning)")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("evaluate", help="score an export on a labelled file",
                       description="Token accuracy (padding masked), strict IOB2 entity P/R/F1 per type (seqeval), "
                                   "a confusion-matrix PNG and a JSON report.")
    p.add_argument("export", help=EXPORT_HELP)
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--out", help="report folder (default reports/NAME_vVERSION)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="tag sentences with an export", description="Tokens of each sentence with their tags.")
    p.add_argument("export", help=EXPORT_HELP)
    p.add_argument("inputs", nargs="+", help="raw sentences for taggers (one argument each)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
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
