"""Where the exported NER tagger's time goes, stage by stage, at batch 1 and batch 256.

    .venv/bin/python -m benchmarks.ner_tagger_profile --run runs/ner --export saved_models/bilstm_crf_ner/1

`--run` is a `zoo train` work folder (its `best.weights.h5`, `vocab.txt`, `tags.txt`, `chars.txt`)
and `--export` that run's export (for its model card): the tagger is rebuilt in process from them,
as `zoo train` builds the graph it exports. Each stage is timed as a prefix of the graph (tokenize;
+ features; + model; + CRF decode and scores; + spans and outputs = the whole `serve_text`; every
prefix but the first runs the same length buckets), each prefix a `tf.function` of its own, all called in turn on the same request so noise hits them
alike; a stage's cost is the difference of medians. Requests: every 10th `eng.testa` sentence
alone (batch 1), and all of them in file order, 256 at a time. TensorFlow runs with intra-op 1 and
inter-op `--threads`, the TF Serving settings the README advises.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("tokenize", "features", "model", "crf", "spans")


def stage_functions(tagger) -> dict:
    """One `tf.function` per prefix of `Tagger.serve_text`, each running the same length buckets."""
    import tensorflow as tf

    from pipelines.text import tokenize

    def features(rows, width):
        ids = tagger.features(rows)["token_ids"].to_tensor(shape=[rows.nrows(), width])
        return ids, tf.cast(ids, tf.float32)

    def model(rows, width):
        outputs, _ = tagger._emissions(rows, width)
        return tf.cast(tf.argmax(outputs, -1), tf.int32), tf.reduce_max(outputs, -1)

    def prefix(text, decode):
        tokens = tokenize(text)
        if decode is None:
            return tokens.flat_values
        width = tf.maximum(tf.reduce_max(tf.concat([tokens.row_lengths(), [0]], 0)), 2)
        return tagger._decode_in_buckets(tokens, width, decode)

    spec = [tf.TensorSpec([None], tf.string)]
    parts = {"tokenize": None, "features": features, "model": model, "crf": tagger._decode}
    functions = {stage: tf.function(lambda t, d=decode: prefix(t, d), input_signature=spec)
                 for stage, decode in parts.items()}
    functions["spans"] = tagger.serve_text
    return functions


def profile(functions: dict, batches: list, repeats: int) -> dict:
    """Median milliseconds per call of each prefix, and each stage's share of the whole."""
    import tensorflow as tf

    for function in functions.values():
        for batch in batches[:3]:
            function(tf.constant(batch))
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for batch in batches:
            text = tf.constant(batch)
            for name, function in functions.items():
                start = time.perf_counter()
                function(text)
                times[name].append(1000 * (time.perf_counter() - start))
    medians = {name: statistics.median(values) for name, values in times.items()}
    stages, previous = {}, 0.0
    for name in STAGES:
        stages[name] = {"ms": medians[name] - previous, "share": (medians[name] - previous) / medians["spans"]}
        previous = medians[name]
    return {"ms_per_call": medians["spans"], "stages": stages}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="the zoo train work folder")
    parser.add_argument("--export", type=Path, required=True, help="its export (for the model card)")
    parser.add_argument("--dev", type=Path, default=ROOT / ".." / "shared" / "datasets" / "conll2003" / "eng.testa.gz")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="passes over the requests (default 2)")
    args = parser.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from pipelines.readers import read_conll
    from zoo.export import read_card
    from zoo.tasks.ner.serving import tagger_from_run

    tagger = tagger_from_run(args.run, read_card(args.export))
    texts = [" ".join(s.tokens) for s in read_conll(args.dev)]
    functions = stage_functions(tagger)
    result = {"batch 1": profile(functions, [[text] for text in texts[::10]], args.repeats),
              "batch 256": profile(functions, [texts[i:i + 256] for i in range(0, len(texts), 256)], args.repeats)}
    print(json.dumps(result, indent=2))
    print("| stage | " + " | ".join(result) + " |\n| --- |" + " ---: |" * len(result))
    for stage in STAGES:
        print(f"| {stage} | " + " | ".join(f"{r['stages'][stage]['ms']:.2f} ms ({100 * r['stages'][stage]['share']:.0f}%)"
                                         for r in result.values()) + " |")
    print("| whole `serve_text` | " + " | ".join(f"{r['ms_per_call']:.2f} ms" for r in result.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
