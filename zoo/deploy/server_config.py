"""The ModelServer's text-proto config files: models (versions and labels), batching, monitoring."""

from __future__ import annotations

import posixpath

from zoo.deploy.discovery import ModelExports
from zoo.errors import ZooError

PROMETHEUS_PATH = "/monitoring/prometheus/metrics"


def served_versions(model: ModelExports, *, stable: int | None = None, canary: int | None = None) -> dict[str, int]:
    """The `stable` (and `canary`) version of `model`: version labels the ModelServer resolves.

    `stable` defaults to the newest version that is not the canary (the newest when that is
    the only one). Raises `ZooError` naming a version `model` does not have.
    """
    for label, version in (("stable", stable), ("canary", canary)):
        if version is not None and version not in model.versions:
            raise ZooError(f"--{label} {model.name}={version}: no such version; {model.name} has {model.versions}")
    if stable is None:
        others = [v for v in model.versions if v != canary]
        stable = others[-1] if others else model.versions[-1]
    return {"stable": stable} if canary is None else {"stable": stable, "canary": canary}


def model_server_config(models: list[ModelExports], labels: dict[str, dict[str, int]], *,
                        base_path_prefix: str | None = None):
    """A `ModelServerConfig` serving each model's labelled versions (`specific` policy).

    Each base path is the model folder's absolute path, or `base_path_prefix/NAME` (the path
    inside a container, e.g. /models). `labels[name]` is `served_versions(...)`'s result.
    """
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    for model in models:
        entry = config.model_config_list.config.add(
            name=model.name, model_platform="tensorflow",
            base_path=posixpath.join(base_path_prefix, model.name) if base_path_prefix else str(model.path))
        entry.model_version_policy.specific.versions.extend(sorted(set(labels[model.name].values())))
        for label, version in labels[model.name].items():
            entry.version_labels[label] = version
    return config


def batching_parameters(*, max_batch_size: int = 32, batch_timeout_micros: int = 1000, num_batch_threads: int = 4,
                        max_enqueued_batches: int = 100):
    """`BatchingParameters` for a CPU server (`--batching_parameters_file`).

    Defaults: batches of up to 32 requests' rows, formed after at most 1 ms, 4 batch threads
    (set it to the server's cores), 100 queued batches before requests are refused.
    """
    from zoo.deploy.protos import batching_parameters_class

    values = {"max_batch_size": max_batch_size, "batch_timeout_micros": batch_timeout_micros,
              "num_batch_threads": num_batch_threads, "max_enqueued_batches": max_enqueued_batches}
    params = batching_parameters_class()()
    for name, value in values.items():
        minimum = 0 if name == "batch_timeout_micros" else 1
        if value < minimum:
            raise ZooError(f"{name} must be >= {minimum}. Received: {value}")
        getattr(params, name).value = value
    return params


def monitoring_config(*, path: str = PROMETHEUS_PATH):
    """`MonitoringConfig` exposing Prometheus metrics at `path` on the REST port."""
    from zoo.deploy.protos import monitoring_config_class

    config = monitoring_config_class()()
    config.prometheus_config.enable = True
    config.prometheus_config.path = path
    return config
