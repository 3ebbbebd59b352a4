"""Reading and writing text safely: the one place input bytes become text and outputs reach disk.

Input is read line by line with a cap on a line's length (a file without line breaks, such as
/dev/zero, is never read whole); NUL bytes and invalid UTF-8 are errors that name the file and line;
a UTF-8 byte-order mark is dropped. Output files are written to a temporary file beside the
target and renamed into place, so a failure never leaves a partial file behind.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, TextIO

from pipeline.core.errors import DataError, UserError

BOM = b"\xef\xbb\xbf"


def decoded_lines(name, stream: BinaryIO, max_line_bytes: int | None = None) -> Iterator[str]:
    """Decoded lines (with their line breaks) of a binary stream, checked one by one."""
    number, offset = 0, 0
    limit = -1 if max_line_bytes is None else max_line_bytes + 1
    while True:
        raw = stream.readline(limit)
        if not raw:
            return
        number += 1
        if number == 1 and raw.startswith(BOM):
            raw, offset = raw[len(BOM):], len(BOM)
        nul = raw.find(b"\x00")
        if nul >= 0:
            raise DataError(name, number, f"binary data (NUL byte at byte offset {offset + nul}); expected text")
        if max_line_bytes is not None and len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            raise DataError(name, number, f"line is longer than {max_line_bytes:,} bytes; expected text with line "
                                          "breaks (raise predict.max_line_bytes in configs/params.yaml for longer lines)")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(name, number, f"invalid UTF-8 at byte offset {offset + err.start}; expected text") from None
        offset += len(raw)


def open_input(path: str | Path) -> BinaryIO:
    """Open a file for reading, or raise a one-line error saying why it cannot be read."""
    try:
        return open(path, "rb")
    except OSError as err:
        raise UserError(f"{path}: cannot read file ({err.strerror})") from None


def read_text(path: str | Path) -> str:
    """A whole text file, decoded and checked (errors name the file and line)."""
    with open_input(path) as handle:
        return "".join(decoded_lines(path, handle))


def check_output_path(path: str | Path) -> Path:
    """Fail now, before any work, if `path` cannot become a file."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; expected a file path to write")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{path}: cannot create its folder ({err.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise UserError(f"{path}: cannot write in folder {parent}")
    return path


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[TextIO]:
    """A text handle whose content replaces `path` only when the block ends without error
    (temporary file in the same folder, then rename); on any error the temporary file is removed."""
    path = check_output_path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, text: str) -> None:
    """Write text to `path` whole or not at all."""
    with atomic_writer(path) as handle:
        handle.write(text)
