"""Fine-tuning the transformer tagger: frozen lower layers, class-weighted losses, a shared run on
the train-only (synthetic) rows, then per-model fine-tuning on real rows with WiSE-FT."""
from __future__ import annotations

import logging
import random
import time

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from pipeline.core.config import TASKS
from pipeline.data.schema import TRAIN_ONLY
from pipeline.models.encoders import model_source
from pipeline.models.packing import pooled
from pipeline.models.transformer import MultiTaskNet, TransformerModel, input_format
from pipeline.training import distributed as dist
from pipeline.training.batching import batches, collate, features
from pipeline.training.cv import join_folds, out_of_fold
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
        tag: str = "fit", monitor: list[dict] = ()) -> TransformerModel:
    """Fine-tune on `train` for `epochs`, from the pretrained encoder or from a `start` state dict,
    whose weights are then interpolated towards (`interpolation` 1: none). `monitor` rows are only
    predicted after each epoch for the learning curve; `cache` holds frozen-layer states by uid."""
    torch.manual_seed(seed), random.seed(seed), np.random.seed(seed)
    model = new_model(cfg, labels, device, model_info, start)
    net = model.net
    feats, members = features(train, model, cfg["freeze_layers"], cache)
    start_layer = cfg["freeze_layers"] if "hidden_states" in feats[0] else 0
    items = [dict(f, **{f"y_{t}": torch.tensor([labels[t].index(train[i][t]) for i in rows]) for t in TASKS})
             for f, rows in zip(feats, members)]
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
            with dist.autocast(device, cfg["precision"]):
                logits = trainable(**batch, start_layer=start_layer)
                loss = sum(torch.nn.functional.cross_entropy(
                    logits[t].float().reshape(len(targets[t]), -1), targets[t], weight=weights[t], ignore_index=-100)
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


def interpolate(net: torch.nn.Module, start: dict, alpha: float) -> None:
    """WiSE-FT (Wortsman et al., 2022): replace the fine-tuned weights by start + alpha * (fine-tuned - start).
    alpha 1 keeps the fine-tuned model, 0 the start (shared-run) model; in between keeps most of what
    the few real rows taught without forgetting what the broader shared run learned."""
    state = net.state_dict()
    net.load_state_dict({k: torch.lerp(start[k].to(v.device, v.dtype), v, alpha) if v.is_floating_point() else v
                         for k, v in state.items()})


def shared_phase(rows: list[dict], fold_of: dict[str, int], cfg: dict, labels: dict, device: str, model_info: dict,
                 cache: dict, history: TrainingLog) -> tuple[dict | None, list[dict]]:
    """Train once on the train-only (synthetic, fold -1) rows, which every fold shares.

    Each fold model and the final model then start from this state and fine-tune for
    `finetune_epochs` on their own real rows only, ending at `finetune_interpolation` of the way
    from the shared state to their fine-tuned weights (see `interpolate`). Held-out rows never reach
    their fold's model, and the shared rows are trained on once instead of six times.
    Returns (start state, or None without train-only rows; rows left for cross-validation).
    """
    shared = [r for r in rows if fold_of[r["uid"]] == TRAIN_ONLY]
    if not shared:
        return None, rows
    log.info("train-only phase: %d shared rows, %d epochs", len(shared), cfg["epochs"])
    base = fit(shared, labels, cfg, epochs=cfg["epochs"], seed=cfg["seed"], device=device, model_info=model_info,
               cache=cache, history=history, tag="train-only")
    return {k: v.detach().clone() for k, v in base.net.state_dict().items()}, [
        r for r in rows if fold_of[r["uid"]] != TRAIN_ONLY]


def train(rows: list[dict], folds: list[dict], cfg: dict, labels: dict, device: str, model_info: dict,
          history: TrainingLog, cross_validate: bool = True) -> tuple[list[dict], TransformerModel]:
    """The transformer stage's training: the shared run, one model per fold (their out-of-fold
    predictions) and the final model on every real row. Without train-only rows every model trains
    from the pretrained encoder for `epochs`. Returns (out-of-fold predictions, final model)."""
    fold_of, cache = join_folds(rows, folds), {}
    start, real = shared_phase(rows, fold_of, cfg, labels, device, model_info, cache, history)
    epochs = cfg["finetune_epochs"] if start is not None else cfg["epochs"]

    def fit_rows(train_rows: list[dict], seed: int, tag: str, monitor: list[dict] = ()) -> TransformerModel:
        return fit(train_rows, labels, cfg, epochs=epochs, seed=seed, device=device, model_info=model_info,
                   cache=cache, start=start, interpolation=cfg["finetune_interpolation"], history=history,
                   tag=tag, monitor=monitor)

    oof = out_of_fold(real, folds, lambda train_rows, fold, test: fit_rows(
        train_rows, cfg["seed"] + fold, f"fold {fold}", test)) if cross_validate else []
    return oof, fit_rows(real, cfg["seed"], "final")


def fit_final(rows: list[dict], cfg: dict, labels: dict, device: str, model_info: dict) -> TransformerModel:
    """The stage's final model alone, trained exactly as the stage trains it (the shared run on the
    synthetic rows, then the real ones), without the cross-validation: for the benchmarks."""
    folds = [{"uid": r["uid"], "fold": TRAIN_ONLY if r["synthetic"] else 0} for r in rows]
    return train(rows, folds, cfg, labels, device, model_info, TrainingLog(labels), cross_validate=False)[1]
