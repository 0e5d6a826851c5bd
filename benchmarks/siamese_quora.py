"""Quora duplicate questions: a Siamese encoder trained with the triplet loss, against TF-IDF, on 2 CPU cores.

`quora_bimpm/dev.tsv` (10,000 pairs) is all the Quora data there is: it is split with
`pipelines.pairs.split_pairs` (seed 0, no question on both sides) into train and our own dev, on
which every choice was made and τ is calibrated. Duplicates from MRPC, SICK (relatedness >= 4)
and STS-B (score >= 4) training files may join the training pairs. The official 10,000-pair test
partition is held out and scored independently, e.g.

    zoo evaluate saved_models/siamese_bow --data quora:test.tsv

Run from the repository root:

    .venv/bin/python benchmarks/siamese_quora.py                     # the real run
    .venv/bin/python benchmarks/siamese_quora.py --limit 1500 --epochs 1 --out /tmp/bench   # a smoke run
    .venv/bin/python benchmarks/siamese_quora.py --holdout-fraction 0.2 --dev-fraction 0.125  # test-like estimate

`--holdout-fraction F` first sets aside F of the Quora pairs (no question shared with the rest)
that no choice sees: early stopping and τ use the dev split of the remainder, and the holdout is
scored once at that τ, an estimate of the held-out test figures free of selection optimism
(written as `siamese_quora_holdout.json` / `.md`).

Writes `benchmarks/results/siamese_quora.json` and `.md` and exports the model to
`saved_models/<model>/VERSION` with the calibrated τ in its model card.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATASETS = ROOT.parent / "shared" / "datasets"

TARGET = {"accuracy": 0.76, "roc_auc": 0.83}  # on the held-out test partition
BUDGET_SECONDS = 30 * 60
EXTRA = {"mrpc": "mrpc/msr_paraphrase_train.txt.gz", "sick": "sick/SICK_train.txt.gz", "stsb": "stsb/sts-train.csv.gz"}
# TF-IDF cosine baselines (scikit-learn options), fitted on the training questions.
TFIDF_BASELINES = {"tfidf_word": {"lowercase": True, "token_pattern": r"\S+"},
                   "tfidf_char_2_4": {"analyzer": "char_wb", "ngram_range": (2, 4)}}
REFERENCES = [
    ("TF-IDF cosine, dev-tuned τ (held-out test, measured by the issue)", 0.673, 0.708),
    ("course Siamese LSTM re-implemented, same 4,000 duplicates, dev-tuned τ (held-out test)", 0.712, 0.744),
]


def char_ngram_sizes(value: str) -> int | tuple[int, ...]:
    """`--char-ngrams`: one n (`3`) or several (`3,4`)."""
    sizes = tuple(int(n) for n in value.split(","))
    return sizes[0] if len(sizes) == 1 else sizes


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATASETS / "quora_bimpm" / "dev.tsv.gz"), help="the Quora pairs to split")
    parser.add_argument("--dev-fraction", type=float, default=0.2)
    parser.add_argument("--holdout-fraction", type=float, default=0.0,
                        help="set aside this share of the Quora pairs, scored once at the dev-calibrated tau (0 = none)")
    parser.add_argument("--limit", type=int, help="use only the first LIMIT Quora pairs (smoke runs)")
    parser.add_argument("--model", default="siamese_bow", choices=["siamese_bow", "siamese_lstm"])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="model config override")
    parser.add_argument("--extra", default="mrpc,sick,stsb", help="comma-separated extra duplicate sources ('' = none)")
    parser.add_argument("--members", type=int, default=4,
                        help="encoders trained with seeds SEED, SEED+1, ... and exported as one ensemble")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--embedding-dim", type=int, default=64,
                        help="encoder embedding size, without --word-vectors (4 encoders x 64: 14.5 M parameters, "
                             "within the 15 M budget)")
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--margin", type=float, default=0.5)
    parser.add_argument("--negatives", default="mean,closest,hardest")
    parser.add_argument("--symmetric", action="store_true", help="score the similarity matrix by columns too")
    parser.add_argument("--min-count", type=int, default=2, help="rarer words go to hashed OOV buckets")
    parser.add_argument("--oov-buckets", type=int, default=2000)
    parser.add_argument("--digits-to-zero", action="store_true", help="normalise digits to 0 (2016 == 2017)")
    parser.add_argument("--word-bigrams", type=int, default=20000, help="hashed word-bigram buckets (0 = none)")
    parser.add_argument("--char-ngrams", type=char_ngram_sizes, default=3,
                        help="n of hashed character n-grams (0 = none), or several: 3,4")
    parser.add_argument("--char-buckets", type=int, default=20000)
    parser.add_argument("--word-vectors", metavar="PATH|NAME",
                        help="start the encoders' word embedding from these vectors (GloVe/word2vec text, or "
                             "glove-6b-50d from the `glove` extra); embedding_dim becomes theirs, or a larger "
                             "--set embedding_dim=N adds learned dimensions")
    parser.add_argument("--vectors-vocab", type=int, default=0, metavar="N",
                        help="with --word-vectors: the first N words of the vectors join the vocabulary")
    parser.add_argument("--freeze-embeddings", action="store_true", help="with --word-vectors: keep them fixed")
    parser.add_argument("--name", help="results file name suffix (siamese_quora_<name>.json/.md), for variants")
    parser.add_argument("--no-hard-negatives", action="store_true", help="train on duplicates only (the course's data)")
    parser.add_argument("--course", action="store_true",
                        help="also train the course's model (LSTM 128, masked mean, L2; duplicates only; margin 0.25)")
    parser.add_argument("--course-epochs", type=int, default=6)
    parser.add_argument("--collection", type=int, default=10000, help="questions in the nearest-duplicate index")
    parser.add_argument("--refit", action="store_true",
                        help="then train the same ensemble again on train + dev for the epochs dev chose, with the "
                             "first export's tau (`zoo train --refit`), exported as the next version (about doubles "
                             "the training time)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads (the budget is 2 cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--export-dir", default=str(ROOT / "saved_models"))
    return parser.parse_args(argv)


def quora_splits(path, *, holdout_fraction: float, dev_fraction: float, seed: int, limit: int | None = None):
    """(train, labelled dev, labelled holdout or None) of the Quora pairs at `path`: the holdout is set
    aside first (when `holdout_fraction` > 0), then dev from the rest; no question on two sides."""
    from pipelines.pairs import labelled, read_pairs, split_pairs

    quora = read_pairs(f"quora:{path}")[:limit]
    holdout = None
    if holdout_fraction:
        quora, holdout = split_pairs(quora, dev_fraction=holdout_fraction, seed=seed)
        holdout = labelled(holdout)
    train, dev = split_pairs(quora, dev_fraction=dev_fraction, seed=seed)
    return train, labelled(dev), holdout


def tfidf_scores(train_texts, dev_index, **options):
    """Cosine of TF-IDF vectors fitted on the training questions (scikit-learn, benchmark only)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(**options).fit(train_texts)
    vectors = vectorizer.transform(dev_index.texts)
    a, b = vectors[dev_index.a], vectors[dev_index.b]
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


def search_benchmark(export, train_texts, dev_pairs, size: int, seed: int) -> dict:
    """Index `size` questions once through the export's `embed`; query with the first question of each dev
    duplicate pair whose second question is in the index: queries/s, recall@1/@5/@10."""
    import numpy as np

    duplicates = [p for p in dev_pairs if p.label == 1]
    targets = list(dict.fromkeys(p.text_b for p in duplicates))[: size // 5]
    fillers = [t for t in dict.fromkeys(train_texts) if t not in set(targets)]
    rng = np.random.default_rng(seed)
    collection = targets + [fillers[i] for i in rng.permutation(len(fillers))[: size - len(targets)]]
    position = {t: i for i, t in enumerate(collection)}
    queries = [(p.text_a, position[p.text_b]) for p in duplicates if p.text_b in position and p.text_a not in position]
    started = time.perf_counter()
    index = export.index(collection)
    index_seconds = time.perf_counter() - started
    export.index(collection[:512]).search([q for q, _ in queries[:64]], k=10)  # warm-up: traced shapes
    started = time.perf_counter()
    results = index.search([q for q, _ in queries], k=10)
    search_seconds = time.perf_counter() - started
    ranks = [next((r for r, (i, _) in enumerate(found) if i == target), None) for found, (_, target) in zip(results, queries)]
    return {
        "collection": len(collection), "queries": len(queries), "k": 10,
        "index_seconds": round(index_seconds, 2), "texts_per_second_indexing": round(len(collection) / index_seconds, 1),
        "search_seconds": round(search_seconds, 2), "queries_per_second": round(len(queries) / search_seconds, 1),
        **{f"recall_at_{k}": round(sum(r is not None and r < k for r in ranks) / len(ranks), 4) for k in (1, 5, 10)},
        "how": "the second question of each dev duplicate pair is in the index among training-split questions; "
               "the first is the query; queries are encoded and scored in batches of 512 (embed signature + "
               "matmul + top_k)",
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from benchmarks.reporting import machine_info, write_results
    from pipelines.pairs import TextIds, is_positive, read_pairs
    from zoo.cli_types import config_overrides
    from zoo.metrics.threshold import similarity_report
    from zoo.tasks.siamese import PairIndex, SiameseExport, embed_texts, prepare_siamese_data, train_siamese

    quora_train, dev, holdout = quora_splits(args.data, holdout_fraction=args.holdout_fraction,
                                             dev_fraction=args.dev_fraction, seed=args.seed, limit=args.limit)
    train, extras = list(quora_train), {}
    for name in filter(None, args.extra.split(",")):
        positives = [p._replace(label=1) for p in read_pairs(f"{name}:{DATASETS / EXTRA[name]}") if is_positive(p)]
        extras[name] = len(positives)
        train = train + positives
    text_ids = TextIds(digits_to_zero=args.digits_to_zero, oov_buckets=args.oov_buckets, word_bigrams=args.word_bigrams,
                       char_ngrams=args.char_ngrams, char_buckets=args.char_buckets)
    if args.model == "siamese_lstm":  # recurrent encoders read word ids in order only
        text_ids = TextIds(digits_to_zero=args.digits_to_zero, oov_buckets=args.oov_buckets)
    info = {"train": [f"quora:{args.data}"], "dev": f"{args.dev_fraction:.0%} of quora:{args.data} (split_pairs, seed {args.seed})",
            "extra_positives": extras}
    prepare = functools.partial(prepare_siamese_data, text_ids=text_ids, batch_size=args.batch_size, seed=args.seed,
                                min_count=args.min_count, hard_negatives=not args.no_hard_negatives,
                                word_vectors=args.word_vectors, vectors_vocab=args.vectors_vocab)
    data = prepare(train, dev, info=info)
    config = config_overrides(args.set)
    if not args.word_vectors:  # pretrained vectors fix the embedding size
        config = {"embedding_dim": args.embedding_dim, **config}
    machine = machine_info()
    stamp = f"{datetime.datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}"  # runs started in one second: two workdirs
    workdir = ROOT / "runs" / f"siamese_quora-{stamp}"
    negatives = tuple(args.negatives.split(","))
    train_options = dict(export_dir=args.export_dir, config=config, learning_rate=args.learning_rate, margin=args.margin,
                         negatives=negatives, symmetric=args.symmetric, patience=args.patience,
                         freeze_embeddings=args.freeze_embeddings, seed=args.seed, verbose=2)
    path, report = train_siamese(args.model, data, epochs=args.epochs, workdir=workdir, members=args.members,
                                 **train_options)
    card = json.loads((path / "model_card.json").read_text())
    quora_train_texts = [t for p in quora_train for t in (p.text_a, p.text_b)]
    baselines = {}
    holdout_index = PairIndex.of(holdout) if holdout else None
    on_holdout = {}
    for name, options in TFIDF_BASELINES.items():
        scores = tfidf_scores(quora_train_texts, data.dev_index, **options)
        baselines[name] = similarity_report(scores, data.dev_index.labels)
        if holdout_index:
            on_holdout[name] = similarity_report(tfidf_scores(quora_train_texts, holdout_index, **options),
                                                 holdout_index.labels, tau=baselines[name]["calibrated"]["tau"])
    export = SiameseExport(path)
    if holdout_index:
        scores = holdout_index.similarities(embed_texts(export.embed, holdout_index.texts))
        on_holdout[args.model] = similarity_report(scores, holdout_index.labels,
                                                   tau=report["calibrated"]["tau"])
    refit_result = None
    if args.refit:
        from zoo.tasks.loops import refit

        refit_path, _ = refit("siamese", args.model, prepare(train + dev, dev, info={**info, "train": info["train"] + ["dev"]}),
                              path, workdir=workdir / "refit", **train_options)
        refit_card = json.loads((refit_path / "model_card.json").read_text())
        refit_result = {"export": str(refit_path), "epochs": refit_card["refit"]["epochs"],
                        "member_epochs": refit_card["refit"].get("member_epochs"), "tau": refit_card["tau"],
                        "training_seconds": refit_card["training"]["seconds"],
                        "train_pairs": refit_card["data"]["train_pairs"]}
        if holdout_index:
            scores = holdout_index.similarities(embed_texts(SiameseExport(refit_path).embed, holdout_index.texts))
            on_holdout[f"{args.model} refit on train + dev"] = similarity_report(scores, holdout_index.labels,
                                                                                tau=refit_card["tau"])
    course = None
    if args.course:
        course_data = prepare_siamese_data([p for p in quora_train if p.label == 1], dev,
                                           text_ids=TextIds(), batch_size=args.batch_size, seed=args.seed,
                                           hard_negatives=False, info={"train": [f"quora:{args.data}"]})
        course_path, course_report = train_siamese(
            "siamese_lstm", course_data, epochs=args.course_epochs, workdir=ROOT / "runs" / f"siamese_course-{stamp}",
            export_dir=args.export_dir, preset="course", margin=0.25, patience=args.patience, seed=args.seed, verbose=2)
        course_card = json.loads((course_path / "model_card.json").read_text())
        course = {**course_report, "export": str(course_path), "seconds": course_card["training"]["seconds"],
                  "parameters": course_card["training"]["parameters"], "epochs_run": course_card["training"]["epochs_run"]}
    search = search_benchmark(export, quora_train_texts, dev, args.collection, args.seed)
    history = card["training"]["history"]
    result = {
        "benchmark": "siamese_quora",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in [sys.executable.replace(str(ROOT) + "/", ""), *sys.argv]),
        "model": args.model,
        "config": card["config"],
        "text_ids": card["text_ids"],
        "parameters": card["training"]["parameters"],
        "loss": {"margin": args.margin, "negatives": list(negatives), "symmetric": args.symmetric,
                 "hard_negatives": not args.no_hard_negatives},
        "data": card["data"],
        "dev": report,
        "dev_calibrated_tau": report["calibrated"]["tau"],
        "dev_accuracy": report["calibrated"]["accuracy"],
        "dev_roc_auc": report["roc_auc"],
        "dev_accuracy_at_0.7": report["at_course_tau"]["accuracy"],
        "baselines_on_dev": baselines,
        "course_model_on_dev": course,
        "refit": refit_result,
        "members": [{k: v for k, v in m.items() if k != "history"} for m in card["training"].get("members", [])],
        "val_auc_per_epoch": history.get("val_auc", []),
        "epochs_run": sum(m["epochs_run"] for m in card["training"].get("members", [card["training"]])),
        "training_seconds": card["training"]["seconds"],
        "search": search,
        "machine": machine,
        "load_average_after": os.getloadavg(),
        "threads": args.threads,
        "target_on_held_out_test": TARGET,
        "budget_seconds": BUDGET_SECONDS,
        "within_budget": card["training"]["seconds"] <= BUDGET_SECONDS,
        "export": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "workdir": str(workdir.relative_to(ROOT)),
        "test_set": "held out; not read by this script",
    }
    name = "siamese_quora" + (f"_{args.name}" if args.name else "")
    if holdout_index:
        name += "_holdout"
        result["holdout"] = {"pairs": len(holdout), "duplicates": int(holdout_index.labels.sum()),
                             "fraction": args.holdout_fraction, "reports": on_holdout}
    write_results(args.out, name, result, markdown(result))
    return result


def _row(name: str, report: dict, extra: str = "") -> str:
    c, fixed = report["calibrated"], report["at_course_tau"]
    return (f"| {name} | {c['roc_auc']:.4f} | {c['accuracy']:.4f} (τ = {c['tau']:.3f}) | {c['f1']:.4f} | "
            f"{fixed['accuracy']:.4f} | {extra} |\n")


def markdown(r: dict) -> str:
    d, s = r["dev"], r["search"]
    ensemble = f", ensemble of {len(r['members'])} encoders" if r["members"] else ""
    rows = _row(f"**{r['model']}** (ours: triplet loss, {' + '.join(r['loss']['negatives'])} negatives, "
                f"margin {r['loss']['margin']}, labelled non-duplicates as hard negatives{ensemble})", d,
                f"{r['parameters']:,} params, {r['training_seconds'] / 60:.1f} min")
    if r["course_model_on_dev"]:
        c = r["course_model_on_dev"]
        rows += _row("course model re-implemented (LSTM 128, masked mean, duplicates only)", c,
                     f"{c['parameters']:,} params, {c['seconds'] / 60:.1f} min")
    rows += _row("TF-IDF word cosine", r["baselines_on_dev"]["tfidf_word"], "fitted on the training questions")
    rows += _row("TF-IDF char 2-4-gram cosine", r["baselines_on_dev"]["tfidf_char_2_4"], "fitted on the training questions")
    references = "\n".join(f"- {name}: accuracy {acc:.3f}, ROC AUC {auc:.3f}" for name, acc, auc in REFERENCES)
    epochs = " | ".join(f"{a:.4f}" for a in r["val_auc_per_epoch"])
    data = r["data"]
    return (
        "# Quora duplicate questions: Siamese encoder with a triplet loss\n\n"
        f"Measured {r['date']} with `{r['command']}` on {r['threads']} TensorFlow threads "
        f"({r['machine']['cpus']} CPUs shared with other engineers' jobs: load average "
        f"{r['machine']['load_average'][0]:.1f} before, {r['load_average_after'][0]:.1f} after, so seconds are contended "
        "wall time).\n\n"
        f"Our dev split: {data['dev']}, {data['dev_pairs']:,} pairs ({data['dev_duplicates']:,} duplicates); training: "
        f"{data['train_pairs']:,} pairs ({data['train_duplicates']:,} duplicates, extra duplicates {data['extra_positives']}), "
        f"{data['train_rows']:,} triplet rows in {data['duplicate_groups']:,} duplicate groups. "
        "τ is calibrated on this dev split (best accuracy), so dev accuracy at τ is optimistic by construction, "
        "as it is for the baselines.\n\n"
        "| on our dev split | ROC AUC | accuracy at dev-tuned τ | F1 at that τ | accuracy at τ = 0.7 | |\n"
        "|---|---:|---:|---:|---:|---|\n"
        f"{rows}\n"
        f"Target (on the held-out test partition, scored independently): accuracy >= {r['target_on_held_out_test']['accuracy']}, "
        f"ROC AUC >= {r['target_on_held_out_test']['roc_auc']}, training <= 30 min on 2 cores "
        f"({'within' if r['within_budget'] else 'over'} budget here: {r['training_seconds']:.0f} s, {r['epochs_run']} epochs).\n"
        f"Reference points from the issue:\n{references}\n\n"
        f"Dev ROC AUC per epoch{' of the first member' if r['members'] else ''}: {epochs} (early stopping on it; "
        "the best epoch's weights are exported)"
        + (". Best dev ROC AUC of each member alone: " + ", ".join(f"{m['best_val_auc']:.4f}" for m in r["members"])
           if r["members"] else "") + ".\n\n"
        "## Nearest-duplicate search\n\n"
        f"{s['collection']:,} questions indexed once in {s['index_seconds']:.1f} s ({s['texts_per_second_indexing']:,.0f} "
        f"texts/s); {s['queries']:,} queries, top-{s['k']}: **{s['queries_per_second']:,.0f} queries/s**; "
        f"recall@1 {s['recall_at_1']:.3f}, recall@5 {s['recall_at_5']:.3f}, recall@10 {s['recall_at_10']:.3f} ({s['how']}).\n\n"
        f"Export: `{r['export']}` (τ = {r['dev_calibrated_tau']:.3f} in its model card; `serving_default` takes "
        "`text_a`, `text_b` and returns `similarity`, `is_duplicate`; `embed` returns unit vectors).\n"
        + (refit_markdown(r["refit"]) if r.get("refit") else "")
        + (holdout_markdown(r["holdout"]) if "holdout" in r else "")
    )


def refit_markdown(refit: dict) -> str:
    """What the refit (train + dev, the first export's τ) trained; its dev figures would not be held out."""
    chosen = (f"the median of the members' best: {refit['member_epochs']}" if refit["member_epochs"]
              else "the best on dev")
    return (f"\nRefit: `{refit['export']}`, {refit['train_pairs']:,} training pairs (train + dev), {refit['epochs']} "
            f"epochs per encoder ({chosen}), τ = {refit['tau']:.3f} from the first export, "
            f"{refit['training_seconds'] / 60:.1f} min.\n")


def holdout_markdown(h: dict) -> str:
    """The holdout table: each scorer's ROC AUC, and its accuracy at the τ calibrated on dev."""
    rows = "".join(f"| {name} | {rep['roc_auc']:.4f} | {rep['at_tau']['accuracy']:.4f} (τ = {rep['at_tau']['tau']:.3f}) | "
                   f"{rep['at_tau']['f1']:.4f} |\n" for name, rep in h["reports"].items())
    return (
        "\n## Holdout: a test-like estimate\n\n"
        f"{h['pairs']:,} pairs ({h['duplicates']:,} duplicates; {h['fraction']:.0%} of the Quora pairs, no question "
        "shared with the rest) set aside before anything else; no choice saw them. τ comes from the dev split.\n\n"
        "| on the holdout | ROC AUC | accuracy at the dev τ | F1 at that τ |\n|---|---:|---:|---:|\n" + rows
    )


if __name__ == "__main__":
    main()
