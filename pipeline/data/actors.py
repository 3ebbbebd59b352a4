"""Actor knowledge: tag known names with their speaker side ("Rubio" -> "Rubio (American side)").

The table ({"tags", "sides", "not_names"}) comes from configs/actors.yaml at training time and is
saved inside each model, so prediction tags with the list the model was trained with.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from pipeline.core.config import ACTORS_FILE, read_yaml


def load_actors(path: Path = ACTORS_FILE) -> dict:
    """The actor table of a YAML file: tags per side, names per side, and longer proper names that
    merely start with a listed name ("Costa Rica"), which are left alone."""
    data = read_yaml(path)
    return {"tags": dict(data["tags"]), "sides": {side: list(names) for side, names in data["sides"].items()},
            "not_names": list(data.get("not_names") or [])}


@lru_cache(maxsize=8)
def _compiled(key: str) -> tuple[re.Pattern, dict[str, str]]:
    table = json.loads(key)
    tag_of = {name: table["tags"][side] for side, names in table["sides"].items() for name in names}
    # Longest first so "White House" wins over a shorter overlapping name, and "Costa Rica" over "Costa".
    names = sorted(set(tag_of) | set(table.get("not_names", [])), key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?:['’]s)?(?![\w-])")
    return pattern, {name: tag for name, tag in tag_of.items() if name not in table.get("not_names", [])}


def tag_actors(text: str, table: dict) -> str:
    """'Rubio said' -> 'Rubio (American side) said'; unknown names are left alone."""
    pattern, tag_of = _compiled(json.dumps(table, sort_keys=True))
    return pattern.sub(lambda m: f"{m.group(0)} ({tag_of[m.group(1)]})" if m.group(1) in tag_of else m.group(0), text)
