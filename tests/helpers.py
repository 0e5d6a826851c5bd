"""One check applied to every registered model: build, call, train a step, round-trip."""

from __future__ import annotations

import numpy as np

import zoo


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

    compile_fn = task_compile(spec.task)
    compile_fn(model, learning_rate=0.1)
    before = [w.copy() for w in model.get_weights()]
    labels = np.zeros(eager.shape[:-1], dtype="int32")
    model.train_on_batch(inputs, labels)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def task_compile(task: str):
    from zoo.tasks import image, language_model, ner, sentiment, siamese

    return {"ner": ner.compile_tagger, "image": image.compile_classifier,
            "language_model": language_model.compile_language_model,
            "sentiment": sentiment.compile_sentiment, "siamese": siamese.compile_siamese}[task]


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
