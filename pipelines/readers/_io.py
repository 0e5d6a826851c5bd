"""Line-by-line reading of plain or gzipped text files, with errors located by line."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator

from pipelines.errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
# Byte-order marks of encodings that are not ASCII-compatible, which a line reader cannot split.
_WIDE_BOMS = {b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}


def read_lines(path: str | os.PathLike, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yields `(line_number, line)` for each line of `path`, 1-based, without `\\r\\n` or `\\n`.

    Gzipped files (recognised by their magic bytes) are decompressed on the fly. A UTF-8
    byte-order mark (as Notepad and Excel write) is dropped from the first line, whatever
    `encoding` is, so it never ends up in a token or a header. Each line is decoded on its own
    so that a bad byte is reported with its line number, which means `encoding` must be
    ASCII-compatible (utf-8, latin1, cp1252, ...).

    Raises:
        DataError: the file is missing or empty, is not gzip data despite a `.gz` name,
            is corrupt gzip data, is UTF-16 (by its byte-order mark), or has a line that
            cannot be decoded with `encoding`.
    """
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise DataError(path, None, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, None, "expected a file, got a directory") from None
    with raw:
        magic = raw.peek(2)[:2]
        if magic == _GZIP_MAGIC:
            stream = gzip.GzipFile(fileobj=raw)
        elif magic and os.fspath(path).endswith(".gz"):
            raise DataError(path, None, f"expected gzip data (the name ends in .gz), got {magic!r}")
        else:
            stream = raw
        line_number = 0
        try:
            for line_number, data in enumerate(stream, 1):
                if line_number == 1:
                    data = _drop_bom(path, data)
                try:
                    text = data.decode(encoding)
                except UnicodeDecodeError as err:
                    bad = data[err.start : err.end]
                    raise DataError(
                        path,
                        line_number,
                        f"cannot decode bytes as {encoding}: {bad!r} at byte {err.start + 1} "
                        f"of the line ({err.reason})",
                    ) from None
                yield line_number, text.rstrip("\r\n")
        except (OSError, EOFError, zlib.error) as err:
            # A truncated or corrupt gzip stream fails reading the line after the last good one.
            what = "the file" if stream is raw else "gzip data"
            raise DataError(path, line_number + 1, f"cannot read {what}: {err}") from None
    if line_number == 0:
        raise DataError(path, None, "file is empty")


def _drop_bom(path: str | os.PathLike, first_line: bytes) -> bytes:
    """`first_line` without a UTF-8 byte-order mark; a UTF-16 one raises `DataError`."""
    if first_line.startswith(_UTF8_BOM):
        return first_line[len(_UTF8_BOM) :]
    wide = _WIDE_BOMS.get(first_line[:2])
    if wide:
        raise DataError(path, 1, f"the file is {wide} text (by its byte-order mark); expected UTF-8, "
                                 "so save it as UTF-8")
    return first_line
