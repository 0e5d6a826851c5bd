"""keras-tuner's distributed mode: one chief serves the oracle, workers run the trials.

keras-tuner reads three environment variables (`keras_tuner/src/distribute/utils.py`). When
`KERASTUNER_ORACLE_IP` is set, a process whose `KERASTUNER_TUNER_ID` contains "chief" serves the
oracle over gRPC at `KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT` and blocks in `search` until every
worker has been told to stop; the chief runs no trial. Any other id makes a worker, which asks the
chief for trials, trains them and reports back. The tuner directory must be one folder that every
process sees (the workers write the trials' weights, the chief the oracle's trial files), so the
chief can load the best model when the search ends; it is the one process that exports.

keras-tuner's own failure modes are a hang (a worker waits up to an hour for a chief that never
comes) and a chief that serves nothing (a port in use). `preflight` turns both into a `ZooError`.

The gRPC channel is unauthenticated and unencrypted: run a cluster only on a private network.

This module imports neither TensorFlow nor keras-tuner: it only reads and writes the environment.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
from typing import Iterator, Mapping, MutableMapping

from zoo.errors import ZooError
from zoo.net import Address, parse_address, port_answers

ENV_IP = "KERASTUNER_ORACLE_IP"
ENV_PORT = "KERASTUNER_ORACLE_PORT"
ENV_ID = "KERASTUNER_TUNER_ID"
ENV_NAMES = (ENV_IP, ENV_PORT, ENV_ID)
CHIEF_ID = "chief"
CHIEF_WAIT_S = 120.0  # a worker's wait for its chief, which loads the data and builds a model first
_TUNER_ID = re.compile(r"[A-Za-z0-9_.-]+")  # it becomes a file name: tuner_<id>.json


def tuner_environment(*, chief: str | None = None, worker: str | None = None, tuner_id: str | None = None) -> dict:
    """The `KERASTUNER_*` variables for one process of a distributed search; `{}` for a local one.

    Args:
        chief: `HOST:PORT` this process serves the oracle on (its tuner id is "chief").
        worker: `HOST:PORT` of the chief this worker asks for trials.
        tuner_id: the worker's unique id (letters, digits, `_.-`); ids containing "chief" are the chief's.

    Example:
        >>> tuner_environment(worker="10.0.0.5:8000", tuner_id="w1")
        {'KERASTUNER_ORACLE_IP': '10.0.0.5', 'KERASTUNER_ORACLE_PORT': '8000', 'KERASTUNER_TUNER_ID': 'w1'}
    """
    if chief is not None and worker is not None:
        raise ZooError(f"A process is either the chief or a worker. Received: --chief {chief} --worker {worker}")
    if chief is not None:
        if tuner_id is not None:
            raise ZooError(f"--tuner-id names a worker; the chief's id is {CHIEF_ID!r}. Received: --tuner-id {tuner_id}")
        address, name = parse_address(chief, flag="--chief"), CHIEF_ID
    elif worker is not None:
        if tuner_id is None:
            raise ZooError(f"--worker {worker} needs --tuner-id ID, unique among the workers")
        check_tuner_id(tuner_id)
        address, name = parse_address(worker, flag="--worker"), tuner_id
    else:
        if tuner_id is not None:
            raise ZooError(f"--tuner-id goes with --worker HOST:PORT. Received: --tuner-id {tuner_id} alone")
        return {}
    return {ENV_IP: address.host, ENV_PORT: str(address.port), ENV_ID: name}


def check_tuner_id(tuner_id: str) -> None:
    """Raises `ZooError` for a worker id keras-tuner would take for the chief or that is no file name."""
    if CHIEF_ID in tuner_id or not _TUNER_ID.fullmatch(tuner_id):
        raise ZooError(f"A worker's tuner id has letters, digits and _.- and does not contain {CHIEF_ID!r}. "
                       f"Received: {tuner_id!r}")


@contextlib.contextmanager
def environment(variables: Mapping[str, str], *,
                environ: MutableMapping[str, str] = os.environ) -> Iterator[None]:
    """Sets `variables` in `environ` for the block, then restores what was there (set or not)."""
    saved = {key: environ.get(key) for key in variables}
    environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value


def role(environ: Mapping[str, str] = os.environ) -> str | None:
    """This process's part, as keras-tuner will read `environ`: "chief", "worker" or None (a local search).

    Raises:
        ZooError: `KERASTUNER_ORACLE_IP` without the port or the id, or a port that is not a number
            (keras-tuner would raise a RuntimeError with a traceback, or hang).
    """
    if ENV_IP not in environ:
        return None
    missing = [key for key in (ENV_PORT, ENV_ID) if key not in environ]
    if missing:
        raise ZooError(f"{ENV_IP}={environ[ENV_IP]} is set, so keras-tuner runs distributed, but {missing} "
                       f"{'is' if len(missing) == 1 else 'are'} not; set all of {list(ENV_NAMES)}")
    oracle_address(environ)
    if CHIEF_ID in environ[ENV_ID]:
        return "chief"
    check_tuner_id(environ[ENV_ID])
    return "worker"


def is_chief(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process serves the oracle of a distributed search."""
    return role(environ) == "chief"


def is_worker(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process runs trials for a chief (and so has nothing to export)."""
    return role(environ) == "worker"


def oracle_address(environ: Mapping[str, str] = os.environ) -> Address:
    """The chief's address from the `KERASTUNER_*` variables (see `role` for the checks)."""
    return parse_address(f"{environ[ENV_IP]}:{environ[ENV_PORT]}", flag=f"{ENV_IP}:{ENV_PORT}")


def check_port_free(address: Address) -> None:
    """Raises `ZooError` when the chief could not listen on `address` (in use, or not this machine's).

    gRPC would otherwise fail to bind and the chief would block serving nothing. (Another program can
    still take the port between this check and the chief's bind; the window is a moment.)
    """
    family = socket.AF_INET6 if ":" in address.bare_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed port in TIME_WAIT is free
        try:
            probe.bind((address.bare_host, address.port))
            probe.listen(1)
        except OSError as error:
            raise ZooError(f"The chief cannot listen on {address}: {error.strerror or error}. "
                           f"Pick another --chief port (and the same one for its workers)") from None


def wait_for_chief(address: Address, *, timeout: float = CHIEF_WAIT_S, poll: float = 0.25) -> None:
    """Returns once something accepts TCP connections at `address`; `ZooError` after `timeout` seconds.

    keras-tuner's workers wait up to an hour for the chief; a worker started first, or pointed at the
    wrong address, should say so instead.
    """
    if not port_answers(address, timeout=timeout, poll=poll):
        raise ZooError(f"No keras-tuner chief answers at {address} after {timeout:g} s. Start the chief first "
                       f"(`zoo tune ... --chief {address}`), and check the address and that the port is reachable")


def preflight(*, timeout: float = CHIEF_WAIT_S, environ: Mapping[str, str] = os.environ) -> str | None:
    """Checks a distributed search before it starts; returns `role(environ)`.

    The chief: its port must be free. A worker: its chief must answer within `timeout` seconds.
    """
    current = role(environ)
    if current == "chief":
        check_port_free(oracle_address(environ))
    elif current == "worker":
        wait_for_chief(oracle_address(environ), timeout=timeout)
    return current


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--chief`, `--worker`, `--tuner-id` and `--chief-timeout`, for `zoo tune`."""
    group = parser.add_argument_group("distributed search (keras-tuner's oracle is unauthenticated: private networks only)")
    roles = group.add_mutually_exclusive_group()
    roles.add_argument("--chief", metavar="HOST:PORT",
                       help="serve the search to workers on this address (:PORT means 127.0.0.1:PORT); "
                            "the chief runs no trial and exports the best model")
    roles.add_argument("--worker", metavar="HOST:PORT", help="run trials for the chief at this address")
    group.add_argument("--tuner-id", metavar="ID", help="this worker's id, unique among the workers (letters, digits, _.-)")
    group.add_argument("--chief-timeout", type=float, default=CHIEF_WAIT_S, metavar="SECONDS",
                       help=f"how long a worker waits for its chief (default {CHIEF_WAIT_S:g})")


def environment_from_args(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """The `KERASTUNER_*` environment that `add_arguments`' flags ask for, set for a `with` block."""
    return environment(tuner_environment(chief=args.chief, worker=args.worker, tuner_id=args.tuner_id))
