"""Training on several devices or machines: strategies, the cluster from `TF_CONFIG`, precision, a multi-worker loop.

- `mirrored`: `tf.distribute.MirroredStrategy` over the local GPUs (or N logical CPUs for testing);
  Keras `fit` works under it unchanged.
- `multiworker`: `MultiWorkerMirroredStrategy` over the cluster in `TF_CONFIG`. Keras 3 `fit` fails
  under it (keras-team/keras#20585), so `fit_multiworker` is a small custom loop around `strategy.run`
  with Keras 3 models, losses, optimizers and metrics.

TensorFlow's cluster gRPC servers are unauthenticated and unencrypted: run a cluster on a private
network only.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import json
import math
import os
import socket
import time
from pathlib import Path
from typing import Callable

from zoo.errors import ZooError

STRATEGIES = ("none", "mirrored", "multiworker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Jobs whose tasks train; TF's "evaluator" and "ps" jobs are not supported by this loop.
TRAINING_JOBS = ("chief", "worker")


# ----------------------------------------------------------------------------- the command line


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """`zoo train`'s strategy, precision and XLA options, and `--data-service` for `zoo train` and `zoo tune`.

    Argparse only: `zoo --help` imports no TensorFlow.
    """
    group = parser.add_argument_group("devices and machines (README 'Beyond one machine')")
    if command == "train":
        group.add_argument("--strategy", choices=STRATEGIES, default="none",
                           help="none: one device; mirrored: the local GPUs (or --devices logical CPUs); "
                                "multiworker: the cluster in TF_CONFIG, the chief exports (default none)")
        group.add_argument("--devices", type=int, metavar="N",
                           help="--strategy mirrored: use the first N GPUs, or N logical CPUs without a GPU "
                                "(default: all GPUs, or 1 CPU)")
        group.add_argument("--mixed-precision", choices=PRECISIONS, default="float32",
                           help="Keras dtype policy; exports stay float32 at their inputs and outputs (default float32)")
        group.add_argument("--jit-compile", action="store_true", help="XLA-compile the train step (default: off)")
        group.add_argument("--cluster-timeout", type=float, default=120.0, metavar="SECONDS",
                           help="--strategy multiworker: how long to wait for every task of TF_CONFIG (default 120)")
    group.add_argument("--data-service", metavar="HOST:PORT",
                       help="run the training input pipeline on the tf.data service whose dispatcher is HOST:PORT "
                            "(unauthenticated: private networks only; default: in this process)")
    if command == "tune":
        from zoo import distributed_tuning

        distributed_tuning.add_arguments(parser)


def train_options(args: argparse.Namespace) -> dict:
    """`zoo.tasks.loops.train`'s `strategy`, `jit_compile` and `data_service` from `add_arguments`' flags,
    with Keras' dtype policy set.

    Call it before anything else creates TensorFlow ops: logical CPUs are configured only before.
    """
    if args.data_service and args.strategy == "multiworker":
        raise ZooError(f"--data-service {args.data_service} works with --strategy none or mirrored; under "
                       "multiworker each worker reads its own input")
    strategy = make_strategy(args.strategy, devices=args.devices, timeout=args.cluster_timeout)
    set_precision(args.mixed_precision)
    return {"strategy": strategy, "jit_compile": args.jit_compile, "data_service": args.data_service}


def tune_options(args: argparse.Namespace) -> dict:
    """`zoo.tasks.loops.tune`'s `environment` (keras-tuner's, checked), `chief_timeout` and `data_service`."""
    from zoo import distributed_tuning

    environment = distributed_tuning.tuner_environment(chief=args.chief, worker=args.worker, tuner_id=args.tuner_id)
    return {"environment": environment, "chief_timeout": args.chief_timeout, "data_service": args.data_service}


def is_multiworker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


# ----------------------------------------------------------------------------- the cluster


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The cluster of a `TF_CONFIG`: `jobs` maps a job name to its `host:port` addresses."""

    jobs: dict
    task_type: str
    task_index: int

    @property
    def address(self) -> str:
        """This task's own `host:port`."""
        return self.jobs[self.task_type][self.task_index]

    @property
    def chief(self) -> str:
        """The chief's address: the `chief` job's task, or worker 0 when there is no chief job."""
        return self.jobs["chief"][0] if "chief" in self.jobs else self.jobs["worker"][0]

    @property
    def is_chief(self) -> bool:
        return self.address == self.chief

    @property
    def num_workers(self) -> int:
        return sum(len(self.jobs.get(job, ())) for job in TRAINING_JOBS)

    def peers(self) -> list[str]:
        """Every other task's address."""
        return [a for job in TRAINING_JOBS for a in self.jobs.get(job, ()) if a != self.address]


def parse_tf_config(text: str | None) -> Cluster:
    """The `Cluster` of a `TF_CONFIG` value; a `ZooError` says what is wrong with a bad one.

    Example: `{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, "task": {"type": "worker", "index": 1}}`.
    """
    if not text:
        raise ZooError("--strategy multiworker needs the TF_CONFIG environment variable (the cluster and this "
                       "task, see README 'Beyond one machine'); it is not set")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ZooError(f"TF_CONFIG is not JSON ({e.msg} at character {e.pos}): {text[:80]!r}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise ZooError(f"TF_CONFIG needs a 'cluster' object mapping job names to address lists; got {text[:80]!r}")
    unknown = sorted(set(config["cluster"]) - set(TRAINING_JOBS))
    if unknown:
        raise ZooError(f"TF_CONFIG cluster has jobs {unknown}; allowed: {list(TRAINING_JOBS)}")
    jobs = {}
    for job, addresses in config["cluster"].items():
        if not isinstance(addresses, list) or not addresses:
            raise ZooError(f"TF_CONFIG cluster job {job!r} needs a non-empty list of host:port; got {addresses!r}")
        jobs[job] = [_check_address(a, job) for a in addresses]
    if len(jobs.get("chief", ())) > 1:
        raise ZooError(f"TF_CONFIG cluster may have one chief; got {jobs['chief']}")
    if "worker" not in jobs and "chief" not in jobs:
        raise ZooError("TF_CONFIG cluster needs a 'worker' job")
    everyone = [a for addresses in jobs.values() for a in addresses]
    repeated = sorted({a for a in everyone if everyone.count(a) > 1})
    if repeated:
        raise ZooError(f"TF_CONFIG cluster lists the same address more than once: {repeated}")
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ZooError(f"TF_CONFIG needs a 'task' object with 'type' and 'index'; got {task!r}")
    if task["type"] not in jobs:
        raise ZooError(f"TF_CONFIG task type {task['type']!r} is not a job of the cluster {sorted(jobs)}")
    index = task["index"]
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(jobs[task["type"]]):
        raise ZooError(f"TF_CONFIG task index {index!r} is out of range: job {task['type']!r} has "
                       f"{len(jobs[task['type']])} task(s), indices 0..{len(jobs[task['type']]) - 1}")
    return Cluster(jobs=jobs, task_type=task["type"], task_index=index)


def _check_address(address, job: str) -> str:
    host, _, port = str(address).rpartition(":")
    if not isinstance(address, str) or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ZooError(f"TF_CONFIG cluster job {job!r}: address {address!r} is not host:port with a port in 1..65535")
    return address


def local_tf_config(ports: list[int], index: int, *, host: str = "127.0.0.1") -> str:
    """A `TF_CONFIG` for `len(ports)` workers on one machine (tests, benchmarks); worker 0 is the chief."""
    return json.dumps({"cluster": {"worker": [f"{host}:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def free_ports(count: int, *, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct ports that were free on `host` a moment ago (another program may still take one)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def check_port_free(address: str) -> None:
    """A `ZooError` when this task's own port is already taken on any interface: TF's gRPC server
    listens on every interface at the port, whatever host `TF_CONFIG` names."""
    host, _, port = address.rpartition(":")
    with socket.socket() as s:
        try:
            s.bind(("", int(port)))
        except OSError as e:
            raise ZooError(f"this task's address {address} from TF_CONFIG: port {port} is in use ({e.strerror}); "
                           "stop what holds it or pick another port") from None


def wait_for_peers(addresses: list[str], *, timeout: float, interval: float = 0.2) -> None:
    """Returns once a TCP connection to every address succeeds; a `ZooError` names the unreachable
    ones after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    waiting = list(addresses)
    while True:
        waiting = [a for a in waiting if not _accepts(a)]
        if not waiting:
            return
        if time.monotonic() >= deadline:
            raise ZooError(f"could not reach {', '.join(waiting)} within {timeout:g} s; is every task of TF_CONFIG "
                           "started, are the addresses right, and does the network let their ports through?")
        time.sleep(interval)  # polling a peer that is still starting


def _accepts(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
            return True
    except OSError:
        return False


# ----------------------------------------------------------------------------- strategies


def use_logical_cpus(count: int) -> list[str]:
    """Splits the CPU into `count` logical devices and returns their names.

    Must run before TensorFlow initialises its devices (before any op or `list_logical_devices`),
    so call it first thing in the process.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) != count:
            raise ZooError(f"--devices {count}: TensorFlow had already started with "
                           f"{len(tf.config.list_logical_devices('CPU'))} CPU device(s); choose the strategy "
                           "before anything else runs") from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def make_strategy(name: str | None, *, devices: int | None = None, timeout: float = 120.0):
    """None (no strategy), a `MirroredStrategy` or a `MultiWorkerMirroredStrategy` (cluster from `TF_CONFIG`).

    Args:
        name: one of `STRATEGIES` (None means "none").
        devices: `mirrored` only: how many GPUs (default all), or logical CPUs when there is no GPU
            (default 1). Logical CPUs must be configured before TensorFlow starts: call this first.
        timeout: `multiworker` only: seconds to wait for the rest of the cluster before a `ZooError`.
    """
    import tensorflow as tf

    if name in (None, "none"):
        if devices not in (None, 1):
            raise ZooError(f"--devices {devices} needs --strategy mirrored")
        return None
    if name == "mirrored":
        gpus = tf.config.list_physical_devices("GPU")
        if devices is not None and devices < 1:
            raise ZooError(f"--devices must be at least 1; got {devices}")
        if gpus:
            if (devices or len(gpus)) > len(gpus):
                raise ZooError(f"--devices {devices}: this machine has {len(gpus)} GPU(s)")
            return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(devices or len(gpus))])
        return tf.distribute.MirroredStrategy(use_logical_cpus(devices or 1))
    if name == "multiworker":
        if devices is not None:
            raise ZooError(f"--devices {devices} is for --strategy mirrored; a multiworker task uses all its local "
                           "GPUs (or its CPU)")
        return multiworker_strategy(parse_tf_config(os.environ.get("TF_CONFIG")), timeout=timeout)
    raise ZooError(f"unknown strategy {name!r}; allowed: {', '.join(STRATEGIES)}")


def multiworker_strategy(cluster: Cluster, *, timeout: float = 120.0):
    """A `MultiWorkerMirroredStrategy` for `cluster`, once every task of the cluster answers.

    TensorFlow's own rendezvous blocks in C++ without a deadline and holding the GIL, so it cannot
    report a missing task. So each task first listens on its own address (a `ZooError` when the port
    is taken) and waits for every peer to answer on theirs (a `ZooError` naming the unreachable ones
    after `timeout` seconds); only then does TensorFlow take the port. Should a peer die between the
    two, `faulthandler` ends the stuck process after another `timeout` seconds (exit status 1 and a
    stack dump rather than a hang).
    """
    import faulthandler

    import tensorflow as tf

    check_port_free(cluster.address)
    with _listening(cluster.address):
        wait_for_peers(cluster.peers(), timeout=timeout)
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster.jobs), task_type=cluster.task_type, task_id=cluster.task_index, rpc_layer="grpc")
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)
    faulthandler.dump_traceback_later(timeout, exit=True)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver, communication_options=options)
    finally:
        faulthandler.cancel_dump_traceback_later()


@contextlib.contextmanager
def _listening(address: str):
    """Holds this task's port with a plain socket, so that peers can see the task is up before TF starts.

    Connections complete in the kernel's backlog and are never read; the socket closes on exit.
    """
    host, _, port = address.rpartition(":")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host.strip("[]"), int(port)))
        except OSError as e:
            raise ZooError(f"this task's address {address} from TF_CONFIG: cannot listen there ({e.strerror}); "
                           "is it an address of this machine?") from None
        s.listen(128)
        yield


def strategy_scope(strategy):
    """`strategy.scope()`, or a no-op without a strategy."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def fit_model(strategy, model, train, dev, *, epochs: int, workdir: str | os.PathLike, monitor: str, mode: str,
              patience: int, callbacks: list, jit_compile: bool = False,
              verbose: int | str = "auto") -> tuple[dict, Cluster | None]:
    """Trains a compiled `model` (built under `strategy_scope(strategy)`): `(history, cluster)`.

    Keras `fit` with zoo's checkpoints and early stopping (`zoo.training.fit`) without a strategy or
    under `mirrored` (`cluster` None); `fit_multiworker` under a `MultiWorkerMirroredStrategy`, where
    `cluster` (from `TF_CONFIG`) says whether this task is the chief, the one that exports.
    """
    if not is_multiworker(strategy):
        from zoo.training import fit

        return fit(model, train, dev, epochs=epochs, workdir=workdir, monitor=monitor, mode=mode, patience=patience,
                   verbose=verbose, extra_callbacks=callbacks), None
    cluster = parse_tf_config(os.environ.get("TF_CONFIG"))
    model, history = fit_multiworker(strategy, lambda: model, train=train, dev=dev, epochs=epochs, workdir=workdir,
                                     is_chief=cluster.is_chief, task_index=cluster.task_index, monitor=monitor,
                                     mode=mode, patience=patience, jit_compile=jit_compile, callbacks=callbacks)
    if cluster.is_chief:  # the picture `zoo.training.fit` draws
        from zoo.plots import plot_history

        plot_history(history, Path(workdir) / "training_curves.png")
    return history, cluster


# ----------------------------------------------------------------------------- precision


def set_precision(policy: str) -> None:
    """Sets Keras' global dtype policy; models built afterwards compute in it.

    Under a mixed policy a model's outputs come out in float16/bfloat16 unless its last layer has
    `dtype="float32"`: wrap it with `with_float32_outputs` before training so that losses and exports
    stay float32. `mixed_float16` needs loss scaling: Keras `compile` adds it, `fit_multiworker` too.
    """
    import keras

    if policy not in PRECISIONS:
        raise ZooError(f"unknown precision {policy!r}; allowed: {', '.join(PRECISIONS)}")
    keras.mixed_precision.set_global_policy(policy)


def with_float32_outputs(model):
    """`model` if its outputs are float32, else the same model with a float32 cast on each output
    (the layers' names and weights are the model's own, so weights and checkpoints still match)."""
    import keras

    outputs = model.outputs
    if all(o.dtype == "float32" for o in outputs):
        return model
    cast = [keras.layers.Activation("linear", dtype="float32", name=f"{o.name.split('/')[0]}_float32")(o)
            for o in outputs]
    return keras.Model(model.inputs, cast if len(cast) > 1 else cast[0], name=model.name)


def check_export_float32(export_dir: str | os.PathLike, signature: str = "serving_default") -> None:
    """A `ZooError` when a signature of the export has a floating input or output that is not float32,
    or when its graph holds cuDNN-only ops (which a CPU server cannot run)."""
    import tensorflow as tf

    from zoo.serving import graph_ops

    loaded = tf.saved_model.load(str(export_dir))
    function = loaded.signatures[signature]
    specs = {**function.structured_input_signature[1], **function.structured_outputs}
    wrong = {name: spec.dtype.name for name, spec in specs.items()
             if spec.dtype.is_floating and spec.dtype != tf.float32}
    if wrong:
        raise ZooError(f"{export_dir}: signature {signature!r} has non-float32 tensors {wrong}; give the model "
                       "float32 outputs (zoo.distribute.with_float32_outputs)")
    cudnn = sorted(op for op in graph_ops(export_dir) if "Cudnn" in op)
    if cudnn:
        raise ZooError(f"{export_dir}: the graph uses cuDNN-only ops {cudnn}; a CPU server cannot run them")


# ----------------------------------------------------------------------------- the multi-worker loop


def fit_multiworker(
    strategy,
    build: Callable,
    *,
    train,
    dev=None,
    loss: Callable | None = None,
    optimizer: Callable | None = None,
    metrics: Callable | None = None,
    epochs: int,
    steps_per_epoch: int | None = None,
    workdir: str | os.PathLike,
    is_chief: bool,
    task_index: int = 0,
    monitor: str = "val_loss",
    mode: str = "min",
    patience: int | None = None,
    jit_compile: bool = False,
    callbacks: list | None = None,
    on_step: Callable | None = None,
):
    """Trains a Keras 3 model under `strategy` (any `tf.distribute` strategy, made for `MultiWorkerMirroredStrategy`).

    Every worker runs this with the same arguments. Each step, every replica computes the loss of its
    share of the global batch with the loss's own reduction (mean over examples, masks as the loss
    defines them), plus the model's regularization losses, divided by the number of replicas (Keras
    losses do that themselves under a strategy); the optimizer all-reduces (sums) the gradients. With
    equal shares that is one process's step on the whole batch. Losses that look across the batch
    (in-batch triplet mining) see only their replica's share.

    Args:
        strategy: the strategy whose scope builds the model and optimizer.
        build: `build() -> keras.Model`, called under `strategy.scope()`. A compiled model brings its
            loss, optimizer and metrics (Metric objects in a flat list); otherwise pass `loss` and `optimizer`.
        train / dev: a `tf.data.Dataset` of `(x, y)` global batches (split across replicas, each worker
            keeping its share), or `fn(input_context) -> dataset` of per-replica batches for
            `strategy.distribute_datasets_from_function` (shard by `input_context.input_pipeline_id`,
            batch `input_context.get_per_replica_batch_size(global_batch)`).
        loss: `loss() -> keras.losses.Loss`, for an uncompiled model.
        optimizer: `optimizer() -> keras.optimizers.Optimizer`, for an uncompiled model (wrapped for loss
            scaling under mixed_float16).
        metrics: `metrics() -> list of keras.metrics.Metric`, reported for train and dev (`val_` prefix).
        epochs: the total, counting epochs done before a resume.
        steps_per_epoch: stop an epoch after this many steps (default: when the data runs out).
        workdir: the chief writes `checkpoints/`, `logs/` (TensorBoard) and `history.csv` here; other
            workers keep one resume checkpoint in `workdir/worker-<task_index>/` (hosts need not share disk).
        is_chief / task_index: this task's role (`Cluster.is_chief`, `Cluster.task_index`).
        monitor / mode / patience: early stopping on a logged value; the best epoch's weights are restored.
        jit_compile: compile each replica's forward and backward pass with XLA.
        callbacks: Keras callbacks whose `on_train_begin`, `on_epoch_end` (which may add to `logs`, e.g. a
            dev F1 to monitor) and `on_train_end` run on every worker; batch hooks do not run.
        on_step: `fn(step)`, called on every worker before each training step (steps counted from this
            process's start).

    Returns:
        (model, history): the trained model and `{name: [value per epoch]}` like Keras' `fit`, epochs
        before a resume included. Only the chief should export the model.
    """
    import tensorflow as tf

    workdir = Path(workdir)
    own_dir = workdir if is_chief else workdir / f"worker-{task_index}"
    with strategy.scope():
        model = build()
        loss_object, opt, new_metrics = _training_parts(model, loss=loss, optimizer=optimizer, metrics=metrics)
        train_metrics, dev_metrics = new_metrics(), new_metrics()
        epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=opt, epoch=epoch_var)
    manager = tf.train.CheckpointManager(checkpoint, str(own_dir / "checkpoints"), max_to_keep=2 if is_chief else 1)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).expect_partial()
    _check_same_epoch(strategy, epoch_var)

    forward = tf.function(_forward_backward(model, loss_object, opt, strategy.num_replicas_in_sync),
                          jit_compile=jit_compile, reduce_retracing=True)

    def replica_train(x, y):
        loss_value, grads, predictions = forward(x, y)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        for m in train_metrics:
            m.update_state(y, predictions)
        return loss_value

    def replica_eval(x, y):
        predictions = model(x, training=False)
        for m in dev_metrics:
            m.update_state(y, predictions)
        examples = tf.cast(tf.shape(y)[0], tf.float32)
        mean = tf.cast(loss_object(y, predictions), tf.float32) * strategy.num_replicas_in_sync  # undo Keras' scaling
        return mean * examples, examples

    @tf.function(reduce_retracing=True)  # bucketed batches vary in length
    def train_step(batch):
        losses = strategy.run(replica_train, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    @tf.function(reduce_retracing=True)
    def eval_step(batch):
        sums, counts = strategy.run(replica_eval, args=batch)
        return (strategy.reduce(tf.distribute.ReduceOp.SUM, sums, axis=None),
                strategy.reduce(tf.distribute.ReduceOp.SUM, counts, axis=None))

    train_data, dev_data = _distribute(strategy, train), _distribute(strategy, dev) if dev is not None else None
    writer = tf.summary.create_file_writer(str(workdir / "logs")) if is_chief else None
    history = _read_csv(workdir / "history.csv") if is_chief else {}
    best, best_weights, waited, global_step = None, None, 0, 0
    callbacks = list(callbacks or [])
    for callback in callbacks:
        callback.set_model(model)
        callback.on_train_begin()
    for epoch in range(int(epoch_var.numpy()), epochs):
        for m in train_metrics + dev_metrics:
            m.reset_state()
        total, steps = 0.0, 0
        for batch in train_data:
            if steps_per_epoch is not None and steps >= steps_per_epoch:
                break
            if on_step:
                on_step(global_step)
            global_step += 1
            total += float(train_step(batch))
            steps += 1
        logs = {"loss": total / max(steps, 1), **{m.name: float(m.result()) for m in train_metrics}}
        if dev_data is not None:
            sums, counts = 0.0, 0.0
            for batch in dev_data:
                s, c = eval_step(batch)
                sums, counts = sums + float(s), counts + float(c)
            logs.update({"val_loss": sums / max(counts, 1.0),
                         **{f"val_{m.name}": float(m.result()) for m in dev_metrics}})
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        epoch_var.assign(epoch + 1)
        manager.save(checkpoint_number=epoch + 1)  # every worker: saving may run collectives
        if is_chief:
            _write_epoch(writer, workdir / "history.csv", epoch, logs)
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        if patience is not None and monitor in logs:
            value = logs[monitor] if mode == "min" else -logs[monitor]
            if best is None or value < best:
                best, best_weights, waited = value, model.get_weights(), 0
            else:
                waited += 1
                if waited >= patience:
                    break
    if best_weights is not None:
        model.set_weights(best_weights)
    for callback in callbacks:
        callback.on_train_end()
    return model, history


def _training_parts(model, *, loss, optimizer, metrics):
    """(loss, optimizer, fn making fresh metrics) from the arguments or, when they are None, the compiled model."""
    import keras

    if loss is None or optimizer is None:
        if not getattr(model, "compiled", False):
            raise ZooError("fit_multiworker needs a compiled model from `build`, or `loss` and `optimizer`")
        compiled = model._compile_config.config  # what `compile` received; Keras keeps no public copy
        loss_object = keras.losses.get(compiled["loss"]) if loss is None else loss()
        opt = model.optimizer if optimizer is None else optimizer()
        specs = compiled.get("metrics") or []
        if metrics is None:
            if not isinstance(specs, (list, tuple)) or not all(isinstance(m, keras.metrics.Metric) for m in specs):
                raise ZooError(f"fit_multiworker takes compiled metrics as a flat list of keras.metrics.Metric "
                               f"objects; got {specs!r}")
            metrics = lambda: [type(m).from_config(m.get_config()) for m in specs]  # noqa: E731
    else:
        loss_object, opt = loss(), optimizer()
    if callable(loss_object) and not isinstance(loss_object, keras.losses.Loss):
        loss_object = _function_loss(loss_object)  # a loss function, e.g. a CRF's
    if not isinstance(loss_object, keras.losses.Loss):
        raise ZooError(f"fit_multiworker needs one loss (a keras.losses.Loss or a function); got {loss_object!r}")
    if (keras.mixed_precision.global_policy().name == "mixed_float16"
            and not isinstance(opt, keras.optimizers.LossScaleOptimizer)):
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return loss_object, opt, (lambda: list(metrics())) if metrics else list


def _function_loss(fn):
    """A `keras.losses.Loss` around a loss function, so that it reduces (and scales per replica) like Keras'."""
    import keras

    class FunctionLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return fn(y_true, y_pred)

    return FunctionLoss(name=getattr(fn, "__name__", "loss"))


def _forward_backward(model, loss_object, opt, replicas: int):
    import tensorflow as tf

    def forward(x, y):
        with tf.GradientTape() as tape:
            predictions = model(x, training=True)
            # Keras losses already divide by the number of replicas under a strategy (as `fit` expects),
            # since the optimizer sums the replicas' gradients; regularization losses need it here.
            loss_value = tf.cast(loss_object(y, predictions), tf.float32)
            if model.losses:
                loss_value += tf.add_n([tf.cast(extra, tf.float32) for extra in model.losses]) / replicas
            scaled = opt.scale_loss(loss_value)
        grads = tape.gradient(scaled, model.trainable_variables)
        return loss_value, grads, predictions

    return forward


def _distribute(strategy, data):
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        return strategy.experimental_distribute_dataset(data)
    return strategy.distribute_datasets_from_function(data)


def _check_same_epoch(strategy, epoch_var) -> None:
    """Workers resuming from different epochs would train out of step; stop them with a clear error."""
    import tensorflow as tf

    def mean(value):
        return float(strategy.reduce(tf.distribute.ReduceOp.MEAN, strategy.run(lambda: tf.identity(value)), axis=None))

    epoch = float(epoch_var.numpy())
    average = mean(epoch)
    if mean((epoch - average) ** 2) > 0:  # every worker sees the same spread, so all of them stop
        raise ZooError(f"the workers resume from different epochs (this one from {int(epoch)}, mean {average:g}): "
                       "their checkpoints disagree; delete the newer ones or start every worker afresh")


def _write_epoch(writer, path: Path, epoch: int, logs: dict) -> None:
    import tensorflow as tf

    with writer.as_default():
        for key, value in logs.items():
            tf.summary.scalar(key, value, step=epoch)
    writer.flush()
    new = not path.exists()
    with open(path, "a", newline="") as f:
        out = csv.DictWriter(f, fieldnames=["epoch", *logs])
        if new:
            out.writeheader()
        out.writerow({"epoch": epoch, **logs})


def _read_csv(path: Path) -> dict:
    from zoo.training import read_history

    return {k: [v for v in values if not math.isnan(v)] for k, values in read_history(path).items()}
