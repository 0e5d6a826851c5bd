"""The record the captioning readers return: an image file and the captions people wrote for it."""

from __future__ import annotations

from typing import NamedTuple


class CaptionedImage(NamedTuple):
    """An image and its reference captions (five in Flickr8k), in file order.

    Attributes:
        image: the path of the image file.
        captions: the captions, e.g. `("A dog runs .", "A brown dog is running .", ...)`.
    """

    image: str
    captions: tuple[str, ...]
