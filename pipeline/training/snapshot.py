"""The snapshot of live configuration a model keeps for prediction, taken once, at training."""
from __future__ import annotations

from pipeline.core.config import params
from pipeline.data.actors import load_actors
from pipeline.models.side_decoding import configured_sides


def model_info(use_actors: bool) -> dict:
    """What a model trained now keeps for prediction besides its weights, read from configs/ once,
    at training: the stance decoding, the actor table (None without actor tags) and the context width."""
    return {"sides": configured_sides(), "actors": load_actors() if use_actors else None,
            "context_sentences": params("prepare")["context_sentences"]}
