"""Strategies, the cluster from TF_CONFIG, precision, and the multi-worker loop (tiny dense model, loopback workers)."""

from __future__ import annotations

import json
import socket

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.distribute import (
    check_export_float32,
    check_port_free,
    fit_multiworker,
    free_ports,
    local_tf_config,
    make_strategy,
    parse_tf_config,
    set_precision,
    wait_for_peers,
    with_float32_outputs,
)
from zoo.errors import ZooError
from tests.zoo.distribute_worker import read_run, run_processes, worker_runs

TWO = {"cluster": {"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]}, "task": {"type": "worker", "index": 1}}


# ----------------------------------------------------------------------------- TF_CONFIG and the cluster


def test_parse_tf_config_reads_the_cluster_and_this_task():
    cluster = parse_tf_config(json.dumps(TWO))
    assert (cluster.address, cluster.chief, cluster.is_chief, cluster.num_workers) == (
        "127.0.0.1:2002", "127.0.0.1:2001", False, 2)
    assert cluster.peers() == ["127.0.0.1:2001"]
    with_chief = parse_tf_config(json.dumps({"cluster": {"chief": ["h:1"], "worker": ["h:2"]},
                                             "task": {"type": "chief", "index": 0}}))
    assert (with_chief.is_chief, with_chief.num_workers) == (True, 2)


@pytest.mark.parametrize("config, message", [
    (None, "TF_CONFIG environment variable"),
    ("{not json", "not JSON"),
    (json.dumps({"task": TWO["task"]}), "needs a 'cluster'"),
    (json.dumps({"cluster": TWO["cluster"]}), "needs a 'task'"),
    (json.dumps({**TWO, "task": {"type": "worker", "index": 2}}), "index 2 is out of range"),
    (json.dumps({**TWO, "task": {"type": "ps", "index": 0}}), "task type 'ps'"),
    (json.dumps({"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}), "not host:port"),
    (json.dumps({"cluster": {"worker": ["h:70000"]}, "task": {"type": "worker", "index": 0}}), "'h:70000'"),
    (json.dumps({"cluster": {"worker": ["h:1", "h:1"]}, "task": {"type": "worker", "index": 0}}), "more than once"),
    (json.dumps({"cluster": {"ps": ["h:1"]}, "task": {"type": "ps", "index": 0}}), "jobs ['ps']"),
])
def test_parse_tf_config_names_what_is_wrong(config, message):
    with pytest.raises(ZooError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_tf_config(config)


def test_multiworker_without_tf_config_and_unknown_names_are_errors(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ZooError, match="needs the TF_CONFIG"):
        make_strategy("multiworker")
    with pytest.raises(ZooError, match="unknown strategy 'horovod'; allowed: none, mirrored, multiworker"):
        make_strategy("horovod")
    with pytest.raises(ZooError, match="--devices 2 needs --strategy mirrored"):
        make_strategy(None, devices=2)
    with pytest.raises(ZooError, match="unknown precision 'float8'"):
        set_precision("float8")


def test_a_port_in_use_is_named():
    with socket.socket() as held:
        held.bind(("", 0))
        port = held.getsockname()[1]
        with pytest.raises(ZooError, match=f"127.0.0.1:{port} from TF_CONFIG: port {port} is in use"):
            check_port_free(f"127.0.0.1:{port}")
    check_port_free(f"127.0.0.1:{port}")


def test_wait_for_peers_returns_when_they_listen_and_names_the_missing_after_the_timeout():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        up = f"127.0.0.1:{listening.getsockname()[1]}"
        wait_for_peers([up], timeout=5)
        down = f"127.0.0.1:{free_ports(1)[0]}"
        with pytest.raises(ZooError, match=f"could not reach {down} within 0.3 s"):
            wait_for_peers([up, down], timeout=0.3, interval=0.05)


# ----------------------------------------------------------------------------- the loop in one process


def _tiny_problem(examples: int = 32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(examples, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8)


def _build():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,), name="features")
    hidden = keras.layers.Dense(8, activation="tanh", name="hidden")(inputs)
    return with_float32_outputs(keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="out")(hidden)))


def _fit(workdir, *, epochs, loss=keras.losses.SparseCategoricalCrossentropy, **options):
    steps = []
    model, history = fit_multiworker(
        tf.distribute.get_strategy(), _build, loss=loss,
        optimizer=lambda: keras.optimizers.Adam(0.05), metrics=lambda: [keras.metrics.SparseCategoricalAccuracy()],
        train=_tiny_problem(), dev=_tiny_problem(), epochs=epochs, workdir=workdir, is_chief=True,
        on_step=steps.append, **options)
    return model, history, steps


def test_fit_multiworker_resumes_from_its_checkpoint_and_matches_an_uninterrupted_run(tmp_path):
    whole, history, _ = _fit(tmp_path / "whole", epochs=3)
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    assert set(history) == {"loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy"}
    _fit(tmp_path / "split", epochs=2)
    resumed, history, steps = _fit(tmp_path / "split", epochs=3)
    assert len(steps) == 4  # one epoch of 32 examples in batches of 8: epochs 1 and 2 came from the checkpoint
    assert len(history["loss"]) == 3  # the chief's history.csv keeps the epochs before the resume
    assert (tmp_path / "split" / "logs").is_dir()
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_compiled_model_brings_its_loss_optimizer_and_metrics(tmp_path):
    explicit, history, _ = _fit(tmp_path / "explicit", epochs=1)

    def build():
        model = _build()
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss=keras.losses.SparseCategoricalCrossentropy(),
                      metrics=[keras.metrics.SparseCategoricalAccuracy()])
        return model

    compiled, from_compile = fit_multiworker(tf.distribute.get_strategy(), build, train=_tiny_problem(),
                                             dev=_tiny_problem(), epochs=1, workdir=tmp_path / "compiled",
                                             is_chief=True)
    assert from_compile == history
    for a, b in zip(explicit.get_weights(), compiled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    with pytest.raises(ZooError, match="needs a compiled model from `build`, or `loss` and `optimizer`"):
        fit_multiworker(tf.distribute.get_strategy(), _build, train=_tiny_problem(), epochs=1, workdir=tmp_path / "x",
                        is_chief=True)


def test_a_loss_function_trains_like_its_loss_class(tmp_path):
    """A CRF's loss is a plain function; wrapped, it reduces like the class of the same loss."""
    as_class, _, _ = _fit(tmp_path / "class", epochs=1)
    as_function, _, _ = _fit(tmp_path / "function", epochs=1,
                             loss=lambda: keras.losses.sparse_categorical_crossentropy)
    for a, b in zip(as_class.get_weights(), as_function.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_jit_compile_trains_to_the_same_weights(tmp_path):
    plain, _, _ = _fit(tmp_path / "plain", epochs=1)
    compiled, _, _ = _fit(tmp_path / "xla", epochs=1, jit_compile=True)
    for a, b in zip(plain.get_weights(), compiled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_early_stopping_restores_the_best_epoch(tmp_path):
    scores = iter([3.0, 1.0, 2.0, 2.5])
    kept = {}

    def fake_monitor(epoch, logs):  # the loop reads `logs` after the callbacks, so a made-up score drives it
        logs["score"] = next(scores)
        kept[epoch] = [w.copy() for w in model_ref[0].get_weights()] if model_ref else None

    model_ref = []
    original = _build

    def build():
        model_ref.append(original())
        return model_ref[0]

    model, history = fit_multiworker(
        tf.distribute.get_strategy(), build, loss=keras.losses.SparseCategoricalCrossentropy,
        optimizer=lambda: keras.optimizers.Adam(0.05), train=_tiny_problem(), epochs=6, workdir=tmp_path,
        is_chief=True, monitor="score", patience=2,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=fake_monitor)])
    assert len(history["loss"]) == 4  # best at epoch 1, no better in epochs 2 and 3
    for a, b in zip(model.get_weights(), kept[1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_exports_float32(tmp_path, policy):
    set_precision(policy)
    try:
        model, history, _ = _fit(tmp_path / "work", epochs=1)
        assert model.layers[1].compute_dtype == policy.removeprefix("mixed_")
        assert np.isfinite(history["loss"]).all()
        _export(model, tmp_path / "export")
        raw = keras.Model(model.inputs, model.layers[-2].output)  # without the float32 cast
        _export(raw, tmp_path / "raw")
    finally:
        set_precision("float32")
    check_export_float32(tmp_path / "export")
    with pytest.raises(ZooError, match=f"non-float32 tensors {{'output_0': '{policy.removeprefix('mixed_')}'}}"):
        check_export_float32(tmp_path / "raw")


def _export(model, path):
    module = tf.Module()
    module.model = model
    module.serve = tf.function(lambda features: model(features, training=False),
                               input_signature=[tf.TensorSpec([None, 4], tf.float32, name="features")])
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})


# ----------------------------------------------------------------------------- several processes


def _log(tmp_path, name):
    return (tmp_path / f"{name}.log").read_text()


def _assert_same(a, b, tolerance):
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=tolerance, atol=tolerance)


@pytest.mark.slow
def test_two_workers_end_equal_to_each_other_and_to_one_process(tmp_path):
    """Shards of 8 examples per worker add up to the one process's batches of 16: same updates."""
    args = ["--strategy", "multiworker", "--workdir", str(tmp_path / "cluster")]
    runs = {**worker_runs(2, *args), "one": (["--workdir", str(tmp_path / "one")], None)}
    codes = run_processes(runs, out_dir=tmp_path, timeout=240)
    assert codes == {"w0": 0, "w1": 0, "one": 0}, {n: _log(tmp_path, n)[-2000:] for n in codes}
    _assert_same(read_run(tmp_path, "w0")["weights"], read_run(tmp_path, "w1")["weights"], 0)
    _assert_same(read_run(tmp_path, "w0")["weights"], read_run(tmp_path, "one")["weights"], 1e-5)
    np.testing.assert_allclose(read_run(tmp_path, "w0")["history"]["loss"],
                               read_run(tmp_path, "one")["history"]["loss"], rtol=1e-5)
    assert (tmp_path / "cluster" / "history.csv").exists() and (tmp_path / "cluster" / "logs").is_dir()
    assert not (tmp_path / "cluster" / "worker-1" / "logs").exists()  # TensorBoard and the history: chief only
    assert (tmp_path / "cluster" / "worker-1" / "checkpoints").is_dir()  # its own resume copy


@pytest.mark.slow
def test_killed_workers_restart_from_the_last_checkpoint(tmp_path):
    """Both workers die in epoch 2 (step 6 of 4 per epoch); restarted, they resume at epoch 2 and end as an
    uninterrupted run does. Global batches through `experimental_distribute_dataset` this time."""
    args = ["--strategy", "multiworker", "--data", "dataset", "--workdir", str(tmp_path / "cluster")]
    crash = {**worker_runs(2, *args, "--crash-at-step", "6"), "one": (["--workdir", str(tmp_path / "one")], None)}
    assert run_processes(crash, out_dir=tmp_path, timeout=240) == {"w0": 17, "w1": 17, "one": 0}
    codes = run_processes(worker_runs(2, *args), out_dir=tmp_path, timeout=240)
    assert codes == {"w0": 0, "w1": 0}, {n: _log(tmp_path, n)[-2000:] for n in codes}
    assert len(read_run(tmp_path, "w0")["step_times"]) == 8  # epochs 2 and 3 only
    _assert_same(read_run(tmp_path, "w0")["weights"], read_run(tmp_path, "w1")["weights"], 0)
    _assert_same(read_run(tmp_path, "w0")["weights"], read_run(tmp_path, "one")["weights"], 1e-5)


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_gives_the_loss_of_no_strategy(tmp_path):
    runs = {"mirrored": (["--strategy", "mirrored", "--devices", "2", "--loop", "fit", "--workdir", "m"], None),
            "plain": (["--loop", "fit", "--workdir", "p"], None)}
    codes = run_processes(runs, out_dir=tmp_path, timeout=180)
    assert codes == {"mirrored": 0, "plain": 0}, {n: _log(tmp_path, n)[-2000:] for n in codes}
    np.testing.assert_allclose(read_run(tmp_path, "mirrored")["history"]["loss"],
                               read_run(tmp_path, "plain")["history"]["loss"], rtol=1e-5)
    _assert_same(read_run(tmp_path, "mirrored")["weights"], read_run(tmp_path, "plain")["weights"], 1e-5)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="keras-team/keras#20585: Keras 3 `fit` fails under MultiWorkerMirroredStrategy")
def test_keras_fit_under_multiworker_strategy(tmp_path):
    runs = worker_runs(2, "--strategy", "multiworker", "--loop", "fit", "--workdir", "w", "--epochs", "1")
    codes = run_processes(runs, out_dir=tmp_path, timeout=120)
    assert codes == {"w0": 0, "w1": 0}, {n: _log(tmp_path, n)[-1000:] for n in codes}
    _assert_same(read_run(tmp_path, "w0")["weights"], read_run(tmp_path, "w1")["weights"], 0)


@pytest.mark.slow
def test_a_missing_chief_or_worker_ends_in_one_error_line(tmp_path):
    ports = free_ports(4)  # two clusters of two, each missing a task
    runs = {"worker": (["--strategy", "multiworker", "--timeout", "3", "--workdir", "w"],
                       local_tf_config(ports[:2], 1)),
            "chief": (["--strategy", "multiworker", "--timeout", "3", "--workdir", "c"], local_tf_config(ports[2:], 0))}
    assert run_processes(runs, out_dir=tmp_path, timeout=120) == {"worker": 2, "chief": 2}
    worker, chief = (_log(tmp_path, n).strip().splitlines()[-1] for n in ("worker", "chief"))
    assert worker == (f"zoo: error: could not reach 127.0.0.1:{ports[0]} within 3 s; is every task of TF_CONFIG "
                      "started, are the addresses right, and does the network let their ports through?")
    assert chief.startswith("zoo: error: could not reach 127.0.0.1:") and " within 3 s;" in chief
    assert "Traceback" not in _log(tmp_path, "worker") + _log(tmp_path, "chief")
