"""The TF Serving contract: versions, atomic writes, allowed ops, a zoo-free reload, REST bodies."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import check_export
from zoo.errors import ZooError
from zoo.export import export_versioned, read_card, resolve_export, versions
from zoo.serving import SERVING_OPS, check_serving_ops, graph_ops, load, rest_predict
from zoo.tasks.ner import predict_texts

OUTPUTS = {"tokens", "tags", "scores", "lengths", "span_types", "span_starts", "span_ends", "span_texts", "num_spans"}
SENTENCES = ["Sharon flew to Miami last Friday.", "Peter met the United Nations in Paris on Monday."]


def _write_file(content):
    def write(path):
        with open(os.path.join(path, "saved_model.pb"), "w") as f:
            f.write(content)
    return write


def test_versions_increase_and_existing_ones_are_untouched(tmp_path):
    first = export_versioned(_write_file("one"), tmp_path, "m", card={})
    (tmp_path / "m" / "not-a-version").mkdir()
    second = export_versioned(_write_file("two"), tmp_path, "m", card={})
    assert (first.name, second.name) == ("1", "2")
    assert (first / "saved_model.pb").read_text() == "one"
    assert versions(tmp_path / "m") == [1, 2]
    assert read_card(second)["version"] == 2 and read_card(first)["version"] == 1
    assert resolve_export(tmp_path / "m") == second
    assert second.stat().st_mode & 0o055 == 0o055  # group and others can read and enter it


def test_an_interrupted_export_leaves_no_version_and_no_staging_folder(tmp_path):
    export_versioned(_write_file("one"), tmp_path, "m", card={})

    def crash(path):
        _write_file("partial")(path)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_versioned(crash, tmp_path, "m", card={})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1"]


def test_resolve_export_explains_bad_paths(tmp_path):
    with pytest.raises(ZooError, match="no such export"):
        resolve_export(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="neither saved_model.pb nor integer version"):
        resolve_export(tmp_path / "empty")


def test_export_layout_card_and_assets(tiny_export):
    assert tiny_export.name.isdigit()
    card = read_card(tiny_export)
    assert card["task"] == "ner" and card["model"] == "bilstm_ner"
    assert card["config"]["lstm_units"] == 32 and card["vocab_size"] > 10
    assert {"dev_token_accuracy", "dev_f1"} <= set(card["metrics"])
    assert {"tensorflow", "keras", "tensorflow_text", "zoo"} <= set(card["versions"])
    assert card["data"]["train_sentences"] == 360
    assets = sorted(os.listdir(tiny_export / "assets"))
    assert assets == ["tags.txt", "vocab.txt"]
    assert (tiny_export / "README.md").read_text().startswith("# bilstm_ner")


def test_graph_uses_only_allowed_ops(tiny_export):
    ops = graph_ops(tiny_export)
    assert ops <= SERVING_OPS
    assert not {op for op in ops if "PyFunc" in op or "Cudnn" in op}
    assert {"StaticRegexReplace", "StringSplitV2"} <= ops  # tokenization is in the graph
    check_serving_ops(tiny_export)


def test_op_check_rejects_py_function(tmp_path):
    class Bad(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def f(self, x):
            return tf.py_function(lambda v: v * 2, [x], tf.float32)

    bad = Bad()
    tf.saved_model.save(bad, str(tmp_path / "bad"), signatures={"serving_default": bad.f})
    with pytest.raises(ZooError, match="EagerPyFunc"):
        check_serving_ops(tmp_path / "bad")


def test_fresh_process_without_zoo_gives_the_same_predictions(tiny_export):
    outputs = check_export(tiny_export, {"serving_default": {"text": SENTENCES},
                                         "tag_tokens": {"tokens": [["Sharon", "flew", "to", "Miami"]]}})
    assert outputs["serving_default"]["tags"].shape[0] == len(SENTENCES)


def test_edge_inputs_give_valid_output(tiny_export):
    serve = load(tiny_export).signatures["serving_default"]
    empty = serve(text=tf.constant([""]))
    assert empty["tags"].shape == (1, 0) and empty["lengths"].numpy().tolist() == [0]
    mixed = serve(text=tf.constant(["", "Zoë flew to Zürich ."]))
    assert mixed["lengths"].numpy().tolist() == [0, 5]
    assert mixed["tokens"].numpy()[1, 0].decode("utf-8") == "Zoë"
    long_text = " ".join(["Paris"] * 10_000)
    long = serve(text=tf.constant([long_text]))
    assert long["tags"].shape == (1, 10_000) and long["lengths"].numpy().tolist() == [10_000]
    assert set(long["tags"].numpy().ravel().astype(str)) <= set(read_card(tiny_export)["tags"])


def test_text_and_token_signatures_agree(tiny_export):
    loaded = load(tiny_export)
    by_text = loaded.signatures["serving_default"](text=tf.constant(["Sharon flew to Miami ."]))
    by_tokens = loaded.signatures["tag_tokens"](tokens=tf.constant([["Sharon", "flew", "to", "Miami", "."], ["Hi", "", "", "", ""]]))
    np.testing.assert_array_equal(by_text["tags"].numpy()[0], by_tokens["tags"].numpy()[0])
    assert by_tokens["lengths"].numpy().tolist() == [5, 1]


def test_predict_texts_returns_token_tag_score(tiny_export):
    (tagged,) = predict_texts(tiny_export, [SENTENCES[0]])
    assert [t for t, _, _ in tagged] == ["Sharon", "flew", "to", "Miami", "last", "Friday", "."]
    assert all(0.0 <= s <= 1.0 for _, _, s in tagged)


def test_rest_row_format(tiny_export):
    loaded = load(tiny_export)
    response = rest_predict(loaded, {"instances": SENTENCES})
    rows = response["predictions"]
    assert len(rows) == 2 and set(rows[0]) == OUTPUTS
    assert rows[0]["tokens"][:2] == ["Sharon", "flew"] and rows[0]["lengths"] == 7
    named = rest_predict(loaded, json.dumps({"signature_name": "serving_default", "instances": [{"text": SENTENCES[0]}]}))
    assert named["predictions"][0]["tags"] == rows[0]["tags"][:7]  # the batch of 2 pads to 10


def test_rest_columnar_format_and_other_signature(tiny_export):
    loaded = load(tiny_export)
    response = rest_predict(loaded, {"inputs": {"text": SENTENCES}})
    assert set(response["outputs"]) == OUTPUTS
    assert response["outputs"]["lengths"] == [7, 10]
    tokens = rest_predict(loaded, {"signature_name": "tag_tokens", "inputs": [["Sharon", "flew"]]})
    assert tokens["outputs"]["tokens"] == [["Sharon", "flew"]]


@pytest.mark.parametrize(
    "request_body, message",
    [
        ({"instances": ["a"], "signature_name": "nope"}, 'signature name: "nope" not found'),
        ({"text": ["a"]}, "exactly one of 'instances' and 'inputs'"),
        ({"instances": []}, "non-empty list"),
        ({"inputs": {"text": [1, 2]}}, "input 'text' is not a string tensor"),
        ({"inputs": {"text": [["a"]]}}, "has shape (1, 1), expected (None,)"),
        ("{not json", "Expecting property name"),
    ],
)
def test_rest_errors_are_error_bodies(tiny_export, request_body, message):
    response = rest_predict(load(tiny_export), request_body)
    assert set(response) == {"error"} and message in response["error"]
