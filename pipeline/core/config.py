"""The one place configuration is read: `configs/params.yaml` and `configs/labels.yaml`.

The project folder (the one holding `configs/`) is `$STANCE_PIPELINE_ROOT` if set, else the
nearest folder from the working directory upwards that has `configs/params.yaml`, else the
source checkout this package was installed from (an editable install).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

from pipeline.core.errors import UserError

TASKS = ("speaker", "stance", "role")


def find_root() -> Path:
    if os.environ.get("STANCE_PIPELINE_ROOT"):
        return Path(os.environ["STANCE_PIPELINE_ROOT"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "configs" / "params.yaml").is_file():
            return folder
    return Path(__file__).resolve().parents[2]


ROOT = find_root()
CONFIGS = ROOT / "configs"
PARAMS_FILE = CONFIGS / "params.yaml"
LABELS_FILE = CONFIGS / "labels.yaml"
ACTORS_FILE = CONFIGS / "actors.yaml"


def read_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle) or {}
    except FileNotFoundError:
        raise UserError(f"{path} not found; run inside the project folder or set STANCE_PIPELINE_ROOT") from None


@lru_cache(maxsize=None)
def _params(path: str) -> dict:
    return read_yaml(Path(path))


def params(section: str | None = None, path: Path = PARAMS_FILE) -> dict:
    """All params, or one stage's section of them."""
    data = _params(str(path))
    return data if section is None else dict(data[section])


@lru_cache(maxsize=None)
def label_sets(path: Path = LABELS_FILE) -> dict[str, list[str]]:
    """Allowed labels per task, in the order that fixes class indices."""
    data = read_yaml(path)
    return {task: list(data[task]) for task in TASKS}
