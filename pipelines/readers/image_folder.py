"""Reader for a folder of images per class: `ROOT/CLASS_NAME/IMAGE.{png,jpg,jpeg,gif,bmp}`.

Only headers are read here (with Pillow) to check every file is an image with a usable number
of channels; the tf.data pipeline decodes the pixels.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pipelines.errors import DataError
from pipelines.readers.image_set import CONVERTIBLE_CHANNELS, ImageSet

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
IMAGE_FORMATS = {"PNG", "JPEG", "GIF", "BMP"}
# Channels of each Pillow mode as TensorFlow decodes it (palette images decode to RGB).
MODE_CHANNELS = {"1": 1, "L": 1, "I": 1, "I;16": 1, "I;16B": 1, "F": 1, "LA": 2, "P": 3, "RGB": 3, "RGBA": 4}


def image_channels(path: str | os.PathLike) -> int:
    """The channel count of an image file, from its header.

    Raises:
        DataError: the file is not a PNG, JPEG, GIF or BMP image, or has an unusual mode (e.g. CMYK).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            kind, mode = image.format, image.mode
            transparent = "transparency" in image.info
    except (UnidentifiedImageError, OSError) as err:
        raise DataError(path, None, f"not a readable image: {err}") from None
    if kind not in IMAGE_FORMATS:
        raise DataError(path, None, f"expected a PNG, JPEG, GIF or BMP image, got {kind}")
    if mode not in MODE_CHANNELS:
        raise DataError(path, None, f"unsupported colour mode {mode!r}; expected one of {sorted(MODE_CHANNELS)}")
    return 4 if mode == "P" and transparent else MODE_CHANNELS[mode]


def read_image_folder(root: str | os.PathLike, *, channels: int | None = None) -> ImageSet:
    """The image files under `root`, one subfolder per class (class names sorted, as Keras does).

    Other files in the class folders (not hidden ones such as `.DS_Store`) are listed in
    `ImageSet.skipped`, and `ImageSet.skipped_note` says how many there were.

    Args:
        root: the folder holding one subfolder per class.
        channels: the channels wanted. None: every image must have the channels of the first.
            1 or 3: images of other channel counts that decoding converts (gray <-> RGB, RGBA
            without alpha) are accepted too.

    Raises:
        DataError: no class folders, an empty class folder, a file that is not an image, or an
            image with the wrong number of channels (named with what was found and expected).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, None, "expected a folder with one subfolder of images per class")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(root, None, "expected one subfolder of images per class, found no subfolders")
    files, labels, skipped = [], [], []
    strict = channels is None
    for label, class_dir in enumerate(class_dirs):
        found = sorted(p for p in class_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        skipped += sorted(str(p.relative_to(root)) for p in class_dir.rglob("*")
                          if p.is_file() and p.suffix.lower() not in IMAGE_SUFFIXES and not p.name.startswith("."))
        if not found:
            raise DataError(class_dir, None, f"class folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
        for path in found:
            have = image_channels(path)
            if channels is None:
                channels = have
            elif have != channels and (strict or (have, channels) not in CONVERTIBLE_CHANNELS):
                raise DataError(path, None, f"wrong channel count: the image has {have} channels, expected "
                                            f"{channels} (like {files[0] if files else 'the others'})")
            files.append(str(path))
            labels.append(label)
    return ImageSet(labels=np.asarray(labels, dtype=np.int32), class_names=tuple(p.name for p in class_dirs),
                    channels=channels, files=tuple(files), source=str(root), skipped=tuple(skipped))
