"""The exact ModelServer launch commands: `docker run tensorflow/serving` and bare `tensorflow_model_server`.

Where they listen: the ModelServer has no bind-address flag. It opens gRPC on `0.0.0.0:--port`
and REST on `[::]:--rest_api_port` (every interface; tensorflow_serving/model_servers/server.cc
and util/net_http/server/internal/evhttp_server.cc). So the docker command restricts the bind with
`-p HOST:PORT:CONTAINER_PORT`, and the bare command, which cannot, is for a host whose network is
already private (or firewalled).
"""

from __future__ import annotations

import ipaddress
import shlex

from zoo.errors import ZooError

IMAGE = "tensorflow/serving:2.20.0"
CONFIG_MOUNT = "/config"
FILES = {"models": "models.config", "batching": "batching.config", "monitoring": "monitoring.config"}
# The image's entrypoint starts the server with --port=8500 --rest_api_port=8501.
CONTAINER_GRPC_PORT, CONTAINER_REST_PORT = 8500, 8501


def check_host(host: str) -> str:
    """`host` as docker's `-p` needs it (IPv6 in brackets); raises `ZooError` unless it is an IP address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ZooError(f"--host must be an IP address such as 127.0.0.1 (this machine only) or a private "
                       f"address. Received: {host!r}") from None
    return f"[{address}]" if address.version == 6 else str(address)


def check_ports(*, rest_port: int, grpc_port: int) -> None:
    for name, port in (("--rest-port", rest_port), ("--grpc-port", grpc_port)):
        if not 1 <= port <= 65535:
            raise ZooError(f"{name} must be in 1..65535. Received: {port}")
    if rest_port == grpc_port:
        raise ZooError(f"--rest-port and --grpc-port must differ. Received: {rest_port} for both")


def _server_flags(config_dir: str) -> list[str]:
    return [
        f"--model_config_file={config_dir}/{FILES['models']}",
        # The config labels versions at start-up, before they are loaded.
        "--allow_version_labels_for_unavailable_models=true",
        "--enable_batching",
        f"--batching_parameters_file={config_dir}/{FILES['batching']}",
        "--enable_model_warmup",
        f"--monitoring_config_file={config_dir}/{FILES['monitoring']}",
    ]


def docker_command(*, models_dir: str, models_mount: str, config_dir: str, host: str, rest_port: int,
                   grpc_port: int, image: str = IMAGE) -> list[str]:
    """`docker run` publishing REST and gRPC on `host` only, models and config mounted read-only."""
    host = check_host(host)
    return ["docker", "run", "--rm",
            "-p", f"{host}:{rest_port}:{CONTAINER_REST_PORT}", "-p", f"{host}:{grpc_port}:{CONTAINER_GRPC_PORT}",
            "-v", f"{models_dir}:{models_mount}:ro", "-v", f"{config_dir}:{CONFIG_MOUNT}:ro",
            image, *_server_flags(CONFIG_MOUNT)]


def server_command(*, config_dir: str, rest_port: int, grpc_port: int) -> list[str]:
    """Bare `tensorflow_model_server`; it listens on every interface of the host."""
    return ["tensorflow_model_server", f"--port={grpc_port}", f"--rest_api_port={rest_port}",
            *_server_flags(config_dir)]


def render(argv: list[str], indent: str = "    ") -> str:
    """`argv` as one shell command: a line per option (a short option keeps its value), the image alone."""
    lines = [[argv[0]]]
    for word in argv[1:]:
        line = lines[-1]
        value_of_short_option = len(line) == 1 and len(line[0]) == 2 and line[0].startswith("-")
        if word.startswith("-") or (line[0].startswith("-") and not value_of_short_option):
            lines.append([word])
        else:
            line.append(word)
    return f" \\\n{indent}".join(shlex.join(line) for line in lines)
