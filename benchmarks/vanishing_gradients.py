"""Vanishing gradients made visible: the adding problem for tanh RNN, identity RNN, GRU and LSTM.

The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015): each step carries a value
drawn from U(0, 1) and a marker; exactly two steps are marked, one in each half of the sequence,
and the target is the sum of the two marked values. Predicting the constant 1 gives a mean squared
error of 1/6, so a model only beats that baseline if the gradient from the last step reaches the
first marker, up to `length` steps back.

For every cell and sequence length the script trains a one-layer recurrent model (the cells of
`zoo.models.blocks.RECURRENT_CELLS`, Adam, gradient clipping by global norm) on freshly sampled
batches and reports the test accuracy (|prediction - target| < 0.04) and MSE. For the longest
length it also records the norm of the loss gradient with respect to the input at each time step,
averaged over a batch, at initialisation and after training: how much of the error signal reaches
each earlier step.

Run from the repository root:

    .venv/bin/python benchmarks/vanishing_gradients.py                       # the real run
    .venv/bin/python benchmarks/vanishing_gradients.py --lengths 10 20 --steps 50 --out /tmp/vg   # smoke

Writes `benchmarks/results/vanishing_gradients.{json,md,png}`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CELLS = {"rnn": "tanh RNN", "irnn": "identity RNN", "gru": "GRU", "lstm": "LSTM"}
TOLERANCE = 0.04  # an answer within 0.04 of the target counts as correct (Le et al. 2015)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 25, 50, 100], help="sequence lengths")
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4000, help="training batches per cell and length")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--clipnorm", type=float, default=1.0, help="gradient clipping by global norm")
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--no-jit", action="store_true",
                        help="run without XLA (XLA makes these small recurrent steps about 5x cheaper on CPU)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    return parser.parse_args(argv)


def adding_batch(seed, batch: int, length: int):
    """(inputs (batch, length, 2), targets (batch,)) of the adding problem, a pure function of `seed`."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, 3)
    values = tf.random.stateless_uniform([batch, length], seeds[0])
    half = length // 2
    first = tf.random.stateless_uniform([batch], seeds[1], maxval=half, dtype=tf.int32)
    second = tf.random.stateless_uniform([batch], seeds[2], minval=half, maxval=length, dtype=tf.int32)
    markers = tf.one_hot(first, length) + tf.one_hot(second, length)
    return tf.stack([values, markers], axis=-1), tf.reduce_sum(values * markers, axis=1)


def build_model(cell: str, units: int):
    import keras

    from zoo.models.blocks import RECURRENT_CELLS

    inputs = keras.Input(shape=(None, 2), name="sequence")
    state = RECURRENT_CELLS[cell](units, name=f"{cell}_0")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="sum")(state)[:, 0], name=f"adding_{cell}")


def input_gradient_norms(model, x, y):
    """Mean over the batch of ||dL/dx_t|| for each time step t (L: the batch's mean squared error)."""
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_mean(tf.square(model(x, training=False) - y))
    grads = tape.gradient(loss, x)
    return tf.reduce_mean(tf.norm(grads, axis=-1), axis=0).numpy().tolist()


def run_one(cell: str, length: int, args, test) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    model = build_model(cell, args.units)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate, global_clipnorm=args.clipnorm), loss="mse",
                  jit_compile=not args.no_jit)
    x_test, y_test = test
    grads_init = input_gradient_norms(model, x_test[:256], y_test[:256])
    train = tf.data.Dataset.range(args.steps).map(
        lambda i: adding_batch(tf.stack([tf.cast(args.seed, tf.int64), i]), args.batch_size, length))
    started = time.perf_counter()
    history = model.fit(train, epochs=1, verbose=0).history
    seconds = time.perf_counter() - started
    predictions = model.predict(x_test, batch_size=500, verbose=0)
    errors = np.abs(predictions - y_test)
    return {
        "cell": cell, "length": length, "accuracy": float(np.mean(errors < TOLERANCE)),
        "mse": float(np.mean(errors ** 2)), "final_train_loss": float(history["loss"][-1]),
        "train_seconds": round(seconds, 1), "grad_norms_init": grads_init,
        "grad_norms_trained": input_gradient_norms(model, x_test[:256], y_test[:256]),
    }


def summary_table(runs: list[dict], lengths: list[int]) -> str:
    lines = ["| cell | " + " | ".join(f"T={n}" for n in lengths) + " |",
             "| --- | " + " | ".join("---" for _ in lengths) + " |"]
    for cell in dict.fromkeys(r["cell"] for r in runs):
        by_length = {r["length"]: r for r in runs if r["cell"] == cell}
        cells = [f"{by_length[n]['accuracy']:.1%} (MSE {by_length[n]['mse']:.3f})" for n in lengths]
        lines.append(f"| {CELLS[cell]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gradient_table(runs: list[dict], length: int) -> str:
    """Gradient norm at the first step relative to the last, at initialisation and after training."""
    lines = ["| cell | dL/dx_1 / dL/dx_T at init | after training |", "| --- | --- | --- |"]
    for r in runs:
        if r["length"] == length:
            ratios = [g[0] / g[-1] if g[-1] else float("nan") for g in (r["grad_norms_init"], r["grad_norms_trained"])]
            lines.append(f"| {CELLS[r['cell']]} | {ratios[0]:.2e} | {ratios[1]:.2e} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from zoo.plots import plot_vanishing_gradients

    started = time.perf_counter()
    runs = []
    for length in args.lengths:
        test = [t.numpy() for t in adding_batch(tf.constant([args.seed + 1, 0], tf.int64), args.test_size, length)]
        for cell in args.cells:
            runs.append(run_one(cell, length, args, test))
            r = runs[-1]
            print(f"T={length:<4} {CELLS[cell]:<13} accuracy {r['accuracy']:.3f}  MSE {r['mse']:.4f}  "
                  f"({r['train_seconds']:.0f}s)", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    longest = max(args.lengths)
    plot = plot_vanishing_gradients(runs, out / "vanishing_gradients.png", names=CELLS, tolerance=TOLERANCE)
    result = {
        "benchmark": "vanishing_gradients",
        "command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": args.threads},
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "accuracy_tolerance": TOLERANCE,
        "baseline_mse": 1 / 6,
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "runs": runs,
        "plot": plot,
    }
    (out / "vanishing_gradients.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    markdown = (
        f"# Vanishing gradients: the adding problem\n\n{args.units} units, {args.steps} batches of "
        f"{args.batch_size}, Adam {args.learning_rate}, clipnorm {args.clipnorm}; test accuracy "
        f"(|error| < {TOLERANCE}) and MSE on {args.test_size} sequences (predicting 1 gives MSE 0.167).\n\n"
        f"{summary_table(runs, args.lengths)}\n\nGradient reaching the first step, relative to the last, "
        f"T={longest}:\n\n{gradient_table(runs, longest)}\n\n![plot](vanishing_gradients.png)\n"
    )
    (out / "vanishing_gradients.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return result


if __name__ == "__main__":
    main()
