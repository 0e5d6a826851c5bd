"""tf.data service: an in-process dispatcher and 2 workers on 127.0.0.1 yield the local pipeline's examples."""

import collections
import socket
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import bars, emoticon_tweets
from zoo.data_service import distribute_dataset, graph_ops
from zoo.errors import ZooError

SERVICE = tf.data.experimental.service


@pytest.fixture(scope="module")
def dispatcher():
    """A dispatcher with 2 registered workers; yields its `127.0.0.1:PORT`."""
    server = SERVICE.DispatchServer(SERVICE.DispatcherConfig(port=0))
    workers = []
    try:
        address = f"127.0.0.1:{server.target.rsplit(':', 1)[1]}"
        workers = [SERVICE.WorkerServer(SERVICE.WorkerConfig(dispatcher_address=address,
                                                             worker_address="127.0.0.1:%port%", port=0))
                   for _ in range(2)]
        deadline = time.monotonic() + 60
        while server._num_workers() < 2:  # parallel_epochs counts on both workers joining the job
            assert time.monotonic() < deadline, "the 2 tf.data workers did not register within 60 s"
            time.sleep(0.05)
        yield address
    finally:
        for worker in workers:
            worker.stop()
        server.stop()


def examples(ds: tf.data.Dataset) -> collections.Counter:
    """The multiset of examples of a batched `(features, label)` dataset; padding (id 0) is stripped."""
    found = collections.Counter()
    for features, labels in ds.as_numpy_iterator():
        for x, y in zip(features, labels):
            x = x[x != 0] if x.dtype.kind == "i" else x
            found[(x.tobytes(), x.dtype.str, int(y))] += 1
    return found


def times(counter: collections.Counter, n: int) -> collections.Counter:
    return collections.Counter({key: n * count for key, count in counter.items()})


def test_parallel_epochs_runs_the_whole_pipeline_on_each_worker(dispatcher):
    ds = tf.data.Dataset.range(10).map(lambda x: x * x)
    got = sorted(distribute_dataset(ds, dispatcher, processing_mode="parallel_epochs").as_numpy_iterator())
    assert got == sorted(2 * [x * x for x in range(10)])


def test_distributed_epoch_yields_each_example_once(dispatcher):
    ds = tf.data.Dataset.range(10).map(lambda x: x * x)
    assert sorted(distribute_dataset(ds, f"grpc://{dispatcher}").as_numpy_iterator()) == [x * x for x in range(10)]


def test_an_image_folder_pipeline_decodes_on_the_workers(dispatcher, tmp_path):
    """PNG files decoded, resized and normalised by `image_dataset`: the same examples as run locally."""
    from pipelines.images import image_dataset
    from pipelines.readers.image_folder import read_image_folder

    images, labels = bars(12, seed=0)
    for i, (image, label) in enumerate(zip(images, labels)):
        (tmp_path / f"class{label}").mkdir(exist_ok=True)
        (tmp_path / f"class{label}" / f"{i}.png").write_bytes(tf.io.encode_png(image[..., None]).numpy())
    ds = image_dataset(read_image_folder(tmp_path), image_size=(6, 6), batch_size=4)
    local = examples(ds)
    assert sum(local.values()) == 12 and len(local) > 1
    assert examples(distribute_dataset(ds, dispatcher)) == local
    assert examples(distribute_dataset(ds, dispatcher, processing_mode="parallel_epochs")) == times(local, 2)


def test_the_sentiment_pipeline_yields_the_same_examples(dispatcher, tmp_path):
    from pipelines.sentiment import read_sentiment, sentiment_dataset, sentiment_vocabulary

    pos, neg = emoticon_tweets(tmp_path, per_class=6)
    data = read_sentiment(f"tweets:{pos},{neg}")
    ds = sentiment_dataset(data, sentiment_vocabulary(data.texts), batch_size=5, shuffle=False)
    local = examples(ds)
    assert sum(local.values()) == 12
    assert examples(distribute_dataset(ds, dispatcher, job_name="sentiment")) == local


def test_keras_fit_reads_every_epoch_from_the_service(dispatcher):
    """Batching after the service makes the batches the local ones (workers batch only their own splits)."""
    x = np.arange(16, dtype="float32").reshape(8, 2)
    ds = tf.data.Dataset.from_tensor_slices((x, x.sum(axis=1)))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    batches = []
    count = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: batches.append(0),
                                           on_train_batch_end=lambda batch, logs: batches.append(batches.pop() + 1))
    history = model.fit(distribute_dataset(ds, dispatcher).batch(4), epochs=2, verbose=0, callbacks=[count])
    assert len(history.history["loss"]) == 2 and batches == [2, 2]


@pytest.mark.parametrize("address, message", [("localhost", "--data-service expects HOST:PORT"),
                                              ("grpc://host:0", "a port in 1..65535")])
def test_a_malformed_address_is_named(address, message):
    with pytest.raises(ZooError, match=message):
        distribute_dataset(tf.data.Dataset.range(3), address)


def test_a_missing_dispatcher_is_an_error_not_a_hang():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ZooError, match=f"No tf.data service dispatcher answers at 127.0.0.1:{port} after 0.2 s"):
        distribute_dataset(tf.data.Dataset.range(3), f"127.0.0.1:{port}", timeout=0.2)


@pytest.mark.parametrize("make", [
    lambda: tf.data.Dataset.range(3).map(lambda x: tf.py_function(lambda v: v, [x], tf.int64)),
    lambda: tf.data.Dataset.range(3).map(lambda x: tf.numpy_function(lambda v: v, [x], tf.int64)),
    lambda: tf.data.Dataset.from_generator(lambda: iter(range(3)), output_signature=tf.TensorSpec((), tf.int64)),
])
def test_a_pipeline_running_python_is_refused(make):
    with pytest.raises(ZooError, match="runs Python code .*which tf.data service workers cannot run"):
        distribute_dataset(make(), "127.0.0.1:1", timeout=0)  # refused before any connection


def test_graph_ops_sees_inside_map_functions():
    ops = graph_ops(tf.data.Dataset.range(3).map(lambda x: x * 2))
    assert {"RangeDataset", "MapDataset", "Mul"} <= ops


@pytest.mark.parametrize("kwargs, message", [(dict(processing_mode="one_epoch"), "processing_mode='one_epoch'"),
                                             (dict(job_name=""), "job_name=''")])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        distribute_dataset(tf.data.Dataset.range(3), "127.0.0.1:1", **kwargs)
