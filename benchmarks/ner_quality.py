"""NER quality benchmark: strict entity F1 and token accuracy over several seeds, with time and size.

    .venv/bin/python -m benchmarks.ner_quality --dataset conll2003 --seeds 0 1 2
    .venv/bin/python -m benchmarks.ner_quality --dataset gmb --seeds 0 1 2
    .venv/bin/python -m benchmarks.ner_quality --dataset conll2003 --seeds 0 1 2 --epochs 15 --patience 3 \\
        --word-vectors glove-6b-50d --vectors-vocab 100000 --singleton-unk 0.5 --name glove_unk

`--word-vectors` starts the word embedding from pretrained vectors (a file, or `glove-6b-50d` from
the `glove` extra), `--singleton-unk P` shows training words seen once as `<UNK>` with
probability P, `--word-dropout P` every other word; `--name` keeps variants in separate files.

- conll2003: train on `eng.train`, choose everything (early stopping included) on `eng.testa`;
  the official test file is held out and scored independently with `zoo evaluate`.
- gmb: `ner_dataset.csv` split by sentence order, first 80% train, next 10% dev (early
  stopping), last 10% test (reported).

F1 is seqeval's strict IOB2 entity-level micro F1 (not conlleval's lenient chunking), also split
into the entities that hold a word no training sentence has and the rest (`dev_by_novelty`). Writes
`results/ner_<dataset>[_<name>].json` and `.md`, with each run's dev F1 per epoch. Each run is one
`zoo.tasks.ner.train_ner` call, exported and scored through the exported graph.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


def splits(dataset: str, root: Path, limit: int | None):
    """(train, dev, test or None, description) sentences of the benchmark's fixed split."""
    from pipelines.readers import read_conll, read_gmb_csv

    if dataset == "conll2003":
        train = read_conll(root / "conll2003" / "eng.train.gz")
        dev = read_conll(root / "conll2003" / "eng.testa.gz")
        test, description = None, "train eng.train, dev eng.testa (test held out)"
    else:
        sentences = read_gmb_csv(root / "gmb_ner" / "ner_dataset.csv.gz")
        a, b = int(0.8 * len(sentences)), int(0.9 * len(sentences))
        train, dev, test = sentences[:a], sentences[a:b], sentences[b:]
        description = "ner_dataset.csv by sentence order: 80% train, 10% dev, 10% test"
    if limit:
        train, dev, test = train[:limit], dev[: limit // 4], test[: limit // 4] if test else None
    return train, dev, test, description


def run_seed(args, seed: int, train, dev, test, workroot: Path) -> dict:
    """Trains one seed; returns dev (and test) reports, time, epochs and parameters."""
    import keras

    from zoo.cli_types import config_overrides
    from zoo.serving import load
    from zoo.tasks.ner import headline, ner_report, prepare_ner_data, tag_token_lists, train_ner

    data = prepare_ner_data(train, dev, model=args.model, scheme=args.scheme, batch_size=args.batch_size, seed=seed,
                            info={"benchmark": args.dataset}, word_vectors=args.word_vectors,
                            vectors_vocab=args.vectors_vocab, singleton_unk=args.singleton_unk,
                            word_dropout=args.word_dropout)
    started = time.perf_counter()
    path, dev_report = train_ner(
        args.model, data, epochs=args.epochs, workdir=workroot / f"seed{seed}", export_dir=workroot / "saved_models",
        learning_rate=args.learning_rate, lr_decay=args.lr_decay, ema=args.ema, momentum=args.momentum,
        patience=args.patience, seed=seed,
        members=args.members, config=config_overrides(args.set),
        verbose=2,
    )
    seconds = time.perf_counter() - started
    card = json.loads((path / "model_card.json").read_text())
    result = {"seed": seed, "export": str(path), "train_seconds": round(card["training"]["seconds"], 1),
              "total_seconds": round(seconds, 1), "epochs_run": card["training"]["epochs_run"],
              "dev": headline(dev_report), "dev_entities": dev_report["entities"],
              "word_vectors": card["data"].get("word_vectors"),
              "per_epoch": {k: [round(v, 4) for v in card["training"]["history"].get(k, [])]
                            for k in ("val_f1", "loss", "val_loss")}}
    tag_tokens = load(path).signatures["tag_tokens"]
    result["dev_by_novelty"] = by_novelty(train, dev, tag_token_lists(tag_tokens, [s.tokens for s in dev]),
                                          lowercase=data.features.lowercase)
    if args.members > 1:  # each member's own best dev F1 (its seed, its epoch), beside the ensemble's `dev`
        result["members"] = [{"seed": m["seed"], "epochs_run": m["epochs_run"], "best_val_f1": m["best_val_f1"]}
                             for m in card["training"]["members"]]
    if test:
        tagged = tag_token_lists(tag_tokens, [s.tokens for s in test])
        test_report = ner_report([s.tags for s in test], tagged)
        result["test"] = headline(test_report)
        result["test_entities"] = test_report["entities"]
        result["test_by_novelty"] = by_novelty(train, test, tagged, lowercase=data.features.lowercase)
    import zoo

    result["parameters"] = int(zoo.build(args.model, **card["config"]).count_params()) * args.members
    keras.backend.clear_session()
    return result


def by_novelty(train, split, tagged, *, lowercase: bool) -> dict:
    """`split`'s entity F1 for entities with and without a word the training sentences lack (as the
    vocabulary keys words), and the share of such tokens."""
    from pipelines.features import word_key_strings
    from zoo.metrics.unseen_entities import entity_f1_by_novelty

    def keys(sentences):
        flat = iter(word_key_strings([t for s in sentences for t in s.tokens], lowercase=lowercase))
        return [[next(flat) for _ in s.tokens] for s in sentences]

    known = {k for sentence in keys(train) for k in sentence}
    split_keys = keys(split)
    scores = entity_f1_by_novelty(split_keys, [s.tags for s in split], tagged, known)
    tokens = [k for sentence in split_keys for k in sentence]
    return {"unseen_token_share": round(sum(k not in known for k in tokens) / max(len(tokens), 1), 4),
            **{group: {k: round(v, 4) for k, v in score.items()} for group, score in scores.items()}}


def summarise(runs: list[dict], split: str) -> dict:
    out = {}
    for key in ("f1", "token_accuracy", "precision", "recall"):
        values = [r[split][key] for r in runs]
        out[key] = {"mean": round(statistics.fmean(values), 4), "min": min(values), "max": max(values),
                    "std": round(statistics.pstdev(values), 4)}
    return out


def markdown(report: dict) -> str:
    lines = [f"NER quality, {report['dataset']} ({report['date']}, {report['model']}, seeds {report['seeds']}; "
             f"F1 = seqeval strict IOB2 micro)", "",
             "| split | entity F1 mean | min - max | token accuracy mean | train minutes (median) | params |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    minutes = statistics.median(r["train_seconds"] for r in report["runs"]) / 60
    for split, summary in report["summary"].items():
        f1, acc = summary["f1"], summary["token_accuracy"]
        lines.append(f"| {split} | {f1['mean']:.4f} | {f1['min']:.4f} - {f1['max']:.4f} | {acc['mean']:.4f} | "
                     f"{minutes:.1f} | {report['runs'][0]['parameters']:,} |")
    for run in report["runs"]:
        seen, unseen = run["dev_by_novelty"]["seen"], run["dev_by_novelty"]["unseen"]
        lines.append(f"\nseed {run['seed']}: dev entities with a word unseen in training: F1 {unseen['f1']:.4f} "
                     f"({unseen['support']:,} entities); the others: {seen['f1']:.4f} ({seen['support']:,}); "
                     f"unseen tokens {run['dev_by_novelty']['unseen_token_share']:.2%}")
        if "members" in run:
            alone = ", ".join(f"{m['best_val_f1']:.4f}" for m in run["members"])
            lines.append(f"\nseed {run['seed']}: ensemble of {len(run['members'])}, dev F1 {run['dev']['f1']:.4f}; "
                         f"each member alone (best dev F1): {alone}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["conll2003", "gmb"], required=True)
    parser.add_argument("--datasets-dir", type=Path, default=DATASETS, help="the shared datasets folder")
    parser.add_argument("--model", default="bilstm_crf_ner")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--lr-decay", type=float, default=0.05)
    parser.add_argument("--scheme", choices=["iob2", "iobes"], default="iobes")
    parser.add_argument("--word-vectors", metavar="PATH|NAME",
                        help="start the word embedding from these vectors (a GloVe/word2vec text file or glove-6b-50d)")
    parser.add_argument("--vectors-vocab", type=int, default=0, metavar="N",
                        help="with --word-vectors: the first N words of the vectors join the vocabulary")
    parser.add_argument("--singleton-unk", type=float, default=0.0, metavar="P",
                        help="show training words seen once as <UNK> with probability P (Lample et al.: 0.5)")
    parser.add_argument("--word-dropout", type=float, default=0.0, metavar="P",
                        help="show every other training word as <UNK> with probability P")
    parser.add_argument("--ema", type=float, default=0.0, metavar="MOMENTUM",
                        help="train with a moving average of the weights written into the model every epoch (0: off)")
    parser.add_argument("--momentum", type=float, default=0.0,
                        help="train with SGD and this momentum instead of Adam (0: Adam)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                        help="model config override, e.g. variational_dropout=true")
    parser.add_argument("--members", type=int, default=1, metavar="N",
                        help="train N models per seed (seeds SEED..SEED+N-1) and score their ensemble, one export")
    parser.add_argument("--name", help="results file name suffix (ner_<dataset>_<name>.json), for variants")
    parser.add_argument("--limit", type=int, help="first N training sentences only (smoke runs)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)

    train, dev, test, description = splits(args.dataset, args.datasets_dir, args.limit)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            print(f"--- seed {seed}", flush=True)
            runs.append(run_seed(args, seed, train, dev, test, Path(tmp)))
            print(json.dumps({k: runs[-1][k] for k in ("seed", "dev", "train_seconds", "epochs_run", "members")
                              if k in runs[-1]}), flush=True)
    report = {
        "dataset": args.dataset, "split": description, "model": args.model, "seeds": args.seeds,
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "datasets_dir")},
        "date": datetime.date.today().isoformat(), "command": " ".join(["python -m benchmarks.ner_quality", *(argv or sys.argv[1:])]),
        "cpus": os.cpu_count(), "load_average_end": os.getloadavg(),
        "summary": {"dev": summarise(runs, "dev"), **({"test": summarise(runs, "test")} if test else {})},
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"ner_{args.dataset}" + (f"_{args.name}" if args.name else "") + ("_smoke" if args.limit else "")
    (args.out / f"{name}.json").write_text(json.dumps(report, indent=2))
    (args.out / f"{name}.md").write_text(markdown(report) + "\n")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
