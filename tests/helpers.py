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
