"""What fine-tuning does to the tagger's weights: the layers kept and frozen, the class-weighted
(optionally distilled) loss, and WiSE-FT interpolation. Used by pipeline/training/finetune.py."""
from __future__ import annotations

import numpy as np
import torch

from pipeline.models.network import MultiTaskNet


def keep_layers(encoder, n: int | None):
    """The encoder with only its lowest `n` layers (None or 0: all): fewer layers, less arithmetic
    per sentence. The config says so too, so the saved checkpoint loads as an n-layer model."""
    layers = encoder.encoder.layer
    if n and n < len(layers):
        encoder.encoder.layer = layers[:n]
        encoder.config.num_hidden_layers = n
    return encoder


def freeze(net: MultiTaskNet, n_layers: int) -> None:
    """Freeze the embeddings and the lowest n encoder layers (BERT-style names): fewer gradients,
    faster steps. The encoder's own pooler is unused (we mean-pool), so it never trains."""
    prefixes = ("pooler.",)
    if n_layers > 0:
        prefixes += ("embeddings.",) + tuple(f"encoder.layer.{i}." for i in range(n_layers))
    for name, param in net.encoder.named_parameters():
        if name.startswith(prefixes):
            param.requires_grad_(False)


def class_weights(rows: list[dict], labels: list[str], task: str) -> torch.Tensor:
    """Balanced weights n / (k * count); labels absent from training get weight 0."""
    counts = np.array([sum(r[task] == label for r in rows) for label in labels], dtype=float)
    present = counts > 0
    weights = np.where(present, counts.sum() / (present.sum() * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float)


def task_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, teacher: torch.Tensor | None,
              distill: float) -> torch.Tensor:
    """Class-weighted cross-entropy with the labels (-100: padding, ignored); with a teacher's
    probabilities, (1 - distill) of it plus distill times the cross-entropy with the teacher's
    probabilities (knowledge distillation, Hinton et al., 2015, at temperature 1)."""
    hard = torch.nn.functional.cross_entropy(logits, target, weight=weight, ignore_index=-100)
    if teacher is None or distill == 0:
        return hard
    real = target != -100
    taught = -(teacher[real] * torch.log_softmax(logits[real], -1)).sum(-1).mean()
    return (1 - distill) * hard + distill * taught


def interpolate(net: torch.nn.Module, start: dict, alpha: float) -> None:
    """WiSE-FT (Wortsman et al., 2022): replace the fine-tuned weights by start + alpha * (fine-tuned - start).
    alpha 1 keeps the fine-tuned model, 0 the start (shared-run) model; in between keeps most of what
    the few real rows taught without forgetting what the broader shared run learned."""
    state = net.state_dict()
    net.load_state_dict({k: torch.lerp(start[k].to(v.device, v.dtype), v, alpha) if v.is_floating_point() else v
                         for k, v in state.items()})
