"""The transformer model: one shared encoder, one classification head per task.

A saved model folder is self-describing: `model.safetensors` (encoder + heads), the encoder's
`config.json`, the tokenizer files, and `model.json` (label lists, input format, pooling).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from pipeline.config import TASKS
from pipeline.errors import UserError
from pipeline.inputs import pair_inputs

log = logging.getLogger(__name__)
# Nothing may reach the network: every load is from a local folder.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of token states over real tokens (all-MiniLM-L6-v2 was trained with mean pooling)."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class MultiTaskNet(nn.Module):
    def __init__(self, encoder: nn.Module, labels: dict[str, list[str]], dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        hidden = encoder.config.hidden_size
        self.heads = nn.ModuleDict({task: nn.Linear(hidden, len(labels[task])) for task in TASKS})

    def layers(self):
        """The encoder's layer list for BERT-style encoders, else None (no frozen-state cache)."""
        return getattr(getattr(self.encoder, "encoder", None), "layer", None)

    def pooled_logits(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = self.dropout(mean_pool(hidden, attention_mask))
        return {task: head(pooled) for task, head in self.heads.items()}

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None,
                hidden_states=None, start_layer: int = 0) -> dict[str, torch.Tensor]:
        """Logits per task, from token ids, or from cached states after `start_layer` frozen layers."""
        if hidden_states is None:
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            return self.pooled_logits(self.encoder(**kwargs).last_hidden_state, attention_mask)
        return self.pooled_logits(self.run_layers(hidden_states, attention_mask, start_layer, None), attention_mask)

    def run_layers(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor, first: int, last: int | None):
        """Run encoder layers first..last-1 (BERT-style) on hidden states, as the encoder itself does."""
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(config=self.encoder.config, inputs_embeds=hidden_states,
                                         attention_mask=attention_mask)
        for layer in self.layers()[first:last]:
            out = layer(hidden_states, mask)
            hidden_states = out[0] if isinstance(out, tuple) else out
        return hidden_states

    @torch.no_grad()
    def frozen_states(self, batch: dict, n_layers: int) -> torch.Tensor:
        """Hidden states after the embeddings and the lowest n layers: computed once, reused every
        epoch. Only those layers run (not the whole encoder)."""
        self.encoder.eval()
        embedded = self.encoder.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
        return self.run_layers(embedded, batch["attention_mask"], 0, n_layers)


class TransformerModel:
    """Tokenizer + network + input format: everything prediction needs, in one object."""

    name = "transformer"

    def __init__(self, net: MultiTaskNet, tokenizer, labels: dict, input_format: dict, device: str = "cpu"):
        self.net, self.tokenizer, self.labels, self.input_format = net, tokenizer, labels, input_format
        self.device = device

    def encode(self, rows: list[dict]):
        return encode_pairs(self.tokenizer, rows, self.input_format, padding=True, return_tensors="pt")

    @torch.inference_mode()
    def predict_proba(self, rows: list[dict]) -> dict[str, np.ndarray]:
        self.net.eval()
        batch = {k: v.to(self.device) for k, v in self.encode(rows).items()}
        logits = self.net(**batch)
        return {task: torch.softmax(logits[task].float(), -1).cpu().numpy() for task in TASKS}


def input_format(max_length: int, actors: bool) -> dict:
    """How a row becomes model input; saved beside the weights so prediction builds it the same way."""
    return {"first": "{text}", "second": "{target} {sep} {context}", "truncation": "only_second",
            "max_length": max_length, "pooling": "mean", "actors": actors}


def encode_pairs(tokenizer, rows: list[dict], fmt: dict, **kwargs):
    """Tokenise rows as sentence pairs: the one tokenisation for training, evaluation and prediction."""
    first, second = pair_inputs(rows, tokenizer.sep_token or "|", fmt["actors"])
    return tokenizer(first, second, truncation=fmt["truncation"], max_length=fmt["max_length"], **kwargs)


def save(model: TransformerModel, folder: Path, params: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
    save_file(state, folder / "model.safetensors")
    model.net.encoder.config.save_pretrained(folder)
    model.tokenizer.save_pretrained(folder)
    meta = {"model": "transformer", "labels": model.labels, "input_format": model.input_format,
            "dropout": model.net.dropout.p, "params": params}
    (folder / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load(folder: Path, device: str | None = None) -> TransformerModel:
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    folder = Path(folder)
    try:
        meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder, local_files_only=True))
        net = MultiTaskNet(encoder, meta["labels"], meta["dropout"])
        net.load_state_dict(load_file(folder / "model.safetensors"))
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError, json.JSONDecodeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"transformer model in {folder} is missing or corrupt ({reason}); run `dvc repro`") from None
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return TransformerModel(net.to(device).eval(), tokenizer, meta["labels"], meta["input_format"], device)
