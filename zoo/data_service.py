"""tf.data service: run a CPU-heavy input pipeline (decoding, tokenization, augmentation) on other CPUs.

A dispatcher and any number of workers (`tf.data.experimental.service.DispatchServer` /
`WorkerServer`) run elsewhere; `distribute_dataset` sends the pipeline's graph to the dispatcher
and the training process reads the elements the workers produce. Keras `fit` takes the result
like any dataset.

Processing modes:
- "distributed_epoch" (the default here): the dispatcher hands the source's splits (slices, file
  names, range elements) to the workers, so one pass yields each example once, as the local
  pipeline does. Each worker batches, buckets and shuffles only the splits it gets, so batches are
  made differently (up to one smaller last batch per worker) and shuffling is less global.
- "parallel_epochs": every worker runs the whole pipeline, so one pass yields every example once
  per worker (2 workers: each example twice); an "epoch" then means that many passes.

Caveats: the pipeline travels as a graph. Python code in it (`tf.py_function`, `tf.numpy_function`,
`Dataset.from_generator`) stays behind in the training process, and a worker in another process
fails on it ("Could not find callback with key=pyfunc_..."), so `distribute_dataset` refuses such a
pipeline up front. Files must be readable at the same path on every worker; in-memory arrays
travel inside the graph (keep them small, or read files). The dispatcher and workers listen on
every interface, unauthenticated and unencrypted: run them on a private network.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.core.framework import graph_pb2

from zoo.errors import ZooError
from zoo.net import Address, parse_address, port_answers

PROCESSING_MODES = ("distributed_epoch", "parallel_epochs")
DISPATCHER_WAIT_S = 30.0
_SCHEME = "grpc://"
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})  # what py_function & co. compile to


def dispatcher_address(text: str) -> Address:
    """`"HOST:PORT"` or `"grpc://HOST:PORT"` (what `DispatchServer.target` prints) -> `Address`."""
    text = str(text)
    return parse_address(text[len(_SCHEME):] if text.startswith(_SCHEME) else text, flag="--data-service")


def graph_ops(ds: tf.data.Dataset) -> set[str]:
    """The op types in `ds`'s graph, its functions (map, filter, generator) included."""
    graph = graph_pb2.GraphDef()
    graph.ParseFromString(ds._as_serialized_graph().numpy())  # what the dispatcher receives
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops.update(node.op for node in function.node_def)
    return ops


def distribute_dataset(
    ds: tf.data.Dataset,
    address: str,
    *,
    job_name: str | None = None,
    processing_mode: str = "distributed_epoch",
    timeout: float = DISPATCHER_WAIT_S,
) -> tf.data.Dataset:
    """`ds`, produced by the tf.data service whose dispatcher listens at `address`.

    Args:
        ds: the pipeline to run on the service's workers (everything up to here runs there).
        address: the dispatcher, `HOST:PORT` or `grpc://HOST:PORT`.
        job_name: consumers that name the same job share its elements (each element goes to one of
            them); None gives every iteration a job of its own.
        processing_mode: "distributed_epoch" (each example once per pass) or "parallel_epochs"
            (each worker runs the whole pipeline); see the module docstring.
        timeout: seconds to wait for the dispatcher to accept connections; TensorFlow itself waits
            without end.

    Raises:
        ZooError: a malformed address, no dispatcher answering there within `timeout`, or a pipeline
            that runs Python code (which the service's workers cannot run).
        ValueError: an unknown `processing_mode` or an empty `job_name`.

    Example:
        >>> train_ds = distribute_dataset(train_ds, "10.0.0.7:5050")
    """
    if processing_mode not in PROCESSING_MODES:
        raise ValueError(f"Unknown tf.data service processing mode. Received: processing_mode={processing_mode!r}; "
                         f"allowed: {list(PROCESSING_MODES)}")
    if job_name is not None and not job_name:
        raise ValueError("job_name must be a non-empty string or None. Received: job_name=''")
    dispatcher = dispatcher_address(address)
    python = sorted(graph_ops(ds) & PYTHON_OPS)
    if python:
        raise ZooError(f"This input pipeline runs Python code ({', '.join(python)}: tf.py_function, tf.numpy_function "
                       f"or Dataset.from_generator), which tf.data service workers cannot run; leave out --data-service")
    if not port_answers(dispatcher, timeout=timeout):
        raise ZooError(f"No tf.data service dispatcher answers at {dispatcher} after {timeout:g} s. Start it "
                       f"(tf.data.experimental.service.DispatchServer) and its workers first, and check the address")
    return _without_cardinality_assertion(ds).apply(tf.data.experimental.service.distribute(
        processing_mode=processing_mode, service=f"{_SCHEME}{dispatcher}", job_name=job_name))


def _without_cardinality_assertion(ds: tf.data.Dataset) -> tf.data.Dataset:
    """`ds` without a final `assert_cardinality` (zoo's bucketed pipelines add one for progress bars).

    With "distributed_epoch" each worker reads only its share of the source, so an asserted total
    number of batches fails on every worker ("expected to contain N elements"); the service's
    dataset has no known length anyway. TensorFlow has no public way to drop the assertion, so
    this reads the asserting dataset's input (`_input_dataset`), under a final `prefetch` if any.
    """
    prefetched = "Prefetch" in type(ds).__name__
    inner = ds._input_dataset if prefetched else ds
    if "AssertCardinality" not in type(inner).__name__:
        return ds
    inner = inner._input_dataset
    return inner.prefetch(tf.data.AUTOTUNE) if prefetched else inner
