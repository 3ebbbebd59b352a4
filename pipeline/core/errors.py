"""User-facing errors: one line on stderr and exit code 2, never a traceback.

Every message is printed through `one_line`, so text taken from the user's files (a task id, a
file name, a value) cannot break the line or drive the terminal: control characters (newlines,
ESC and the rest of C0 and C1), line and paragraph separators and bidirectional-text controls are
shown as Python escapes (\\n, \\x1b, \\u202e).
"""
from __future__ import annotations

import functools
import logging
import os
import re
import sys

# C0 and C1 controls, DEL, U+2028/U+2029, and the bidirectional marks, embeddings, overrides and isolates.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class UserError(Exception):
    """A problem with the user's input or files, reported as one line."""


class DataError(UserError):
    """A problem in a data file, located by file, line and field."""

    def __init__(self, path, line: int | None, message: str):
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")


def drop_stdout() -> None:
    """Point stdout at /dev/null so nothing buffered (and no failed flush at exit) reaches the user."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def one_line(text: str) -> str:
    """`text` with every character that could break the line or drive the terminal escaped."""
    return UNSAFE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def fail(message: str, code: int = 2):
    print(f"error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(code) from None


def cli(main):
    """Wrap a command's main(): configure logging; turn user errors, a closed pipe, a full disk or
    Ctrl-C into one line on stderr (exit 2, or 130 for Ctrl-C)."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        # The project's own loggers (stage scripts run as __main__) report at INFO; libraries only
        # warn (torch otherwise prints cache statistics at exit).
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        for name in ("pipeline", "__main__"):
            logging.getLogger(name).setLevel(logging.INFO)
        try:
            return main(*args, **kwargs)
        except UserError as err:
            fail(str(err))
        except BrokenPipeError:
            drop_stdout()
            fail("output closed before every record was written (broken pipe)")
        except OSError as err:
            drop_stdout()
            where = f"{err.filename}: " if err.filename else ""
            fail(f"{where}{err.strerror or err}")
        except KeyboardInterrupt:
            drop_stdout()
            fail("interrupted", 130)

    return wrapper
