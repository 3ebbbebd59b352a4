"""The transformer tagger's network: one shared encoder, one linear head per task.

Pairs run through the encoder as Hugging Face runs it. Packs (pipeline/models/packing.py) run its
layers one by one, each with its own additive attention mask: every layer keeps a sentence to the
target and itself, except the context layer, where it also sees its context sentence.
"""
from __future__ import annotations

import torch
from torch import nn
from transformers.masking_utils import create_bidirectional_mask

from pipeline.core.config import TASKS
from pipeline.models.packing import OWN, WITH_CONTEXT

# Attention kernels that add a float mask to the scores, as packs need. The encoder is loaded with
# sdpa; eager is accepted (asking for attention weights switches to it) and gives the same results.
MASKED_KERNELS = ("sdpa", "eager")


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of token states over real tokens (all-MiniLM-L6-v2 was trained with mean pooling)."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def additive_mask(visible: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A visibility (batch x 1 x query x key) as the additive float mask every attention kernel
    applies alike: 0 where a token may look, the dtype's minimum where it may not. (A boolean mask
    is honoured by sdpa but *added* as 0/1 by eager, which masks nothing.) The one place a pack's
    mask is built."""
    return torch.zeros(visible.shape, dtype=dtype, device=visible.device).masked_fill(~visible.bool(),
                                                                                     torch.finfo(dtype).min)


def check_packable(encoder, packed: bool) -> None:
    """Packs run BERT's layers one by one and give each sentence its own position ids through BERT's
    absolute position embeddings; other encoders (MPNet's relative position bias) would let a
    sentence's place in the pack change its labels."""
    kind = getattr(encoder.config, "model_type", None)
    if packed and kind != "bert":
        raise ValueError(f"packed inputs need a BERT-type encoder, not {kind!r}: set transformer.packed to false")


def tagger_net(encoder, labels: dict[str, list[str]], fmt: dict, dropout: float = 0.0) -> "MultiTaskNet":
    """The network of input format `fmt` around `encoder` (loaded with attn_implementation sdpa):
    what training builds and loading rebuilds. ValueError where packs cannot run on the encoder."""
    check_packable(encoder, fmt["format"] == "packed")
    return MultiTaskNet(encoder, labels, dropout, fmt.get("context_layer"))


class MultiTaskNet(nn.Module):
    def __init__(self, encoder: nn.Module, labels: dict[str, list[str]], dropout: float = 0.0,
                 context_layer: int | None = None):
        """`context_layer`: for packs, the encoder layer (1-based) in which a sentence attends to its
        context sentence."""
        super().__init__()
        kernel = getattr(encoder.config, "_attn_implementation", None)
        if kernel not in MASKED_KERNELS:
            raise ValueError(f"attention kernel {kernel!r} cannot apply a pack's masks; load the encoder "
                             f"with attn_implementation in {MASKED_KERNELS}")
        self.encoder, self.context_layer = encoder, context_layer
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({task: nn.Linear(encoder.config.hidden_size, len(labels[task])) for task in TASKS})

    def layers(self):
        """The encoder's layer list for BERT encoders (run_layers calls them as BERT's encoder does),
        else None: other encoders get no frozen-state cache and run whole."""
        if getattr(self.encoder.config, "model_type", None) != "bert":
            return None
        return getattr(getattr(self.encoder, "encoder", None), "layer", None)

    def pooled_logits(self, hidden: torch.Tensor, attention_mask: torch.Tensor,
                      pool: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Logits per input (mean of its tokens), or with `pool` (packs: pack x sentence x 1 x token)
        per packed sentence: pack x sentence x label."""
        if pool is None:
            pooled = mean_pool(hidden, attention_mask)
        else:
            pooled = torch.einsum("bsvt,bth->bsvh", pool.to(hidden.dtype), hidden).flatten(2)
        return {task: head(self.dropout(pooled)) for task, head in self.heads.items()}

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                hidden_states=None, start_layer: int = 0, pool=None) -> dict[str, torch.Tensor]:
        """Logits per task, from token ids, or from cached states after `start_layer` frozen layers.
        A pack's `attention_mask` is its channel x query x key visibility (packing.visible)."""
        if hidden_states is None and pool is None:
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            hidden = self.encoder(**{k: v for k, v in kwargs.items() if v is not None}).last_hidden_state
            return self.pooled_logits(hidden, attention_mask, None)
        if hidden_states is None:
            hidden_states = self.encoder.embeddings(input_ids=input_ids, token_type_ids=token_type_ids,
                                                    position_ids=position_ids)
        return self.pooled_logits(self.run_layers(hidden_states, attention_mask, start_layer, None), attention_mask, pool)

    def run_layers(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor, first: int, last: int | None):
        """Run encoder layers first..last-1 (BERT-style) on hidden states, as the encoder itself does,
        each with its mask: a pair's padding mask, or a pack's channel for that layer."""
        if attention_mask.dim() == 4:
            masks = [additive_mask(attention_mask[:, c:c + 1], hidden_states.dtype) for c in (OWN, WITH_CONTEXT)]
        else:
            masks = [create_bidirectional_mask(config=self.encoder.config, inputs_embeds=hidden_states,
                                               attention_mask=attention_mask)] * 2
        layers = self.layers()
        for index in range(first, len(layers) if last is None else last):
            out = layers[index](hidden_states, masks[WITH_CONTEXT if index + 1 == self.context_layer else OWN])
            hidden_states = out[0] if isinstance(out, tuple) else out
        return hidden_states

    @torch.no_grad()
    def frozen_states(self, batch: dict, n_layers: int) -> torch.Tensor:
        """Hidden states after the embeddings and the lowest n layers: computed once, reused every
        epoch. Only those layers run (not the whole encoder)."""
        self.encoder.eval()
        embedded = self.encoder.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"),
                                           position_ids=batch.get("position_ids"))
        return self.run_layers(embedded, batch["attention_mask"], 0, n_layers)
