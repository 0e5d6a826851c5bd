"""Whole-file reading of plain or gzipped binary files, with errors located by file."""

from __future__ import annotations

import gzip
import os
import zlib

from pipelines.errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of `path`, decompressed when the file starts with the gzip magic bytes.

    Raises:
        DataError: the file is missing, is a directory, or holds corrupt gzip data.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, None, "expected a file, got a directory") from None
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(path, None, f"cannot read gzip data: {err}") from None
