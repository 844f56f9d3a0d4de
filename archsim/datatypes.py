"""The data types a training accelerator keeps in its scratchpad.

Every operand of every operation in a training step is tagged with one of these, so that each data type can be
placed in its own scratchpad partition (technology, capacity, write operating point) and so that the accuracy
harness injects errors into exactly the tensors the simulator stores.
"""
from __future__ import annotations

from enum import Enum


class DataType(str, Enum):
    ACTIVATION = "activation"            # input activations (forward inputs, saved for backward-weight)
    WEIGHT = "weight"
    ERROR = "error"                      # gradients w.r.t. activations, flowing backward
    WEIGHT_GRADIENT = "weight_gradient"
    OPTIMIZER_STATE = "optimizer_state"  # SGD momentum buffers

    def __str__(self) -> str:  # pragma: no cover - cosmetic
        return self.value

    @property
    def short(self) -> str:
        return _SHORT[self]


_SHORT = {
    DataType.ACTIVATION: "act",
    DataType.WEIGHT: "wgt",
    DataType.ERROR: "err",
    DataType.WEIGHT_GRADIENT: "wgrad",
    DataType.OPTIMIZER_STATE: "opt",
}

ALL_DATATYPES: tuple[DataType, ...] = tuple(DataType)
