"""The captioning pipeline: one example per caption, images decoded once, one batch checked exactly."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pipelines.captions import caption_dataset
from pipelines.errors import DataError
from pipelines.readers.captioned_image import CaptionedImage
from pipelines.word_encoder import WordEncoder


def test_one_batch_exactly(tmp_path):
    images = []
    for name, colour, captions in (("red.png", (255, 0, 0), ("a red box", "red")), ("green.jpg", (0, 255, 0),
                                                                                      ("green",))):
        Image.new("RGB", (6, 4), colour).save(tmp_path / name, quality=100)
        images.append(CaptionedImage(str(tmp_path / name), captions))
    encoder = WordEncoder.fit([c for image in images for c in image.captions])
    assert encoder.vocab.tokens[4:] == ("red", "a", "box", "green")
    dataset = caption_dataset(images, encoder=encoder, image_size=(2, 3), batch_size=4, shuffle=False)
    ids = tf.TensorSpec((None, None), tf.int32)
    assert dataset.element_spec == ({"images": tf.TensorSpec((None, 2, 3, 3), tf.float32), "target_in": ids}, ids)
    (inputs, target_out), = list(dataset)
    np.testing.assert_allclose(inputs["images"][:, 0, 0], [[1, 0, 0], [1, 0, 0], [0, 1, 0]], atol=0.01)
    np.testing.assert_array_equal(inputs["target_in"], [[2, 5, 4, 6], [2, 4, 0, 0], [2, 7, 0, 0]])
    np.testing.assert_array_equal(target_out, [[5, 4, 6, 3], [4, 3, -1, -1], [7, 3, -1, -1]])


def test_no_images_is_an_error():
    with pytest.raises(DataError, match="expected captioned images"):
        caption_dataset([], encoder=None)
