"""Fine-tuning the transformer tagger: frozen lower layers, class-weighted losses (with a teacher's
probabilities where one is given), WiSE-FT interpolation. The recipe that combines the runs (shared
run, fold and final models, teacher): pipeline/training/recipe.py."""
from __future__ import annotations

import logging
import random
import time

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from pipeline.core.config import TASKS
from pipeline.models.encoders import model_source
from pipeline.models.packing import pooled
from pipeline.models.transformer import MultiTaskNet, TransformerModel, input_format
from pipeline.training import distributed as dist
from pipeline.training.batching import batches, collate, features
from pipeline.training.training_log import TrainingLog

log = logging.getLogger(__name__)


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


def keep_layers(encoder, n: int | None):
    """The encoder with only its lowest `n` layers (None or 0: all): fewer layers, less arithmetic
    per sentence. The config says so too, so the saved checkpoint loads as an n-layer model."""
    layers = encoder.encoder.layer
    if n and n < len(layers):
        encoder.encoder.layer = layers[:n]
        encoder.config.num_hidden_layers = n
    return encoder


def new_model(cfg: dict, labels: dict, device: str, model_info: dict, start: dict | None) -> TransformerModel:
    """The pretrained encoder (or a `start` state) with fresh heads, lower layers frozen.
    `model_info` carries what the saved model keeps for prediction: sides, actors, context_sentences."""
    source = model_source(cfg["model"])
    tokenizer = AutoTokenizer.from_pretrained(source)
    fmt = input_format(cfg["max_length"], tokenizer, cfg["packed"], cfg["pack_attention"], cfg["pack_pool"])
    net = MultiTaskNet(keep_layers(AutoModel.from_pretrained(source), cfg["num_layers"]), labels,
                       cfg["dropout"], pooled(fmt)).to(device)
    if start is not None:
        net.load_state_dict(start)
    freeze(net, cfg["freeze_layers"])
    return TransformerModel(net, tokenizer, labels, fmt, device, **model_info)


def fit(train: list[dict], labels: dict, cfg: dict, *, epochs: int, seed: int, device: str, model_info: dict,
        cache: dict, start: dict | None = None, interpolation: float = 1.0, history: TrainingLog | None = None,
        tag: str = "fit", monitor: list[dict] = (), soft: dict[str, np.ndarray] | None = None) -> TransformerModel:
    """Fine-tune on `train` for `epochs`, from the pretrained encoder or from a `start` state dict,
    whose weights are then interpolated towards (`interpolation` 1: none). `monitor` rows are only
    predicted after each epoch for the learning curve; `cache` holds frozen-layer states by uid.
    `soft`: a teacher's probabilities per task for every row of `train`, learnt with weight
    `cfg["distill_weight"]` beside the labels (see `loss`)."""
    torch.manual_seed(seed), random.seed(seed), np.random.seed(seed)
    model = new_model(cfg, labels, device, model_info, start)
    net = model.net
    feats, members = features(train, model, cfg["freeze_layers"], cache)
    start_layer = cfg["freeze_layers"] if "hidden_states" in feats[0] else 0
    items = [dict(f, **{f"y_{t}": torch.tensor([labels[t].index(train[i][t]) for i in rows]) for t in TASKS})
             for f, rows in zip(feats, members)]
    if soft is not None:
        for item, rows in zip(items, members):
            item.update({f"q_{t}": torch.from_numpy(np.asarray(soft[t][rows], dtype=np.float32)) for t in TASKS})
    weights = {t: class_weights(train, labels[t], t).to(device) for t in TASKS}
    trainable = dist.wrap(net, device)
    head = [p for n, p in net.named_parameters() if n.startswith("heads.")]
    body = [p for n, p in net.named_parameters() if not n.startswith("heads.") and p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": body, "lr": cfg["learning_rate"]},
                                   {"params": head, "lr": cfg["head_learning_rate"]}], weight_decay=cfg["weight_decay"])
    lengths = [len(f["attention_mask"]) for f in feats]
    # batch_size counts sentences: a batch holds about that many, in packs or one a pair.
    size = max(1, round(cfg["batch_size"] * len(items) / len(train)))
    steps = epochs * len(batches(lengths, size, seed))
    schedule = get_linear_schedule_with_warmup(optimizer, int(cfg["warmup_ratio"] * steps), steps)
    for epoch in range(epochs):
        net.train()
        started, total, count = time.time(), 0.0, 0
        for idx in tqdm(batches(lengths, size, seed * 1000 + epoch), desc=f"{tag} epoch {epoch + 1}",
                        unit="batch", leave=False, disable=not dist.is_main()):
            batch = {k: v.to(device) for k, v in collate([items[i] for i in idx]).items()}
            targets = {t: batch.pop(f"y_{t}").reshape(-1) for t in TASKS}
            teacher = {t: batch.pop(f"q_{t}").flatten(0, -2) for t in TASKS} if soft is not None else None
            with dist.autocast(device, cfg["precision"]):
                logits = trainable(**batch, start_layer=start_layer)
                loss = sum(task_loss(logits[t].float().reshape(len(targets[t]), -1), targets[t], weights[t],
                                     None if teacher is None else teacher[t], cfg.get("distill_weight", 0.0))
                           for t in TASKS)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(body + head, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total, count = total + loss.item(), count + 1
        if start is not None and epoch == epochs - 1:
            interpolate(net, start, interpolation)
        if history is not None:
            history.epoch(tag, epoch, total / max(count, 1), time.time() - started, model, monitor)
    return model


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
