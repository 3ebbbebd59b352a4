"""A saved model as a whole: the SHA-256 of every file prediction reads (model.json's `files`) and
of model.json's own fields (its `sha256`), written at save and checked at load before anything
parses a file. This catches damage and careless edits (a swapped label list, a changed weight),
not a deliberate edit that also rewrites the hashes: model.json is not signed."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipeline.core.errors import UserError

log = logging.getLogger(__name__)
SEAL = "sha256"  # model.json's field: SHA-256 of its canonical content (see `canonical`) without this field
CHUNK = 1 << 20  # bytes hashed at a time: model.onnx and the weights are ~90 MB, never held whole
DIGEST = re.compile(r"[0-9a-f]{64}")
REPAIR = "the model folder is damaged; run `dvc repro` (or `dvc checkout`) to restore it"


def corrupt(path: Path, problem: str) -> UserError:
    return UserError(f"{path}: {problem}; {REPAIR}")


def first_line(err: Exception) -> str:
    """An exception's message, first line and at most 200 characters, or its type's name."""
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def sha256(path: Path) -> str:
    """The file's SHA-256, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        while size := handle.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def canonical(meta: dict) -> bytes:
    """model.json's fields, but the seal, as one byte string that does not depend on layout or key order."""
    rest = {key: value for key, value in meta.items() if key != SEAL}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def member(folder: Path, name) -> Path:
    """`folder/name` for a manifest entry, which must name a file in the folder itself: no other
    folder, no '..', no absolute path, no link to a file outside it."""
    folder = Path(folder)
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name
            or "\x00" in name):
        raise corrupt(folder / "model.json", f"the manifest ('files') names {name!r}; expected a file name in "
                                             "the model folder")
    path = folder / name
    if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
        raise corrupt(path, "is a link to a file outside the model folder")
    return path


def check_files(folder: Path, manifest, needed: tuple[str, ...], skip: tuple[str, ...] = ()) -> None:
    """Every file in the manifest (but `skip`: files this loader does not read) is present and
    unchanged, and the manifest lists every file in `needed`."""
    folder, path = Path(folder), Path(folder) / "model.json"
    if not isinstance(manifest, dict) or not manifest:
        raise corrupt(path, "field 'files' (the saved files and their SHA-256) is missing")
    for name in needed:
        if name not in manifest:
            raise corrupt(path, f"the manifest ('files') does not list {name}")
    for name, digest in manifest.items():  # every entry first: nothing outside the folder is ever read
        member(folder, name)
        if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
            raise corrupt(path, f"the manifest's SHA-256 of {name} is {digest!r}; expected 64 hex digits")
    for name, digest in manifest.items():
        file = folder / name
        if name in skip:
            continue
        if not file.is_file():
            raise corrupt(file, "missing")
        if sha256(file) != digest:
            raise corrupt(file, "differs from the file saved with the model (SHA-256 mismatch)")


def check_seal(meta: dict, path: Path) -> None:
    """model.json's fields are those saved (after its loader has checked their shape, so that a
    field of the wrong shape is named as such)."""
    if not isinstance(meta.get(SEAL), str):
        raise corrupt(path, f"has no field {SEAL!r} (the SHA-256 of its other fields): written before model files "
                            "were sealed, or damaged")
    if meta[SEAL] != hashlib.sha256(canonical(meta)).hexdigest():
        raise corrupt(path, f"differs from the file saved with the model (field {SEAL!r}, the SHA-256 of the "
                            "other fields, does not match them)")


@contextmanager
def verified_only(folder: Path, names: list[str]) -> Iterator[Path]:
    """A private folder of links to the (checked) files `names` of `folder` and nothing else, for a
    loader that reads whatever it finds beside the files it is given (Hugging Face's
    from_pretrained reads added_tokens.json, chat templates, adapters ... if present)."""
    with tempfile.TemporaryDirectory(prefix="stance-model-") as private:
        for name in names:
            os.symlink(member(folder, name).resolve(), Path(private) / name)
        yield Path(private)


def write_model_json(folder: Path, meta: dict, names: list[str]) -> dict:
    """Write model.json: `meta`, the SHA-256 of the files `names` in `folder` and the seal. Returns it."""
    folder = Path(folder)
    meta = json.loads(json.dumps(dict(meta, files={name: sha256(member(folder, name)) for name in sorted(set(names))})))
    meta.pop(SEAL, None)
    meta[SEAL] = hashlib.sha256(canonical(meta)).hexdigest()
    (folder / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s (%d files hashed)", folder / "model.json", len(meta["files"]))
    return meta
