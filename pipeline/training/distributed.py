"""Device, threads and process-group setup: one code path for CPU, one GPU and torchrun."""
from __future__ import annotations

import os
from contextlib import nullcontext

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside torchrun."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def is_main() -> bool:
    return world()[0] == 0


def setup(device_param: str) -> str:
    """Pick the device, set CPU threads, and join the process group under torchrun."""
    rank, size = world()
    local = int(os.environ.get("LOCAL_RANK", 0))
    cuda = torch.cuda.is_available() and device_param in ("auto", "cuda")
    device = f"cuda:{local}" if cuda else "cpu"
    if cuda:
        torch.cuda.set_device(local)
    else:
        # Share the cores between the processes torchrun starts on this machine.
        local_size = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_size))
    if size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo", rank=rank, world_size=size)
    return device


def autocast(device: str, precision: str):
    """Mixed precision on CUDA when asked for; full precision on CPU."""
    if device.startswith("cuda") and precision in ("bf16", "fp16"):
        return torch.autocast("cuda", dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
    return nullcontext()


def wrap(net: torch.nn.Module, device: str) -> torch.nn.Module:
    if world()[1] > 1:
        ids = [torch.device(device).index] if device.startswith("cuda") else None
        return torch.nn.parallel.DistributedDataParallel(net, device_ids=ids)
    return net


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
