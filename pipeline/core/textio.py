"""Reading and writing text safely: the one place input bytes become text and outputs reach disk.

Input is read line by line with a cap on a line's length (a file without line breaks, such as
/dev/zero, is never read whole); NUL bytes and invalid UTF-8 are errors that name the file and line;
a UTF-8 byte-order mark is dropped. Output files are written to a temporary file beside the
target and renamed into place, so a failure never leaves a partial file behind; only a regular file
is ever replaced (never a device, FIFO, folder or symbolic link), and the new file gets the usual
mode of the umask.
"""
from __future__ import annotations

import os
import secrets
import stat
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


# What lstat's file type is called in an error message.
_KINDS = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket"}


def _regular_or_absent(path: Path) -> os.stat_result | None:
    """lstat of `path` (the link itself, not its target), None if nothing is there; refuse anything
    but a regular file: a device (/dev/full), a FIFO, a folder, a socket or a symbolic link."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as err:
        raise UserError(f"{path}: cannot check the output path ({err.strerror})") from None
    if stat.S_ISREG(info.st_mode):
        return info
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{path}: is a folder; expected a file path to write")
    if stat.S_ISLNK(info.st_mode):
        raise UserError(f"{path}: is a symbolic link to {os.readlink(path)}; refusing to replace it: give a new "
                        "path, or the path of the file it points to")
    kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
    raise UserError(f"{path}: is {kind}; refusing to replace it: expected a new path or a regular file")


def check_output_path(path: str | Path) -> Path:
    """Fail now, before any work, if `path` cannot become a regular file.

    Only a regular file is ever replaced. Anything else already at `path` is refused: a folder, a
    FIFO, a socket, a device such as /dev/full or /dev/null, and every symbolic link, even one to a
    regular file (replacing would destroy the link, and writing through it would change a file
    elsewhere, such as a DVC cache entry): give the path of the file it points to instead.
    """
    path = Path(path)
    _regular_or_absent(path)
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{path}: cannot create its folder ({err.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise UserError(f"{path}: cannot write in folder {parent}")
    return path


def _temporary(path: Path) -> tuple[int, Path]:
    """A new, empty file beside `path`, created with mode 0666 less the umask (as open() would,
    where mkstemp gives 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise UserError(f"{path}: cannot create a temporary file beside it (100 names taken)")


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[TextIO]:
    """A text handle whose content replaces `path` only when the block ends without error
    (temporary file in the same folder, then rename); on any error the temporary file is removed.

    `path` must be new or a regular file (check_output_path: never a device, FIFO, folder or
    symbolic link; checked again just before the rename). The new file gets the umask's usual mode
    (e.g. 0644); a regular file being replaced keeps its mode.
    """
    path = check_output_path(path)
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            old = _regular_or_absent(path)
            if old is not None:
                os.fchmod(handle.fileno(), stat.S_IMODE(old.st_mode))
            yield handle
        _regular_or_absent(path)  # nothing but a regular file appeared there meanwhile
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, text: str) -> None:
    """Write text to `path` whole or not at all."""
    with atomic_writer(path) as handle:
        handle.write(text)
