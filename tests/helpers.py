"""Shared test helpers: one check for every registered model, tiny synthetic images and text, a zoo-free runner."""

from __future__ import annotations

import struct

import numpy as np

import zoo
from zoo.tasks import get_task

SONNET = ("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n"
          "Rough winds do shake the darling buds of May,\nAnd summer's lease hath all too short a date;\n") * 3


TWEETS_HEADER = "tweet_id, tweet_time, tweet_author, tweet_author_id,    tweet_language, tweet_geo, tweet_text\n"


def write_tweets(path, texts):
    """A `twitter_samples` CSV export of `texts` (header ends in LF, rows in CRLF); returns `path`."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(TWEETS_HEADER)
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerows([i, "Fri Jul 24", "user", i, "en", "", text] for i, text in enumerate(texts))
    return path


def emoticon_tweets(root, *, per_class: int = 60, seed: int = 0):
    """Positive and negative synthetic tweet files in `root`; only the emoticon tells them apart."""
    rng = np.random.default_rng(seed)
    words = ["the", "day", "game", "show", "trip", "food", "news", "team", "@fan", "#tbt"]

    def tweets(faces):
        return [f"{rng.choice(words)} {rng.choice(words)} {rng.choice(faces)}" for _ in range(per_class)]

    return (write_tweets(root / "pos.csv", tweets([":)", ":-)", ":D", "<3"])),
            write_tweets(root / "neg.csv", tweets([":(", ":-(", ":'(", "</3"])))


TOPICS = ["python", "java", "cooking", "football", "guitar", "physics", "money", "travel", "health", "movies",
          "cars", "dogs", "chess", "yoga", "painting", "history"]
TEMPLATES = [("How do I learn {} ?", "What is the best way to learn {} ?"),
             ("Why is {} so popular ?", "What makes {} popular ?"),
             ("Is {} hard to master ?", "How difficult is {} to master ?")]


def paraphrases(topics):
    """Synthetic question pairs. Duplicates within a template and topic; non-duplicates: another
    template, or another topic."""
    from pipelines.readers.pair import Pair

    pairs = [Pair(a.format(t), b.format(t), label=1) for t in topics for a, b in TEMPLATES]
    pairs += [Pair(TEMPLATES[0][0].format(t), TEMPLATES[1][0].format(t), label=0) for t in topics]
    pairs += [Pair(TEMPLATES[2][1].format(t), TEMPLATES[2][1].format(u), label=0) for t, u in zip(topics, topics[1:])]
    return pairs


def write_quora(path, pairs):
    """`pairs` as a Quora (BiMPM) TSV: is_duplicate, question1, question2, id; returns `path`."""
    path.write_text("".join(f"{p.label}\t{p.text_a}\t{p.text_b}\t{i}\n" for i, p in enumerate(pairs)), encoding="utf-8")
    return path


def bars(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8x8 gray images: class 0 a bright row, class 1 a bright column, class 2 a bright diagonal, on noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, count).astype(np.uint8)
    images = rng.integers(0, 60, (count, 8, 8), dtype=np.uint8)
    for image, label, k in zip(images, labels, rng.integers(1, 7, count)):
        if label == 0:
            image[k, :] = 255
        elif label == 1:
            image[:, k] = 255
        else:
            np.fill_diagonal(image, 255)
    return images, labels


def write_idx(path, array: np.ndarray) -> str:
    """Writes `array` (uint8) as an IDX file, the MNIST format; returns the path as a string."""
    path.write_bytes(bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes())
    return str(path)


def tiny_inputs(model, batch: int = 2, length: int = 5):
    """Random int ids (>= 2, so nothing is padding) for int inputs, random pixels in [0, 1) for float
    image inputs: an array, or a dict by name."""
    rng = np.random.default_rng(0)

    def sample(x):
        if "float" in str(x.dtype):
            return rng.random((batch, *x.shape[1:]), dtype=np.float32)
        extra = (3,) * (len(x.shape) - 2)  # e.g. characters per token
        return rng.integers(2, 6, size=(batch, length, *extra)).astype("int32")

    arrays = {x.name: sample(x) for x in model.inputs}
    return next(iter(arrays.values())) if len(arrays) == 1 else arrays


def check_registered_model(name: str, tmp_path) -> None:
    """The same checks for every model: tiny preset exists, symbolic and eager calls agree,
    config and `.keras` round trips reproduce outputs, one training step changes weights."""
    import keras

    spec = zoo.get_spec(name)
    assert "tiny" in spec.presets, f"{name} has no 'tiny' preset for tests"
    model = zoo.build(name, preset="tiny", **spec.example_sizes)
    assert sorted(x.name for x in model.inputs) == sorted(spec.inputs)
    inputs = tiny_inputs(model)
    eager = keras.ops.convert_to_numpy(model(inputs, training=False))
    np.testing.assert_allclose(model.predict(inputs, verbose=0), eager, rtol=1e-5, atol=1e-6)

    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(inputs)), eager, rtol=1e-5, atol=1e-6)

    model.save(tmp_path / f"{name}.keras")
    restored = keras.saving.load_model(tmp_path / f"{name}.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(inputs)), eager, rtol=1e-5, atol=1e-6)

    get_task(spec.task).compile(model, learning_rate=0.1)
    before = [w.copy() for w in model.get_weights()]
    labels = np.zeros(eager.shape[:-1], dtype="int32")
    model.train_on_batch(inputs, labels)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def run_without_zoo(script: str, cwd) -> dict:
    """Runs `script` in a fresh Python that cannot import `zoo` (CPU only) and returns the JSON object
    its last line of output prints; it asserts the process exits cleanly."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=cwd,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_zoo(runs: dict[str, tuple[list[str], str | None]], *, cwd, timeout: float) -> dict:
    """Starts every `name: (zoo arguments, TF_CONFIG or None)` at once as `python -m zoo.cli` in `cwd`
    (CPU only, this checkout's `zoo`); returns `name: (exit status, or None when still running after
    `timeout` seconds, its output)`. Every process is killed at the end."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    processes, logs = {}, {}
    try:
        for name, (args, tf_config) in runs.items():
            logs[name] = open(cwd / f"{name}.log", "w")
            processes[name] = subprocess.Popen([sys.executable, "-m", "zoo.cli", *args], stdout=logs[name],
                                               stderr=subprocess.STDOUT, cwd=cwd,
                                               env={**env, "TF_CONFIG": tf_config} if tf_config else env)
        codes, deadline = {}, time.monotonic() + timeout
        for name, process in processes.items():
            try:
                codes[name] = process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                codes[name] = None
    finally:
        for process in processes.values():
            process.kill()  # a task stuck in TF's rendezvous holds the GIL and never runs a SIGTERM handler
            process.wait()
        for log in logs.values():
            log.close()
    return {name: (codes.get(name), (cwd / f"{name}.log").read_text()) for name in runs}


def write_text(tmp_path, name: str, text: str, *, compress: bool = False) -> str:
    """`text` as UTF-8 in `tmp_path / name`, gzipped with `compress`; returns the path as a string."""
    import gzip

    path = tmp_path / name
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return str(path)


def _plain(value):
    """Numpy / nested-list outputs as plain Python, strings decoded."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _assert_same(name: str, expected, received) -> None:
    expected, received = _plain(expected), _plain(received)
    flat = np.array(expected, dtype=object).ravel()
    if flat.size and all(isinstance(v, (int, float, bool)) for v in flat):
        np.testing.assert_allclose(np.array(received, dtype=float), np.array(expected, dtype=float), rtol=1e-5,
                                   atol=1e-5, err_msg=name)
    else:
        assert received == expected, name


def check_export(export, calls: dict[str, dict]) -> dict:
    """The same checks for every task's export (the helper each task's export test calls).

    1. Its graphs hold only ops TF Serving links (`check_serving_ops`), and its TF Serving warmup
       requests replay through the loaded signatures (`check_warmup`).
    2. Each signature in `calls` (signature name -> inputs: name -> list or scalar) gives the same
       outputs in a fresh process that cannot import `zoo` as in this one, both through
       `tf.saved_model.load` and through the TF1 loader and a session run, the path of TF Serving's
       C++ loader (which Keras 3 variables broke: `zoo.export.track_signature_variables`).
    3. The same request through the REST predict contract (`rest_predict`, columnar `inputs`; bytes
       as `{"b64": ...}`) gives the same outputs again.

    Returns:
        signature name -> its in-process outputs (numpy), for the caller's task-specific assertions.
    """
    import base64
    import textwrap
    from pathlib import Path

    import tensorflow as tf

    from zoo.serving import check_serving_ops, load, rest_predict

    check_serving_ops(export)
    loaded = load(export)
    check_warmup(export, loaded)
    local = {}
    for name, inputs in calls.items():
        outputs = loaded.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
        local[name] = {k: v.numpy() for k, v in outputs.items()}
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf, tensorflow_text  # noqa: F401
        def plain(v):
            return [plain(x) for x in v] if isinstance(v, list) else v.decode("utf-8") if isinstance(v, bytes) else v
        import numpy as np
        loaded = tf.saved_model.load({str(export)!r})
        out, session_out = {{}}, {{}}
        for name, inputs in {calls!r}.items():
            result = loaded.signatures[name](**{{k: tf.constant(v) for k, v in inputs.items()}})
            out[name] = {{k: plain(v.numpy().tolist()) for k, v in result.items()}}
        # The path of TF Serving's C++ loader: the TF1 loader (restore op, init op), then a session run.
        tf1 = tf.compat.v1
        with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as session:
            meta = tf1.saved_model.loader.load(session, ["serve"], {str(export)!r})
            for name, inputs in {calls!r}.items():
                signature = meta.signature_def[name]
                result = session.run({{k: v.name for k, v in signature.outputs.items()}},
                                     {{signature.inputs[k].name: v for k, v in inputs.items()}})
                session_out[name] = {{k: plain(np.asarray(v).tolist()) for k, v in result.items()}}
        print(json.dumps({{"outputs": out, "session_outputs": session_out, "zoo_imported": "zoo" in sys.modules}}))
    """)
    fresh = run_without_zoo(script, Path(export).parent)
    assert fresh["zoo_imported"] is False

    def rest_value(value):
        if isinstance(value, list):
            return [rest_value(v) for v in value]
        return {"b64": base64.b64encode(value).decode("ascii")} if isinstance(value, bytes) else value

    for name, inputs in calls.items():
        for key, value in local[name].items():
            _assert_same(f"{name}/{key} (fresh process)", value, fresh["outputs"][name][key])
            _assert_same(f"{name}/{key} (TF1 session, as TF Serving loads it)", value, fresh["session_outputs"][name][key])
        response = rest_predict(loaded, {"signature_name": name, "inputs": {k: rest_value(v) for k, v in inputs.items()}})
        assert "error" not in response, response
        outputs = response["outputs"] if len(local[name]) > 1 else {next(iter(local[name])): response["outputs"]}
        for key, value in local[name].items():
            if not key.endswith("_bytes"):
                _assert_same(f"{name}/{key} (REST)", value, outputs[key])
    return local


def check_warmup(export, loaded) -> list:
    """Replays every warmup record of `export` through its signature in `loaded`, as the ModelServer's
    `--enable_model_warmup` does; returns the requests (at least one)."""
    import tensorflow as tf

    from zoo.deploy.warmup import read_warmup_requests

    requests = read_warmup_requests(export)
    assert requests, f"{export} has no warmup requests"
    for signature, inputs in requests:
        outputs = loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        assert outputs, signature
    return requests


def check_layer(layer, inputs: np.ndarray, *, expected_shape: tuple, tmp_path, loss="mse", labels=None) -> np.ndarray:
    """The same checks for every custom layer (after keras-hub's `run_layer_test`).

    1. Config round trip: `from_config(get_config())` gives the same JSON config.
    2. Symbolic call (a functional model) and eager call agree, with output shape `expected_shape`.
    3. One training step with `loss` (against `labels`, zeros by default) changes its trainable weights.
    4. SavedModel round trip: the model exported with `Model.export` and reloaded with TensorFlow alone
       serves the same outputs.

    Returns:
        the eager output.
    """
    import json

    import keras
    import tensorflow as tf

    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    assert type(layer).from_config(config).get_config() == config

    x = keras.Input(shape=(None,) * (inputs.ndim - 2) + inputs.shape[-1:] if inputs.ndim > 2 else inputs.shape[1:],
                    dtype=str(inputs.dtype))
    model = keras.Model(x, layer(x))
    eager = keras.ops.convert_to_numpy(layer(inputs))
    assert eager.shape == tuple(expected_shape), (eager.shape, expected_shape)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(inputs)), eager, rtol=1e-5, atol=1e-6)

    if layer.trainable_weights:
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
        before = [w.copy() for w in layer.get_weights()]
        model.train_on_batch(inputs, np.zeros(eager.shape, "float32") if labels is None else labels)
        assert any(not np.allclose(a, b) for a, b in zip(before, layer.get_weights())), "no weight changed"

    model.export(str(tmp_path / "saved_model"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "saved_model"))  # kept: its variables die with it
    trained = keras.ops.convert_to_numpy(model(inputs))
    np.testing.assert_allclose(reloaded.serve(tf.constant(inputs)).numpy(), trained, rtol=1e-5, atol=1e-6)
    return eager
