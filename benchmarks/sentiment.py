"""Sentiment accuracy on the NLTK tweets and on SST-2, for `sentiment_dnn`, `sentiment_cnn` and `sentiment_birnn`.

Run from the repository root (about half an hour on 2 shared cores):

    .venv/bin/python -m benchmarks.sentiment

and the SST-2 setting the README ships (GloVe 6B 50d from the `glove` extra; each model trained with
seeds 0-2 and exported as one ensemble; about 35 minutes on 2 shared cores):

    .venv/bin/python -m benchmarks.sentiment --datasets sst2 --word-vectors glove-6b-50d --members 3

Tweets: the fixed 80/10/10 split (seed 0) of the 10,000 tweets; models are chosen and stopped
on dev and scored once on test. Target: test accuracy >= 0.995 (the course network, measured
by the issue's author: 0.983).

SST-2: the official dev set is held out of this repository. Dev is the leak-free split of the
train file (`pipelines.sentiment.sst2_leak_free_split`: 5% of the whole sentences, seed 0, and
no training phrase inside them); the benchmark also measures how much a random 5% split of the
phrases would leak. Target: >= 0.85 on the official dev set, scored independently (the course
network: 0.797); pass `--sst2-official-dev dev.tsv` to score it here too.

Every model is exported (to `--export-dir`/tweets and /sst2), and the figures come from the
exported `serving_default` signature, raw strings in. Writes `sentiment.json` and `sentiment.md`
to `--out` and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path

from benchmarks.reporting import machine_info, write_results
from zoo.cli_types import config_overrides

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "../shared/datasets"
DEFAULT_OUT = ROOT / "benchmarks/results"
# Configurations chosen on the dev splits (see benchmarks/README.md for the runs behind them).
MODELS = {
    "tweets": {
        "sentiment_dnn": {"embedding_dim": 64, "hidden_units": [64], "dropout": 0.0},
        "sentiment_cnn": {"embedding_dim": 64, "filters": 32, "kernel_sizes": [1, 2, 3], "dropout": 0.25},
        "sentiment_birnn": {"embedding_dim": 64, "units": 32, "cell": "gru", "pooling": "max", "hidden_units": [],
                            "dropout": 0.25},
    },
    "sst2": {
        "sentiment_dnn": {"embedding_dim": 64, "hidden_units": [64], "dropout": 0.25},
        "sentiment_cnn": {"embedding_dim": 300, "filters": 100, "kernel_sizes": [3, 4, 5], "dropout": 0.5},
        "sentiment_birnn": {"embedding_dim": 300, "units": 128, "cell": "lstm", "pooling": "max", "hidden_units": [],
                            "dropout": 0.5},
    },
}
# With --word-vectors the embedding takes the vectors' size, or at least this one where dev chose a
# wider embedding: the vectors fill its first columns and the rest is learned (2026-12-06:
# sentiment_birnn, 6 seeds, mean dev accuracy 0.8382 at 128 against 0.8251 at GloVe's 50; benchmarks/README.md).
MIN_EMBEDDING_WITH_VECTORS = {"sentiment_birnn": 128}
TRAINING = {"tweets": {"epochs": 10, "patience": 2, "batch_size": 32, "num_buckets": 1},
            "sst2": {"epochs": 4, "patience": 2, "batch_size": 64, "num_buckets": 8}}
TARGETS = {"tweets": 0.995, "sst2": 0.85}
COURSE = {"tweets": 0.983, "sst2": 0.797}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sentiment", description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", default=f"{DATASETS}/twitter_samples/positive_tweets.csv.gz,"
                                            f"{DATASETS}/twitter_samples/negative_tweets.csv.gz",
                        help="POS_CSV,NEG_CSV of the NLTK twitter_samples export")
    parser.add_argument("--sst2", type=Path, default=DATASETS / "sst2/train.tsv.gz", help="GLUE SST-2 train.tsv(.gz)")
    parser.add_argument("--sst2-official-dev", type=Path, help="GLUE SST-2 dev.tsv, scored when given")
    parser.add_argument("--word-vectors", metavar="PATH|NAME",
                        help="SST-2 models start from these pretrained vectors (GloVe/word2vec text, or glove-6b-50d "
                             "from the `glove` extra; embedding_dim "
                             "becomes theirs, or a larger --set embedding_dim=N adds learned dimensions); results "
                             "go to sentiment_word_vectors.json/.md")
    parser.add_argument("--vectors-vocab", type=int, default=100000,
                        help="with --word-vectors: the file's first N words join the vocabulary (default 100000)")
    parser.add_argument("--datasets", nargs="+", choices=["tweets", "sst2"], default=["tweets", "sst2"])
    parser.add_argument("--models", nargs="+", choices=list(MODELS["sst2"]), default=list(MODELS["sst2"]))
    parser.add_argument("--seed", type=int, default=0, help="weights and shuffling (the splits are fixed)")
    parser.add_argument("--members", type=int, default=1,
                        help="train each model N times (seeds SEED, SEED+1, ...) and export the N as one ensemble "
                             "that averages their probabilities; results get an _ensembleN suffix (default 1)")
    parser.add_argument("--epochs", type=int, help="most epochs per model (default: tweets 10, sst2 4)")
    parser.add_argument("--freeze-embeddings", action="store_true",
                        help="with --word-vectors: keep the pretrained vectors fixed while the rest trains")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="SST-2 model config override, for every model in --models (e.g. units=256)")
    parser.add_argument("--name", help="results file name suffix (sentiment[_word_vectors]_<name>.json/.md), "
                                       "for variants")
    parser.add_argument("--export-dir", type=Path, default=ROOT / "saved_models")
    parser.add_argument("--workdir", type=Path, default=ROOT / "runs" / "benchmark_sentiment")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.freeze_embeddings and not args.word_vectors:
        parser.error("--freeze-embeddings keeps pretrained vectors fixed: give --word-vectors too")
    return args


def training_settings(args) -> dict:
    """`TRAINING` with `--epochs`, when given, as every dataset's most epochs."""
    return {name: {**settings, **({"epochs": args.epochs} if args.epochs else {})} for name, settings in TRAINING.items()}


def random_split_leak(texts, *, fraction: float = 0.05, seed: int = 0) -> float:
    """Share of a random `fraction` of SST-2 phrases found word for word inside a remaining phrase."""
    import numpy as np

    from pipelines.sentiment import fixed_split, inside_any

    train, dev = fixed_split(len(texts), fractions=(1 - fraction, fraction), seed=seed)
    return float(np.mean(inside_any([texts[i] for i in dev], [texts[i] for i in train])))


def ngram_baseline(train, dev) -> dict:
    """Dev accuracy of a logistic regression on binary word 1-2-gram counts (scikit-learn, benchmark only).

    The bag-of-n-grams reference point for the neural models on the same split; C = 1 and
    bigrams were chosen on the SST-2 dev among C in {1, 4, 16} and n in {2, 3}.
    """
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(ngram_range=(1, 2), token_pattern=r"\S+", binary=True)
    model = LogisticRegression(C=1.0, max_iter=2000).fit(vectorizer.fit_transform(train.texts), train.labels)
    predicted = model.predict(vectorizer.transform(dev.texts))
    return {"model": "logistic regression, binary word 1-2-grams, C=1",
            "dev_accuracy": round(float(np.mean(predicted == np.array(dev.labels))), 4),
            "dev_errors": int(np.sum(predicted != np.array(dev.labels)))}


def run_dataset(name: str, args) -> tuple[list[dict], dict]:
    from pipelines.sentiment import read_sentiment
    from zoo.serving import load
    from zoo.tasks.sentiment import prepare_sentiment_data, read_sentiment_data, score, train_sentiment

    spec = f"tweets:{args.tweets}" if name == "tweets" else f"sst2:{args.sst2}"
    train, dev, info = read_sentiment_data(spec)
    training = training_settings(args)[name]
    vectors = {"word_vectors": args.word_vectors, "vectors_vocab": args.vectors_vocab} if (
        name == "sst2" and args.word_vectors) else {}
    data = prepare_sentiment_data(train, dev, batch_size=training["batch_size"], num_buckets=training["num_buckets"],
                                  seed=args.seed, info=info, **vectors)
    held_out = {}
    if name == "tweets":
        held_out["test"] = read_sentiment(f"tweets/test:{args.tweets}")
    elif args.sst2_official_dev:
        held_out["official_dev"] = read_sentiment(f"sst2:{args.sst2_official_dev}")
    data_info = {**data.info}
    if name == "sst2":
        from pipelines.sentiment import SPLIT_SEED, sst2_leak_free_split

        data_info["split"] = sst2_leak_free_split(read_sentiment(spec).texts, seed=SPLIT_SEED)[2]
        data_info["random_5pct_dev_inside_train"] = round(random_split_leak(read_sentiment(spec).texts), 4)
    data_info["ngram_baseline"] = ngram_baseline(train, dev)
    rows = []
    for model in args.models:
        print(f"{name}: training {model} on {len(train):,} texts, dev {len(dev):,}", flush=True)
        started = time.perf_counter()
        config = {k: v for k, v in MODELS[name][model].items() if not (vectors and k == "embedding_dim")}
        if vectors and model in MIN_EMBEDDING_WITH_VECTORS:
            config["embedding_dim"] = max(MIN_EMBEDDING_WITH_VECTORS[model], data.embeddings.shape[1])
        if name == "sst2":
            config.update(config_overrides(args.set))
        path, dev_report = train_sentiment(
            model, data, epochs=training["epochs"], patience=training["patience"], config=config,
            workdir=args.workdir / name / model, export_dir=args.export_dir / name, seed=args.seed, members=args.members,
            freeze_embeddings=bool(vectors) and args.freeze_embeddings, verbose=2)
        card = json.loads((path / "model_card.json").read_text())
        serve = load(path).signatures["serving_default"]
        row = {"dataset": name, "model": model, "config": config,
               "parameters": card["training"]["parameters"],
               "freeze_embeddings": card["training"]["freeze_embeddings"], "epochs_run": card["training"]["epochs_run"],
               "train_seconds": card["training"]["seconds"], "total_seconds": round(time.perf_counter() - started, 1),
               "dev_accuracy": round(dev_report["accuracy"], 4), "dev_errors": dev_report["errors"], "export": str(path)}
        if "members" in card["training"]:  # an ensemble: each member's own best dev accuracy (Keras's, same dev)
            row["members_dev_accuracy"] = [m["best_val_accuracy"] for m in card["training"]["members"]]
            row["members_epochs_run"] = [m["epochs_run"] for m in card["training"]["members"]]
        for split, texts in held_out.items():
            report = score(serve, texts)
            row[f"{split}_accuracy"] = round(report["accuracy"], 4)
            row[f"{split}_errors"] = report["errors"]
            row[f"{split}_confusion"] = report["confusion"]["matrix"]
        print(row, flush=True)
        rows.append(row)
    return rows, data_info


def main(argv=None) -> dict:
    args = parse_args(argv)

    started = time.perf_counter()
    rows, data = [], {}
    for name in args.datasets:
        dataset_rows, data[name] = run_dataset(name, args)
        rows += dataset_rows
    result = {
        "benchmark": "sentiment",
        "command": " ".join(["python -m benchmarks.sentiment", *(shlex.quote(a) for a in (argv or sys.argv[1:]))]),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "training": training_settings(args), "targets": TARGETS, "course_network_quoted": COURSE, "data": data, "rows": rows,
        "total_minutes": round((time.perf_counter() - started) / 60, 1),
    }
    name = ("sentiment_word_vectors" if args.word_vectors else "sentiment") + (
        f"_ensemble{args.members}" if args.members > 1 else "") + (f"_{args.name}" if args.name else "")
    write_results(args.out, name, result, format_markdown(result))
    return result


def format_markdown(r: dict) -> str:
    lines = [
        "# Sentiment benchmark", "", f"`{r['command']}`", "",
        f"{r['date']}; {r['machine']['cpus']} CPUs shared with other jobs (load average "
        f"{r['machine']['load_average'][0]:.1f} at the end); TensorFlow {r['machine']['tensorflow']}. "
        "Accuracy through the exported `serving_default` (raw strings in).", "",
        "| data | model | parameters | epochs | train s | dev accuracy | held-out accuracy | target | met? |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in r["rows"]:
        name = row["dataset"]
        held = next((f"{row[k]:.4f} ({k[:-9].replace('_', ' ')}, {_errors(row[k[:-9] + '_errors'])})"
                     for k in ("test_accuracy", "official_dev_accuracy") if k in row), "not available here")
        measured = row.get("test_accuracy", row.get("official_dev_accuracy"))
        met = "-" if measured is None else ("yes" if measured >= r["targets"][name] else "**no**")
        if measured is None and name == "sst2":
            met = "yes (dev)" if row["dev_accuracy"] >= r["targets"][name] else "**no** (dev)"
        lines.append(f"| {name} | {row['model']} | {row['parameters']:,} | {row['epochs_run']} | {row['train_seconds']:.0f} | "
                     f"{row['dev_accuracy']:.4f} ({_errors(row['dev_errors'])}) | {held} | >= {r['targets'][name]} | {met} |")
    for row in r["rows"]:
        if "members_dev_accuracy" in row:
            lines += ["", f"{row['dataset']} {row['model']}: an ensemble of {len(row['members_dev_accuracy'])} "
                      "(probabilities averaged); each member's best dev accuracy alone: "
                      + ", ".join(f"{a:.4f}" for a in row["members_dev_accuracy"]) + "."]
    lines += ["", "Course network, measured by the issue's author: "
              + "; ".join(f"{k} {v}" for k, v in r["course_network_quoted"].items()) + "."]
    if "sst2" in r["data"]:
        split = r["data"]["sst2"]["split"]
        lines += [
            f"SST-2 dev: {split['dev_sentences']} whole sentences of {split['whole_sentences']:,} (5%, seed 0); "
            f"{split['dropped_phrases']:,} of {split['phrases']:,} training phrases dropped because a dev sentence "
            f"contains them. A random 5% of the phrases would have had "
            f"{r['data']['sst2']['random_5pct_dev_inside_train']:.1%} of its dev phrases inside a training phrase "
            "(the issue measured 88.7%). The official dev set is scored independently."]
    baselines = [f"{name} {d['ngram_baseline']['dev_accuracy']:.4f} ({_errors(d['ngram_baseline']['dev_errors'])})"
                 for name, d in r["data"].items() if "ngram_baseline" in d]
    if baselines:
        lines += ["", "Bag-of-n-grams baseline on the same dev splits (logistic regression on binary word 1-2-grams, "
                  "scikit-learn): " + "; ".join(baselines) + "."]
    for name, d in r["data"].items():
        if "word_vectors" in d:
            v = d["word_vectors"]
            lines += ["", f"{name} models start from pretrained vectors {v['path']} ({v['dim']} dimensions): "
                      f"{v['covered']:,} of {v['vocab_size'] - 2:,} vocabulary words covered ({v['coverage']:.1%})."]
    lines += ["", "Configurations: " + "; ".join(
        f"{row['dataset']} {row['model']} {json.dumps(row['config'])}"
        + (" (pretrained vectors frozen)" if row.get("freeze_embeddings") else "") for row in r["rows"]) + ".", ""]
    return "\n".join(lines)


def _errors(count: int) -> str:
    return f"{count} error{'' if count == 1 else 's'}"


if __name__ == "__main__":
    main()
