"""The image pipeline: an `ImageSet` -> batches of (float images in [0, 1], int32 labels).

Order, and why: decode and resize each file once and cache the result (arrays in memory need
neither), shuffle examples, batch, then augment and normalise whole batches, which is much
cheaper than per image. Augmentation (a random shift by zero-padding and cropping back, and an
optional horizontal flip) runs for training only, with a fresh seed for every batch of every
epoch drawn from a seeded `tf.data.Dataset.random`, so runs repeat exactly.

`load_pixels` is the decoding the exported graph runs too (`zoo.tasks.image`), so images
served as PNG or JPEG bytes are seen exactly as in training.
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from pipelines.errors import DataError
from pipelines.readers.cifar import read_cifar10
from pipelines.readers.idx import read_idx_images, read_mnist
from pipelines.readers.image_folder import read_image_folder
from pipelines.readers.image_set import CONVERTIBLE_CHANNELS, ImageSet
from pipelines.readers.spec import parse_spec

IMAGE_FORMATS = {
    "mnist": lambda path: read_mnist(path, split="train"),
    "mnist-test": lambda path: read_mnist(path, split="test"),
    "idx": lambda paths: read_idx_images(*_two_paths(paths)),
    "cifar10": lambda path: read_cifar10(path, split="train"),
    "cifar10-test": lambda path: read_cifar10(path, split="test"),
    "folder": read_image_folder,
}
# Training augmentation that suits each source: shifts of ~10% of the side; no flips for digits.
AUGMENTATION = {
    "mnist": {"crop_padding": 2, "flip": False},
    "mnist-test": {"crop_padding": 2, "flip": False},
    "idx": {"crop_padding": 2, "flip": False},
    "cifar10": {"crop_padding": 4, "flip": True},
    "cifar10-test": {"crop_padding": 4, "flip": True},
    "folder": {"crop_padding": 4, "flip": True},
}


def read_images(spec: str) -> ImageSet:
    """Reads `"FORMAT:PATH"`: `mnist:DIR`, `mnist-test:DIR`, `idx:IMAGES,LABELS`, `cifar10:DIR`,
    `cifar10-test:DIR` or `folder:DIR` (one subfolder per class)."""
    return IMAGE_FORMATS[image_format(spec)](spec.partition(":")[2])


def image_format(spec: str) -> str:
    """The FORMAT of a `"FORMAT:PATH"` spec, checked against `IMAGE_FORMATS`."""
    return parse_spec(spec, IMAGE_FORMATS, noun="an image data spec", format_noun=None)[0]


def _two_paths(paths: str) -> list[str]:
    parts = paths.split(",")
    if len(parts) != 2 or not all(parts):
        raise DataError(None, None, f"expected 'idx:IMAGES_PATH,LABELS_PATH', got 'idx:{paths}'")
    return parts


# ----------------------------------------------------------------------------- in-graph steps


def normalize(pixels: tf.Tensor) -> tf.Tensor:
    """Pixel values 0..255 (any dtype) -> float32 in [0, 1]."""
    return tf.cast(pixels, tf.float32) / 255.0


def match_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
    """An (H, W, c) image with `channels` channels: gray <-> RGB, RGBA drops alpha, others fail.

    The failure is an `InvalidArgumentError` that says what was found and what was expected.
    """
    found = tf.shape(image)[-1]
    branches = [(tf.equal(found, channels), lambda: image)]
    for have, want in sorted(CONVERTIBLE_CHANNELS):
        if want == channels:
            branches.append((tf.equal(found, have), lambda have=have: _convert_channels(image, have, channels)))

    def fail():
        others = sorted(have for have, want in CONVERTIBLE_CHANNELS if want == channels)
        check = tf.debugging.Assert(False, [f"wrong channel count: expected an image with {channels} channel(s) "
                                            f"(or {others}, which are converted), got", found])
        with tf.control_dependencies([check]):
            return tf.identity(image)

    converted = tf.case(branches, default=fail, exclusive=False)
    converted.set_shape([None, None, channels])  # every branch that returns has `channels` channels
    return converted


def _convert_channels(image: tf.Tensor, have: int, want: int) -> tf.Tensor:
    if want == 3 and have == 1:
        return tf.image.grayscale_to_rgb(image)
    rgb = image[..., :3]
    return tf.image.rgb_to_grayscale(rgb) if want == 1 else rgb


def load_pixels(encoded: tf.Tensor, *, image_size: Sequence[int], channels: int) -> tf.Tensor:
    """Encoded PNG/JPEG/GIF/BMP/WebP bytes -> float32 (height, width, channels) pixels 0..255.

    Animations keep their first frame; the image is resized bilinearly (a same-size resize
    leaves pixels unchanged). Bytes that are no image give an `InvalidArgumentError`.
    """
    image = tf.io.decode_image(encoded, channels=0, expand_animations=False)
    image = match_channels(image, channels)
    return tf.image.resize(image, image_size)


def random_crop_flip(images: tf.Tensor, seed: tf.Tensor, *, crop_padding: int = 0, flip: bool = False) -> tf.Tensor:
    """A batch shifted by up to `crop_padding` pixels each way (zero fill) and maybe mirrored, per image.

    Each image is zero-padded by `crop_padding` on every border and a window of its original
    size is cut at a random offset; with `flip`, half the images are mirrored left-right.
    `seed` is a shape-[2] int tensor for the stateless random ops.
    """
    if crop_padding:
        size = tf.shape(images)[0]
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        p = crop_padding
        padded = tf.pad(images, [[0, 0], [p, p], [p, p], [0, 0]])
        offsets = tf.random.stateless_uniform([size, 2], seed, 0, 2 * p + 1, dtype=tf.int32)
        rows = offsets[:, :1] + tf.range(height)[tf.newaxis]
        cols = offsets[:, 1:] + tf.range(width)[tf.newaxis]
        images = tf.gather(tf.gather(padded, rows, batch_dims=1), cols, axis=2, batch_dims=1)
    if flip:
        mirror = tf.random.stateless_uniform([tf.shape(images)[0]], seed + 1) < 0.5
        images = tf.where(mirror[:, tf.newaxis, tf.newaxis, tf.newaxis], tf.reverse(images, axis=[2]), images)
    return images


# ----------------------------------------------------------------------------- datasets


def image_dataset(
    data: ImageSet,
    *,
    image_size: Sequence[int] | None = None,
    channels: int | None = None,
    batch_size: int = 64,
    training: bool = False,
    crop_padding: int = 0,
    flip: bool = False,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of `(images, labels)`: float32 (batch, height, width, channels) in [0, 1] and int32 (batch,).

    Args:
        data: the images and labels.
        image_size: (height, width) of the output; defaults to the in-memory images' size.
        channels: channels of the output; defaults to the data's. In-memory images must already
            have them; image files are converted when they can be (gray <-> RGB).
        batch_size: examples per batch; the last batch may be smaller.
        training: shuffle every epoch and augment; off for evaluation.
        crop_padding: with `training`, random shifts of up to this many pixels.
        flip: with `training`, random left-right mirroring (not for digits or text).
        seed: seed of the shuffling and the augmentation.

    Raises:
        DataError: in-memory images whose channels are not `channels`, or files without `image_size`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    channels = channels or data.channels
    image_size = tuple(image_size or data.image_size or ())
    if len(image_size) != 2:
        raise DataError(data.source, None, "image files differ in size; give image_size=(height, width)")
    labels = tf.constant(data.labels, tf.int32)
    if data.images is not None:
        if data.channels != channels:
            raise DataError(data.source, None, f"wrong channel count: the images have {data.channels} channels, "
                                               f"the model expects {channels}")
        ds = tf.data.Dataset.from_tensor_slices((data.images, labels))
        if data.image_size != image_size:
            ds = ds.map(lambda x, y: (tf.image.resize(x, image_size), y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        def load(path, label):
            return load_pixels(tf.io.read_file(path), image_size=image_size, channels=channels), label

        ds = tf.data.Dataset.from_tensor_slices((list(data.files), labels))
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if training:
        ds = ds.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if training and (crop_padding or flip):
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda batch, s: (random_crop_flip(batch[0], s, crop_padding=crop_padding, flip=flip), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.map(lambda x, y: (normalize(x), y), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
