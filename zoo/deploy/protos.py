"""`BatchingParameters` and `MonitoringConfig`, the two ModelServer config messages that the
tensorflow-serving-api wheel does not ship (it has `ModelServerConfig`, `PredictionLog` and the
request protos, but not `session_bundle_config.proto` or `monitoring_config.proto`).

Field names, numbers and types are those of tensorflow/serving's
`tensorflow_serving/servables/tensorflow/session_bundle_config.proto` (fields 1-7 of
`BatchingParameters`) and `tensorflow_serving/config/monitoring_config.proto`, so text written with
these classes parses in the ModelServer. They live in a private descriptor pool, out of the way of
the real ones should a later wheel ship them.
"""

from __future__ import annotations

import functools

_INT64_WRAPPER = ".google.protobuf.Int64Value"
_STRING_WRAPPER = ".google.protobuf.StringValue"

# (name, number, label, type, type_name) as in the .proto files.
_BATCHING_FIELDS = [
    ("max_batch_size", 1, "optional", "message", _INT64_WRAPPER),
    ("batch_timeout_micros", 2, "optional", "message", _INT64_WRAPPER),
    ("max_enqueued_batches", 3, "optional", "message", _INT64_WRAPPER),
    ("num_batch_threads", 4, "optional", "message", _INT64_WRAPPER),
    ("thread_pool_name", 5, "optional", "message", _STRING_WRAPPER),
    ("allowed_batch_sizes", 6, "repeated", "int64", None),
    ("pad_variable_length_inputs", 7, "optional", "bool", None),
]
_PROMETHEUS_FIELDS = [("enable", 1, "optional", "bool", None), ("path", 2, "optional", "string", None)]
_MONITORING_FIELDS = [("prometheus_config", 1, "optional", "message", ".tensorflow.serving.PrometheusConfig")]


@functools.cache
def _classes() -> dict:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    file = descriptor_pb2.FileDescriptorProto(
        name="zoo/deploy/tensorflow_serving_configs.proto", package="tensorflow.serving", syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"])
    for message, fields in [("BatchingParameters", _BATCHING_FIELDS), ("PrometheusConfig", _PROMETHEUS_FIELDS),
                            ("MonitoringConfig", _MONITORING_FIELDS)]:
        proto = file.message_type.add(name=message)
        for name, number, label, kind, type_name in fields:
            field = proto.field.add(
                name=name, number=number,
                label=getattr(descriptor_pb2.FieldDescriptorProto, f"LABEL_{label.upper()}"),
                type=getattr(descriptor_pb2.FieldDescriptorProto, f"TYPE_{kind.upper()}"))
            if type_name:
                field.type_name = type_name
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    pool.AddSerializedFile(file.SerializeToString())
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.serving.{name}"))
            for name in ("BatchingParameters", "MonitoringConfig")}


def batching_parameters_class():
    """The `tensorflow.serving.BatchingParameters` message class (`--batching_parameters_file`)."""
    return _classes()["BatchingParameters"]


def monitoring_config_class():
    """The `tensorflow.serving.MonitoringConfig` message class (`--monitoring_config_file`)."""
    return _classes()["MonitoringConfig"]
