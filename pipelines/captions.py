"""The captioning pipeline: images with their captions -> teacher-forcing batches of (pixels, caption ids).

Every caption of an image is one example (Flickr8k: 5 per image). Each image file is decoded and resized
once, by `pipelines.images.load_pixels` (what the exported graph runs on served bytes), and cached as
uint8; examples are then shuffled, padded per batch (captions with 0 in `target_in`, -1 in `target_out`)
and scaled to [0, 1].
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf

from pipelines.errors import DataError
from pipelines.images import load_pixels, normalize
from pipelines.language_model import TARGET_PAD_ID
from pipelines.readers.captioned_image import CaptionedImage
from pipelines.seq2seq import teacher_forcing
from pipelines.subwords import PAD_ID


def caption_dataset(images: Sequence[CaptionedImage], *, encoder, image_size: Sequence[int] = (128, 128),
                    channels: int = 3, batch_size: int = 64, shuffle: bool = True, shuffle_buffer: int = 4096,
                    seed: int = 0) -> tf.data.Dataset:
    """Batches of `({"images": float32 (batch, H, W, C) in [0, 1], "target_in": int32}, target_out int32)`.

    Args:
        images: the images and their captions (e.g. `read_flickr8k`).
        encoder: a `SentencePieceEncoder` or `WordEncoder` for the captions.
        image_size: (height, width) every image is resized to.
        channels: channels of the model's input (gray and RGB files are converted).
        batch_size: examples (captions) per batch.
        shuffle: shuffle examples every epoch (training).
        shuffle_buffer: examples the shuffle holds, decoded images included.
        seed: the shuffle's seed.
    """
    if not images:
        raise DataError(None, None, "expected captioned images, got none")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    captions = [caption for image in images for caption in image.captions]
    target_in, target_out = teacher_forcing(tf.cast(encoder.tokenize(tf.constant(captions)), tf.int32))
    per_image = tf.constant([len(image.captions) for image in images], tf.int64)
    target_in = tf.RaggedTensor.from_row_lengths(target_in, per_image)
    target_out = tf.RaggedTensor.from_row_lengths(target_out, per_image)

    def load(path):
        return tf.cast(tf.round(load_pixels(tf.io.read_file(path), image_size=image_size, channels=channels)), tf.uint8)

    pixels = tf.data.Dataset.from_tensor_slices([image.image for image in images]).map(load).cache()
    dataset = tf.data.Dataset.zip(pixels, tf.data.Dataset.from_tensor_slices((target_in, target_out)))
    dataset = dataset.flat_map(lambda image, caption: tf.data.Dataset.from_tensor_slices(caption).map(
        lambda t_in, t_out: (image, t_in, t_out)))
    if shuffle:
        dataset = dataset.shuffle(min(shuffle_buffer, len(captions)), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(lambda image, t_in, t_out: ({"images": image, "target_in": t_in}, t_out))
    dataset = dataset.padded_batch(batch_size, padding_values=({"images": tf.constant(0, tf.uint8),
                                                                "target_in": PAD_ID}, TARGET_PAD_ID))
    return dataset.map(lambda inputs, t_out: ({**inputs, "images": normalize(inputs["images"])}, t_out),
                       num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
