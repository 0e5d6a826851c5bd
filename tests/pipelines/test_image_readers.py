"""Image readers on tiny files written to tmp_path: IDX, CIFAR-10 python batches, a folder per class."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

from pipelines.errors import DataError
from pipelines.images import read_images
from pipelines.readers.cifar import read_cifar10, read_cifar_batch
from pipelines.readers.idx import read_idx, read_idx_images, read_mnist
from pipelines.readers.image_folder import read_image_folder
from pipelines.readers.image_set import ImageSet

# 3 images of 2x3 pixels with labels 2, 0, 1.
PIXELS = np.arange(18, dtype=np.uint8).reshape(3, 2, 3)
LABELS = np.array([2, 0, 1], dtype=np.uint8)


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    """The IDX encoding: 0, 0, type code, number of dims, big-endian uint32 dims, big-endian data."""
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write(path, data: bytes, gz: bool = False):
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def data_error(read, *args, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        read(*args, **kwargs)
    return info.value


# ----------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("code, array", [
    (0x08, PIXELS),
    (0x0C, np.array([[-1, 70000]], dtype=np.int32)),
    (0x0D, np.array([0.5, -2.0], dtype=np.float32)),
])
def test_idx_round_trip(tmp_path, code, array):
    read = read_idx(write(tmp_path / "a.idx", idx_bytes(array, code)))
    np.testing.assert_array_equal(read, array)
    assert read.dtype.isnative and read.shape == array.shape


def test_idx_header_is_big_endian(tmp_path):
    # dims 1 x 258: 258 = 0x00000102, so a little-endian reader would see 0x02010000 columns.
    data = bytes([0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 1, 2]) + bytes(258)
    assert read_idx(write(tmp_path / "a.idx", data)).shape == (1, 258)


def test_idx_images_get_a_channel_axis_and_gzip_is_detected(tmp_path):
    images = write(tmp_path / "images.gz", idx_bytes(PIXELS), gz=True)
    labels = write(tmp_path / "labels", idx_bytes(LABELS))
    data = read_idx_images(images, labels)
    assert data.images.shape == (3, 2, 3, 1) and data.channels == 1
    assert data.labels.tolist() == [2, 0, 1] and data.labels.dtype == np.int32
    assert data.class_names == ("0", "1", "2")
    np.testing.assert_array_equal(data.images[1, :, :, 0], [[6, 7, 8], [9, 10, 11]])


def test_read_mnist_finds_plain_and_gzipped_files(tmp_path):
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(PIXELS), gz=True)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS))
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(PIXELS[:1]))
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(LABELS[:1]))
    assert len(read_mnist(tmp_path)) == 3
    assert len(read_images(f"mnist-test:{tmp_path}")) == 1
    assert len(read_images(f"idx:{tmp_path}/t10k-images-idx3-ubyte,{tmp_path}/t10k-labels-idx1-ubyte")) == 1
    assert "t10k-images-idx3-ubyte: file not found (nor with .gz)" in str(data_error(read_mnist, tmp_path / "missing", split="test"))


@pytest.mark.parametrize("data, message", [
    (b"\x00\x00", "expected an IDX header of at least 4 bytes, got 2 bytes"),
    (b"\x1f\x8c\x08\x03rest", "expected an IDX magic number 0x0000TTDD"),
    (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 0]), "got 0x00000701; is this an IDX file?"),
    (bytes([0, 0, 8, 0]), "got 0x00000800"),
    (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "announces 3 dimensions (16 header bytes), but the file has only 8 bytes"),
    (bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3]), "sizes (2, 2) need 4 bytes of uint8 data, but the file has 3"),
    (bytes([0, 0, 8, 1, 0, 0, 0, 1, 1, 2]), "sizes (1,) need 1 bytes of uint8 data, but the file has 2"),
])
def test_corrupt_idx_headers_are_data_errors(tmp_path, data, message):
    path = write(tmp_path / "bad.idx", data)
    error = data_error(read_idx, path)
    assert error.path == str(path) and message in error.message


def test_idx_image_and_label_mismatches(tmp_path):
    images = write(tmp_path / "images", idx_bytes(PIXELS))
    two_labels = write(tmp_path / "labels", idx_bytes(LABELS[:2]))
    assert "expected one label per image (3 in" in str(data_error(read_idx_images, images, two_labels))
    floats = write(tmp_path / "floats", idx_bytes(PIXELS.astype(np.float32), 0x0D))
    assert "expected uint8 images of shape (N, H, W) or (N, H, W, C), got float32" in str(
        data_error(read_idx_images, floats, two_labels))
    assert "file not found" in str(data_error(read_idx, tmp_path / "nope"))
    corrupt_gz = write(tmp_path / "x.gz", gzip.compress(idx_bytes(PIXELS))[:-6])
    assert "cannot read gzip data" in str(data_error(read_idx, corrupt_gz))


# ----------------------------------------------------------------------------- CIFAR-10


def cifar_batch(count: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"x", b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, count)]}


def write_cifar(directory, count: int = 2) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    batches = {name: cifar_batch(count, i) for i, name in enumerate([*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"])}
    for name, batch in batches.items():
        (directory / name).write_bytes(pickle.dumps(batch))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    (directory / "batches.meta").write_bytes(pickle.dumps({b"label_names": names, b"num_vis": 3072}))
    return batches


def test_cifar10_rows_are_red_green_blue_planes(tmp_path):
    batches = write_cifar(tmp_path / "cifar-10-batches-py")
    train = read_cifar10(tmp_path)  # the folder holding cifar-10-batches-py works too
    assert train.images.shape == (10, 32, 32, 3) and train.channels == 3
    row = batches["data_batch_1"][b"data"][0]
    # pixel (y=1, x=2) of the first image: red at 32*1+2, green 1024 later, blue 2048 later.
    assert train.images[0, 1, 2].tolist() == [row[34], row[1024 + 34], row[2048 + 34]]
    assert train.labels[:2].tolist() == batches["data_batch_1"][b"labels"]
    assert train.class_names[0] == "airplane" and len(train.class_names) == 10
    test = read_images(f"cifar10-test:{tmp_path / 'cifar-10-batches-py'}")
    assert len(test) == 2 and test.labels.tolist() == batches["test_batch"][b"labels"]


def test_cifar_bad_batches(tmp_path):
    gray = tmp_path / "gray"
    gray.write_bytes(pickle.dumps({b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}))
    assert "got uint8 of shape (2, 1024) (1 channels of 32x32)" in str(data_error(read_cifar_batch, gray))
    no_labels = tmp_path / "no_labels"
    no_labels.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}))
    assert "missing ['labels']" in str(data_error(read_cifar_batch, no_labels))
    text = tmp_path / "text"
    text.write_text("not a pickle")
    assert "cannot read the file as a CIFAR python batch" in str(data_error(read_cifar_batch, text))
    evil = tmp_path / "evil"
    evil.write_bytes(pickle.dumps({b"data": os.getcwd}))  # a pickle that names a function
    assert "refusing to load posix.getcwd" in str(data_error(read_cifar_batch, evil))
    assert "data_batch_1: file not found" in str(data_error(read_cifar10, tmp_path))


# ----------------------------------------------------------------------------- folder per class


def write_png(path, array: np.ndarray, mode: str | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)
    return path


def test_folder_classes_are_sorted_subfolders(tmp_path):
    gray = np.zeros((4, 5), np.uint8)
    for name in ["dog/b.png", "dog/a.png", "cat/x.PNG", "cat/nested/y.png"]:
        write_png(tmp_path / name, gray)
    (tmp_path / "cat" / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden").mkdir()
    data = read_image_folder(tmp_path)
    assert data.class_names == ("cat", "dog") and data.channels == 1 and data.images is None
    assert [os.path.relpath(f, tmp_path) for f in data.files] == ["cat/nested/y.png", "cat/x.PNG", "dog/a.png", "dog/b.png"]
    assert data.labels.tolist() == [0, 0, 1, 1] and data.image_size is None
    assert data.skipped == ("cat/notes.txt",)
    assert data.skipped_note == f"{tmp_path}: skipped 1 file that is not an image: cat/notes.txt"


def test_folder_counts_every_skipped_file_but_hidden_ones(tmp_path):
    write_png(tmp_path / "cat" / "a.png", np.zeros((4, 4), np.uint8))
    for name in ["cat/1.txt", "cat/deep/2.csv", "cat/3.webp", "cat/4.tiff", "cat/.DS_Store"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    data = read_image_folder(tmp_path)
    assert data.skipped == ("cat/1.txt", "cat/3.webp", "cat/4.tiff", "cat/deep/2.csv")
    assert data.skipped_note.endswith("skipped 4 files that are not an image: cat/1.txt, cat/3.webp, cat/4.tiff, ...")
    assert data.subset([0]).skipped == data.skipped


def test_folder_wrong_channel_count_and_non_images(tmp_path):
    write_png(tmp_path / "a" / "1.png", np.zeros((4, 4), np.uint8))
    rgb = write_png(tmp_path / "b" / "2.png", np.zeros((4, 4, 3), np.uint8))
    error = data_error(read_image_folder, tmp_path)
    assert error.path == str(rgb) and "wrong channel count: the image has 3 channels, expected 1" in error.message
    assert read_image_folder(tmp_path, channels=3).channels == 3  # gray converts to RGB when asked
    gray_alpha = write_png(tmp_path / "b" / "3.png", np.zeros((4, 4, 2), np.uint8), "LA")
    assert data_error(read_image_folder, tmp_path, channels=3).path == str(gray_alpha)
    gray_alpha.unlink()
    broken = tmp_path / "b" / "broken.png"
    broken.write_bytes(b"\x89PNG but not really")
    error = data_error(read_image_folder, tmp_path, channels=3)
    assert error.path == str(broken) and "not a readable image" in error.message


def test_folder_layout_errors(tmp_path):
    assert "found no subfolders" in str(data_error(read_image_folder, tmp_path))
    (tmp_path / "empty").mkdir()
    assert "class folder holds no images" in str(data_error(read_image_folder, tmp_path))
    assert "expected a folder" in str(data_error(read_image_folder, tmp_path / "missing"))


# ----------------------------------------------------------------------------- specs and splits


@pytest.mark.parametrize("spec, message", [
    ("mnist", "expected an image data spec 'FORMAT:PATH'"),
    ("png:dir", "with FORMAT one of 'mnist', 'mnist-test', 'idx', 'cifar10', 'cifar10-test', 'folder', got 'png:dir'"),
    ("idx:only_images", "expected 'idx:IMAGES_PATH,LABELS_PATH'"),
])
def test_bad_specs(spec, message):
    assert message in str(data_error(read_images, spec))


def test_hold_out_keeps_the_last_images():
    data = ImageSet(labels=np.arange(5, dtype=np.int32), class_names=tuple("abcde"), channels=1,
                    images=np.arange(5, dtype=np.uint8).reshape(5, 1, 1, 1), source="mem")
    train, val = data.hold_out(2)
    assert train.labels.tolist() == [0, 1, 2] and val.images.ravel().tolist() == [3, 4]
    assert val.source == "mem [3:]" and val.class_names == data.class_names
    with pytest.raises(ValueError, match="count must be between 1 and 4"):
        data.hold_out(5)
