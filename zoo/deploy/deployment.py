"""`write_deployment`: everything a ModelServer needs to serve an export base, written to one folder."""

from __future__ import annotations

import os
from pathlib import Path

from zoo.deploy import commands
from zoo.deploy.discovery import ModelExports, find_models
from zoo.deploy.server_config import PROMETHEUS_PATH, batching_parameters, model_server_config, monitoring_config, \
    served_versions
from zoo.deploy.warmup import WARMUP_FILE
from zoo.errors import ZooError


def write_deployment(base: str | os.PathLike, out: str | os.PathLike, *, host: str = "127.0.0.1",
                     model_base_path: str | None = None, stable: dict[str, int] | None = None,
                     canary: dict[str, int] | None = None, rest_port: int = 8501, grpc_port: int = 8500,
                     batching: dict | None = None) -> dict:
    """Writes models.config, batching.config, monitoring.config, serve.sh and README.md into `out`.

    Args:
        base: the export base (`BASE/NAME/VERSION/saved_model.pb`).
        out: the folder to write; created if missing.
        host: the address docker publishes the REST and gRPC ports on (127.0.0.1: this machine only).
        model_base_path: where `base` sits for the server (e.g. /models in the container);
            default: `base`'s absolute path, mounted at the same path in the container.
        stable, canary: `{name: version}` label choices; see `served_versions`.
        rest_port, grpc_port: host ports.
        batching: keyword arguments of `batching_parameters`.

    Returns:
        A summary: `models` (name, versions, labels, task, signatures, versions with warmup
        requests), `files`, `docker` and `server` (argument lists). Both commands read the same
        models.config, so with `model_base_path` the bare server needs the models at that path.
    """
    from google.protobuf import text_format

    commands.check_host(host)
    commands.check_ports(rest_port=rest_port, grpc_port=grpc_port)
    if model_base_path is not None and not model_base_path.startswith("/"):
        raise ZooError(f"--model-base-path must be an absolute path such as /models. Received: {model_base_path!r}")
    models = find_models(base)
    _check_names({**(stable or {}), **(canary or {})}, [m.name for m in models])
    labels = {m.name: served_versions(m, stable=(stable or {}).get(m.name), canary=(canary or {}).get(m.name))
              for m in models}
    configs = {
        commands.FILES["models"]: model_server_config(models, labels, base_path_prefix=model_base_path),
        commands.FILES["batching"]: batching_parameters(**(batching or {})),
        commands.FILES["monitoring"]: monitoring_config(),
    }
    out = Path(out)
    config_dir = str(out.resolve())
    base_dir = str(Path(base).resolve())
    docker = commands.docker_command(models_dir=base_dir, models_mount=model_base_path or base_dir,
                                     config_dir=config_dir, host=host, rest_port=rest_port, grpc_port=grpc_port)
    server = commands.server_command(config_dir=config_dir, rest_port=rest_port, grpc_port=grpc_port)
    summary = {
        "models": [_describe(m, labels[m.name]) for m in models],
        "files": [str(out / name) for name in [*configs, "serve.sh", "README.md"]],
        "docker": docker, "server": server,
    }
    texts = {name: text_format.MessageToString(message) for name, message in configs.items()}
    texts["serve.sh"] = _serve_script(docker, server)
    texts["README.md"] = _readme(summary, host=host, rest_port=rest_port)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (out / name).write_text(text, encoding="utf-8")
        (out / "serve.sh").chmod(0o755)
    except OSError as error:
        raise ZooError(f"--out {out}: cannot write there ({error.strerror or error})") from None
    return summary


def _describe(model: ModelExports, labels: dict[str, int]) -> dict:
    """What the stable version's model card says, and which served versions carry warmup requests."""
    card = model.cards[labels["stable"]]
    served = sorted(set(labels.values()))
    return {"name": model.name, "versions": served, "labels": labels, "task": card.get("task", ""),
            "signatures": sorted(card.get("signatures", {})),
            "warmup": [v for v in served if (model.path / str(v) / WARMUP_FILE).exists()]}


def _check_names(chosen: dict[str, int], names: list[str]) -> None:
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        raise ZooError(f"--stable/--canary name {unknown[0]!r} is not a model here; models: {names}")


def _serve_script(docker: list[str], server: list[str]) -> str:
    return (
        "#!/bin/sh\n# Written by `zoo serving-config`. Usage: ./serve.sh [docker|bare]\n"
        "# docker: publishes REST and gRPC on the address below only.\n"
        "# bare: tensorflow_model_server has no bind-address flag and listens on every interface;\n"
        "#       use it only on a host whose network is private or firewalled.\n"
        "set -eu\n"
        'case "${1:-docker}" in\n'
        f"  docker)\n    exec {commands.render(docker, indent='        ')} ;;\n"
        f"  bare)\n    exec {commands.render(server, indent='        ')} ;;\n"
        '  *) echo "usage: $0 [docker|bare]" >&2; exit 2 ;;\nesac\n'
    )


def _readme(summary: dict, *, host: str, rest_port: int) -> str:
    address = f"{commands.check_host(host)}:{rest_port}"
    rows = "\n".join(f"| {m['name']} | {', '.join(f'{k} = {v}' for k, v in m['labels'].items())} | {m['task']} | "
                     f"{', '.join(m['signatures'])} | {', '.join(map(str, m['warmup'])) or 'none'} |"
                     for m in summary["models"])
    first = summary["models"][0]["name"]
    return (
        "# TF Serving deployment (written by `zoo serving-config`)\n\n"
        "| model | versions | task | signatures | versions with warmup requests |\n|---|---|---|---|---|\n"
        + rows + "\n\n"
        "Files: `models.config` (ModelServerConfig: models, base paths, `specific` version policy, "
        "`stable`/`canary` labels), `batching.config` (BatchingParameters), `monitoring.config` "
        "(Prometheus), `serve.sh`.\n\n"
        f"Start with Docker (REST and gRPC published on {host} only):\n\n```bash\n"
        f"{commands.render(summary['docker'])}\n```\n\n"
        "or with the ModelServer binary, which listens on **every interface** (it has no bind-address "
        "flag), so only on a host whose network is private or firewalled:\n\n```bash\n"
        f"{commands.render(summary['server'])}\n```\n\n"
        "Query a label: `curl -d '{\"instances\": [...]}' "
        f"http://{address}/v1/models/{first}/labels/stable:predict`; "
        f"Prometheus scrapes `http://{address}{PROMETHEUS_PATH}`.\n\n"
        "Security: the ModelServer has no authentication. A cluster or serving fleet must sit on a "
        "private network; publish the ports beyond it only behind an authenticating proxy.\n"
    )
