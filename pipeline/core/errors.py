"""User-facing errors: one line on stderr and exit code 2, never a traceback."""
from __future__ import annotations

import functools
import logging
import os
import sys


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


def fail(message: str, code: int = 2):
    print(f"error: {message}", file=sys.stderr)
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
