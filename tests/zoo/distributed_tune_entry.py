"""One process of a distributed search in `test_distributed_tuning.py`: a tiny model, synthetic data.

`python distributed_tune_entry.py DIRECTORY EXPORT_DIR (--chief HOST:PORT | --worker HOST:PORT --tuner-id ID)`
runs `zoo.tuning.run_search` (random search, 4 trials of 1 epoch) and, where it returns a result,
saves the best model as `EXPORT_DIR/<tuner id>.keras`. A `ZooError` prints one line and exits 2.
"""

import argparse
import os
import sys

os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from zoo import distributed_tuning  # noqa: E402
from zoo.errors import ZooError  # noqa: E402
from zoo.registry import register_model  # noqa: E402
from zoo.tuning import run_search  # noqa: E402

MAX_TRIALS = 4


def tiny_space(hp) -> dict:
    return {"units": hp.Choice("units", [2, 4, 8, 16])}


@register_model("distributed_tiny_mlp", task="test", inputs=("features",), search_space=tiny_space)
def distributed_tiny_mlp(*, num_features, units: int = 4) -> keras.Model:
    """A one-hidden-layer binary classifier (the distributed-search test's model)."""
    inputs = keras.Input((num_features,), name="features")
    hidden = keras.layers.Dense(units, activation="relu", name="hidden")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="head")(hidden))


def compile_binary(model: keras.Model, *, learning_rate: float) -> keras.Model:
    model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy", metrics=["accuracy"])
    return model


def datasets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    train = tf.data.Dataset.from_tensor_slices((x[:48], y[:48])).batch(16)
    return train, tf.data.Dataset.from_tensor_slices((x[48:], y[48:])).batch(16)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("export_dir")
    distributed_tuning.add_arguments(parser)
    args = parser.parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(1)  # three of these processes share the test's CPUs
    tf.config.threading.set_inter_op_parallelism_threads(1)
    try:
        train, val = datasets()
        with distributed_tuning.environment_from_args(args):
            result = run_search("distributed_tiny_mlp", {"num_features": 3}, compile_binary, train, val,
                                objective=kt.Objective("val_loss", "min"), directory=args.directory,
                                algorithm="random", max_trials=MAX_TRIALS, max_epochs=1, verbose=0,
                                chief_timeout=args.chief_timeout)
    except ZooError as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return 2
    if result is not None:
        os.makedirs(args.export_dir, exist_ok=True)
        result.model.save(os.path.join(args.export_dir, f"{args.tuner_id or 'chief'}.keras"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
