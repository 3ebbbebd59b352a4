"""Actor knowledge from configs/actors.yaml: tag known names with their speaker side."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from pipeline.config import CONFIGS

ACTORS_FILE = CONFIGS / "actors.yaml"


@lru_cache(maxsize=None)
def _compiled(path: str) -> tuple[re.Pattern, dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    tags, tag_of = data["tags"], {}
    for side, names in data["sides"].items():
        for name in names:
            tag_of[name] = tags[side]
    # Longest first so "White House" wins over a shorter overlapping name.
    names = sorted(tag_of, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?:['’]s)?(?![\w-])")
    return pattern, tag_of


def tag_actors(text: str, path: Path = ACTORS_FILE) -> str:
    """'Rubio said' -> 'Rubio (American side) said'; unknown names are left alone."""
    pattern, tag_of = _compiled(str(path))
    return pattern.sub(lambda m: f"{m.group(0)} ({tag_of[m.group(1)]})", text)
