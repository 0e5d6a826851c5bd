"""Reader for the CIFAR-10 "python version" batches (Krizhevsky, 2009): pickled dicts of pixel rows.

Each batch file holds `b"data"`, a (N, 3072) uint8 array whose rows are 1024 red, 1024 green,
then 1024 blue values of a 32x32 image, and `b"labels"`, N ints. `batches.meta` names the classes.
Pickles can run code when loaded, so only plain containers and numpy arrays are allowed in.
"""

from __future__ import annotations

import io
import os
import pickle

import numpy as np

from pipelines.errors import DataError
from pipelines.readers._binary import read_bytes
from pipelines.readers.image_set import ImageSet, class_names_for

CIFAR10_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
SIDE, CHANNELS = 32, 3
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}; only numpy arrays are allowed")
        return super().find_class(module, name)


def load_pickle(path: str | os.PathLike) -> dict:
    """A pickled dict (plain or gzipped) of strings, numbers, lists and numpy arrays; keys as `bytes`."""
    try:
        loaded = _ArrayUnpickler(io.BytesIO(read_bytes(path)), encoding="bytes").load()
    except DataError:
        raise
    except Exception as err:  # a corrupt pickle can raise nearly anything
        raise DataError(path, None, f"cannot read the file as a CIFAR python batch (a pickled dict): {err}") from None
    if not isinstance(loaded, dict):
        raise DataError(path, None, f"expected a pickled dict, got {type(loaded).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in loaded.items()}


def read_cifar_batch(path: str | os.PathLike, *, label_key: str = "labels") -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 32, 32, 3), labels int32 (N,)) from one batch file.

    Raises:
        DataError: keys missing, or rows that are not 3072 bytes (32x32 pixels x 3 channels).
    """
    batch = load_pickle(path)
    missing = sorted({"data", label_key} - set(batch))
    if missing:
        raise DataError(path, None, f"expected the keys 'data' and {label_key!r}, missing {missing}")
    data = np.asarray(batch["data"])
    row = SIDE * SIDE * CHANNELS
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != row:
        found = f" ({data.shape[1] / (SIDE * SIDE):g} channels of {SIDE}x{SIDE})" if data.ndim == 2 else ""
        raise DataError(path, None, f"expected uint8 rows of {row} values ({SIDE}x{SIDE} pixels x {CHANNELS} "
                                    f"channels), got {data.dtype.name} of shape {data.shape}{found}")
    labels = np.asarray(batch[label_key])
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu" or (labels.size and labels.min() < 0):
        raise DataError(path, None, f"expected {len(data)} non-negative integer labels, got {labels.dtype.name} "
                                    f"of shape {labels.shape}")
    images = data.reshape(-1, CHANNELS, SIDE, SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int32)


def read_cifar10(directory: str | os.PathLike, *, split: str = "train") -> ImageSet:
    """CIFAR-10's `data_batch_1..5` (`split="train"`, 50,000 images) or `test_batch` (10,000).

    `directory` is the extracted `cifar-10-batches-py` folder or the folder holding it. Class
    names come from `batches.meta` when it is there.
    """
    if split not in CIFAR10_FILES:
        raise ValueError(f"Received: split={split!r}; allowed: {sorted(CIFAR10_FILES)}")
    nested = os.path.join(directory, "cifar-10-batches-py")
    if os.path.isdir(nested):
        directory = nested
    parts = [read_cifar_batch(os.path.join(directory, name)) for name in CIFAR10_FILES[split]]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    meta_path = os.path.join(directory, "batches.meta")
    names = class_names_for(labels)
    if os.path.exists(meta_path):
        meta = load_pickle(meta_path)
        names = tuple(n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in meta.get("label_names", names))
    if labels.size and labels.max() >= len(names):
        raise DataError(directory, None, f"label {labels.max()} has no class name; names: {list(names)}")
    return ImageSet(labels=labels, class_names=names, channels=CHANNELS, images=images, source=str(directory))
