"""Distributed keras-tuner: addresses, the KERASTUNER_* environment, the chief/worker checks, and a
chief with 2 workers on 127.0.0.1 running a 4-trial search to one export."""

import json
import os
import socket
import time

import pytest

from tests.helpers import emoticon_tweets, run_zoo
from zoo import distributed_tuning as dt
from zoo.errors import ZooError



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
    """`zoo tune --chief` and 2 `zoo tune --worker` processes: all exit 0; the chief's oracle holds 4 completed
    trials; the chief alone exports, the best trial's model."""
    address = f"127.0.0.1:{free_port()}"
    pos, neg = emoticon_tweets(tmp_path, per_class=40)
    tune = ["tune", "sentiment_dnn", "--data", f"tweets:{pos},{neg}", "--tuner", "random", "--max-trials", "4",
            "--max-epochs", "1", "--batch-size", "16", "--directory", "tuning", "--export-dir", "out",
            "--workdir", "work", "--chief-timeout", "300"]
    roles = {"chief": ["--chief", address], "w1": ["--worker", address, "--tuner-id", "w1"],
             "w2": ["--worker", address, "--tuner-id", "w2"]}
    results = run_zoo({name: ([*tune, *flags], None) for name, flags in roles.items()}, cwd=tmp_path, timeout=600)
    assert {name: code for name, (code, _) in results.items()} == {"chief": 0, "w1": 0, "w2": 0}, results
    assert "exported: " in results["chief"][1]
    for worker in ("w1", "w2"):
        assert f"worker {worker}: trials done; the chief exports the best model" in results[worker][1]
    project = tmp_path / "tuning" / "sentiment_dnn"
    trials = [json.loads(p.read_text()) for p in sorted(project.glob("trial_*/trial.json"))]
    assert [t["status"] for t in trials] == ["COMPLETED"] * 4
    assert sorted(p.name for p in project.glob("*.json")) == ["chief.json", "oracle.json", "w1.json", "w2.json"]
    assert os.listdir(tmp_path / "out" / "sentiment_dnn") == ["1"]
    top = max(t["score"] for t in trials)  # dev accuracy; tiny data can tie
    card = json.loads((tmp_path / "out" / "sentiment_dnn" / "1" / "model_card.json").read_text())
    assert card["tuning"]["best_hyperparameters"] in [t["hyperparameters"]["values"] for t in trials if t["score"] == top]
