"""An encoder for `cnn_rnn_captioner` trained first to name what an image's captions mention.

Trained end to end on a few hundred images, a captioner's conv encoder learns little that the
caption language model does not already know, and the decoder writes the same generic caption for
every image. Trained alone on the same images to predict which words their captions use (a
multi-label "concept" classifier, as in Wu et al. 2016, "What value do explicit high level
concepts have in vision to language problems?"), the encoder must tell a dog from a child and
snow from grass; the captioner then starts from it (`encoder_weights`, optionally frozen).
No data beyond the captioner's own training images and captions is used.
"""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from pipelines.images import load_pixels
from pipelines.readers.captioned_image import CaptionedImage

# Words too common or too empty to name anything an image shows.
STOPWORDS = frozenset("""a an the is are in on of and with at to its his her their into while through near
    by for from as one two three some other another up down out over under this that there""".split())


def _words(caption: str) -> set[str]:
    return set(re.findall(r"[a-z]+", caption.lower()))


def concept_vocabulary(images: Sequence[CaptionedImage], *, size: int = 256, min_images: int = 5) -> list[str]:
    """The `size` words that the most images' captions use (at least `min_images` of them), stopwords left out."""
    counts = collections.Counter()
    for image in images:
        counts.update(set().union(*map(_words, image.captions)) - STOPWORDS)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # ties in alphabetical order
    return [word for word, count in ranked[:size] if count >= min_images]


def concept_targets(images: Sequence[CaptionedImage], concepts: Sequence[str]) -> np.ndarray:
    """(images, concepts) float32: the share of each image's captions that use each concept word."""
    index = {word: i for i, word in enumerate(concepts)}
    targets = np.zeros((len(images), len(concepts)), np.float32)
    for row, image in enumerate(images):
        for caption in image.captions:
            for word in _words(caption) & index.keys():
                targets[row, index[word]] += 1.0 / len(image.captions)
    return targets


def concept_dataset(images: Sequence[CaptionedImage], targets: np.ndarray, *, image_size: Sequence[int],
                    batch_size: int = 32, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
    """Batches of (pixels in [0, 1], concept targets); decoded once and cached."""
    paths = [image.image for image in images]
    pixels = tf.data.Dataset.from_tensor_slices(paths).map(
        lambda path: load_pixels(tf.io.read_file(path), image_size=image_size, channels=3) / 255.0)
    dataset = tf.data.Dataset.zip(pixels, tf.data.Dataset.from_tensor_slices(targets)).cache()
    if shuffle:
        dataset = dataset.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def concept_encoder(*, input_shape: Sequence[int], concepts: int, filters: Sequence[int], dropout: float = 0.3,
                    **encoder) -> keras.Model:
    """images -> augmentation (training only) -> the captioner's conv blocks -> mean over the grid -> concept probabilities.

    `encoder` holds `caption_encoder`'s other arguments (convs_per_block, kernel_size, padding,
    activation, pooling, batch_norm), as the captioner's config gives them.
    """
    from zoo.models.captioner import caption_encoder
    from zoo.models.conv_blocks import image_input

    images = image_input(input_shape)
    x = keras.layers.RandomFlip("horizontal", name="augment_flip")(images)
    x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", name="augment_shift")(x)
    x = keras.layers.RandomZoom(0.1, fill_mode="reflect", name="augment_zoom")(x)
    x = caption_encoder(x, filters=filters, **encoder)
    x = keras.layers.GlobalAveragePooling2D(name="concept_pool")(x)
    x = keras.layers.Dropout(dropout, name="concept_dropout")(x)
    outputs = keras.layers.Dense(concepts, activation="sigmoid", name="concepts")(x)
    return keras.Model(images, outputs, name="concept_encoder")


def train_concept_encoder(train: Sequence[CaptionedImage], dev: Sequence[CaptionedImage], config: dict, *,
                          path: str | os.PathLike, concepts: int = 256, epochs: int = 200, batch_size: int = 32,
                          learning_rate: float = 1e-3, patience: int = 10, seed: int = 0, callbacks: Sequence = (),
                          verbose: int | str = 2) -> dict:
    """Trains `concept_encoder` on `train`'s images (the epoch of lowest dev loss kept) and saves it at `path` (`.keras`).

    `config` is the captioner's (`input_shape` and the encoder's arguments are read from it);
    `callbacks` join the fit (e.g. a time budget). Returns the vocabulary and dev figures.
    """
    words = concept_vocabulary(train, size=concepts)
    keys = ("convs_per_block", "kernel_size", "padding", "activation", "pooling", "batch_norm")
    keras.utils.set_random_seed(seed)
    model = concept_encoder(input_shape=config["input_shape"], concepts=len(words), filters=config["filters"],
                            **{k: config[k] for k in keys if k in config})
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    size = config["input_shape"][:2]
    train_ds = concept_dataset(train, concept_targets(train, words), image_size=size, batch_size=batch_size,
                               shuffle=True, seed=seed)
    dev_ds = concept_dataset(dev, concept_targets(dev, words), image_size=size, batch_size=batch_size)
    stop = keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(train_ds, validation_data=dev_ds, epochs=epochs, callbacks=[stop, *callbacks], verbose=verbose)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    best = int(np.argmin(history.history["val_loss"]))
    return {"concepts": words, "epochs_run": len(history.history["loss"]), "best_epoch": best + 1,
            "dev_loss": float(history.history["val_loss"][best]), **concept_auc(model, dev, words), "path": str(path)}


def concept_auc(model: keras.Model, images: Sequence[CaptionedImage], concepts: Sequence[str]) -> dict:
    """ROC AUC of each concept on `images` (present: any caption uses the word), where some images show it
    and some do not; their mean (`dev_macro_auc`) and a few common concepts' AUCs."""
    from sklearn.metrics import roc_auc_score

    truth = concept_targets(images, concepts) > 0
    scores = model.predict(concept_dataset(images, truth.astype(np.float32), image_size=model.input_shape[1:3]),
                           verbose=0)
    aucs = {word: float(roc_auc_score(truth[:, i], scores[:, i])) for i, word in enumerate(concepts)
            if 0 < truth[:, i].sum() < len(images)}
    return {"dev_macro_auc": float(np.mean(list(aucs.values()))) if aucs else float("nan"),
            "dev_concepts_scored": len(aucs), "dev_auc_first_concepts": {w: round(aucs[w], 3) for w in concepts[:10] if w in aucs}}
