"""`zoo serving-config`: TF Serving config files and launch commands for an export base.

Only argparse at import time, so `zoo --help` stays fast.
"""

from __future__ import annotations

import argparse


def add_serving_config_parser(subparsers) -> None:
    """Registers `zoo serving-config` under the `zoo` command's subparsers."""
    p = subparsers.add_parser(
        "serving-config", help="write TF Serving config files and the docker / tensorflow_model_server command",
        description="Finds every BASE/NAME/VERSION export and writes into --out: models.config (ModelServerConfig "
                    "with stable/canary version labels), batching.config, monitoring.config (Prometheus), "
                    "serve.sh and README.md with the exact launch commands. Nothing is started.")
    p.add_argument("base", help="export base folder holding NAME/VERSION/saved_model.pb (e.g. saved_models)")
    p.add_argument("--out", required=True, help="folder to write (created if missing)")
    p.add_argument("--host", default="127.0.0.1", help="IP address docker publishes REST and gRPC on; "
                   "default 127.0.0.1, this machine only")
    p.add_argument("--rest-port", type=int, default=8501,
                   help="host port for REST and Prometheus metrics (default 8501)")
    p.add_argument("--grpc-port", type=int, default=8500, help="host port for gRPC (default 8500)")
    p.add_argument("--model-base-path", help="where BASE sits for the server, e.g. /models in the container "
                   "(default: BASE's absolute path, mounted at the same path)")
    p.add_argument("--stable", action="append", default=[], metavar="NAME=VERSION",
                   help="version labelled stable (default: the newest that is not the canary); repeatable")
    p.add_argument("--canary", action="append", default=[], metavar="NAME=VERSION",
                   help="version labelled canary, served beside stable; repeatable")
    p.add_argument("--max-batch-size", type=int, default=32, help="largest batch the server forms (default 32)")
    p.add_argument("--batch-timeout-micros", type=int, default=1000, help="longest wait to fill a batch (default 1000)")
    p.add_argument("--batch-threads", type=int, default=4, help="batch threads; set to the server's cores (default 4)")
    p.add_argument("--max-enqueued-batches", type=int, default=100,
                   help="queued batches before requests fail (default 100)")
    p.set_defaults(func=cmd_serving_config)


def parse_labels(pairs: list[str], *, option: str) -> dict[str, int]:
    """`["ner=2"]` -> `{"ner": 2}`; raises `ZooError` on anything else."""
    from zoo.errors import ZooError

    labels = {}
    for pair in pairs:
        name, sep, version = pair.rpartition("=")
        if not (sep and name and version.isdigit()):
            raise ZooError(f"{option} expects NAME=VERSION with an integer version. Received: {pair!r}")
        labels[name] = int(version)
    return labels


def cmd_serving_config(args: argparse.Namespace) -> None:
    from zoo.deploy.commands import render
    from zoo.deploy.deployment import write_deployment

    summary = write_deployment(
        args.base, args.out, host=args.host, model_base_path=args.model_base_path,
        stable=parse_labels(args.stable, option="--stable"), canary=parse_labels(args.canary, option="--canary"),
        rest_port=args.rest_port, grpc_port=args.grpc_port,
        batching={"max_batch_size": args.max_batch_size, "batch_timeout_micros": args.batch_timeout_micros,
                  "num_batch_threads": args.batch_threads, "max_enqueued_batches": args.max_enqueued_batches})
    print(f"{'model':<24}{'labels':<28}{'task':<16}{'warmup':<10}signatures")
    for model in summary["models"]:
        labels = ", ".join(f"{k}={v}" for k, v in model["labels"].items())
        warmup = ",".join(map(str, model["warmup"])) or "none"
        print(f"{model['name']:<24}{labels:<28}{model['task'] or '-':<16}{warmup:<10}"
              f"{', '.join(model['signatures']) or '-'}")
    print("wrote: " + ", ".join(summary["files"]))
    print(f"start (REST {args.host}:{args.rest_port}, gRPC {args.host}:{args.grpc_port}):\n{render(summary['docker'])}")
