"""One training process for tests/zoo/test_distribute.py and benchmarks/multiworker.py.

Trains a tiny dense classifier on fixed synthetic data and saves its final weights and history to
`--out` (npz). `TF_CONFIG` comes from the environment for `--strategy multiworker`.

    python tests/zoo/distribute_worker.py --strategy multiworker --loop custom --out w0.npz --workdir w
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

EXAMPLES, FEATURES, CLASSES = 64, 4, 3
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategy", choices=["none", "mirrored", "multiworker"], default="none")
    parser.add_argument("--devices", type=int)
    parser.add_argument("--loop", choices=["custom", "fit"], default="custom")
    parser.add_argument("--data", choices=["dataset", "function"], default="function")
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, help="steps per epoch (default: all the data)")
    parser.add_argument("--global-batch", type=int, default=16)
    parser.add_argument("--examples", type=int, default=EXAMPLES)
    parser.add_argument("--crash-at-step", type=int, help="exit hard (as if killed) before this global step")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--export", help="export a serving graph here (chief only)")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from zoo.distribute import make_strategy, set_precision
    from zoo.errors import ZooError

    try:
        # Before anything else touches TensorFlow: logical CPUs must be set before it starts.
        strategy = make_strategy(args.strategy, devices=args.devices, timeout=args.timeout)
        set_precision(args.precision)
    except ZooError as e:
        print(f"zoo: error: {e}", file=sys.stderr)
        return 2
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.examples, FEATURES)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")

    def build():
        keras.utils.set_random_seed(0)  # the same initial weights in every process
        inputs = keras.Input((FEATURES,), name="features")
        hidden = keras.layers.Dense(8, activation="tanh", name="hidden")(inputs)
        outputs = keras.layers.Dense(CLASSES, activation="softmax", name="probabilities")(hidden)
        from zoo.distribute import with_float32_outputs

        return with_float32_outputs(keras.Model(inputs, outputs, name="tiny"))

    def loss():
        return keras.losses.SparseCategoricalCrossentropy()

    def optimizer():
        return keras.optimizers.SGD(learning_rate=0.1, momentum=0.5)

    def metrics():
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    examples = tf.data.Dataset.from_tensor_slices((x, y))

    def on_step(step):  # a crash before a given step, as if the process were killed
        step_times.append(time.perf_counter())
        if args.crash_at_step is not None and step >= args.crash_at_step:
            os._exit(17)

    if args.data == "dataset":
        train = examples.batch(args.global_batch)
    else:
        def train(context):
            return examples.shard(context.num_input_pipelines, context.input_pipeline_id).batch(
                context.get_per_replica_batch_size(args.global_batch))
    dev = examples.batch(args.global_batch)

    started = time.perf_counter()
    step_times = []  # when each step started
    if args.loop == "fit":
        from zoo.distribute import strategy_scope

        with strategy_scope(strategy):
            model = build()
            model.compile(optimizer=optimizer(), loss=loss(), metrics=metrics())
        history = model.fit(examples.batch(args.global_batch), validation_data=dev, epochs=args.epochs,
                            steps_per_epoch=args.steps, verbose=0, shuffle=False).history
        is_chief = True
    else:
        from zoo.distribute import fit_multiworker, parse_tf_config

        cluster = parse_tf_config(os.environ["TF_CONFIG"]) if args.strategy == "multiworker" else None
        is_chief = cluster is None or cluster.is_chief
        try:
            model, history = fit_multiworker(
                strategy or tf.distribute.get_strategy(), build, loss=loss, optimizer=optimizer, metrics=metrics,
                train=train, dev=dev, epochs=args.epochs,
                steps_per_epoch=args.steps, workdir=args.workdir, is_chief=is_chief,
                task_index=cluster.task_index if cluster else 0, on_step=on_step)
        except ZooError as e:
            print(f"zoo: error: {e}", file=sys.stderr)
            return 2
    if args.export and is_chief:
        export(model, args.export)
    np.savez(args.out, *model.get_weights())
    with open(args.out + ".json", "w") as f:
        json.dump({"history": history, "seconds": time.perf_counter() - started, "step_times": step_times}, f)
    return 0


def export(model, path: str) -> None:
    import tensorflow as tf

    class Served(tf.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([None, FEATURES], tf.float32, name="features")])
        def serve(self, features):
            return {"probabilities": self.model(features, training=False)}

    served = Served(model)
    tf.saved_model.save(served, path, signatures={"serving_default": served.serve})


# ----------------------------------------------------------------------------- running several at once


def worker_runs(count: int, *args) -> dict:
    """`run_processes` entries `w0`..: `count` loopback workers of one cluster on free ports, all given `args`."""
    from zoo.distribute import free_ports, local_tf_config

    ports = free_ports(count)
    return {f"w{i}": (list(args), local_tf_config(ports, i)) for i in range(count)}


def run_processes(runs: dict, *, out_dir, timeout: float) -> dict:
    """Starts every `name: (args, tf_config or None)` of this script at once, writing `out_dir/<name>.npz`
    and `.log`; returns each exit status (None: still running at `timeout`). Every process is killed
    at the end."""
    import subprocess
    from pathlib import Path

    out_dir = Path(out_dir)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    processes = {}
    try:
        for name, (args, tf_config) in runs.items():
            task_env = {**env, "TF_CONFIG": tf_config} if tf_config else env
            with open(out_dir / f"{name}.log", "w") as log:
                processes[name] = subprocess.Popen(
                    [sys.executable, __file__, "--out", str(out_dir / f"{name}.npz"), *args], stdout=log,
                    stderr=subprocess.STDOUT, cwd=out_dir, env=task_env)
        return {name: p.wait(timeout=timeout) for name, p in processes.items()}
    except subprocess.TimeoutExpired:
        return {name: p.poll() for name, p in processes.items()}
    finally:
        for p in processes.values():
            p.kill()  # SIGKILL: a task stuck in TF's rendezvous holds the GIL and never runs a SIGTERM handler
            p.wait()


def read_run(out_dir, name: str) -> dict:
    """What run `name` saved: `weights` (list of arrays), `history`, `seconds`, `step_times`."""
    import numpy as np
    from pathlib import Path

    with np.load(Path(out_dir) / f"{name}.npz") as f:
        weights = [f[f"arr_{i}"] for i in range(len(f.files))]
    with open(Path(out_dir) / f"{name}.npz.json") as f:
        return {"weights": weights, **json.load(f)}


if __name__ == "__main__":
    sys.exit(main())
