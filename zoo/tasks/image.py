"""Image classification: compile, train from image data, export for TF Serving, evaluate, predict.

The exported graph takes encoded image bytes (PNG, JPEG, GIF, BMP or WebP; base64 `{"b64": ...}`
in TF Serving's REST JSON), decodes, converts channels, resizes and scales them with the same
ops the training pipeline uses (`pipelines.images.load_pixels`), and returns the class and
the class probabilities. A second signature takes float pixels directly.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.images import AUGMENTATION, image_dataset, image_format, load_pixels, normalize, read_images
from pipelines.readers.image_set import ImageSet
from zoo.errors import ZooError
from zoo.export import read_card, resolve_export
from zoo.registry import get_spec
from zoo.tasks.base import Task
from zoo.tasks.loops import export_module, train, tune

TASK = "image"
MONITOR = "val_accuracy"
SIGNATURES = {
    "serving_default": "image_bytes: 1-D string batch of encoded PNG/JPEG/GIF/BMP/WebP images ({\"b64\": ...} in "
    "REST JSON), decoded, converted to the model's channels, resized and scaled to [0, 1] in the graph -> "
    "class_ids (int32), classes (names), probabilities (float32, one column per class)",
    "predict_pixels": "images: float32 (batch, height, width, channels) pixels in [0, 1] at the model's size -> "
    "the same outputs",
}


def compile_classifier(model: keras.Model, *, learning_rate=1e-3, weight_decay: float = 0.0) -> keras.Model:
    """Adam (AdamW with `weight_decay`), cross-entropy on the softmax output, accuracy.

    `learning_rate` is a float or a `keras.optimizers.schedules.LearningRateSchedule`.
    """
    optimizer = (keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay) if weight_decay
                 else keras.optimizers.Adam(learning_rate))
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def warmup_cosine(peak: float, *, total_steps: int, warmup_steps: int = 0) -> keras.optimizers.schedules.LearningRateSchedule:
    """Linear warm-up from peak/10 to `peak` over `warmup_steps`, then cosine decay to 0 at `total_steps`."""
    warmup_steps = min(warmup_steps, total_steps - 1)
    return keras.optimizers.schedules.CosineDecay(
        peak / 10 if warmup_steps else peak, decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=peak if warmup_steps else None, warmup_steps=warmup_steps,
    )


# ----------------------------------------------------------------------------- data


@dataclasses.dataclass
class ImageData:
    """What a classifier trains from: the images, the model's input shape and tf.data pipelines."""

    train: ImageSet
    dev: ImageSet
    input_shape: tuple[int, int, int]
    batch_size: int
    train_ds: tf.data.Dataset
    dev_ds: tf.data.Dataset
    info: dict


def read_image_data(
    train_spec: str, dev_spec: str | None = None, *, dev_fraction: float = 0.1
) -> tuple[ImageSet, ImageSet, dict]:
    """Reads `FORMAT:PATH` specs; without a dev spec the last images of train are held out.

    Returns (train, dev, info) with the source augmentation (see `pipelines.images.AUGMENTATION`)
    under `info["augmentation"]` and, under `info["notes"]`, what was skipped (stray files in a folder).
    """
    train = read_images(train_spec)
    notes = [train.skipped_note]
    if dev_spec:
        dev = read_images(dev_spec)
        notes.append(dev.skipped_note)
    else:
        count = int(len(train) * dev_fraction)
        if not 0 < count < len(train):
            raise DataError(train_spec, None, f"cannot hold out {count} of {len(train)} images; pass a validation spec")
        train, dev = train.hold_out(count)
    info = {"train": train_spec, "val": dev_spec or f"last {len(dev)} images of train",
            "train_images": len(train), "val_images": len(dev), "augmentation": AUGMENTATION[image_format(train_spec)],
            "notes": [note for note in notes if note]}
    return train, dev, info


def model_input_shape(name: str, data: ImageSet, config: dict | None = None) -> tuple[int, int, int]:
    """The input shape to build `name` with: an explicit `input_shape` in `config`, else the data's size
    and channels (image files, which differ in size, get the model's default height and width)."""
    if config and config.get("input_shape"):
        return tuple(config["input_shape"])
    height, width = data.image_size or get_spec(name).defaults["input_shape"][:2]
    return height, width, data.channels


def prepare_image_data(
    train: ImageSet,
    dev: ImageSet,
    *,
    input_shape: Sequence[int],
    batch_size: int = 64,
    crop_padding: int = 0,
    flip: bool = False,
    seed: int = 0,
    info: dict | None = None,
) -> ImageData:
    """Augmented, shuffled training batches and plain validation batches at `input_shape`."""
    check_classes(dev, train.class_names)
    height, width, channels = input_shape
    common = dict(image_size=(height, width), channels=channels, batch_size=batch_size)
    return ImageData(
        train=train,
        dev=dev,
        input_shape=(height, width, channels),
        batch_size=batch_size,
        train_ds=image_dataset(train, training=True, crop_padding=crop_padding, flip=flip, seed=seed, **common),
        dev_ds=image_dataset(dev, **common),
        info={**(info or {}), "num_classes": len(train.class_names), "input_shape": [height, width, channels],
              "batch_size": batch_size, "augmentation": {"crop_padding": crop_padding, "flip": flip}},
    )


# ----------------------------------------------------------------------------- serving graph


class ImageClassifier(tf.Module):
    """The exported graph: encoded images or float pixels in, class ids, names and probabilities out."""

    def __init__(self, model: keras.Model, class_names: Sequence[str]):
        super().__init__(name="image_classifier")
        height, width, channels = model.input_shape[1:]
        if len(class_names) != model.output_shape[-1]:
            raise ValueError(f"Expected one class name per model output ({model.output_shape[-1]}). "
                             f"Received: {len(class_names)} class names")
        self.model = model
        self.class_names = tf.constant(list(class_names), dtype=tf.string)
        self.image_size, self.channels = (height, width), channels
        # No autograph: the graphs have no Python control flow to convert, and tracing stays independent
        # of the source files (autograph re-reads them).
        self.serve_bytes = tf.function(
            self._classify_bytes, input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")],
            autograph=False)
        self.serve_pixels = tf.function(
            self._classify, input_signature=[tf.TensorSpec([None, height, width, channels], tf.float32, name="images")],
            autograph=False)

    def _classify_bytes(self, image_bytes):
        pixels = tf.map_fn(
            lambda data: load_pixels(data, image_size=self.image_size, channels=self.channels),
            image_bytes,
            fn_output_signature=tf.TensorSpec([*self.image_size, self.channels], tf.float32),
        )
        return self._classify(normalize(pixels))

    def _classify(self, images):
        probabilities = self.model(images, training=False)
        class_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"class_ids": class_ids, "classes": tf.gather(self.class_names, class_ids),
                "probabilities": probabilities}


def export_classifier(classifier: ImageClassifier, *, base_dir: str | os.PathLike, name: str, card: dict) -> Path:
    """Exports the classifier as the next version of `base_dir/name`."""
    return export_module(TASK, classifier, card, base_dir=base_dir, name=name)


# ----------------------------------------------------------------------------- evaluation


def predict_dataset(classify, dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(true labels, predicted class ids) over `(images, labels)` batches via a `predict_pixels`-style function."""
    true, predicted = [], []
    for images, labels in dataset:
        predicted.append(classify(images=images)["class_ids"].numpy())
        true.append(labels.numpy())
    return np.concatenate(true), np.concatenate(predicted)


def classification_report(true: np.ndarray, predicted: np.ndarray, class_names: Sequence[str]) -> dict:
    """Accuracy, per-class precision/recall/support and the confusion matrix (rows true, columns predicted)."""
    k = len(class_names)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (true, predicted), 1)
    hits = np.diag(confusion)
    recall = np.divide(hits, confusion.sum(1), out=np.zeros(k), where=confusion.sum(1) > 0)
    precision = np.divide(hits, confusion.sum(0), out=np.zeros(k), where=confusion.sum(0) > 0)
    return {
        "accuracy": float(hits.sum() / max(confusion.sum(), 1)),
        "errors": int(confusion.sum() - hits.sum()),
        "images": int(confusion.sum()),
        "classes": {name: {"precision": float(p), "recall": float(r), "support": int(s)}
                    for name, p, r, s in zip(class_names, precision, recall, confusion.sum(1))},
        "confusion": {"labels": list(class_names), "matrix": confusion.tolist()},
    }


def format_report(report: dict) -> str:
    """A per-class table and the accuracy."""
    lines = [f"{'class':<16}{'precision':>10}{'recall':>10}{'support':>10}"]
    for name, row in report["classes"].items():
        lines.append(f"{name:<16}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['support']:>10}")
    lines.append(f"accuracy: {report['accuracy']:.4f} ({report['errors']} errors in {report['images']} images)")
    return "\n".join(lines)


def check_classes(data: ImageSet, classes: Sequence[str]) -> None:
    """Raises `DataError` unless `data`'s labels are among `classes` (and, for class folders, named alike)."""
    if data.files is not None and tuple(data.class_names) != tuple(classes):
        raise DataError(data.source, None, f"class folders {list(data.class_names)} differ from the model's "
                                           f"classes {list(classes)}")
    if len(data) and data.labels.max() >= len(classes):
        raise DataError(data.source, None, f"label {data.labels.max()} is beyond the {len(classes)} classes "
                                           f"{list(classes)}")


def predict_files(export: str | os.PathLike, paths: Sequence[str | os.PathLike], *, top: int = 3) -> list[dict]:
    """The class, its probability and the `top` most probable classes of each image file."""
    from zoo.serving import load

    encoded = []
    for path in paths:
        try:
            encoded.append(Path(path).read_bytes())
        except OSError as err:
            raise DataError(path, None, f"cannot read the image: {err.strerror}") from None
    export = resolve_export(export)
    names = read_card(export)["classes"]
    try:
        out = load(export).signatures["serving_default"](image_bytes=tf.constant(encoded, dtype=tf.string))
    except tf.errors.InvalidArgumentError as err:
        raise ZooError(f"cannot classify {[str(p) for p in paths]}: {op_error_text(err)}") from None
    results = []
    for path, class_id, probabilities in zip(paths, out["class_ids"].numpy(), out["probabilities"].numpy()):
        best = np.argsort(-probabilities)[:top]
        results.append({"path": str(path), "class": names[class_id], "class_id": int(class_id),
                        "probability": float(probabilities[class_id]),
                        "top": [{"class": names[i], "probability": float(probabilities[i])} for i in best]})
    return results


def op_error_text(error: tf.errors.OpError) -> str:
    """What a TF op error says, without the "Graph execution error" preamble and the node annotations."""
    skip = ("Graph execution error", "Detected at node", "<stack traces")
    lines = [line.strip() for line in error.message.splitlines()
             if line.strip() and not line.startswith(skip) and not line.strip().startswith("[[")]
    return " ".join(lines) or error.message


# ----------------------------------------------------------------------------- pictures


def save_pictures(model: keras.Model, image: np.ndarray, workdir: str | os.PathLike) -> dict[str, str]:
    """The first conv layer's filters and the activation maps it gives `image` (H, W, C floats), as PNGs."""
    from zoo.plots import plot_activation_maps, plot_filters

    workdir = Path(workdir)
    conv = next((layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)), None)
    if conv is None:
        return {}
    # The maps after the conv's batch norm and activation, when the block has them.
    names = {layer.name for layer in model.layers}
    shown = next((n for n in (conv.name.replace("_conv", "_act"), conv.name) if n in names))
    activations = keras.Model(model.input, model.get_layer(shown).output)(image[np.newaxis], training=False)
    return {
        "filters": plot_filters(keras.ops.convert_to_numpy(conv.kernel), workdir / "filters.png",
                                title=f"{conv.name}: {conv.kernel.shape[-1]} filters"),
        "activations": plot_activation_maps(image, keras.ops.convert_to_numpy(activations[0]),
                                            workdir / "activations.png", title=f"{shown} on one validation image"),
    }


# ----------------------------------------------------------------------------- the task


class ImageTask(Task):
    """Image classifiers: warm-up + cosine learning rate, the `ImageClassifier` graph, filter and activation pictures."""

    name = TASK
    noun = "an image classifier"
    monitor, mode = MONITOR, "max"
    signatures = SIGNATURES
    options = {"warmup_epochs": 1, "weight_decay": 0.0}
    picture = "confusion_matrix.png"
    train_pictures = ("training_curves", "confusion_matrix", "filters", "activations")
    tuned_pictures = "pictures of the best model: {workdir}/{{confusion_matrix,filters,activations}}.png"

    def read_data(self, args, config):
        train, dev, info = read_image_data(args.data, args.dev)
        data = prepare_image_data(train, dev, input_shape=model_input_shape(args.name, train, config),
                                  batch_size=args.batch_size, seed=args.seed, info=info, **info["augmentation"])
        return data, config, {}

    def sizes(self, data: ImageData) -> dict:
        return {"input_shape": list(data.input_shape), "num_classes": len(data.train.class_names)}

    def compile(self, model, *, learning_rate, data=None, epochs=None, warmup_epochs=1, weight_decay=0.0, **options):
        """Training: linear warm-up for `warmup_epochs`, then cosine decay to 0 over `epochs`. Search trials
        (`epochs` None) keep the searched rate constant: trials of different lengths would get different schedules."""
        if epochs is not None:
            steps = math.ceil(len(data.train) / data.batch_size)
            learning_rate = warmup_cosine(learning_rate, total_steps=steps * epochs, warmup_steps=steps * warmup_epochs)
        return compile_classifier(model, learning_rate=learning_rate, weight_decay=weight_decay)

    def training_card(self, models, runs, *, epochs, warmup_epochs=1, weight_decay=0.0, **options):
        return {"schedule": f"linear warm-up {warmup_epochs} epoch(s), cosine decay to 0 over {epochs} epochs",
                "weight_decay": weight_decay, "parameters": models[0].count_params()}

    def serving_module(self, models, data, workdir, **options):
        return ImageClassifier(models[0], data.train.class_names)

    def serving_signatures(self, classifier):
        return {"serving_default": classifier.serve_bytes, "predict_pixels": classifier.serve_pixels}

    def card(self, classifier):
        classes = [c.decode("utf-8") for c in classifier.class_names.numpy()]
        return {"classes": classes, "num_classes": len(classes), "input_shape": [*classifier.image_size,
                                                                                 classifier.channels]}

    def score(self, classifier, data, *, name, workdir, **options):
        """Validation scores; the confusion matrix, first-layer filters and activations go into `workdir`."""
        report = classification_report(*predict_dataset(classifier.serve_pixels, data.dev_ds), data.train.class_names)
        pictures = _save_validation_pictures(classifier.model, data, report, workdir)
        return report, {"metrics": {"val_accuracy": round(report["accuracy"], 4)}, "pictures": pictures}

    def example_inputs(self):
        import io

        from PIL import Image

        png = io.BytesIO()
        Image.new("L", (8, 8)).save(png, format="PNG")
        return {"image_bytes": [png.getvalue()]}

    def read_labelled(self, data_spec, card, *, batch_size=256, **options):
        data = read_images(data_spec)
        check_classes(data, card["classes"])
        height, width, channels = card["input_shape"]
        return image_dataset(data, image_size=(height, width), channels=channels, batch_size=batch_size)

    def score_export(self, loaded, card, dataset):
        return classification_report(*predict_dataset(loaded.signatures["predict_pixels"], dataset), card["classes"])

    format_report = staticmethod(format_report)

    def predict(self, export, inputs, **options):
        return predict_files(export, inputs)

    def format_predictions(self, inputs, results, *, as_json=False):
        if as_json:
            return json.dumps(results, indent=2)
        lines = []
        for result in results:
            others = ", ".join(f"{t['class']} {t['probability']:.3f}" for t in result["top"][1:])
            lines.append(f"{result['path']}: {result['class']} ({result['probability']:.3f}; then {others})")
        return "\n".join(lines)


def _save_validation_pictures(model: keras.Model, data: ImageData, report: dict, workdir) -> dict[str, str]:
    from zoo.plots import plot_confusion_matrix

    pictures = {"confusion_matrix": plot_confusion_matrix(
        np.array(report["confusion"]["matrix"]), report["confusion"]["labels"],
        Path(workdir) / "confusion_matrix.png", title="validation")}
    first_image = next(iter(data.dev_ds.unbatch().take(1)))[0].numpy()
    return {**pictures, **save_pictures(model, first_image, workdir)}


train_image = functools.partial(train, TASK)
tune_image = functools.partial(tune, TASK)
