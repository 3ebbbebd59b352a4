"""The fine-tuned tagger as one ONNX graph: token ids in, each task's probabilities out.

Written beside the PyTorch weights by the transformer stage, so CPU prediction
(pipeline/models/transformer_onnx.py) runs with ONNX Runtime and `tokenizers` alone: no torch
import, which is most of a one-sentence run's time.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from pipeline.core.config import TASKS
from pipeline.models.packing import pad, unpadded

log = logging.getLogger(__name__)
INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "pool")
# Two short articles (the first of two sentences): a traced example with every input a pack has.
EXAMPLE = [{"article_id": "a", "text": "Kyiv denied it.", "context": "Before.", "target": "A claim."},
           {"article_id": "a", "text": "Moscow said so.", "context": "Kyiv denied it.", "target": "A claim."},
           {"article_id": "b", "text": "Nobody knows.", "context": "Earlier.", "target": "Another claim."}]
OPSET = 17


class Probabilities(torch.nn.Module):
    """The tagger's network with a softmax per task: the graph ONNX Runtime runs."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, input_ids, attention_mask, token_type_ids=None, position_ids=None, pool=None):
        logits = self.net(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                          position_ids=position_ids, pool=pool)
        return tuple(torch.softmax(logits[task].float(), -1) for task in TASKS)


def example_inputs(model) -> dict[str, torch.Tensor]:
    """The model's own inputs for EXAMPLE: packs with their `pool`, or pairs."""
    if model.packed:
        packs, _ = model.pack(EXAMPLE)
        feeds = pad([unpadded(pack) for pack in packs], model.tokenizer.pad_token_id)
        return {k: torch.from_numpy(v) for k, v in feeds.items() if k in model.input_names}  # MPNet: no token types
    return dict(model.encode(EXAMPLE, padding=True, return_tensors="pt")[0])


def export(model, path: Path) -> None:
    """Trace the model's network (on the CPU, in eval mode) on EXAMPLE with dynamic batch and length
    (and, for packs, sentences a pack)."""
    example, net = example_inputs(model), model.net
    device, training = next(net.parameters()).device, net.training
    module = Probabilities(net.cpu().eval())
    names = [name for name in INPUTS if name in example]  # MPNet-style encoders have no token types
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {task: {0: "batch"} for task in TASKS}
    if "pool" in example:
        axes["pool"] = {0: "batch", 1: "sentences", 3: "tokens"}
        axes["attention_mask"] = {0: "batch", 2: "tokens", 3: "keys"}
        axes |= {task: {0: "batch", 1: "sentences"} for task in TASKS}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent Python branches
        torch.onnx.export(module, (), str(path), kwargs={name: example[name] for name in names}, input_names=names,
                          output_names=list(TASKS), dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    net.to(device).train(training)
    log.info("exported the tagger to %s (%.1f MB)", path, Path(path).stat().st_size / 2**20)
