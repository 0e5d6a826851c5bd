"""Warmup requests: written as a PredictionLog TFRecord, read back and replayed through the signatures."""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import run_without_zoo
from zoo.deploy.warmup import MAX_RECORDS, WARMUP_FILE, read_warmup_requests, write_warmup_requests


class TextAndImages(tf.Module):
    """Three signatures: raw strings, encoded image bytes, and a float32 input."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def text(self, text):
        return {"length": tf.strings.length(text), "upper": tf.strings.upper(text)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def images(self, image_bytes):
        decode = lambda b: tf.cast(tf.io.decode_png(b, channels=1), tf.float32)  # noqa: E731
        return {"mean": tf.map_fn(lambda b: tf.reduce_mean(decode(b)), image_bytes, fn_output_signature=tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def scale(self, x):
        return {"y": 2.0 * x}


@pytest.fixture
def toy_export(tmp_path):
    module = TextAndImages()
    path = tmp_path / "toy" / "1"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.text, "images": module.images,
                                                       "scale": module.scale})
    return path


def png(value: int) -> bytes:
    return tf.io.encode_png(tf.fill([4, 3, 1], tf.constant(value, tf.uint8))).numpy()


def replay(export, requests):
    """Each request's outputs from the loaded signature, as numpy."""
    signatures = tf.saved_model.load(str(export)).signatures
    return [{k: v.numpy() for k, v in signatures[name](**{k: tf.constant(v) for k, v in inputs.items()}).items()}
            for name, inputs in requests]


def test_warmup_records_replay_through_the_signatures(toy_export):
    requests = [("serving_default", {"text": ["a sentence", "two"]}),
                ("serving_default", {"text": "one example, no batch axis"}),
                ("images", {"image_bytes": [png(10), png(250)]}),
                ("scale", {"x": [[1, 2]]})]  # ints, cast to the signature's float32
    path = write_warmup_requests(toy_export, requests)
    assert path == toy_export / WARMUP_FILE and path.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["tf_serving_warmup_requests"]  # no staging file left

    back = read_warmup_requests(toy_export)
    assert [name for name, _ in back] == ["serving_default", "serving_default", "images", "scale"]
    assert back[1][1]["text"].tolist() == [b"one example, no batch axis"]
    assert back[3][1]["x"].dtype == np.float32
    replayed = replay(toy_export, back)
    assert replayed[0]["length"].tolist() == [10, 3]
    assert replayed[1]["upper"].tolist() == [b"ONE EXAMPLE, NO BATCH AXIS"]
    np.testing.assert_allclose(replayed[2]["mean"], [10.0, 250.0])
    np.testing.assert_allclose(replayed[3]["y"], [[2.0, 4.0]])
    direct = replay(toy_export, [("images", {"image_bytes": np.array([png(10), png(250)], dtype=object)})])
    np.testing.assert_allclose(replayed[2]["mean"], direct[0]["mean"])


def test_warmup_requests_are_raw_prediction_logs(toy_export):
    from tensorflow_serving.apis import prediction_log_pb2

    write_warmup_requests(toy_export, [("serving_default", {"text": ["x"]})])
    (record,) = list(tf.data.TFRecordDataset(str(toy_export / WARMUP_FILE)).as_numpy_iterator())
    log = prediction_log_pb2.PredictionLog.FromString(record)
    assert log.WhichOneof("log_type") == "predict_log"
    assert log.predict_log.request.model_spec.name == "toy"
    assert log.predict_log.request.model_spec.signature_name == "serving_default"


@pytest.mark.parametrize("requests, message", [
    ([], "1 to 1000"),
    ([("serving_default", {"text": ["x"]})] * (MAX_RECORDS + 1), "Received: 1001"),
    ([("classify", {"text": ["x"]})], "'classify' is not in the export"),
    ([("serving_default", {"sentence": ["x"]})], "takes inputs ['text']"),
])
def test_bad_warmup_requests_are_refused_and_nothing_is_written(toy_export, requests, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        write_warmup_requests(toy_export, requests)
    assert not (toy_export / WARMUP_FILE).exists()


def test_zoo_export_with_warmup_replays_passes_the_op_check_and_reloads_without_zoo(tiny_export, tmp_path):
    from zoo.serving import check_serving_ops, load

    export = tmp_path / "bilstm_ner" / "1"
    shutil.copytree(tiny_export, export)  # the session fixture stays untouched
    sentence = "Sharon flew to Miami last Friday ."
    write_warmup_requests(export, [("serving_default", {"text": [sentence]})])
    ((name, inputs),) = read_warmup_requests(export)
    replayed = load(export).signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
    direct = load(export).signatures["serving_default"](text=tf.constant([sentence]))
    assert replayed["tags"].numpy().tolist() == direct["tags"].numpy().tolist()
    assert replayed["tokens"].numpy()[0, :7].tolist() == [w.encode() for w in sentence.split()]

    check_serving_ops(export)
    fresh = run_without_zoo(
        "import json, tensorflow as tf, tensorflow_text\n"
        f"m = tf.saved_model.load({str(export)!r})\n"
        f"out = m.signatures['serving_default'](text=tf.constant([{sentence!r}]))\n"
        "print(json.dumps(out['tags'].numpy().astype(str).tolist()))", cwd=tmp_path)
    assert fresh == direct["tags"].numpy().astype(str).tolist()
