"""Image task end to end on tiny synthetic digits: train, pictures, export, zoo-free reload, REST, evaluate, CLI."""

import base64
import io
import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pipelines.errors import DataError
from pipelines.images import read_images
from pipelines.readers.image_set import ImageSet
from tests.helpers import bars, check_export, write_idx
from zoo.cli import main
from zoo.errors import ZooError
from zoo.export import read_card
from zoo.serving import check_serving_ops, graph_ops, load, rest_predict
from zoo.tasks.loops import evaluate_export
from zoo.tasks.image import (
    check_classes,
    classification_report,
    model_input_shape,
    predict_files,
    prepare_image_data,
    read_image_data,
    train_image,
)


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, "PNG")
    return buffer.getvalue()


def b64(data: bytes) -> dict:
    return {"b64": base64.b64encode(data).decode("ascii")}


@pytest.fixture(scope="module")
def bar_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bars")
    specs = {}
    for split, count, seed in [("train", 360, 0), ("test", 60, 1)]:
        images, labels = bars(count, seed)
        specs[split] = f"idx:{write_idx(root / f'{split}-images', images)},{write_idx(root / f'{split}-labels', labels)}"
    return specs


@pytest.fixture(scope="module")
def trained(bar_files, tmp_path_factory):
    """`cnn_classifier` (tiny preset) trained 4 epochs on 300 bar images, validated on 60, exported."""
    root = tmp_path_factory.mktemp("image_export")
    train, val = read_images(bar_files["train"]).hold_out(60)
    data = prepare_image_data(train, val, input_shape=model_input_shape("cnn_classifier", train), batch_size=32,
                              crop_padding=1, info={"train": bar_files["train"]})
    path, report = train_image("cnn_classifier", data, epochs=4, workdir=root / "work", export_dir=root / "saved_models",
                               preset="tiny", learning_rate=3e-2, verbose=0)
    return {"path": path, "report": report, "workdir": root / "work", "val": val}


def test_training_reports_exports_and_draws(trained):
    card = read_card(trained["path"])
    assert card["task"] == "image" and card["model"] == "cnn_classifier"
    assert card["classes"] == ["0", "1", "2"] and card["input_shape"] == [8, 8, 1]
    assert card["config"]["input_shape"] == [8, 8, 1] and card["config"]["filters"] == [4]  # data shape beats the preset's
    assert card["metrics"]["val_accuracy"] == round(trained["report"]["accuracy"], 4) > 0.8
    assert card["training"]["parameters"] > 0 and card["data"]["augmentation"] == {"crop_padding": 1, "flip": False}
    assert set(card["signatures"]) == {"serving_default", "predict_pixels"}
    for picture in ["training_curves", "confusion_matrix", "filters", "activations"]:
        assert (trained["workdir"] / f"{picture}.png").read_bytes()[:4] == b"\x89PNG"


def test_graph_uses_only_serving_ops(trained):
    ops = graph_ops(trained["path"])
    assert {"DecodeImage", "ResizeBilinear", "Conv2D"} <= ops
    assert not {op for op in ops if "PyFunc" in op}
    check_serving_ops(trained["path"])


def test_fresh_process_without_zoo_gives_the_same_probabilities(trained):
    images = trained["val"].images[:4, :, :, 0]
    outputs = check_export(trained["path"], {"serving_default": {"image_bytes": [png(image) for image in images]}})
    # Encoded images decode in the graph to the pixels that `predict_pixels` takes.
    pixels = load(trained["path"]).signatures["predict_pixels"](images=tf.constant(images[..., None] / 255, tf.float32))
    by_bytes = outputs["serving_default"]
    np.testing.assert_allclose(by_bytes["probabilities"], pixels["probabilities"].numpy(), rtol=1e-5, atol=1e-6)
    assert by_bytes["classes"].tolist() == pixels["classes"].numpy().tolist()


def test_rest_predict_with_base64_png_and_jpeg(trained):
    loaded = load(trained["path"])
    image = trained["val"].images[0, :, :, 0]
    jpeg = io.BytesIO()
    Image.fromarray(np.stack([image] * 3, axis=-1)).save(jpeg, "JPEG")  # RGB, converted to the model's gray
    response = rest_predict(loaded, {"instances": [b64(png(image)), b64(jpeg.getvalue())]})
    rows = response["predictions"]
    assert len(rows) == 2 and set(rows[0]) == {"class_ids", "classes", "probabilities"}
    assert rows[0]["classes"] == str(rows[0]["class_ids"]) and len(rows[0]["probabilities"]) == 3
    assert sum(rows[0]["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    named = rest_predict(loaded, json.dumps({"signature_name": "serving_default",
                                             "instances": [{"image_bytes": b64(png(image))}]}))
    assert named["predictions"][0]["probabilities"] == pytest.approx(rows[0]["probabilities"], rel=1e-5)
    pixels = rest_predict(loaded, {"signature_name": "predict_pixels", "inputs": (image[None, ..., None] / 255).tolist()})
    assert pixels["outputs"]["probabilities"][0] == pytest.approx(rows[0]["probabilities"], rel=1e-5, abs=1e-6)
    empty = loaded.signatures["serving_default"](image_bytes=tf.constant([], tf.string))
    assert empty["probabilities"].shape == (0, 3)


@pytest.mark.parametrize("request_body, message", [
    ({"instances": [b64(b"this is not an image")]}, "Unknown image file format. One of JPEG, PNG, GIF, BMP, WebP required."),
    ({"instances": [b64(png(np.zeros((8, 8), np.uint8))[:40])]}, "PNG"),  # truncated
    ({"instances": [b64(png(np.zeros((8, 8, 2), np.uint8), "LA"))]}, "wrong channel count: expected an image with 1 channel(s)"),
    ({"instances": ["not base64 at all"]}, "Unknown image file format"),  # raw text sent without {"b64": ...}
    ({"signature_name": "predict_pixels", "inputs": [[[0.5]]]}, "has shape (1, 1, 1), expected (None, 8, 8, 1)"),
])
def test_bad_inputs_are_error_responses_not_crashes(trained, request_body, message):
    loaded = load(trained["path"])
    response = rest_predict(loaded, request_body)
    assert set(response) == {"error"} and message in response["error"]
    assert "predictions" in rest_predict(loaded, {"instances": [b64(png(np.zeros((8, 8), np.uint8)))]})  # still serving


def test_evaluate_export_and_the_cli(trained, bar_files, tmp_path, capsys):
    report, out_dir = evaluate_export("image", trained["path"], bar_files["test"], tmp_path / "report")
    assert report["images"] == 60 and 0.0 <= report["accuracy"] <= 1.0
    assert sum(row["support"] for row in report["classes"].values()) == 60
    assert json.loads((out_dir / "report.json").read_text())["accuracy"] == report["accuracy"]
    assert (out_dir / "confusion_matrix.png").exists()
    assert main(["evaluate", str(trained["path"].parent), "--data", bar_files["test"], "--out", str(tmp_path / "cli")]) == 0
    assert f"accuracy: {report['accuracy']:.4f}" in capsys.readouterr().out
    image_path = tmp_path / "digit.png"
    image_path.write_bytes(png(trained["val"].images[0, :, :, 0]))
    assert main(["predict", str(trained["path"]), str(image_path), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["class"] in ["0", "1", "2"] and len(result["top"]) == 3
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    with pytest.raises(ZooError, match="Unknown image file format"):
        predict_files(trained["path"], [not_image])


def test_cli_train_and_bad_data(bar_files, tmp_path, capsys):
    common = ["--workdir", str(tmp_path / "work"), "--export-dir", str(tmp_path / "saved"), "--epochs", "1"]
    assert main(["train", "cnn_classifier", "--data", bar_files["train"], "--preset", "tiny", *common]) == 0
    out = capsys.readouterr().out
    assert "accuracy:" in out and "exported:" in out and (tmp_path / "work" / "filters.png").exists()
    assert main(["train", "cnn_classifier", "--data", bar_files["train"], "--set", "input_shape=[8,8,3]", *common]) == 2
    assert "wrong channel count: the images have 1 channels, the model expects 3" in capsys.readouterr().err
    assert main(["train", "cnn_classifier", "--data", "png:somewhere", *common]) == 2
    assert "expected an image data spec" in capsys.readouterr().err


def test_classification_report_by_hand():
    """true [0, 0, 1, 2], predicted [0, 1, 1, 2]: 3 of 4 right; class 0 recall 1/2, class 1 precision 1/2."""
    report = classification_report(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), ["a", "b", "c"])
    assert report["accuracy"] == 0.75 and report["errors"] == 1
    assert report["classes"]["a"] == {"precision": 1.0, "recall": 0.5, "support": 2}
    assert report["classes"]["b"] == {"precision": 0.5, "recall": 1.0, "support": 1}
    assert report["confusion"]["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_read_image_data_holds_out_the_last_tenth(bar_files):
    train, val, info = read_image_data(bar_files["train"])
    assert (len(train), len(val)) == (324, 36) and info["val"] == "last 36 images of train"
    assert info["augmentation"] == {"crop_padding": 2, "flip": False}  # digits: shifts, no mirror images
    assert model_input_shape("cnn_classifier", train) == (8, 8, 1)
    assert model_input_shape("cnn_classifier", train, {"input_shape": [16, 16, 3]}) == (16, 16, 3)


def test_classes_must_agree(tmp_path):
    for name in ["cat/1.png", "dog/2.png"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(png(np.zeros((4, 4), np.uint8)))
    folder = read_images(f"folder:{tmp_path}")
    check_classes(folder, ["cat", "dog"])
    with pytest.raises(DataError, match=r"class folders \['cat', 'dog'\] differ from the model's classes \['cat', 'cow'\]"):
        check_classes(folder, ["cat", "cow"])
    with pytest.raises(DataError, match=r"label 1 is beyond the 1 classes \['0'\]"):
        check_classes(ImageSet(labels=np.array([0, 1], np.int32), class_names=("0", "1"), channels=1,
                               images=np.zeros((2, 1, 1, 1), np.uint8)), ["0"])


def test_cli_says_which_stray_files_a_folder_skipped(tmp_path, capsys, monkeypatch):
    import zoo.tasks.loops

    for cls in ("cat", "dog"):
        for i in range(10):
            (tmp_path / cls).mkdir(exist_ok=True)
            (tmp_path / cls / f"{i}.png").write_bytes(png(np.full((8, 8), i, np.uint8)))
    (tmp_path / "cat" / "notes.txt").write_text("x")
    (tmp_path / "dog" / "readme.md").write_text("x")

    def stop(*args, **kwargs):
        raise ZooError("stopped before training")

    monkeypatch.setattr(zoo.tasks.loops, "train", stop)
    assert main(["train", "cnn_classifier", "--data", f"folder:{tmp_path}", "--workdir", str(tmp_path / "w")]) == 2
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path}: skipped 2 files that are not an image: cat/notes.txt, dog/readme.md")
