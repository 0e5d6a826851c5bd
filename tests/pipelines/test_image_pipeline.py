"""The tf.data image pipeline: element spec, one batch exactly, augmentation, decoding and channels."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pipelines.errors import DataError
from pipelines.images import image_dataset, load_pixels, match_channels, random_crop_flip
from pipelines.readers.image_folder import read_image_folder
from pipelines.readers.image_set import ImageSet

# 6 gray images of 3x4 pixels: image i has every pixel equal to 10 * i; labels 0, 1, 0, 1, 0, 1.
IMAGES = (np.arange(6, dtype=np.uint8) * 10)[:, None, None, None] * np.ones((1, 3, 4, 1), np.uint8)
DATA = ImageSet(labels=np.array([0, 1] * 3, np.int32), class_names=("a", "b"), channels=1, images=IMAGES, source="mem")


def test_element_spec_and_one_batch_exactly():
    ds = image_dataset(DATA, batch_size=4)
    assert ds.element_spec == (tf.TensorSpec((None, 3, 4, 1), tf.float32), tf.TensorSpec((None,), tf.int32))
    (x, y), (last_x, last_y) = [(x.numpy(), y.numpy()) for x, y in ds]
    np.testing.assert_allclose(x[:, 0, 0, 0], [0.0, 10 / 255, 20 / 255, 30 / 255], rtol=1e-6)
    assert x.shape == (4, 3, 4, 1) and y.tolist() == [0, 1, 0, 1]
    assert last_x.shape == (2, 3, 4, 1) and last_y.tolist() == [0, 1]


def test_training_shuffles_every_epoch_reproducibly():
    def orders(seed):  # image i is 10 * i / 255 everywhere, so 25.5 * pixel recovers i
        ds = image_dataset(DATA, batch_size=6, training=True, seed=seed)
        return [np.round(x.numpy()[:, 0, 0, 0] * 25.5).astype(int).tolist() for x, _ in ds.repeat(2)]

    first = orders(3)
    assert first == orders(3) and first != orders(4)
    assert all(sorted(order) == [0, 1, 2, 3, 4, 5] for order in first)
    assert first[0] != first[1]  # a new order each epoch


def test_augmentation_shifts_within_the_padding_and_keeps_labels():
    image = np.arange(12, dtype=np.float32).reshape(1, 3, 4, 1) + 1  # no zeros, so padding is visible
    batch = np.repeat(image, 32, axis=0)
    shifted = random_crop_flip(tf.constant(batch), tf.constant([1, 2]), crop_padding=1).numpy()
    padded = np.pad(image[0], [(1, 1), (1, 1), (0, 0)])
    windows = {(dy, dx): padded[dy:dy + 3, dx:dx + 4] for dy in range(3) for dx in range(4 - 1)}
    seen = {next(k for k, w in windows.items() if np.array_equal(w, s)) for s in shifted}
    assert len(seen) > 3 and (1, 1) in seen  # several shifts, the unshifted window among them
    unchanged = random_crop_flip(tf.constant(batch), tf.constant([1, 2])).numpy()
    np.testing.assert_array_equal(unchanged, batch)


def test_flip_mirrors_about_half_the_images():
    batch = np.repeat(np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1), 64, axis=0)
    flipped = random_crop_flip(tf.constant(batch), tf.constant([0, 7]), flip=True).numpy()[:, 0, :, 0]
    mirrored = (flipped == [3, 2, 1, 0]).all(axis=1)
    assert ((flipped == [0, 1, 2, 3]).all(axis=1) | mirrored).all()
    assert 16 < mirrored.sum() < 48


def test_training_batches_are_augmented_and_evaluation_batches_are_not():
    rng = np.random.default_rng(0)
    data = ImageSet(labels=np.zeros(8, np.int32), class_names=("a",), channels=1,
                    images=rng.integers(1, 256, (8, 6, 6, 1), dtype=np.uint8))
    plain = np.sort(next(iter(image_dataset(data, batch_size=8)))[0].numpy().reshape(8, -1), axis=0)
    augmented = next(iter(image_dataset(data, batch_size=8, training=True, crop_padding=2)))[0].numpy()
    assert (augmented == 0).any() and not (plain == 0).any()  # shifted-in zero borders
    evaluation = np.sort(next(iter(image_dataset(data, batch_size=8, crop_padding=2)))[0].numpy().reshape(8, -1), axis=0)
    np.testing.assert_array_equal(evaluation, plain)


def test_in_memory_images_of_the_wrong_channel_count_are_refused():
    with pytest.raises(DataError, match="wrong channel count: the images have 1 channels, the model expects 3"):
        image_dataset(DATA, channels=3)


def test_in_memory_images_are_resized():
    x, _ = next(iter(image_dataset(DATA, image_size=(6, 8), batch_size=6)))
    assert x.shape == (6, 6, 8, 1)
    np.testing.assert_allclose(x.numpy()[3], 30 / 255, rtol=1e-6)  # a flat image stays flat


def png_bytes(array, mode=None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, "PNG")
    return buffer.getvalue()


def test_image_files_are_decoded_resized_and_cached(tmp_path):
    rng = np.random.default_rng(1)
    pixels = {}
    for name in ["a/1.png", "a/2.png", "b/3.png"]:
        pixels[name] = rng.integers(0, 256, (5, 7), dtype=np.uint8)
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(png_bytes(pixels[name]))
    data = read_image_folder(tmp_path)
    with pytest.raises(DataError, match="give image_size"):
        image_dataset(data)
    ds = image_dataset(data, image_size=(5, 7), channels=3, batch_size=3)
    x, y = next(iter(ds))
    assert x.shape == (3, 5, 7, 3) and y.numpy().tolist() == [0, 0, 1]
    np.testing.assert_allclose(x.numpy()[2], np.repeat(pixels["b/3.png"][..., None] / 255, 3, axis=-1), rtol=1e-6)


def test_match_channels_converts_gray_rgb_and_rgba():
    rgba = tf.constant([[[10, 20, 30, 255]]], tf.uint8)
    assert match_channels(rgba, 3).numpy().tolist() == [[[10, 20, 30]]]
    gray = tf.constant([[[90]]], tf.uint8)
    assert match_channels(gray, 3).numpy().tolist() == [[[90, 90, 90]]]
    # 0.2989 * 10 + 0.587 * 20 + 0.114 * 30 = 18.15 -> 18
    assert match_channels(rgba, 1).numpy().tolist() == [[[18]]]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"expected an image with 3 channel\(s\)"):
        match_channels(tf.zeros([1, 1, 2], tf.uint8), 3)


def test_load_pixels_decodes_png_and_jpeg_and_rejects_other_bytes():
    image = np.full((4, 4, 3), 200, np.uint8)
    np.testing.assert_array_equal(load_pixels(png_bytes(image), image_size=(4, 4), channels=3).numpy(), image)
    assert load_pixels(png_bytes(image), image_size=(2, 8), channels=1).shape == (2, 8, 1)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=95)
    np.testing.assert_allclose(load_pixels(buffer.getvalue(), image_size=(4, 4), channels=3).numpy(), image, atol=3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown image file format"):
        load_pixels(b"not an image", image_size=(4, 4), channels=3)
