"""Character n-gram language models on Tiny Shakespeare: held-out nats/char, counting time and memory.

Run from the repository root (a few minutes on 2 cores):

    .venv/bin/python -m benchmarks.ngram_shakespeare

Split: the first 90% of the characters train, the last 10% test (the issue's split). Choices
(N, and k for add-k) are made on a dev slice, the last 10% of the training part, with models
counted on the rest; the chosen and all other configurations are then counted on the whole
training part and scored once on test.

The text is one stream (`unit="text"`): line breaks are characters like any other and the
context runs across lines, so nats/char is over every test character (plus one end marker).
For reference, the chosen models are also scored with each line as a sentence (`unit="line"`,
the end marker standing for the line break).

Counting time is the wall time of `NgramLM.fit` (tokenization, counting, smoothing, tables);
memory, for the chosen models, is the tracemalloc peak of a second, untimed fit (NumPy arrays
included), and the process's max RSS at the end.
The chosen Kneser-Ney model is exported, and the test text is scored again through its
`serving_default` to check that the SavedModel gives the same figure.

Writes `ngram_shakespeare.json` and `ngram_shakespeare.md` to `--out` and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
import math
import resource
import shlex
import sys
import time
import tracemalloc
from pathlib import Path

from benchmarks.reporting import machine_info, write_results

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "../shared/datasets/tiny_shakespeare/input.txt.gz"
DEFAULT_OUT = ROOT / "benchmarks/results"
QUOTED = {"char 5-gram, Witten-Bell interpolation": 1.669, "char 5-gram, add-k": 1.770}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ngram_shakespeare", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Tiny Shakespeare input.txt(.gz)")
    parser.add_argument("--orders", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8], help="N to try")
    parser.add_argument("--ks", type=float, nargs="+", default=[1.0, 0.1, 0.03, 0.01, 0.003], help="add-k k to try")
    parser.add_argument("--export-dir", type=Path, default=ROOT / "saved_models", help="where the chosen KN model goes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def timed_fit(lm, texts) -> float:
    started = time.perf_counter()
    lm.fit(texts)
    return round(time.perf_counter() - started, 2)


def peak_fit_mib(lm, texts) -> float:
    """The tracemalloc peak (MiB, NumPy arrays included) of fitting `lm`; tracing slows the fit, so it is not timed."""
    tracemalloc.start()
    lm.fit(texts)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return round(peak / 2**20, 1)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import tensorflow as tf

    from pipelines.ngram import read_corpus, split_text
    from zoo.ngram import NgramLM
    from zoo.serving import load

    started = time.perf_counter()
    text = read_corpus(args.data, unit="text")[0]
    train, test = split_text(text, 0.9)
    fit_part, dev = split_text(train, 0.9)
    print(f"train {len(train):,} chars (dev slice {len(dev):,}), test {len(test):,}", flush=True)

    configs = [("kneser_ney", n, None) for n in args.orders]
    configs += [("add_k", n, k) for n in args.orders for k in args.ks]
    dev_scores = {}
    for smoothing, n, k in configs:
        lm = NgramLM(n, level="char", smoothing=smoothing, k=k or 1.0).fit([fit_part])
        dev_scores[(smoothing, n, k)] = lm.cross_entropy([dev])
        print(f"dev {smoothing} N={n}{'' if k is None else f' k={k}'}: {dev_scores[(smoothing, n, k)]:.4f}", flush=True)

    rows = []
    for smoothing in ("kneser_ney", "add_k"):
        for n in args.orders:
            k = min((key for key in dev_scores if key[:2] == (smoothing, n)), key=dev_scores.get)[2]
            lm = NgramLM(n, level="char", smoothing=smoothing, k=k or 1.0)
            seconds = timed_fit(lm, [train])
            nats = lm.cross_entropy([test])
            rows.append({"smoothing": smoothing, "order": n, "k": k, "dev_nats_per_char": round(dev_scores[(smoothing, n, k)], 4),
                         "test_nats_per_char": round(nats, 4), "test_perplexity": round(math.exp(nats), 4),
                         "discounts": [round(d, 3) for d in lm.discounts], "ngrams_of_order_n": lm.info["distinct_ngrams"][n],
                         "count_seconds": seconds, "peak_mib": None})
            print(rows[-1], flush=True)
    chosen = {s: min((r for r in rows if r["smoothing"] == s), key=lambda r: r["dev_nats_per_char"])
              for s in ("kneser_ney", "add_k")}
    for row in chosen.values():
        row["chosen_on_dev"] = True
        lm = NgramLM(row["order"], level="char", smoothing=row["smoothing"], k=row["k"] or 1.0)
        row["peak_mib"] = peak_fit_mib(lm, [train])
        lm.fit(train.split("\n"))
        row["test_nats_per_char_lines"] = round(lm.cross_entropy(test.split("\n")), 4)

    best = chosen["kneser_ney"]
    lm = NgramLM(best["order"], level="char", smoothing="kneser_ney").fit([train])
    export_started = time.perf_counter()
    path = lm.export(args.export_dir, "ngram_shakespeare", card={"metrics": {"test_nats_per_char": best["test_nats_per_char"]}})
    export_seconds = time.perf_counter() - export_started
    out = load(path).signatures["serving_default"](text=tf.constant([test]))
    export_check = {"path": str(path), "export_seconds": round(export_seconds, 1),
                    "saved_model_mib": round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1),
                    "test_nats_per_char": round(float(-out["log_prob"].numpy()[0] / out["num_predictions"].numpy()[0]), 6),
                    "numpy_nats_per_char": round(lm.cross_entropy([test]), 6)}
    print(f"export: {export_check}", flush=True)
    sample = lm.sample(max_tokens=300, seed=0, prefix="ROMEO:\n")

    result = {
        "benchmark": "ngram_shakespeare",
        "command": " ".join(["python -m benchmarks.ngram_shakespeare", *(shlex.quote(a) for a in (argv or sys.argv[1:]))]),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "split": {"train_chars": len(train), "dev_chars": len(dev), "test_chars": len(test),
                  "protocol": "first 90% of characters train, last 10% test; dev = last 10% of train for choices"},
        "rows": rows,
        "chosen": {s: {k: r[k] for k in ("order", "k", "test_nats_per_char", "test_perplexity")} for s, r in chosen.items()},
        "quoted_nats_per_char": QUOTED,
        "export_check": export_check,
        "sample": sample,
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "total_minutes": round((time.perf_counter() - started) / 60, 1),
    }
    write_results(args.out, "ngram_shakespeare", result, format_markdown(result))
    return result


def format_markdown(r: dict) -> str:
    lines = [
        "# Character n-grams on Tiny Shakespeare", "",
        f"`{r['command']}`", "",
        f"{r['date']}; {r['machine']['cpus']} CPUs shared with other jobs (load average "
        f"{r['machine']['load_average'][0]:.1f} at the end), so seconds are noisy. Split: {r['split']['protocol']} "
        f"({r['split']['train_chars']:,} / {r['split']['test_chars']:,} characters). The text is one stream; "
        "nats/char counts every test character (line breaks included) and one end marker.", "",
        "| smoothing | N | k | dev nats/char | test nats/char | test perplexity | counting s | peak MiB | n-grams of order N |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in r["rows"]:
        mark = " **(chosen on dev)**" if row.get("chosen_on_dev") else ""
        lines.append(f"| {row['smoothing']}{mark} | {row['order']} | {row['k'] if row['k'] is not None else '-'} | "
                     f"{row['dev_nats_per_char']:.4f} | {row['test_nats_per_char']:.4f} | {row['test_perplexity']:.3f} | "
                     f"{row['count_seconds']:.2f} | {'-' if row['peak_mib'] is None else round(row['peak_mib'])} | "
                     f"{row['ngrams_of_order_n']:,} |")
    chosen = "; ".join(f"{s}: N={c['order']}{'' if c['k'] is None else ', k=' + str(c['k'])}, "
                       f"{c['test_nats_per_char']:.4f} nats/char (perplexity {c['test_perplexity']:.3f})"
                       for s, c in r["chosen"].items())
    lines_mode = "; ".join(f"{row['smoothing']} N={row['order']}: {row['test_nats_per_char_lines']:.4f}"
                           for row in r["rows"] if row.get("chosen_on_dev"))
    quoted = "; ".join(f"{name}: {value}" for name, value in r["quoted_nats_per_char"].items())
    e = r["export_check"]
    lines += [
        "", f"Chosen on dev: {chosen}.",
        f"Each line a sentence instead (the end marker standing for the line break), chosen models: {lines_mode}.",
        f"Measured before (quoted in the issue): {quoted}.",
        f"Export of the chosen Kneser-Ney model: {e['saved_model_mib']} MiB, {e['export_seconds']} s; its "
        f"`serving_default` scores the test text at {e['test_nats_per_char']:.6f} nats/char "
        f"(NumPy: {e['numpy_nats_per_char']:.6f}).",
        f"Process max RSS {r['max_rss_mib']:.0f} MiB; total {r['total_minutes']} min.", "",
        "Sample (Kneser-Ney, seed 0, prefix \"ROMEO:\\n\"):", "", "```", r["sample"], "```", "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
