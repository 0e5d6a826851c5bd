"""Distributed keras-tuner: addresses, the KERASTUNER_* environment, the chief/worker checks, and a
chief with 2 workers on 127.0.0.1 running a 4-trial search to one export."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest

from zoo import distributed_tuning as dt
from zoo.errors import ZooError

ENTRY = Path(__file__).with_name("distributed_tune_entry.py")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def listening():
    """A socket listening on 127.0.0.1 (a port in use); yields its address."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        yield dt.Address("127.0.0.1", server.getsockname()[1])


# ----------------------------------------------------------------------------- addresses and environment


@pytest.mark.parametrize("text, expected", [("127.0.0.1:8000", ("127.0.0.1", 8000)), (":8000", ("127.0.0.1", 8000)),
                                            ("tuner-host:65535", ("tuner-host", 65535)), ("[::1]:1", ("[::1]", 1))])
def test_parse_address(text, expected):
    assert dt.parse_address(text) == dt.Address(*expected)
    assert str(dt.parse_address(text)) == f"{expected[0]}:{expected[1]}"


@pytest.mark.parametrize("text, message", [
    ("8000", "--chief expects HOST:PORT"), ("host:", "--chief expects HOST:PORT"),
    ("host:http", "--chief expects HOST:PORT"), ("host:-1", "--chief expects HOST:PORT"),
    ("host:0", "a port in 1..65535"), ("host:65536", "a port in 1..65535"),
    ("::1:8000", "IPv6 host in brackets"), ("my host:80", "IPv6 host in brackets"),
])
def test_malformed_address_is_named(text, message):
    with pytest.raises(ZooError, match=message) as error:
        dt.parse_address(text, flag="--chief")
    assert f"Received: {text!r}" in str(error.value)


def test_tuner_environment_for_each_role():
    assert dt.tuner_environment() == {}
    assert dt.tuner_environment(chief="127.0.0.1:8000") == {
        "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": "8000", "KERASTUNER_TUNER_ID": "chief"}
    assert dt.tuner_environment(worker="10.0.0.5:8000", tuner_id="w-1") == {
        "KERASTUNER_ORACLE_IP": "10.0.0.5", "KERASTUNER_ORACLE_PORT": "8000", "KERASTUNER_TUNER_ID": "w-1"}


@pytest.mark.parametrize("kwargs, message", [
    (dict(chief=":1", worker=":1"), "either the chief or a worker"),
    (dict(chief=":1", tuner_id="w1"), "--tuner-id names a worker"),
    (dict(worker=":1"), "needs --tuner-id"),
    (dict(tuner_id="w1"), "--tuner-id goes with --worker"),
    (dict(worker=":1", tuner_id="subchief1"), "does not contain 'chief'. Received: 'subchief1'"),
    (dict(worker=":1", tuner_id="a/b"), "Received: 'a/b'"),
    (dict(worker="nowhere", tuner_id="w1"), "--worker expects HOST:PORT"),
])
def test_tuner_environment_rejects(kwargs, message):
    with pytest.raises(ZooError, match=message):
        dt.tuner_environment(**kwargs)


def test_environment_is_restored_after_the_block_even_on_error():
    environ = {"KERASTUNER_TUNER_ID": "before", "OTHER": "x"}
    with pytest.raises(RuntimeError):
        with dt.environment(dt.tuner_environment(chief=":9000"), environ=environ):
            assert dt.role(environ) == "chief" and dt.is_chief(environ) and not dt.is_worker(environ)
            raise RuntimeError
    assert environ == {"KERASTUNER_TUNER_ID": "before", "OTHER": "x"}


def test_role_reads_the_environment_as_keras_tuner_does():
    assert dt.role({}) is None and not dt.is_chief({}) and not dt.is_worker({})
    worker = {"KERASTUNER_ORACLE_IP": "10.0.0.5", "KERASTUNER_ORACLE_PORT": "8000", "KERASTUNER_TUNER_ID": "w1"}
    assert dt.role(worker) == "worker" and dt.oracle_address(worker) == dt.Address("10.0.0.5", 8000)
    assert dt.role({**worker, "KERASTUNER_TUNER_ID": "chief-0"}) == "chief"
    with pytest.raises(ZooError, match=r"KERASTUNER_ORACLE_IP=10.0.0.5 is set.*\['KERASTUNER_TUNER_ID'\] is not"):
        dt.role({"KERASTUNER_ORACLE_IP": "10.0.0.5", "KERASTUNER_ORACLE_PORT": "8000"})
    with pytest.raises(ZooError, match="a port in 1..65535. Received: '10.0.0.5:99999'"):
        dt.role({**worker, "KERASTUNER_ORACLE_PORT": "99999"})


def test_flags_set_the_environment_for_the_block_only(monkeypatch):
    import argparse

    for name in dt.ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    parser = argparse.ArgumentParser()
    dt.add_arguments(parser)
    args = parser.parse_args(["--worker", "10.0.0.5:8000", "--tuner-id", "w1", "--chief-timeout", "5"])
    with dt.environment_from_args(args):
        assert dt.role() == "worker" and dt.oracle_address() == dt.Address("10.0.0.5", 8000)
    assert dt.role() is None and args.chief_timeout == 5
    with dt.environment_from_args(parser.parse_args(["--chief", ":8000"])):
        assert os.environ["KERASTUNER_ORACLE_IP"] == "127.0.0.1" and dt.is_chief()
    with dt.environment_from_args(parser.parse_args([])):
        assert dt.role() is None
    with pytest.raises(SystemExit):
        parser.parse_args(["--chief", ":1", "--worker", ":1"])


# ----------------------------------------------------------------------------- the chief's port, the worker's wait


def test_port_in_use_is_refused(listening):
    with pytest.raises(ZooError, match=f"The chief cannot listen on {listening}: Address already in use"):
        dt.check_port_free(listening)
    dt.check_port_free(dt.Address("127.0.0.1", free_port()))


def test_an_address_of_another_machine_is_refused_for_the_chief():
    with pytest.raises(ZooError, match="cannot listen on 192.0.2.1:8000: Cannot assign requested address"):
        dt.check_port_free(dt.Address("192.0.2.1", 8000))  # TEST-NET-1: never this machine's


def test_worker_before_its_chief_fails_after_a_bounded_wait():
    address = dt.Address("127.0.0.1", free_port())
    start = time.monotonic()
    with pytest.raises(ZooError, match=f"No keras-tuner chief answers at {address} after 0.3 s. Start the chief"):
        dt.wait_for_chief(address, timeout=0.3, poll=0.05)
    assert time.monotonic() - start < 30  # bounded, not keras-tuner's hour (a hang guard, not a timing check)


def test_worker_finds_a_listening_chief(listening):
    dt.wait_for_chief(listening, timeout=5)


def _search(tmp_path, variables):
    from zoo.tuning import run_search

    import keras_tuner as kt

    with dt.environment(variables):
        return run_search("bilstm_ner", {"vocab_size": 30, "num_tags": 4}, lambda model, **_: model, None, None,
                          objective=kt.Objective("val_loss", "min"), directory=tmp_path / "tuning",
                          algorithm="random", max_trials=1, max_epochs=1, verbose=0, chief_timeout=0.2)


def test_run_search_checks_a_worker_before_keras_tuner_waits(tmp_path):
    port = free_port()
    with pytest.raises(ZooError, match=f"No keras-tuner chief answers at 127.0.0.1:{port} after 0.2 s"):
        _search(tmp_path, dt.tuner_environment(worker=f"127.0.0.1:{port}", tuner_id="w1"))
    assert not (tmp_path / "tuning").exists() and "KERASTUNER_ORACLE_IP" not in os.environ


def test_run_search_checks_the_chief_port(tmp_path, listening):
    with pytest.raises(ZooError, match="Address already in use"):
        _search(tmp_path, dt.tuner_environment(chief=str(listening)))
    with pytest.raises(ZooError, match=r"\['KERASTUNER_TUNER_ID'\] is not"):
        _search(tmp_path, {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(listening.port)})
    assert not (tmp_path / "tuning").exists()


# ----------------------------------------------------------------------------- a chief and 2 workers


@pytest.mark.slow
def test_a_chief_and_two_workers_finish_a_four_trial_search_and_export_once(tmp_path):
    """All 3 processes exit 0; the chief's oracle holds 4 completed trials; only the chief exports the best."""
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    roles = {"chief": ["--chief", address], "w1": ["--worker", address, "--tuner-id", "w1"],
             "w2": ["--worker", address, "--tuner-id", "w2"]}
    processes = {}
    try:
        for name, flags in roles.items():
            log = open(tmp_path / f"{name}.log", "w")
            processes[name] = subprocess.Popen(
                [sys.executable, str(ENTRY), str(tmp_path / "tuning"), str(tmp_path / "export"), *flags,
                 "--chief-timeout", "300"], env=env, stdout=log, stderr=subprocess.STDOUT)
            log.close()
        deadline = time.monotonic() + 600
        codes = {name: p.wait(timeout=max(deadline - time.monotonic(), 1)) for name, p in processes.items()}
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    logs = {name: (tmp_path / f"{name}.log").read_text()[-2000:] for name in roles}
    assert codes == {"chief": 0, "w1": 0, "w2": 0}, logs
    project = tmp_path / "tuning" / "distributed_tiny_mlp"
    trials = [json.loads(p.read_text()) for p in sorted(project.glob("trial_*/trial.json"))]
    assert [t["status"] for t in trials] == ["COMPLETED"] * 4
    assert sorted(p.name for p in project.glob("*.json")) == ["chief.json", "oracle.json", "w1.json", "w2.json"]
    assert sorted(os.listdir(tmp_path / "export")) == ["chief.keras"]
    best = min(trials, key=lambda t: t["score"])["hyperparameters"]["values"]
    model = keras.saving.load_model(tmp_path / "export" / "chief.keras", compile=False)
    assert model.get_layer("hidden").units == best["units"]
