"""stance-pipeline: label every sentence of a news article for speaker, stance and role.

    import pipeline
    tagger = pipeline.load_model("models/transformer")   # the type is read from the folder
    records = pipeline.predict("Article text ...", target="The contested claim.")

Layers, imports pointing one way: core <- data <- models <- inference <- evaluation <- training
<- api <- commands; the stage scripts (pipeline/stages/) are leaves that nothing imports.
"""
from __future__ import annotations

import importlib
import os

# Nothing may reach the network: every load is from a local folder. Set here, before any module
# of the package can import transformers (huggingface_hub reads these once, at its import).
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")

# The public API lives in pipeline.api; it is imported on first use (PEP 562), so that a
# stage such as `prepare` does not load the inference layer (and its DVC dependencies).
_API = {"load_model": "pipeline.models", "predict": "pipeline.api"}


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
