"""Fine-tuning the transformer tagger: `Trainer(cfg, ...).fit(rows, Run(...))` trains one model,
with frozen lower layers and class-weighted losses (with a teacher's probabilities where the run
gives them), then WiSE-FT interpolation towards the run's start. The recipe that combines the
runs (shared run, fold and final models, teacher): pipeline/training/recipe.py."""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from pipeline.core.config import TASKS
from pipeline.models.encoders import model_source
from pipeline.models.network import MultiTaskNet, tagger_net
from pipeline.models.transformer import TransformerModel, input_format
from pipeline.training.batching import batches, collate, features
from pipeline.training.device import autocast
from pipeline.training.tuning import class_weights, freeze, interpolate, keep_layers, task_loss
from pipeline.training.training_log import TrainingLog
from pipeline.training.transformer_config import TransformerConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """What one training run adds to its trainer's config."""

    epochs: int
    seed: int
    tag: str = "fit"  # its name in the training log
    start: dict | None = None  # a state dict to start from (None: the pretrained encoder, fresh heads)
    interpolation: float = 1.0  # WiSE-FT after training: this much of the way from `start` (1: none)
    monitor: Sequence[dict] = ()  # rows predicted after each epoch for the learning curve, never to choose
    soft: dict[str, np.ndarray] | None = None  # a teacher's probabilities per task, one row per training row


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


class Trainer:
    """Trains models of one config. Holds what the runs of a recipe share: the label lists, the
    device, `model_info` (what a saved model keeps for prediction: sides, actors, context width),
    the frozen-layer states by input (`cache`: frozen layers never change) and the training log."""

    def __init__(self, cfg: TransformerConfig, labels: dict, device: str, model_info: dict,
                 history: TrainingLog | None = None):
        self.cfg, self.labels, self.device, self.model_info = cfg, labels, device, model_info
        self.history = history if history is not None else TrainingLog(labels)
        self.cache: dict = {}

    def for_teacher(self) -> Trainer:
        """A trainer of the teacher's config (its own cache: its inputs differ), logging to the same history."""
        return Trainer(self.cfg.teacher_config(), self.labels, self.device, self.model_info, self.history)

    def new_model(self, start: dict | None = None) -> TransformerModel:
        """The pretrained encoder (or a `start` state) with fresh heads, lower layers frozen."""
        cfg = self.cfg
        source = model_source(cfg.model)
        tokenizer = AutoTokenizer.from_pretrained(source)
        fmt = input_format(cfg.max_length, tokenizer, cfg.packed, cfg.pack_length, cfg.context_layer)
        encoder = keep_layers(AutoModel.from_pretrained(source, attn_implementation="sdpa"), cfg.num_layers)
        net = tagger_net(encoder, self.labels, fmt, cfg.dropout).to(self.device)
        if start is not None:
            net.load_state_dict(start)
        freeze(net, cfg.freeze_layers)
        return TransformerModel(net, tokenizer, self.labels, fmt, self.device, **self.model_info)

    def fit(self, rows: list[dict], run: Run) -> TransformerModel:
        """A model trained on `rows` for `run.epochs` from `run.start` (or the pretrained encoder),
        then interpolated towards `run.start` (WiSE-FT, tuning.interpolate)."""
        seed_everything(run.seed)
        model = self.new_model(run.start)
        items, start_layer = self.items(rows, model, run.soft)
        lengths = [len(item["attention_mask"]) for item in items]
        # batch_size counts sentences: a batch holds about that many, in packs or one a pair.
        size = max(1, round(self.cfg.batch_size * len(items) / len(rows)))
        weights = {t: class_weights(rows, self.labels[t], t).to(self.device) for t in TASKS}
        optimizer, params = self.optimizer(model.net)
        steps = run.epochs * len(batches(lengths, size, run.seed))
        schedule = get_linear_schedule_with_warmup(optimizer, int(self.cfg.warmup_ratio * steps), steps)
        for epoch in range(run.epochs):
            model.net.train()
            started, total, count = time.time(), 0.0, 0
            for idx in tqdm(batches(lengths, size, run.seed * 1000 + epoch), desc=f"{run.tag} epoch {epoch + 1}",
                            unit="batch", leave=False):
                loss = self.loss(model, [items[i] for i in idx], weights, start_layer, run.soft is not None)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad()
                total, count = total + loss.item(), count + 1
            self.history.epoch(run.tag, epoch, total / max(count, 1), time.time() - started)
            if epoch < run.epochs - 1:
                self.history.predict_held_out(epoch, model, run.monitor)
        if run.start is not None:
            interpolate(model.net, run.start, run.interpolation)
        if run.epochs:  # the last point of the learning curve is the finished model
            self.history.predict_held_out(run.epochs - 1, model, run.monitor)
        return model

    def items(self, rows: list[dict], model: TransformerModel, soft: dict | None) -> tuple[list[dict], int]:
        """Training items (features, labels `y_<task>`, teacher probabilities `q_<task>`) and the
        layer their features enter the encoder at (after the cached frozen layers, else 0)."""
        feats, members = features(rows, model, self.cfg.freeze_layers, self.cache)
        start_layer = self.cfg.freeze_layers if "hidden_states" in feats[0] else 0
        labels = self.labels
        items = [dict(f, **{f"y_{t}": torch.tensor([labels[t].index(rows[i][t]) for i in m]) for t in TASKS})
                 for f, m in zip(feats, members)]
        if soft is not None:
            for item, m in zip(items, members):
                item.update({f"q_{t}": torch.from_numpy(np.asarray(soft[t][m], dtype=np.float32)) for t in TASKS})
        return items, start_layer

    def optimizer(self, net: MultiTaskNet) -> tuple[torch.optim.Optimizer, list[torch.nn.Parameter]]:
        """AdamW with the body's and the heads' learning rates; the parameters whose gradients are clipped."""
        head = [p for n, p in net.named_parameters() if n.startswith("heads.")]
        body = [p for n, p in net.named_parameters() if not n.startswith("heads.") and p.requires_grad]
        groups = [{"params": body, "lr": self.cfg.learning_rate}, {"params": head, "lr": self.cfg.head_learning_rate}]
        return torch.optim.AdamW(groups, weight_decay=self.cfg.weight_decay), body + head

    def loss(self, model: TransformerModel, items: list[dict], weights: dict, start_layer: int,
             taught: bool) -> torch.Tensor:
        """The summed task losses of one batch (tuning.task_loss)."""
        batch = {k: v.to(self.device) for k, v in collate(items, model).items()}
        targets = {t: batch.pop(f"y_{t}").reshape(-1) for t in TASKS}
        teacher = {t: batch.pop(f"q_{t}").flatten(0, -2) for t in TASKS} if taught else None
        with autocast(self.device, self.cfg.precision):
            logits = model.net(**batch, start_layer=start_layer)
            return sum(task_loss(logits[t].float().reshape(len(targets[t]), -1), targets[t], weights[t],
                                 None if teacher is None else teacher[t], self.cfg.distill_weight) for t in TASKS)
