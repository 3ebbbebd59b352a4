"""Stage `transformer`: fine-tune a shared encoder with three heads, cross-validated, offline."""
from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from pipeline import distributed as dist
from pipeline import model_card
from pipeline.config import TASKS, label_sets, params
from pipeline.cv import join_folds, out_of_fold, stage_parser
from pipeline.evaluate import align, score_rows
from pipeline.encoders import model_source
from pipeline.errors import UserError, cli
from pipeline.jsonl import load_rows, write_jsonl
from pipeline.multitask import MultiTaskNet, TransformerModel, input_format, save
from pipeline.transformer_data import batches, collate, features
from pipeline.split import TRAIN_ONLY
from pipeline.structure import configured_sides
from pipeline.training_log import TrainingLog

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


def fit(train: list[dict], monitor: list[dict], cfg: dict, labels: dict, device: str, seed: int,
        history: TrainingLog, tag: str, cache: dict, start: dict | None = None) -> TransformerModel:
    """Fine-tune on `train` for cfg["epochs"], from the pretrained encoder or from a `start` state dict.
    `monitor` rows are only predicted after each epoch for the learning curve."""
    torch.manual_seed(seed), random.seed(seed), np.random.seed(seed)
    source = model_source(cfg["model"])
    tokenizer = AutoTokenizer.from_pretrained(source)
    net = MultiTaskNet(AutoModel.from_pretrained(source), labels, cfg["dropout"]).to(device)
    if start is not None:
        net.load_state_dict(start)
    freeze(net, cfg["freeze_layers"])
    fmt = input_format(cfg["max_length"], cfg["use_actors"])
    model = TransformerModel(net, tokenizer, labels, fmt, device, configured_sides())
    feats = features(train, model, cfg, cache)
    start_layer = cfg["freeze_layers"] if "hidden_states" in feats[0] else 0
    targets = {t: torch.tensor([labels[t].index(r[t]) for r in train]) for t in TASKS}
    weights = {t: class_weights(train, labels[t], t).to(device) for t in TASKS}
    trainable = dist.wrap(net, device)
    head = [p for n, p in net.named_parameters() if n.startswith("heads.")]
    body = [p for n, p in net.named_parameters() if not n.startswith("heads.") and p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": body, "lr": cfg["learning_rate"]},
                                   {"params": head, "lr": cfg["head_learning_rate"]}], weight_decay=cfg["weight_decay"])
    lengths = [len(f["attention_mask"]) for f in feats]
    steps = cfg["epochs"] * len(batches(lengths, cfg["batch_size"], seed))
    schedule = get_linear_schedule_with_warmup(optimizer, int(cfg["warmup_ratio"] * steps), steps)
    for epoch in range(cfg["epochs"]):
        net.train()
        started, total, count = time.time(), 0.0, 0
        for idx in tqdm(batches(lengths, cfg["batch_size"], seed * 1000 + epoch), desc=f"{tag} epoch {epoch + 1}",
                        unit="batch", leave=False, disable=not dist.is_main()):
            batch = {k: v.to(device) for k, v in collate([feats[i] for i in idx]).items()}
            with dist.autocast(device, cfg["precision"]):
                logits = trainable(**batch, start_layer=start_layer)
                loss = sum(torch.nn.functional.cross_entropy(logits[t].float(), targets[t][idx].to(device),
                                                             weight=weights[t]) for t in TASKS)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(body + head, 1.0)
            optimizer.step(), schedule.step(), optimizer.zero_grad()
            total, count = total + loss.item(), count + 1
        if start is not None and epoch == cfg["epochs"] - 1:
            interpolate(net, start, cfg["finetune_interpolation"])
        history.epoch(tag, epoch, total / max(count, 1), time.time() - started, model, monitor)
    return model


def interpolate(net: torch.nn.Module, start: dict, alpha: float) -> None:
    """WiSE-FT (Wortsman et al., 2022): replace the fine-tuned weights by start + alpha * (fine-tuned - start).
    alpha 1 keeps the fine-tuned model, 0 the start (shared-run) model; in between keeps most of what
    the few real rows taught without forgetting what the broader shared run learned."""
    state = net.state_dict()
    net.load_state_dict({k: torch.lerp(start[k].to(v.device, v.dtype), v, alpha) if v.is_floating_point() else v
                         for k, v in state.items()})


def train_only_phase(rows: list[dict], folds: list[dict], cfg: dict, labels: dict, device: str,
                     history: TrainingLog, cache: dict) -> tuple[dict | None, list[dict], dict]:
    """Train once on the train-only (synthetic, fold -1) rows, which every fold shares.

    Each fold model and the final model then start from this state and fine-tune for
    `finetune_epochs` on their own real rows only, and end at `finetune_interpolation` of the way from
    the shared state to their fine-tuned weights (see `interpolate`). Held-out rows never reach their fold's model,
    and the shared rows are trained on once instead of six times. Without train-only rows, every
    model trains from the pretrained encoder for `epochs`.
    Returns (start state or None, rows left for cross-validation, params for the per-fold phase).
    """
    fold_of = join_folds(rows, folds)
    shared = [r for r in rows if fold_of[r["uid"]] == TRAIN_ONLY]
    if not shared:
        return None, rows, cfg
    log.info("train-only phase: %d shared rows, %d epochs", len(shared), cfg["epochs"])
    base = fit(shared, [], cfg, labels, device, cfg["seed"], history, "train-only", cache)
    state = {k: v.detach().clone() for k, v in base.net.state_dict().items()}
    rest = [r for r in rows if fold_of[r["uid"]] != TRAIN_ONLY]
    return state, rest, dict(cfg, epochs=cfg["finetune_epochs"])


def fit_final(rows: list[dict], cfg: dict, labels: dict, device: str = "cpu") -> TransformerModel:
    """The stage's final model alone, without cross-validation: the shared run on the synthetic
    (train-only) rows, then fine-tuning on the real ones. For experiments such as bench/ablation_dev.py."""
    folds = [{"uid": r["uid"], "fold": TRAIN_ONLY if r["synthetic"] else 0} for r in rows]
    history, cache = TrainingLog(labels), {}
    start, real, tune = train_only_phase(rows, folds, cfg, labels, device, history, cache)
    return fit(real, [], tune, labels, device, cfg["seed"], history, "final", cache, start)


@cli
def main(argv: list[str] | None = None) -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--live", type=Path, required=True, help="DVCLive folder for the training curves")
    args = parser.parse_args(argv)
    cfg, labels = params("transformer"), label_sets()
    if cfg["epochs"] < 1 or cfg["batch_size"] < 1:
        raise UserError("transformer: epochs and batch_size must be at least 1")
    alpha = cfg["finetune_interpolation"]
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"transformer.finetune_interpolation must be between 0 and 1, got {alpha}")
    device = dist.setup(cfg["device"])
    rows, folds = load_rows(args.data), load_rows(args.folds)
    history = TrainingLog(labels)
    log.info("training on %s: %d rows, %d folds, model %s", device, len(rows), len({f['fold'] for f in folds} - {TRAIN_ONLY}),
             cfg["model"])
    cache: dict = {}
    start, rows_cv, tune = train_only_phase(rows, folds, cfg, labels, device, history, cache)
    oof = out_of_fold(rows_cv, folds, lambda train, fold, test: fit(
        train, test, tune, labels, device, cfg["seed"] + fold, history, f"fold {fold}", cache, start))
    final = fit(rows_cv, [], tune, labels, device, cfg["seed"], history, "final", cache, start)
    if dist.is_main():
        write_jsonl(args.out / "oof.jsonl", oof)
        save(final, args.out, cfg)
        history.write(args.live, args.out / "training.json")
        scores = score_rows(*align(rows, oof))
        model_card.write(args.out, rows, scores, cfg, history.summary())
        log.info("saved transformer trained on %d rows and %d out-of-fold predictions to %s", len(rows), len(oof), args.out)
    dist.barrier()
    dist.teardown()


if __name__ == "__main__":
    main()
