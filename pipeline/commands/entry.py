"""Console entry points (pyproject.toml's [project.scripts]).

Each imports its command's module inside a guard, so a Ctrl-C while those imports run (torch,
transformers, pandas: seconds) ends with one line and exit 130, like a Ctrl-C during the run.
Only the standard library is imported here. `python -m pipeline.commands.evaluate` (and
`.labelstudio.cli`) hand over to these functions before their own heavy imports, so the guard
covers that way of running them too. Not covered: a Ctrl-C in the interpreter's own start-up
(the `site` module and the package's install hook, the first ~20 ms), before any project code runs.
"""
from __future__ import annotations

import importlib
import sys


def _run(module: str, function: str) -> None:
    try:
        main = getattr(importlib.import_module(module), function)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    main()


def stance_predict() -> None:
    _run("pipeline.commands.predict", "main")


def stance_evaluate() -> None:
    _run("pipeline.commands.evaluate", "main")


def stance_labelstudio() -> None:
    _run("pipeline.commands.labelstudio.cli", "main")


def stance_bulk() -> None:
    _run("pipeline.commands.bulk.cli", "main")


def stance_ingest() -> None:
    _run("pipeline.commands.ingest", "main")


def stance_summary() -> None:
    _run("pipeline.commands.summary.cli", "main")
