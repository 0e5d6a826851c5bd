"""Reader for Flickr8k captions (Hodosh et al., 2013) and the folder of images they describe.

Two layouts are read: the release's `Flickr8k.token.txt`, `IMAGE#N<TAB>caption` with N = 0..4, and
the CSV `image,caption` (with that header) of the Kaggle copies; both plain or gzipped.
"""

from __future__ import annotations

import csv
import os
import re

from pipelines.errors import DataError
from pipelines.readers._io import read_lines
from pipelines.readers.captioned_image import CaptionedImage

CSV_HEADER = "image,caption"
# The folders the captions are looked for beside: the Kaggle copies' and the original release's.
IMAGE_FOLDERS = ("images", "Images", "Flicker8k_Dataset")
_TOKEN_LINE = re.compile(r"(?P<image>[^\t#]+)#(?P<number>\d+)\t(?P<caption>.*)")


def _csv_rows(path, encoding):
    for line_number, line in read_lines(path, encoding):
        if line_number == 1 or not line.strip():  # line 1 is the header, which chose this reader
            continue
        try:
            (row,) = csv.reader([line])
        except (csv.Error, ValueError) as err:
            raise DataError(path, line_number, f"expected well-formed CSV 'image,caption': {err}") from None
        if len(row) != 2:
            raise DataError(path, line_number, f"expected 2 comma-separated fields (image, caption), got "
                                               f"{len(row)}: {line!r}")
        yield line_number, row[0], row[1]


def _token_rows(path, encoding):
    for line_number, line in read_lines(path, encoding):
        if not line.strip():
            continue
        match = _TOKEN_LINE.fullmatch(line)
        if match is None:
            raise DataError(path, line_number, f"expected 'IMAGE#N<TAB>caption' as in Flickr8k.token.txt (or "
                                               f"a CSV file with the header {CSV_HEADER!r}), got {line!r}")
        yield line_number, match["image"], match["caption"]


def read_flickr8k(captions_path: str | os.PathLike, *, images: str | os.PathLike | None = None,
                  skip_missing: bool = False, encoding: str = "utf-8") -> list[CaptionedImage]:
    """The images named in a Flickr8k captions file, each with all its captions, in order of first mention.

    Args:
        captions_path: `Flickr8k.token.txt` or `captions.txt` (CSV with the header `image,caption`),
            told apart by that header.
        images: the folder of image files; by default the first of `IMAGE_FOLDERS` beside the captions.
        skip_missing: drop captions of images that are not in the folder instead of failing (the
            release's token file names a few images, such as `2258277193_586949ec62.jpg.1`, that it
            does not ship).
        encoding: text encoding of the captions file.

    Raises:
        DataError: a malformed line, an empty caption, an image file that is not in the folder (unless
            `skip_missing`), no image folder, or no captions at all; each located by line.
    """
    if images is None:
        beside = [os.path.join(os.path.dirname(os.fspath(captions_path)), name) for name in IMAGE_FOLDERS]
        images = next((folder for folder in beside if os.path.isdir(folder)), None)
        if images is None:
            raise DataError(captions_path, None, f"expected an image folder beside it, one of {list(IMAGE_FOLDERS)}; "
                                                 "pass `images=` to name another")
    elif not os.path.isdir(images):
        raise DataError(images, None, "expected the folder of Flickr8k images, found no such folder")
    first = next(read_lines(captions_path, encoding))[1]
    rows = _csv_rows if first.lstrip("\ufeff") == CSV_HEADER else _token_rows
    captions: dict[str, list[str]] = {}
    for line_number, name, caption in rows(captions_path, encoding):
        path = os.path.join(images, name)
        if path not in captions:
            if not os.path.isfile(path):
                if skip_missing:
                    continue
                raise DataError(captions_path, line_number, f"image {name!r} is not in the folder {os.fspath(images)!r}")
            captions[path] = []
        if not caption.strip():
            raise DataError(captions_path, line_number, f"expected a caption for {name!r}, got an empty one")
        captions[path].append(caption.strip())
    if not captions:
        raise DataError(captions_path, None, "expected captions of images in the folder, found none")
    return [CaptionedImage(path, tuple(texts)) for path, texts in captions.items()]
