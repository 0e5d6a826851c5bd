"""SavedModel warmup requests: `assets.extra/tf_serving_warmup_requests`, a TFRecord of `PredictionLog`s.

With `--enable_model_warmup` the ModelServer replays these through each version as it loads,
so the first real request does not pay for lazy initialisation. It reads at most 1,000 records.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
MAX_RECORDS = 1000


def write_warmup_requests(export_path: str | os.PathLike, requests: list[tuple[str, dict[str, Any]]], *,
                          model_name: str | None = None) -> Path:
    """Writes `requests` as the export's warmup file and returns its path.

    Args:
        export_path: a SavedModel folder (`saved_model.pb` already written).
        requests: `(signature_name, {input_name: value})` pairs, 1 to 1,000. A value is anything
            `tf.make_tensor_proto` takes (str, bytes, numbers, lists, numpy arrays); it is cast
            to the signature input's dtype, and one example without the batch axis gets one.
        model_name: `model_spec.name` of each request (default: the model folder's name).

    Raises `ValueError` naming an unknown signature or input, or a request count out of range.
    The file is written beside its final name and renamed, so a reader never sees half of it.
    """
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    export_path = Path(export_path)
    if not 1 <= len(requests) <= MAX_RECORDS:
        raise ValueError(f"requests: TF Serving reads 1 to {MAX_RECORDS} warmup records. Received: {len(requests)}")
    signatures = _signature_inputs(export_path)
    name = model_name or export_path.resolve().parent.name
    logs = []
    for signature, inputs in requests:
        specs = _check_request(signature, inputs, signatures)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = name
        request.model_spec.signature_name = signature
        for key, value in inputs.items():
            dtype, rank = specs[key]
            value = value if rank is None or _rank(value) != rank - 1 else [value]
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value, dtype=dtype))
        logs.append(prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request)))
    target = export_path / WARMUP_FILE
    target.parent.mkdir(exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp")
    try:
        with tf.io.TFRecordWriter(str(staging)) as writer:
            for log in logs:
                writer.write(log.SerializeToString())
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def read_warmup_requests(export_path: str | os.PathLike) -> list[tuple[str, dict]]:
    """The export's warmup requests as `(signature_name, {input_name: numpy array})` pairs."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    requests = []
    for record in tf.data.TFRecordDataset(str(Path(export_path) / WARMUP_FILE)).as_numpy_iterator():
        request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
        requests.append((request.model_spec.signature_name,
                         {key: tf.make_ndarray(tensor) for key, tensor in request.inputs.items()}))
    return requests


def _signature_inputs(export_path: Path) -> dict[str, dict[str, tuple]]:
    """`{signature: {input: (dtype, rank or None)}}` from saved_model.pb, without loading the model."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel.FromString((export_path / "saved_model.pb").read_bytes())
    (meta_graph,) = [m for m in saved_model.meta_graphs if "serve" in m.meta_info_def.tags]
    return {name: {key: (tf.dtypes.as_dtype(info.dtype),
                         None if info.tensor_shape.unknown_rank else len(info.tensor_shape.dim))
                   for key, info in signature.inputs.items()}
            for name, signature in meta_graph.signature_def.items() if not name.startswith("__")}


def _check_request(signature: str, inputs: dict, signatures: dict) -> dict:
    if signature not in signatures:
        raise ValueError(f"signature {signature!r} is not in the export; signatures: {sorted(signatures)}")
    specs = signatures[signature]
    if set(inputs) != set(specs):
        raise ValueError(f"signature {signature!r} takes inputs {sorted(specs)}. Received: {sorted(inputs)}")
    return specs


def _rank(value) -> int:
    import numpy as np

    return np.ndim(value)
