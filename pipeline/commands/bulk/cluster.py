"""`stance-bulk`'s Ray session: GPUs checked before Ray starts, a bounded join of --address, the
actor sizes, and a failure inside Ray reported as its cause in one line.

A task's error reaches the driver wrapped (`RayTaskError(UserError)`, whose text is Ray's coloured
task header and the worker's traceback) after Ray Data has logged its tracebacks. So the tasks raise
plain `UserError`s (`task_error`), Ray Data's console logging keeps below ERROR while stance-bulk
runs (the Ray Data log file keeps everything), and `ray_failure` unwraps the innermost cause.
"""
from __future__ import annotations

import logging
import os
import re
import signal
import socket
import threading

import ray
from ray._private import accelerators  # private: Ray has no public way to count GPUs before ray.init
from ray.exceptions import RayError

from pipeline.core.errors import UserError

log = logging.getLogger(__name__)
# How long joining --address may take. ray.init() retries an unreachable cluster for minutes; a
# reachable head answers in a second or two, so 30 s is ample even for a busy head across a WAN.
JOIN_TIMEOUT_S = 30
ANSI = re.compile(r"\x1b\[[0-9;]*m")
USER_ERROR = f"{UserError.__module__}.UserError: "


class _TooLong(BaseException):
    """Raised by the alarm inside ray.init(); a BaseException, as ray.init retries on any Exception."""


def local_gpus() -> int | None:
    """GPUs a Ray started here would have (as Ray counts them), or None if that cannot be told."""
    try:
        manager = accelerators.get_accelerator_manager_for_resource("GPU")
        count, visible = manager.get_current_node_num_accelerators(), manager.get_current_process_visible_accelerator_ids()
    except Exception:  # noqa: BLE001 - Ray's detection of drivers it cannot load: leave it to Ray
        return None
    return count if visible is None else min(count, len(visible))


def check_gpus(workers: int | None, per_gpu: float | None, gpus: float, where: str) -> None:
    """--workers actors of --gpus-per-worker GPUs each must fit the GPUs `where` has."""
    if per_gpu and (gpus < per_gpu or (workers and workers * per_gpu > gpus)):
        flags = f"--workers {workers} with " if workers else ""
        raise UserError(f"{flags}--gpus-per-worker {per_gpu:g}: {where} has {gpus:g} GPUs")


def reachable(address: str) -> None:
    """Fail now, before the model loads, if nothing answers at a host:port address (ray.init would
    retry for minutes; start_ray bounds the rest)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", or a form Ray resolves itself: the alarm below bounds it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=JOIN_TIMEOUT_S).close()
    except OSError as err:
        raise UserError(f"cannot join Ray at {address} ({err.strerror or err or 'timed out'})") from None


def start_ray(address: str | None) -> bool:
    """Join the cluster at `address` (within JOIN_TIMEOUT_S), or start Ray on this machine; False if
    Ray already runs in this process."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")  # a failed job's other tasks: reported once, by us
    address = address or os.environ.get("RAY_ADDRESS")  # as `ray.init()` itself would read it
    # The alarm interrupts ray.init()'s retries (Python signals reach the main thread only; a
    # connection attempt already under way in Ray's C++ code ends first, after up to ~40 s).
    timed = bool(address) and threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGALRM, _alarm) if timed else None
    try:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, JOIN_TIMEOUT_S)
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            ray.init(include_dashboard=False, logging_level=logging.WARNING)
    except _TooLong:
        if ray.is_initialized():  # the alarm came just after ray.init() returned
            return True
        raise UserError(f"cannot join Ray at {address}: no answer within {JOIN_TIMEOUT_S} s") from None
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise UserError(f"cannot start or join Ray at {address or 'this machine'} ({str(err).splitlines()[0]})") from None
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return True


def _alarm(*_) -> None:
    raise _TooLong()


def actors(workers: int | None, per_gpu: float | None) -> tuple[int, float, float, int]:
    """(labelling actors, CPUs each, GPUs each, CPUs in the cluster) from the flags and the cluster.
    The actors share all CPUs but one (at most one each): Ray Data's own tasks need a free CPU."""
    have = ray.cluster_resources()
    cpus, gpus = int(have.get("CPU", 1)), float(have.get("GPU", 0))
    per_gpu = per_gpu if per_gpu is not None else (1.0 if gpus else 0.0)
    workers = workers or (int(gpus // per_gpu) if per_gpu else max(1, cpus))
    check_gpus(workers, per_gpu, gpus, "the Ray cluster")
    return workers, min(1.0, max(cpus - 1, 0.5) / workers), per_gpu, cpus


class _BelowError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


def quiet_task_errors() -> None:
    """Keep Ray Data's ERROR records (a failed task's tracebacks) off the console; the file keeps them."""
    for handler in logging.getLogger("ray.data").handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler) \
                and not any(isinstance(f, _BelowError) for f in handler.filters):
            handler.addFilter(_BelowError())


def task_error(err: Exception, where: str | None = None) -> Exception:
    """What a Ray task raises for `err`: a plain one-line UserError for the user's problems (a
    UserError, a file error, named by its file or `where`), else `err` itself (a bug: kept whole)."""
    if isinstance(err, UserError):
        return UserError(str(err))  # a plain UserError: a subclass (DataError) may not unpickle
    if isinstance(err, OSError):
        where = err.filename or where
        return UserError(f"{where}: {err.strerror or err}" if where else str(err))
    return err


def ray_failure(err: BaseException) -> UserError:
    """One line for a failed Ray job: the innermost cause (a UserError's own message)."""
    seen = set()
    while id(err) not in seen and (inner := getattr(err, "cause", None) or err.__cause__) is not None:
        seen.add(id(err))
        err = inner
    if isinstance(err, (UserError, OSError)) and not isinstance(err, RayError):
        return UserError(str(task_error(err)).split("\n")[0])  # Ray Data appends its retry advice as more lines
    lines = [line.strip() for line in ANSI.sub("", str(err)).splitlines() if line.strip()] or [""]
    if isinstance(err, RayError):  # a cause Ray could not carry over: the traceback's last "Type: message"
        named = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Interrupt)\b.*:", line)]
        lines = named[-1:] or lines
        if lines[0].startswith(USER_ERROR):
            return UserError(lines[0].removeprefix(USER_ERROR))
    return UserError(f"the Ray job failed: {type(err).__name__}: {lines[0]}")
