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

log = logging.getLogger(__name__)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


class Probabilities(torch.nn.Module):
    """The tagger's network with a softmax per task: the graph ONNX Runtime runs."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        logits = self.net(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return tuple(torch.softmax(logits[task].float(), -1) for task in TASKS)


def export(net: torch.nn.Module, tokenizer, path: Path) -> None:
    """Trace `net` (on the CPU, in eval mode) on a two-row example with dynamic batch and length."""
    example = tokenizer(["Kyiv denied it.", "Moscow said so."], ["A claim. [SEP] Before.", "A claim."],
                        padding=True, return_tensors="pt")
    device, training = next(net.parameters()).device, net.training
    module = Probabilities(net.cpu().eval())
    names = [name for name in INPUTS if name in example]  # MPNet-style encoders have no token types
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {task: {0: "batch"} for task in TASKS}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent Python branches
        torch.onnx.export(module, tuple(example[name] for name in names), str(path), input_names=names,
                          output_names=list(TASKS), dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    net.to(device).train(training)
    log.info("exported the tagger to %s (%.1f MB)", path, Path(path).stat().st_size / 2**20)
