"""The `zoo` command line. Every subcommand has `--help`; user errors print one line and exit 2."""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import sys
from pathlib import Path

# Before TensorFlow loads: keep its C++ start-up chatter (e.g. "no CUDA drivers") off the screen.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EXPORT_HELP = "an export folder (saved_models/NAME/VERSION) or a model folder (its newest version is used)"
DATA_HELP = ("FORMAT:PATH with FORMAT one of conll2003, gmb, tsv (token<TAB>tag), or text (plain text, for language "
             "models; data options via --set level=char|word mode=windows|sentences window=N); .gz files are read as they are")
DATA_HELP += ("; sentiment: tweets[/train|dev|test]:POS_CSV,NEG_CSV (NLTK twitter_samples export, fixed 80/10/10 "
              "split, seed 0) or sst2[/train|dev]:TSV (GLUE SST-2; train/dev: the leak-free split of a train file)")
DATA_HELP += ("; images: mnist:DIR, idx:IMAGES,LABELS, cifar10:DIR or folder:DIR (one subfolder per class)")
DATA_HELP += ("; siamese: quora:TSV (is_duplicate, question1, question2, id), mrpc:TXT, sick:TXT or stsb:CSV "
              "pair files (without --dev, 10%% of --data is held out with no question on both sides)")


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

    print(f"{'name':<20}{'task':<16}{'parameters':>12}  description")
    for name in list_models():
        spec = get_spec(name)
        model = build(name, **spec.example_sizes)
        print(f"{name:<20}{spec.task:<16}{model.count_params():>12,}  {spec.description}")
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


# The picture each task's `evaluate_export` draws into its report folder (language models draw none).
EVALUATION_PICTURES = {"ner": "confusion_matrix.png", "image": "confusion_matrix.png",
                       "sentiment": "confusion_matrix.png", "siamese": "similarity_histograms.png"}


def _evaluate(args, task: str, **options) -> None:
    """`zoo evaluate` for a task: its module's `evaluate_export`, then the report and where it was written."""
    import importlib

    module = importlib.import_module(f"zoo.tasks.{task}")
    report, out_dir = module.evaluate_export(args.export, args.data, args.out, **options)
    print(module.format_report(report))
    print(f"report: {out_dir / 'report.json'}")
    if task in EVALUATION_PICTURES:
        picture = EVALUATION_PICTURES[task]
        print(f"{picture[:-4].replace('_', ' ')}: {out_dir / picture}")


def _print_result(task: str, report: dict, path: Path) -> None:
    """A classifier's dev/validation report (its task module's `format_report`) and where it was exported."""
    import importlib

    print(importlib.import_module(f"zoo.tasks.{task}").format_report(report))
    print(f"exported: {path}")


def _vector_options(args) -> dict:
    """`--word-vectors` and `--vectors-vocab` (only `zoo train` has them) as data-preparation arguments."""
    return {"word_vectors": getattr(args, "word_vectors", None), "vectors_vocab": getattr(args, "vectors_vocab", 0)}


def _print_vectors(info: dict) -> None:
    if "word_vectors" in info:
        vectors = info["word_vectors"]
        print(f"word vectors: {vectors['covered']:,} of {vectors['vocab_size'] - 2:,} vocabulary words "
              f"({vectors['coverage']:.1%}) from {vectors['path']}")


def _ner_data(args):
    from zoo.tasks.ner import prepare_ner_data, read_ner_data

    train, dev, info = read_ner_data(args.data, args.dev, scheme=args.data_scheme)
    return prepare_ner_data(train, dev, model=args.name, scheme=args.tag_scheme, batch_size=args.batch_size,
                            seed=args.seed, min_count=args.min_count, max_vocab=args.max_vocab,
                            max_length=args.max_length, info=info, singleton_unk=args.singleton_unk,
                            word_dropout=args.word_dropout, **_vector_options(args))


def _train_ner(args) -> None:
    from zoo.tasks.ner import train_ner

    config = _config_overrides(args.set)  # a bad option fails before the data is read
    data = _ner_data(args)
    workdir = _workdir(args, args.name)
    print(f"workdir: {workdir} (resume an interrupted run with --workdir {workdir})")
    path, report = train_ner(
        args.name, data, epochs=args.epochs, workdir=workdir, export_dir=args.export_dir, preset=args.preset,
        config=config, learning_rate=args.learning_rate, lr_decay=args.lr_decay, clipnorm=args.clipnorm,
        patience=args.patience, freeze_embeddings=args.freeze_embeddings, seed=args.seed,
    )
    _print_vectors(data.info)
    print(f"training curves: {workdir / 'training_curves.png'}; TensorBoard: tensorboard --logdir {workdir / 'logs'}")
    _print_result("ner", report, path)


def _tune(args, tune_fn, data, **options) -> tuple[Path, dict]:
    """Runs a task's `tune_fn` with the `zoo tune` options; prints where the search lives and what won.

    Args:
        args: the parsed `zoo tune` arguments.
        tune_fn: a task's `tune_*(name, data, ...) -> (export path, report, best hyperparameters)`.
        data: the task's prepared data.
        **options: task-specific keyword arguments (config, workdir, ...).

    Returns:
        (export path, report).
    """
    directory = Path(args.directory)
    print(f"tuner state: {directory / args.name} (run the same command again to resume the search)")
    path, report, best = tune_fn(
        args.name, data, algorithm=args.tuner, max_trials=args.max_trials, max_epochs=args.max_epochs,
        directory=directory, export_dir=args.export_dir, preset=args.preset, seed=args.seed, **options,
    )
    print(f"best hyperparameters: {json.dumps(best)}")
    return path, report


def _tune_ner(args) -> None:
    from zoo.tasks.ner import tune_ner

    config = _config_overrides(args.set)  # a bad option fails before the data is read
    path, report = _tune(args, tune_ner, _ner_data(args), config=config, workdir=_workdir(args, args.name))
    _print_result("ner", report, path)


def _evaluate_ner(args) -> None:
    _evaluate(args, "ner", scheme=args.data_scheme)


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


def _image_data(args, config: dict):
    from zoo.tasks.image import model_input_shape, prepare_image_data, read_image_data

    train, val, info = read_image_data(args.data, args.dev)
    return prepare_image_data(train, val, input_shape=model_input_shape(args.name, train, config),
                              batch_size=args.batch_size, seed=args.seed, info=info, **info["augmentation"])


def _train_image(args) -> None:
    from zoo.tasks.image import train_image

    config = _config_overrides(args.set)
    data = _image_data(args, config)
    workdir = _workdir(args, args.name)
    print(f"workdir: {workdir} (resume an interrupted run with --workdir {workdir})")
    path, report = train_image(
        args.name, data, epochs=args.epochs, workdir=workdir, export_dir=args.export_dir, preset=args.preset,
        config=config, learning_rate=args.learning_rate, patience=args.patience, seed=args.seed,
    )
    print(f"pictures: {workdir}/{{training_curves,confusion_matrix,filters,activations}}.png; "
          f"TensorBoard: tensorboard --logdir {workdir / 'logs'}")
    _print_result("image", report, path)


def _tune_image(args) -> None:
    from zoo.tasks.image import tune_image

    config = _config_overrides(args.set)
    workdir = _workdir(args, args.name)
    path, report = _tune(args, tune_image, _image_data(args, config), config=config, workdir=workdir)
    print(f"pictures of the best model: {workdir}/{{confusion_matrix,filters,activations}}.png")
    _print_result("image", report, path)


def _predict_image(args) -> None:
    from zoo.tasks.image import predict_files

    results = predict_files(args.export, args.inputs)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        others = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in result["top"][1:])
        print(f"{result['path']}: {result['class']} ({result['probability']:.3f}; then {others})")


def _lm_data(args, data_options: dict):
    from zoo.tasks.language_model import prepare_lm_data, read_lm_data

    train, val, info = read_lm_data(args.data, args.dev)
    return prepare_lm_data(train, val, batch_size=args.batch_size, min_count=args.min_count, max_vocab=args.max_vocab,
                           seed=args.seed, info=info, **data_options)


def _print_lm_result(report: dict, path: Path) -> None:
    print(f"validation: {report['val_loss']:.4f} nats per token, perplexity {report['val_perplexity']:.3f}")
    print(f"sample: {report['sample']!r}")
    print(f"exported: {path}")


def _train_language_model(args) -> None:
    from zoo.tasks.language_model import split_options, train_language_model

    config, data_options, training = split_options(_config_overrides(args.set))
    data = _lm_data(args, data_options)
    workdir = _workdir(args, args.name)
    print(f"workdir: {workdir} (resume an interrupted run with --workdir {workdir})")
    path, report = train_language_model(
        args.name, data, epochs=args.epochs, workdir=workdir, export_dir=args.export_dir, preset=args.preset,
        config=config, learning_rate=args.learning_rate, patience=args.patience, seed=args.seed, **training,
    )
    print(f"training curves: {workdir / 'training_curves.png'}; TensorBoard: tensorboard --logdir {workdir / 'logs'}")
    _print_lm_result(report, path)


def _tune_language_model(args) -> None:
    from zoo.tasks.language_model import split_options, tune_language_model

    config, data_options, training = split_options(_config_overrides(args.set))
    path, report = _tune(args, tune_language_model, _lm_data(args, data_options), config=config, **training)
    _print_lm_result(report, path)


def _predict_language_model(args) -> None:
    from zoo.tasks.language_model import generate_texts

    texts = generate_texts(args.export, args.inputs, steps=args.steps, temperature=args.temperature,
                           top_k=args.top_k, seed=args.seed)
    if args.json:
        print(json.dumps([{"prompt": p, "continuation": t} for p, t in zip(args.inputs, texts)], indent=2))
        return
    for prompt, text in zip(args.inputs, texts):
        print(prompt + text)


def _sentiment_data(args):
    from zoo.tasks.sentiment import prepare_sentiment_data, read_sentiment_data

    train, dev, info = read_sentiment_data(args.data, args.dev)
    return prepare_sentiment_data(train, dev, batch_size=args.batch_size, seed=args.seed, min_count=args.min_count,
                                  max_vocab=args.max_vocab, info=info, **_vector_options(args))


def _train_sentiment(args) -> None:
    from zoo.tasks.sentiment import train_sentiment

    config = _config_overrides(args.set)  # a bad option fails before the data is read
    data = _sentiment_data(args)
    workdir = _workdir(args, args.name)
    print(f"workdir: {workdir} (resume an interrupted run with --workdir {workdir})")
    path, report = train_sentiment(
        args.name, data, epochs=args.epochs, workdir=workdir, export_dir=args.export_dir, preset=args.preset,
        config=config, learning_rate=args.learning_rate, patience=args.patience,
        freeze_embeddings=args.freeze_embeddings, seed=args.seed,
    )
    _print_vectors(data.info)
    print(f"pictures: {workdir}/{{training_curves,confusion_matrix}}.png; "
          f"TensorBoard: tensorboard --logdir {workdir / 'logs'}")
    _print_result("sentiment", report, path)


def _tune_sentiment(args) -> None:
    from zoo.tasks.sentiment import tune_sentiment

    config = _config_overrides(args.set)
    workdir = _workdir(args, args.name)
    path, report = _tune(args, tune_sentiment, _sentiment_data(args), config=config, workdir=workdir)
    print(f"dev confusion matrix of the best model: {workdir}/confusion_matrix.png")
    _print_result("sentiment", report, path)


def _predict_sentiment(args) -> None:
    from zoo.tasks.sentiment import predict_texts

    results = predict_texts(args.export, args.inputs)
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    for result in results:
        probabilities = ", ".join(f"{name} {p:.3f}" for name, p in result["probabilities"].items())
        print(f"{result['label']:<10}({probabilities})  {result['text']}")


def _siamese_data(args):
    from zoo.tasks.siamese import default_text_ids, prepare_siamese_data, read_siamese_data

    train, dev, info = read_siamese_data([args.data], args.dev, extra_specs=args.extra or (), dev_fraction=0.1,
                                         seed=args.seed)
    return prepare_siamese_data(train, dev, text_ids=default_text_ids(args.name), batch_size=args.batch_size,
                                seed=args.seed, min_count=args.min_count, max_vocab=args.max_vocab, info=info)


def _print_siamese_result(report: dict, path: Path) -> None:
    from zoo.tasks.siamese import format_report

    print(format_report(report))
    print(f"exported: {path} (tau {report['calibrated']['tau']:.3f} in its model card)")


def _train_siamese(args) -> None:
    from zoo.tasks.siamese import train_siamese

    config = _config_overrides(args.set)  # a bad option fails before the data is read
    data = _siamese_data(args)
    workdir = _workdir(args, args.name)
    print(f"workdir: {workdir} (resume an interrupted run with --workdir {workdir})")
    path, report = train_siamese(
        args.name, data, epochs=args.epochs, workdir=workdir, export_dir=args.export_dir, preset=args.preset,
        config=config, learning_rate=args.learning_rate, margin=args.margin, objective=args.threshold_objective,
        patience=args.patience, members=args.members, seed=args.seed,
    )
    print(f"pictures: {workdir}/{{training_curves,similarity_histograms}}.png; "
          f"TensorBoard: tensorboard --logdir {workdir / 'logs'}")
    _print_siamese_result(report, path)


def _tune_siamese(args) -> None:
    from zoo.tasks.siamese import tune_siamese

    config = _config_overrides(args.set)
    workdir = _workdir(args, args.name)
    path, report = _tune(args, tune_siamese, _siamese_data(args), config=config, workdir=workdir, margin=args.margin,
                         objective=args.threshold_objective)
    print(f"dev similarity histograms of the best model: {workdir}/similarity_histograms.png")
    _print_siamese_result(report, path)


def _predict_siamese(args) -> None:
    from zoo.tasks.siamese import predict_pairs

    if len(args.inputs) % 2:
        raise _user_error(f"Siamese models compare pairs: give TEXT_A TEXT_B (an even number of texts). "
                          f"Received: {len(args.inputs)} texts")
    results = predict_pairs(args.export, args.inputs[0::2], args.inputs[1::2])
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    for r in results:
        verdict = "duplicate" if r["is_duplicate"] else "different"
        note = f"  ({r['note']})" if "note" in r else ""
        print(f"{verdict:<10}similarity {r['similarity']:.3f} (tau {r['tau']:.3f}){note}\n  a: {r['text_a']}\n  b: {r['text_b']}")


# Each task plugs its commands in here; `train`/`tune` dispatch on the model's task and
# `evaluate`/`predict` on the task recorded in the export's model card.
TASK_COMMANDS = {
    "ner": {"train": _train_ner, "tune": _tune_ner, "evaluate": _evaluate_ner, "predict": _predict_ner},
    "image": {"train": _train_image, "tune": _tune_image, "evaluate": functools.partial(_evaluate, task="image"),
              "predict": _predict_image},
    "sentiment": {"train": _train_sentiment, "tune": _tune_sentiment,
                  "evaluate": functools.partial(_evaluate, task="sentiment"), "predict": _predict_sentiment},
    "language_model": {"train": _train_language_model, "tune": _tune_language_model,
                       "evaluate": functools.partial(_evaluate, task="language_model"),
                       "predict": _predict_language_model},
    "siamese": {"train": _train_siamese, "tune": _tune_siamese, "evaluate": functools.partial(_evaluate, task="siamese"),
                "predict": _predict_siamese},
}


def _task_command(task: str, command: str):
    try:
        return TASK_COMMANDS[task][command]
    except KeyError:
        supported = sorted(name for name, commands in TASK_COMMANDS.items() if command in commands)
        raise _user_error(f"`zoo {command}` does not support {task!r} models yet; it supports "
                          f"{', '.join(supported)} models") from None


def cmd_train(args) -> None:
    from zoo.registry import get_spec

    task = get_spec(args.name).task  # an unknown name fails before any data is read
    if task not in ("ner", "sentiment") and (args.word_vectors or args.freeze_embeddings or args.vectors_vocab):
        raise _user_error(f"--word-vectors, --vectors-vocab and --freeze-embeddings are for NER and sentiment "
                          f"models; {args.name!r} is a {task!r} model")
    _task_command(task, "train")(args)


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
    parser.add_argument("--data-scheme", choices=["iob1", "iob2", "iobes"],
                        help="tag scheme of the files when not their format's own (conll2003: iob1, others: iob2)")
    parser.add_argument("--tag-scheme", choices=["iob2", "iobes"], default="iob2",
                        help="NER: tags the model learns (outputs are always IOB2; default iob2)")
    parser.add_argument("--max-length", type=int, default=250,
                        help="NER: training sentences longer than this many tokens are split (default 250)")
    parser.add_argument("--singleton-unk", type=float, default=0.0, metavar="P",
                        help="NER: training shows words seen once as <UNK> with probability P (Lample et al.: 0.5)")
    parser.add_argument("--word-dropout", type=float, default=0.0, metavar="P",
                        help="NER: training shows every other word as <UNK> with probability P (default 0)")
    parser.add_argument("--batch-size", type=int, default=64, help="examples per batch (default 64)")
    parser.add_argument("--min-count", type=int, default=1, help="drop words seen fewer times from the vocabulary")
    parser.add_argument("--max-vocab", type=int, help="cap on the vocabulary size, <PAD> and <UNK> included")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling (default 0)")
    parser.add_argument("--workdir", help="checkpoints, logs, curves; the same workdir resumes a run (default runs/NAME-TIME)")
    parser.add_argument("--export-dir", default="saved_models", help="export base; writes EXPORT_DIR/NAME/VERSION")


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="a named partial config of the model (see `zoo info NAME`)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override a config value, e.g. --set lstm_units=256 (language models: also data options "
                             "level, mode, window and training options clip, clip_threshold, top_k)")


def _add_siamese_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extra", action="append", metavar="FORMAT:PATH",
                        help="Siamese: duplicates from another pair file join training (mrpc, sick, stsb, quora; "
                             "label 1 or score >= 4); repeatable")
    parser.add_argument("--margin", type=float, default=0.25, help="Siamese: triplet-loss margin (default 0.25)")
    parser.add_argument("--threshold-objective", choices=["accuracy", "f1"], default="accuracy",
                        help="Siamese: what the dev-calibrated threshold tau maximises (default accuracy)")


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
    _add_config_options(p)
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    p.add_argument("--lr-decay", type=float, default=0.0,
                   help="NER: learning rate / (1 + decay * epoch), stepwise (default 0: constant)")
    p.add_argument("--clipnorm", type=float, default=5.0, help="NER: gradient clipping by global norm (default 5)")
    p.add_argument("--patience", type=int, default=3, help="epochs without dev improvement before stopping")
    _add_siamese_options(p)
    p.add_argument("--word-vectors", metavar="PATH|NAME",
                   help="NER, sentiment: start the word embedding from pretrained vectors (GloVe, word2vec or fastText "
                        "text format, .gz ok; or glove-6b-50d from the `glove` extra; embedding_dim becomes theirs)")
    p.add_argument("--vectors-vocab", type=int, default=0, metavar="N",
                   help="NER, sentiment: also add the vectors file's first N words to the vocabulary (default 0)")
    p.add_argument("--freeze-embeddings", action="store_true",
                   help="NER, sentiment: keep the pretrained vectors fixed instead of fine-tuning them")
    p.add_argument("--members", type=int, default=1,
                   help="Siamese: train N encoders (seeds SEED, SEED+1, ...) and export them as one ensemble")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tune", help="search hyperparameters with keras-tuner and export the best model",
                       description="Search the model's declared space (NER: dev entity F1; images: validation "
                                   "accuracy; sentiment: dev accuracy; Siamese: dev ROC AUC; language models: validation "
                                   "loss); rerunning the command resumes the search. --preset and --set fix keys the "
                                   "space does not search.")
    _add_training_options(p)
    _add_config_options(p)
    p.add_argument("--tuner", choices=["hyperband", "random", "bayesian"], default="hyperband", help="search algorithm")
    p.add_argument("--max-trials", type=int, default=10, help="trials for random and bayesian search")
    p.add_argument("--max-epochs", type=int, default=10, help="epochs per trial (hyperband's largest budget)")
    p.add_argument("--directory", default="tuning", help="where the tuner keeps its state (default ./tuning)")
    _add_siamese_options(p)
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("evaluate", help="score an export on a labelled file",
                       description="Token accuracy (padding masked), strict IOB2 entity P/R/F1 per type (seqeval), "
                                   "a confusion-matrix PNG and a JSON report.")
    p.add_argument("export", help=EXPORT_HELP)
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--data-scheme", choices=["iob1", "iob2", "iobes"],
                   help="tag scheme of the file when not its format's own (conll2003: iob1, others: iob2)")
    p.add_argument("--out", help="report folder (default reports/NAME_vVERSION)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="run an export on inputs",
                       description="Taggers: sentences -> tokens with tags; image classifiers: image files -> "
                                   "classes; language models: prompts -> text; Siamese models: two texts -> "
                                   "similarity.")
    p.add_argument("export", help=EXPORT_HELP)
    p.add_argument("inputs", nargs="+", help="raw sentences for taggers, prompts for language models (one argument each); "
                   "for Siamese models, pairs: TEXT_A TEXT_B [TEXT_A TEXT_B ...]")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--steps", type=int, default=200, help="language models: tokens to generate (default 200)")
    p.add_argument("--temperature", type=float, default=0.8, help="language models: sampling temperature, 0 = greedy")
    p.add_argument("--top-k", type=int, default=0, help="language models: sample among the k likeliest tokens (0 = all)")
    p.add_argument("--seed", type=int, help="language models: sampling seed (default: random)")
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
