"""`zoo ngram`: count an n-gram language model from a text file, report perplexity, sample, export; score with an export.

Only argparse at import time, so `zoo --help` stays fast; TensorFlow loads when a command runs.
"""

from __future__ import annotations

import argparse
import json

from zoo.cli_types import positive_int, utf8_text


def add_ngram_parser(subparsers) -> None:
    """Registers `zoo ngram fit` and `zoo ngram score` under the `zoo` command's subparsers."""
    ngram = subparsers.add_parser(
        "ngram", help="count, score, sample and export n-gram language models (add-k, Kneser-Ney)",
        description="The traditional language model: n-gram counts with add-k or interpolated Kneser-Ney smoothing.")
    commands = ngram.add_subparsers(dest="ngram_command", required=True, metavar="NGRAM_COMMAND")

    p = commands.add_parser(
        "fit", help="count a corpus, report held-out perplexity and samples, export a SavedModel",
        description="Counts 1- to N-grams of a plain or gzipped text file (each line a sentence, or the whole text "
                    "one), prints the perplexity of --dev and a few samples, and exports EXPORT_DIR/NAME/VERSION "
                    "whose serving_default scores sentences (log_prob, perplexity, num_predictions).")
    p.add_argument("--data", required=True, help="training text file (.gz read as it is)")
    p.add_argument("--dev", help="held-out text file for perplexity (same unit)")
    p.add_argument("--order", type=positive_int, default=3, help="N, the n-gram length (default 3)")
    p.add_argument("--level", choices=["word", "char"], default="word", help="tokens: whitespace-separated words "
                   "or characters (default word)")
    p.add_argument("--unit", choices=["line", "text"], default="line", help="a sentence is a line, or the whole "
                   "file (default line)")
    p.add_argument("--smoothing", choices=["kneser_ney", "add_k"], default="kneser_ney", help="default kneser_ney")
    p.add_argument("--k", type=float, default=1.0, help="add-k pseudo-count (default 1)")
    p.add_argument("--discount", type=float, help="Kneser-Ney discount for every order (default: n1/(n1+2 n2) per order)")
    p.add_argument("--min-count", type=positive_int, default=1, help="training tokens seen fewer times become <UNK> (default 1)")
    p.add_argument("--samples", type=int, default=3, help="sentences to sample and print (default 3)")
    p.add_argument("--max-tokens", type=positive_int, default=100, help="longest sample, in tokens (default 100)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--name", default="ngram", help="export name (default ngram)")
    p.add_argument("--export-dir", default="saved_models",
                   help="export base; writes EXPORT_DIR/NAME/VERSION (default saved_models)")
    p.set_defaults(func=cmd_ngram_fit)

    p = commands.add_parser("score", help="log-probability and perplexity of sentences under an export",
                            description="Scores each sentence with the export's serving_default.")
    p.add_argument("export", help="an export folder (saved_models/NAME/VERSION) or a model folder (newest version)")
    p.add_argument("inputs", nargs="+", type=utf8_text, help="sentences, one argument each")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_ngram_score)


def cmd_ngram_fit(args: argparse.Namespace) -> None:
    import resource
    import time

    from pipelines.ngram import read_corpus
    from zoo.ngram import NgramLM

    from zoo.errors import ZooError

    try:
        lm = NgramLM(args.order, level=args.level, smoothing=args.smoothing, k=args.k, discount=args.discount,
                     min_count=args.min_count)
    except ValueError as error:  # a bad option: one line, no traceback
        raise ZooError(str(error)) from None
    corpus = read_corpus(args.data, unit=args.unit)
    started = time.perf_counter()
    lm.fit(corpus, source=args.data)
    seconds = time.perf_counter() - started
    info = lm.info
    print(f"counted {info['tokens']:,} {args.level} tokens in {info['sentences']:,} sentence(s) in {seconds:.2f} s; "
          f"vocabulary {info['vocab_size']:,}; distinct n-grams {info['distinct_ngrams']}; "
          f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    metrics = {"train_perplexity": round(lm.perplexity(corpus), 4)}
    if args.dev:
        dev = read_corpus(args.dev, unit=args.unit)
        metrics.update(dev_nats_per_token=round(lm.cross_entropy(dev), 4), dev_perplexity=round(lm.perplexity(dev), 4))
    print("  ".join(f"{k}: {v}" for k, v in metrics.items()))
    for i in range(args.samples):
        print(f"sample {i + 1}: {lm.sample(max_tokens=args.max_tokens, seed=args.seed + i)!r}")
    path = lm.export(args.export_dir, args.name, card={"metrics": metrics, "data": {**info, "train": args.data,
                                                                                   "dev": args.dev, "unit": args.unit}})
    print(f"exported: {path}")


def cmd_ngram_score(args: argparse.Namespace) -> None:
    import tensorflow as tf

    from zoo.serving import load

    out = load(args.export).signatures["serving_default"](text=tf.constant(args.inputs, dtype=tf.string))
    rows = [{"text": text, "log_prob": float(lp), "perplexity": float(pp), "num_predictions": int(n)}
            for text, lp, pp, n in zip(args.inputs, out["log_prob"].numpy(), out["perplexity"].numpy(),
                                       out["num_predictions"].numpy())]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        print(f"{row['log_prob']:>12.4f}  ppl {row['perplexity']:>10.3f}  ({row['num_predictions']} predictions)  "
              f"{row['text']}")
