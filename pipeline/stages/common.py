"""What every training stage shares: its command-line arguments. (Not a stage: the stage scripts
import it.)"""
from __future__ import annotations

import argparse
from pathlib import Path


def stage_parser(description: str) -> argparse.ArgumentParser:
    """Arguments every training stage takes: prepared sentences, folds, output folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, required=True, help="prepared sentences (data/prepare)")
    parser.add_argument("--folds", type=Path, required=True, help="fold of every sentence (data/split)")
    parser.add_argument("--out", type=Path, required=True, help="model folder")
    return parser
