"""Speed of the NER pipeline and of tagging one sentence, against the course-style baselines.

Run from the repository root (a full run takes minutes on 2 cores):

    .venv/bin/python -m benchmarks.ner_pipeline --data ../shared/datasets/conll2003/eng.train.gz

Training: the same `bilstm_ner` (default config, same seed, same batch size) is fitted one epoch
at a time on (A) `pipelines.ner.ner_dataset`, bucketed tf.data, and (B) a Python generator that
shuffles, looks ids up in a dict and pads each random batch with numpy, as the course did. After a
warm-up epoch each, timed epochs alternate A B, B A, ... so machine noise hits both sides alike.

Latency: one sentence through (a) the exported `serving_default` signature and (b) Python
tokenization, dict lookup, numpy padding and `model.predict`, calls alternating between the two.

Writes `ner_pipeline.json` and `ner_pipeline.md` to `--out` and prints the table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf

import zoo
from pipelines.batching import padding_fraction
from pipelines.ner import TAG_PAD_ID, ner_dataset
from pipelines.readers import read_conll
from pipelines.features import word_key_strings
from pipelines.vocab import Vocabulary
from zoo.export import software_versions
from zoo.serving import load
from zoo.tasks.ner import NerData, compile_tagger, export_tagger, make_tagger, prepare_ner_data
from zoo.training import quiet_dataset_warnings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "../shared/datasets/conll2003/eng.train.gz"
DEFAULT_OUT = ROOT / "benchmarks/results"
SENTENCES = {
    "short": "Sharon flew to Miami last Friday.",
    "long": "On Tuesday, Angela Merkel met Emmanuel Macron in Berlin to discuss a new trade "
    "agreement between the European Union and China, officials at the German Foreign "
    "Ministry said.",
}
BUCKET_CHOICES = (8, 16, 32)  # tried in order until the padding target is met
TARGETS = {"padding": 0.15, "throughput": 2.0, "latency": 10.0}
BATCH_SIGNATURE = (tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.int32))

Batch = tuple[np.ndarray, np.ndarray]


def log(message: str) -> None:
    """Progress on stdout, flushed, so a long run shows it is alive."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ----------------------------------------------------------------------------- course-style side


def pad_batch(rows: Sequence[Sequence[int]], value: int) -> np.ndarray:
    """Rows padded with `value` to the longest row, as one int32 array."""
    batch = np.full((len(rows), max(len(row) for row in rows)), value, dtype=np.int32)
    for i, row in enumerate(rows):
        batch[i, : len(row)] = row
    return batch


def normalized_token_lists(sentences: Sequence) -> list[list[str]]:
    """Every sentence's tokens normalised as the vocabulary was built, in one TensorFlow call."""
    flat = word_key_strings([t for s in sentences for t in s.tokens])
    ends = np.cumsum([len(s.tokens) for s in sentences])
    return [flat[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def course_batches(
    tokens: Sequence[Sequence[str]],
    tags: Sequence[Sequence[str]],
    vocab: Vocabulary,
    tag_vocab: Vocabulary,
    *,
    batch_size: int,
    rng: np.random.Generator,
) -> Iterator[Batch]:
    """One epoch of the course-style generator: shuffle, random batches, dict lookup, padding."""
    word_index, tag_index, unknown = vocab.index, tag_vocab.index, vocab.unknown_id
    order = rng.permutation(len(tokens))
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        x = pad_batch([[word_index.get(t, unknown) for t in tokens[i]] for i in chunk], 0)
        y = pad_batch([[tag_index[t] for t in tags[i]] for i in chunk], TAG_PAD_ID)
        yield x, y


def course_tokenize(text: str) -> list[str]:
    """Words (inner hyphens and apostrophes kept) and punctuation marks, by a Python regex."""
    return re.findall(r"\w+(?:[-']\w+)*|[^\w\s]", text)


def course_tag(model: keras.Model, text: str, word_index: dict[str, int], unknown: int,
               tag_names: Sequence[str]) -> list[str]:
    """Tags for one sentence the course way: Python tokens and ids, numpy, `model.predict`."""
    tokens = [re.sub(r"\d", "0", t) for t in course_tokenize(text)]
    x = pad_batch([[word_index.get(t, unknown) for t in tokens]], 0)
    best = model.predict(x, verbose=0)[0].argmax(axis=-1)
    return [tag_names[k] for k in best[: len(tokens)]]


# ----------------------------------------------------------------------------- measuring


def batch_lengths(batches: Iterable[Batch]) -> list[list[int]]:
    """Each batch's real sentence lengths, read from the tag padding."""
    return [(tags != TAG_PAD_ID).sum(axis=1).tolist() for _, tags in batches]


def percentiles_ms(seconds: Sequence[float]) -> dict:
    """Median and p90 of call times, in milliseconds."""
    return {"median_ms": float(np.median(seconds) * 1e3),
            "p90_ms": float(np.percentile(seconds, 90) * 1e3), "calls": len(seconds)}


def fresh_tagger(vocab_size: int, num_tags: int, seed: int) -> keras.Model:
    """The default `bilstm_ner`, initialised from `seed` and compiled for tagging."""
    keras.utils.set_random_seed(seed)
    return compile_tagger(zoo.build("bilstm_ner", vocab_size=vocab_size, num_tags=num_tags))


def timed_epoch(model: keras.Model, data: tf.data.Dataset) -> float:
    """Seconds for one `fit` epoch."""
    with quiet_dataset_warnings():
        started = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
        return time.perf_counter() - started


def bucketed_dataset(
    train: Sequence, vocab: Vocabulary, tags: Vocabulary, *, batch_size: int, seed: int
) -> tuple[tf.data.Dataset, int, dict[int, float]]:
    """The first of `BUCKET_CHOICES` to meet the padding target: (dataset, buckets, tried)."""
    tried = {}
    for num_buckets in BUCKET_CHOICES:
        dataset = ner_dataset(train, vocab, tags, batch_size=batch_size, num_buckets=num_buckets,
                              seed=seed)
        tried[num_buckets] = padding_fraction(batch_lengths(dataset.as_numpy_iterator()))
        log(f"bucketed tf.data, {num_buckets} buckets: padding {tried[num_buckets]:.1%}")
        if tried[num_buckets] <= TARGETS["padding"]:
            break
    return dataset, num_buckets, tried


def measure_training(
    train: Sequence, vocab: Vocabulary, tags: Vocabulary, *, batch_size: int, epochs: int, seed: int
) -> dict:
    """Seconds per epoch, real tokens per second and padding of the bucketed and course sides."""
    real_tokens = sum(len(s.tokens) for s in train)
    bucketed, num_buckets, tried = bucketed_dataset(train, vocab, tags, batch_size=batch_size,
                                                    seed=seed)
    tokens, tag_lists = normalized_token_lists(train), [s.tags for s in train]
    rng = np.random.default_rng(seed)

    def epoch() -> Iterator[Batch]:
        return course_batches(tokens, tag_lists, vocab, tags, batch_size=batch_size, rng=rng)

    # What `model.fit(generator)` builds in Keras 3, with the shapes spelled out: Keras infers
    # them from the first two batches and fails later if those two happen to be equally long.
    course = tf.data.Dataset.from_generator(epoch, output_signature=BATCH_SIGNATURE)
    course = course.prefetch(tf.data.AUTOTUNE)
    course_lengths = batch_lengths(epoch())
    assert sum(map(sum, course_lengths)) == real_tokens, "the generator must yield every token once"

    sides = {"bucketed": (fresh_tagger(len(vocab), len(tags), seed), bucketed),
             "course": (fresh_tagger(len(vocab), len(tags), seed), course)}
    warmup = {}
    for name, (model, data) in sides.items():
        log(f"{name}: warm-up epoch (tracing, filling caches)")
        warmup[name] = timed_epoch(model, data)
        log(f"{name}: warm-up took {warmup[name]:.1f} s")
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    for round_ in range(epochs):
        for name in ("bucketed", "course") if round_ % 2 == 0 else ("course", "bucketed"):
            seconds[name].append(timed_epoch(*sides[name]))
            log(f"{name}: timed epoch {len(seconds[name])}/{epochs}: {seconds[name][-1]:.1f} s")

    def summary(name: str, padding: float) -> dict:
        # Every epoch does the same work, so throughput is tokens over the median time: the
        # median rate for an odd count, the harmonic mean (total tokens / total time) for two.
        median_seconds = float(np.median(seconds[name]))
        return {"seconds_per_epoch": seconds[name], "median_seconds": median_seconds,
                "median_tokens_per_second": real_tokens / median_seconds,
                "warmup_seconds": warmup[name], "padding_fraction": padding}

    a = summary("bucketed", tried[num_buckets])
    b = summary("course", padding_fraction(course_lengths))
    speedup = a["median_tokens_per_second"] / b["median_tokens_per_second"]
    return {"real_tokens_per_epoch": real_tokens, "num_buckets": num_buckets,
            "padding_by_num_buckets": tried, "bucketed": a, "course": b,
            "tokens_per_second_ratio": speedup,
            "ratio_per_round": [sb / sa for sa, sb in zip(seconds["bucketed"], seconds["course"])]}


def measure_latency(data: NerData, *, calls: int, seed: int, warmup: int = 10) -> dict:
    """Per-call times of tagging one sentence through the export and through `model.predict`."""
    vocab, tags = data.vocab, data.tags
    model = fresh_tagger(len(vocab), len(tags), seed)
    with tempfile.TemporaryDirectory() as tmp:
        tagger = make_tagger(model, data, Path(tmp, "assets"), snapshot=True)
        export = export_tagger(tagger, base_dir=tmp, name="bilstm_ner", card={})
        serve = load(export).signatures["serving_default"]

        def signature_tag(text: str) -> list[str]:
            out = serve(text=tf.constant([text]))
            return [t.decode("utf-8") for t in out["tags"].numpy()[0, : int(out["lengths"][0])]]

        word_index = vocab.index  # built once, as a course script's word2idx dict is

        def predict_tag(text: str) -> list[str]:
            return course_tag(model, text, word_index, vocab.unknown_id, tags.tokens)

        paths: dict[str, Callable[[str], list[str]]] = {"signature": signature_tag,
                                                        "course": predict_tag}
        result = {}
        for key, text in SENTENCES.items():
            for path in paths.values():
                for _ in range(warmup):
                    path(text)
            times: dict[str, list[float]] = {name: [] for name in paths}
            for call in range(calls):
                for name in list(paths)[:: 1 if call % 2 == 0 else -1]:
                    started = time.perf_counter()
                    paths[name](text)
                    times[name].append(time.perf_counter() - started)
            sa, sb = percentiles_ms(times["signature"]), percentiles_ms(times["course"])
            result[key] = {"text": text, "tokens": len(course_tokenize(text)),
                           "same_tags": paths["signature"](text) == paths["course"](text),
                           "signature": sa, "course": sb,
                           "speedup": sb["median_ms"] / sa["median_ms"]}
            log(f"latency {key} ({result[key]['tokens']} tokens): signature "
                f"{sa['median_ms']:.2f} ms, course {sb['median_ms']:.2f} ms median")
    return result


# ----------------------------------------------------------------------------- reporting


def row(metric: str, a: str, b: str, ratio: float | None = None, target: str = "-",
        met: bool | None = None) -> dict:
    """One table row; `ratio` is how many times better the zoo side (A) is."""
    return {"metric": metric, "a": a, "b": b, "ratio": ratio, "target": target, "met": met}


def table_rows(training: dict, latency: dict, epochs: int) -> list[dict]:
    """The summary table: training throughput and padding, then latency per sentence."""
    a, b = training["bucketed"], training["course"]
    throughput = training["tokens_per_second_ratio"]
    rows = [
        row(f"seconds per epoch (median of {epochs})", f"{a['median_seconds']:.1f}",
            f"{b['median_seconds']:.1f}", b["median_seconds"] / a["median_seconds"]),
        row("real tokens / s (median)", f"{a['median_tokens_per_second']:,.0f}",
            f"{b['median_tokens_per_second']:,.0f}", throughput,
            f">= {TARGETS['throughput']:g}x", throughput >= TARGETS["throughput"]),
        row(f"padding fraction ({training['num_buckets']} buckets for A)",
            f"{a['padding_fraction']:.1%}", f"{b['padding_fraction']:.1%}", None,
            f"A <= {TARGETS['padding']:.0%}", a["padding_fraction"] <= TARGETS["padding"]),
    ]
    for entry in latency.values():
        sa, sb = entry["signature"], entry["course"]
        label = f"1-sentence latency, {entry['tokens']} tokens"
        rows.append(row(f"{label}, median ms", f"{sa['median_ms']:.2f}", f"{sb['median_ms']:.2f}",
                        entry["speedup"], f">= {TARGETS['latency']:g}x",
                        entry["speedup"] >= TARGETS["latency"]))
        rows.append(row(f"{label}, p90 ms", f"{sa['p90_ms']:.2f}", f"{sb['p90_ms']:.2f}",
                        sb["p90_ms"] / sa["p90_ms"]))
    return rows


def markdown_table(rows: Sequence[dict]) -> str:
    """The rows as a markdown table."""
    lines = ["| metric | tf.data bucketed / exported signature | course generator / model.predict "
             "| ratio | target | met? |",
             "| --- | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        met = {True: "yes", False: "**no**"}.get(r["met"], "-")
        lines.append(f"| {r['metric']} | {r['a']} | {r['b']} | {ratio} | {r['target']} | {met} |")
    return "\n".join(lines)


def machine_info() -> dict:
    """CPU count, platform, load and library versions, so figures can be compared across runs."""
    return {"cpu_count": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "load_average": os.getloadavg(), **software_versions()}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command-line options (see benchmarks/README.md)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ner_pipeline",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="CoNLL-2003 training file, plain or gzipped")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2,
                        help="timed epochs per side; the median is reported")
    parser.add_argument("--latency-calls", type=int, default=200,
                        help="timed calls per path and sentence")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def report_markdown(results: dict, table: str) -> str:
    """`ner_pipeline.md`: the command, the machine and the table."""
    machine = results["machine"]
    return (f"# NER pipeline benchmark\n\n`{results['command']}`\n\n"
            f"{results['date']}; {machine['cpu_count']} CPUs (load average "
            f"{machine['load_average'][0]:.1f} at the start); TensorFlow {machine['tensorflow']}, "
            f"Keras {machine['keras']}; batch size {results['batch_size']}, "
            f"{results['data']['sentences']} sentences; {results['elapsed_seconds']:.0f} s in all. "
            "Ratios are how many times better the first column is.\n\n"
            f"{table}\n")


def main(argv: Sequence[str] | None = None) -> dict:
    """Runs both measurements, writes JSON and markdown to `--out`, prints the table."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    started = time.perf_counter()
    machine = machine_info()
    log(f"reading {args.data}")
    train = read_conll(args.data)
    # Vocabularies (`ner_vocabularies(train)`) and features as `zoo train` makes them; nothing is
    # evaluated, so a few training sentences stand in for the dev split.
    data = prepare_ner_data(train, train[: args.batch_size], batch_size=args.batch_size,
                            seed=args.seed)
    vocab, tags = data.vocab, data.tags
    training = measure_training(train, vocab, tags, batch_size=args.batch_size, epochs=args.epochs,
                                seed=args.seed)
    latency = measure_latency(data, calls=args.latency_calls, seed=args.seed)
    rows = table_rows(training, latency, args.epochs)
    results = {
        "command": shlex.join([sys.executable, "-m", "benchmarks.ner_pipeline", *argv]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {**machine, "load_average_end": os.getloadavg()},
        "data": {"path": str(args.data), "sentences": len(train), "vocab_size": len(vocab),
                 "num_tags": len(tags)},
        "batch_size": args.batch_size, "epochs": args.epochs, "seed": args.seed, "targets": TARGETS,
        "training": training, "latency": latency, "table": rows,
        "elapsed_seconds": time.perf_counter() - started,
    }
    table = markdown_table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ner_pipeline.json").write_text(json.dumps(results, indent=2) + "\n",
                                                encoding="utf-8")
    (args.out / "ner_pipeline.md").write_text(report_markdown(results, table), encoding="utf-8")
    print(table)
    log(f"done in {results['elapsed_seconds']:.0f} s; results in {args.out}")
    return results


if __name__ == "__main__":
    main()
