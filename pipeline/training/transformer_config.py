"""The transformer's training settings: `params.yaml`'s `transformer` section as one typed, frozen
object, checked once when it is read (unknown, missing or mistyped keys, ranges), so a run never
fails on a typo after minutes of training."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Mapping

from pipeline.core.errors import UserError

SECTION = "transformer"


@dataclass(frozen=True)
class TransformerConfig:
    """One field a key of params.yaml's `transformer` section (documented there)."""

    model: str
    device: str
    precision: str
    packed: bool
    context_layer: int
    max_length: int
    pack_length: int
    num_layers: int
    use_actors: bool
    batch_size: int
    epochs: int
    finetune_epochs: int
    finetune_interpolation: float
    learning_rate: float
    head_learning_rate: float
    weight_decay: float
    warmup_ratio: float
    dropout: float
    freeze_layers: int
    distill_weight: float
    teacher: Mapping[str, object]  # overrides of these fields for the teacher (see `teacher_config`)
    seed: int

    @classmethod
    def from_params(cls, values: Mapping[str, object]) -> TransformerConfig:
        """The config of a params section; any unknown or missing key is one UserError line."""
        names = [f.name for f in fields(cls)]
        unknown = [k for k in values if k not in names]
        missing = [k for k in names if k not in values]
        if unknown or missing:
            problems = ([f"unknown key(s) {', '.join(unknown)}"] if unknown else []) + \
                       ([f"missing key(s) {', '.join(missing)}"] if missing else [])
            raise UserError(f"{SECTION} params: {'; '.join(problems)} (configs/params.yaml)")
        return cls(**values)

    def __post_init__(self) -> None:
        for f in fields(self):
            check_type(f.name, getattr(self, f.name), f.type)
        object.__setattr__(self, "teacher", MappingProxyType(dict(self.teacher)))
        if self.epochs < 1 or self.batch_size < 1 or self.finetune_epochs < 0:
            raise UserError(f"{SECTION}: epochs and batch_size must be at least 1, finetune_epochs at least 0")
        for name in ("finetune_interpolation", "distill_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserError(f"{SECTION}.{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.packed and not 1 <= self.context_layer <= self.num_layers:
            raise UserError(f"{SECTION}.context_layer must be between 1 and num_layers ({self.num_layers}), "
                            f"got {self.context_layer}")
        unknown = [k for k in self.teacher if k not in {f.name for f in fields(self)} - {"teacher"}]
        if unknown:
            raise UserError(f"{SECTION}.teacher: unknown key(s) {', '.join(unknown)}")
        if self.teacher:  # its values are checked now, not when a distilled run starts
            try:
                self.teacher_config()
            except UserError as err:
                raise UserError(str(err).replace(f"{SECTION}.", f"{SECTION}.teacher.", 1)) from None

    def teacher_config(self) -> TransformerConfig:
        """The teacher's config: this one with `teacher`'s overrides, not itself distilled (no teacher)."""
        return dataclasses.replace(self, **{**self.teacher, "distill_weight": 0.0, "teacher": {}})

    def as_params(self) -> dict:
        """The plain dict of params (as read from params.yaml): what model.json keeps."""
        return {f.name: dict(self.teacher) if f.name == "teacher" else getattr(self, f.name) for f in fields(self)}


TYPES = {"str": (str,), "bool": (bool,), "int": (int,), "float": (int, float), "Mapping[str, object]": (Mapping,)}


def check_type(name: str, value: object, annotation: str) -> None:
    """`value` is of the field's type (an int is a float too; a bool is not a number)."""
    ok = isinstance(value, TYPES[annotation]) and (annotation == "bool" or not isinstance(value, bool))
    if not ok:
        raise UserError(f"{SECTION}.{name} must be {annotation.split('[')[0].lower()}, got {value!r}")
