"""Reader for IDX files (MNIST, Fashion-MNIST): a typed n-dimensional array behind a small header.

The header is two zero bytes, a type code, the number of dimensions D, then D big-endian
uint32 sizes; the data follows in row-major order, big-endian (LeCun et al., the MNIST page).
"""

from __future__ import annotations

import os
import struct

import numpy as np

from pipelines.errors import DataError
from pipelines.readers._binary import read_bytes
from pipelines.readers.image_set import ImageSet, class_names_for

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_FILES = {"train": "train-{}-idx{}-ubyte", "test": "t10k-{}-idx{}-ubyte"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (plain or gzipped), in native byte order.

    Raises:
        DataError: a header that is short or has a bad magic number (the 2 zero bytes, a known
            type code, at least 1 dimension), or data whose size disagrees with the header's sizes.
    """
    data = read_bytes(path)
    if len(data) < 4:
        raise DataError(path, None, f"expected an IDX header of at least 4 bytes, got {len(data)} bytes")
    if data[:2] != b"\0\0" or data[2] not in IDX_TYPES or data[3] == 0:
        codes = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise DataError(path, None, f"expected an IDX magic number 0x0000TTDD (type TT in {codes}, dimensions "
                                    f"DD >= 1), got 0x{data[:4].hex().upper()}; is this an IDX file?")
    ndim, dtype = data[3], np.dtype(IDX_TYPES[data[2]])
    start = 4 + 4 * ndim
    if len(data) < start:
        raise DataError(path, None, f"the header announces {ndim} dimensions ({start} header bytes), "
                                    f"but the file has only {len(data)} bytes")
    shape = struct.unpack(f">{ndim}I", data[4:start])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - start != expected:
        raise DataError(path, None, f"the header's sizes {shape} need {expected} bytes of {dtype.name} data, "
                                    f"but the file has {len(data) - start}; the file is truncated or corrupt")
    return np.frombuffer(data, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx_images(
    images_path: str | os.PathLike,
    labels_path: str | os.PathLike,
    *,
    class_names: tuple[str, ...] | None = None,
) -> ImageSet:
    """Images (N, H, W) or (N, H, W, C) of uint8 pixels and their N labels from two IDX files.

    Raises:
        DataError: bad IDX files, images that are not uint8 with 3 or 4 dimensions, labels that
            are not 1-D non-negative integers, or different image and label counts.
    """
    images = read_idx(images_path)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise DataError(images_path, None, f"expected uint8 images of shape (N, H, W) or (N, H, W, C), "
                                           f"got {images.dtype.name} of shape {images.shape}")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    labels = read_idx(labels_path)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or (labels.size and labels.min() < 0):
        raise DataError(labels_path, None, f"expected 1-D non-negative integer labels, got {labels.dtype.name} "
                                           f"of shape {labels.shape}")
    if len(labels) != len(images):
        raise DataError(labels_path, None, f"expected one label per image ({len(images)} in {images_path}), "
                                           f"got {len(labels)}")
    labels = labels.astype(np.int32)
    names = tuple(class_names) if class_names else class_names_for(labels)
    if labels.size and labels.max() >= len(names):
        raise DataError(labels_path, None, f"label {labels.max()} has no class name; names: {list(names)}")
    return ImageSet(labels=labels, class_names=names, channels=images.shape[-1], images=images,
                    source=f"{images_path},{labels_path}")


def read_mnist(directory: str | os.PathLike, *, split: str = "train") -> ImageSet:
    """MNIST-layout IDX files in `directory`: `train-*` or `t10k-*` (`split="test"`), `.gz` or not.

    Fashion-MNIST uses the same file names, so it reads the same way.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"Received: split={split!r}; allowed: {sorted(MNIST_FILES)}")
    paths = [_existing(os.path.join(directory, MNIST_FILES[split].format(kind, dims)))
             for kind, dims in (("images", 3), ("labels", 1))]
    return read_idx_images(*paths)


def _existing(path: str) -> str:
    for candidate in (path, path + ".gz"):
        if os.path.exists(candidate):
            return candidate
    raise DataError(path, None, "file not found (nor with .gz)")
