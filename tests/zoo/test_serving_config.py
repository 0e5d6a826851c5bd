"""`zoo serving-config`: ModelServer config files parsed back with the TF Serving protos, and the commands."""

import json
import shutil
import subprocess

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from zoo.cli import main
from zoo.deploy.deployment import write_deployment
from zoo.deploy.protos import batching_parameters_class, monitoring_config_class


def fake_export(base, name, version, card=None):
    """A version folder as discovery sees it: saved_model.pb (content unread) and maybe a model card."""
    path = base / name / str(version)
    path.mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"")
    if card is not None:
        (path / "model_card.json").write_text(json.dumps(card))
    return path


@pytest.fixture
def base(tmp_path):
    base = tmp_path / "saved_models"
    for version in (1, 2, 3):
        card = {"task": "ner", "signatures": {"serving_default": "...", "tag_tokens": "..."}}
        fake_export(base, "ner", version, card)
    fake_export(base, "lm", 4)  # made elsewhere: no model card
    (base / "lm" / ".tmp-abc").mkdir()  # an interrupted export: ignored
    (base / "ner" / "3" / "assets.extra").mkdir()
    (base / "ner" / "3" / "assets.extra" / "tf_serving_warmup_requests").write_bytes(b"")
    (base / "README.md").write_text("not a model")
    return base


def parse(path, message):
    return text_format.Parse(path.read_text(), message)


def test_models_config_parses_as_model_server_config(base, tmp_path):
    summary = write_deployment(base, tmp_path / "deploy", canary={"ner": 3})
    config = parse(tmp_path / "deploy" / "models.config", model_server_config_pb2.ModelServerConfig())
    lm, ner = config.model_config_list.config
    assert (ner.name, ner.base_path, ner.model_platform) == ("ner", str((base / "ner").resolve()), "tensorflow")
    assert list(ner.model_version_policy.specific.versions) == [2, 3]
    assert dict(ner.version_labels) == {"stable": 2, "canary": 3}
    assert lm.name == "lm" and list(lm.model_version_policy.specific.versions) == [4]
    assert dict(lm.version_labels) == {"stable": 4}
    assert summary["models"][1] == {"name": "ner", "versions": [2, 3], "labels": {"stable": 2, "canary": 3},
                                    "task": "ner", "signatures": ["serving_default", "tag_tokens"], "warmup": [3]}


def test_stable_choice_and_container_base_path(base, tmp_path):
    summary = write_deployment(base, tmp_path / "deploy", stable={"ner": 1}, model_base_path="/models")
    config = parse(tmp_path / "deploy" / "models.config", model_server_config_pb2.ModelServerConfig())
    assert [c.base_path for c in config.model_config_list.config] == ["/models/lm", "/models/ner"]
    assert dict(config.model_config_list.config[1].version_labels) == {"stable": 1}
    assert f"{base.resolve()}:/models:ro" in summary["docker"]


def test_batching_and_monitoring_configs_parse(base, tmp_path):
    write_deployment(base, tmp_path / "deploy", batching={"max_batch_size": 64, "num_batch_threads": 8})
    batching = parse(tmp_path / "deploy" / "batching.config", batching_parameters_class()())
    assert (batching.max_batch_size.value, batching.batch_timeout_micros.value, batching.num_batch_threads.value,
            batching.max_enqueued_batches.value) == (64, 1000, 8, 100)
    monitoring = parse(tmp_path / "deploy" / "monitoring.config", monitoring_config_class()())
    assert monitoring.prometheus_config.enable and monitoring.prometheus_config.path == "/monitoring/prometheus/metrics"


def test_config_classes_accept_the_examples_of_the_tf_serving_guide():
    """The examples of tensorflow_serving/g3doc/serving_config.md parse with these message classes."""
    batching = text_format.Parse("max_batch_size { value: 128 }\nbatch_timeout_micros { value: 0 }\n"
                                 "max_enqueued_batches { value: 1000000 }\nnum_batch_threads { value: 8 }\n",
                                 batching_parameters_class()())
    assert batching.max_enqueued_batches.value == 1000000
    monitoring = text_format.Parse('prometheus_config {\n  enable: true,\n  path: "/monitoring/prometheus/metrics"\n}',
                                   monitoring_config_class()())
    assert monitoring.prometheus_config.enable


def test_commands_bind_where_asked(base, tmp_path):
    out = tmp_path / "deploy"
    summary = write_deployment(base, out)
    docker, server = " ".join(summary["docker"]), " ".join(summary["server"])
    assert "-p 127.0.0.1:8501:8501 -p 127.0.0.1:8500:8500" in docker
    assert f"-v {out.resolve()}:/config:ro tensorflow/serving:2.20.0 --model_config_file=/config/models.config" \
        in docker
    for flag in ("--enable_batching", "--enable_model_warmup", "--batching_parameters_file=/config/batching.config",
                 "--monitoring_config_file=/config/monitoring.config"):
        assert flag in summary["docker"]
    assert server.startswith(f"tensorflow_model_server --port=8500 --rest_api_port=8501 "
                             f"--model_config_file={out.resolve()}/models.config")
    assert "0.0.0.0" not in (out / "serve.sh").read_text() + (out / "README.md").read_text()
    assert subprocess.run(["sh", "-n", str(out / "serve.sh")]).returncode == 0
    assert (out / "serve.sh").stat().st_mode & 0o111

    wider = write_deployment(base, out, host="10.1.2.3", rest_port=9001, grpc_port=9000)["docker"]
    assert "10.1.2.3:9001:8501" in wider and "10.1.2.3:9000:8500" in wider
    assert "[::1]:8501:8501" in write_deployment(base, out, host="::1")["docker"]


def test_cli_writes_the_files_and_prints_the_command(base, tmp_path, capsys):
    assert main(["serving-config", str(base), "--out", str(tmp_path / "deploy"), "--canary", "ner=3"]) == 0
    out = capsys.readouterr().out
    assert "ner" in out and "stable=2, canary=3" in out and "-p 127.0.0.1:8501:8501" in out
    assert sorted(p.name for p in (tmp_path / "deploy").iterdir()) == [
        "README.md", "batching.config", "models.config", "monitoring.config", "serve.sh"]


@pytest.mark.parametrize("case, message", [
    ("empty", "no exports found"),
    ("no_versions", "without integer version folders"),
    ("model_folder", "not an export base"),
    ("out_under_a_file", "cannot write there"),
    ("host", "--host must be an IP address"),
    ("stable_version", "no such version; ner has [1, 2, 3]"),
    ("stable_syntax", "--stable expects NAME=VERSION"),
    ("canary_name", "is not a model here"),
    ("same_ports", "must differ"),
    ("batch_size", "max_batch_size must be >= 1"),
])
def test_bad_input_is_one_line_and_exit_2(base, tmp_path, capsys, case, message):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "a_file").write_text("")
    args = {
        "empty": [str(empty)],
        "no_versions": [str(base), "--out", str(tmp_path / "d")],
        "model_folder": [str(base / "ner")],
        "out_under_a_file": [str(base), "--out", str(tmp_path / "a_file" / "deploy")],
        "host": [str(base), "--host", "localhost"],
        "stable_version": [str(base), "--stable", "ner=9"],
        "stable_syntax": [str(base), "--stable", "ner"],
        "canary_name": [str(base), "--canary", "tagger=1"],
        "same_ports": [str(base), "--rest-port", "8500"],
        "batch_size": [str(base), "--max-batch-size", "0"],
    }[case]
    if case == "no_versions":
        (base / "tagger").mkdir()
    if "--out" not in args:
        args += ["--out", str(tmp_path / "deploy")]
    assert main(["serving-config", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: ") and message in err and err.count("\n") == 1


def test_real_export_card_is_reported(tiny_export, tmp_path):
    shutil.copytree(tiny_export, tmp_path / "base" / "bilstm_ner" / "1")
    (model,) = write_deployment(tmp_path / "base", tmp_path / "deploy")["models"]
    assert model["task"] == "ner" and "serving_default" in model["signatures"]
