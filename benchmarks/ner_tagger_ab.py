"""Two exports of the same NER tagger timed against each other in one process, calls interleaved.

    .venv/bin/python -m benchmarks.ner_tagger_ab BASELINE_EXPORT CANDIDATE_EXPORT

Between two TensorFlow graphs one process is fair (both see the same load at the same moments;
`ner_vs_spacy` runs systems in processes of their own because spaCy's single thread is not).
Checks first that both give the same tags on every `eng.testa` sentence (and how far their scores
differ); then times `serving_default` on every 5th dev sentence alone (batch 1, `--repeats`
passes, the order of the two alternating per pass) and on all of them 256 at a time, in file order.
TensorFlow runs with intra-op 1 and inter-op `--threads`, the TF Serving settings the README advises.
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("candidate", type=Path)
    parser.add_argument("--dev", type=Path, default=ROOT / ".." / "shared" / "datasets" / "conll2003" / "eng.testa.gz")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=4, help="batch-1 passes (default 4)")
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from pipelines.readers import read_conll
    from zoo.serving import load

    texts = [" ".join(s.tokens) for s in read_conll(args.dev)]
    graphs = {"baseline": load(args.baseline).signatures["serving_default"],
              "candidate": load(args.candidate).signatures["serving_default"]}
    score_diff = 0.0
    for start in range(0, len(texts), 256):
        text = tf.constant(texts[start:start + 256])
        base, new = (graph(text=text) for graph in graphs.values())
        if not np.array_equal(base["tags"].numpy(), new["tags"].numpy()):
            raise SystemExit(f"tags differ in sentences {start}-{start + 255}")
        score_diff = max(score_diff, float(np.abs(base["scores"].numpy() - new["scores"].numpy()).max()))
    result = {"sentences": len(texts), "tags": "identical", "max_score_difference": score_diff}
    for size, repeats in ((1, args.repeats), (256, 1)):
        batches = [tf.constant(texts[i:i + size]) for i in range(0, len(texts), size)][::5 if size == 1 else 1]
        for graph in graphs.values():
            graph(text=batches[0])
        times = {name: [] for name in graphs}
        for repeat in range(repeats):
            order = list(graphs.items())[::1 if repeat % 2 == 0 else -1]
            for batch in batches:
                for name, graph in order:
                    start = time.perf_counter()
                    graph(text=batch)
                    times[name].append(1000 * (time.perf_counter() - start))
        medians = {name: statistics.median(values) for name, values in times.items()}
        ratio = medians["candidate"] / medians["baseline"]
        result[f"batch {size}"] = {"median_ms": medians, "candidate / baseline": ratio}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
