"""The one place configuration is read: `configs/params.yaml` and `configs/labels.yaml`."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
PARAMS_FILE = CONFIGS / "params.yaml"
LABELS_FILE = CONFIGS / "labels.yaml"
TASKS = ("speaker", "stance", "role")


def _read_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


@lru_cache(maxsize=None)
def _params(path: str) -> dict:
    return _read_yaml(Path(path))


def params(section: str | None = None, path: Path = PARAMS_FILE) -> dict:
    """All params, or one stage's section of them."""
    data = _params(str(path))
    return data if section is None else dict(data[section])


@lru_cache(maxsize=None)
def label_sets(path: Path = LABELS_FILE) -> dict[str, list[str]]:
    """Allowed labels per task, in the order that fixes class indices."""
    data = _read_yaml(path)
    return {task: list(data[task]) for task in TASKS}
