"""Running a translator's or captioner's serving function on many inputs: batches in, decoded strings out."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import tensorflow as tf

from zoo.errors import ZooError

# The output key each input name's serving functions return.
OUTPUT_KEYS = {"text": "translation", "image_bytes": "caption"}


def decode_all(function: Callable, inputs: Sequence, *, input_name: str, batch_size: int = 64) -> list[str]:
    """The decoded strings of `inputs` (texts or image bytes) through `function`, `batch_size` at a time."""
    outputs = []
    for start in range(0, len(inputs), batch_size):
        batch = tf.constant(list(inputs[start:start + batch_size]), dtype=tf.string)
        result = function(**{input_name: batch})
        outputs += [t.decode("utf-8") for t in result[OUTPUT_KEYS[input_name]].numpy()]
    return outputs


def read_images(paths: Sequence[str]) -> list[bytes]:
    """The bytes of image files; `ZooError` naming a file that cannot be read."""
    contents = []
    for path in paths:
        try:
            contents.append(Path(path).read_bytes())
        except OSError as error:
            raise ZooError(f"{path}: cannot read the image file ({error.strerror or error})") from None
    return contents
