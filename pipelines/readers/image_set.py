"""`ImageSet`: labelled images, either decoded pixels in memory or image files to decode later."""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

# (found, wanted) channel counts that decoding may convert: gray <-> RGB, and RGBA loses its alpha.
CONVERTIBLE_CHANNELS = frozenset({(1, 3), (3, 1), (4, 3), (4, 1)})


@dataclasses.dataclass(frozen=True, eq=False)
class ImageSet:
    """Labelled images from one source.

    Attributes:
        labels: int32 class ids, shape (N,).
        class_names: the name of each class id.
        channels: channels per image (1 gray, 3 RGB, ...).
        images: uint8 pixels (N, H, W, C) for formats read into memory (IDX, CIFAR), else None.
        files: image file paths (PNG, JPEG, ...) that the tf.data pipeline decodes, else None.
        source: where the data came from, quoted in errors and model cards.
        skipped: files of the source that were not read (not images), e.g. a `notes.txt` in a class folder.
    """

    labels: np.ndarray
    class_names: tuple[str, ...]
    channels: int
    images: np.ndarray | None = None
    files: tuple[str, ...] | None = None
    source: str | None = None
    skipped: tuple[str, ...] = ()

    def __post_init__(self):
        if (self.images is None) == (self.files is None):
            raise ValueError("An ImageSet holds exactly one of `images` and `files`.")
        count = len(self.images if self.images is not None else self.files)
        if len(self.labels) != count:
            raise ValueError(f"Expected one label per image. Received: {len(self.labels)} labels, {count} images")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def skipped_note(self) -> str | None:
        """A line telling how many files were skipped, with examples; None when none were."""
        if not self.skipped:
            return None
        count = len(self.skipped)
        examples = ", ".join(self.skipped[:3]) + (", ..." if count > 3 else "")
        return (f"{self.source}: skipped {count} file{'s' if count > 1 else ''} that "
                f"{'are' if count > 1 else 'is'} not an image: {examples}")

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(height, width) of in-memory images; None for files, whose sizes may differ."""
        return None if self.images is None else tuple(self.images.shape[1:3])

    def subset(self, indices: Sequence[int] | slice, *, source: str | None = None) -> "ImageSet":
        """The images at `indices` (an index list or a slice), with the same classes."""
        picked = np.arange(len(self))[indices]
        return dataclasses.replace(
            self,
            labels=self.labels[picked],
            images=None if self.images is None else self.images[picked],
            files=None if self.files is None else tuple(self.files[i] for i in picked),
            source=source or self.source,
        )

    def hold_out(self, count: int) -> tuple["ImageSet", "ImageSet"]:
        """(all but the last `count` images, the last `count` images), e.g. a training/validation split."""
        if not 0 < count < len(self):
            raise ValueError(f"count must be between 1 and {len(self) - 1}. Received: count={count}")
        cut = len(self) - count
        return (self.subset(slice(0, cut), source=f"{self.source} [:{cut}]"),
                self.subset(slice(cut, None), source=f"{self.source} [{cut}:]"))


def class_names_for(labels: np.ndarray) -> tuple[str, ...]:
    """Default class names "0", "1", ... up to the largest label."""
    return tuple(str(i) for i in range(int(labels.max()) + 1)) if len(labels) else ()
