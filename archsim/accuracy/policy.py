"""Error models (the policy): which data type gets which errors, at what rates, in which number format.

Kept apart from the mechanism (:mod:`archsim.accuracy.inject`) and the hook points (:mod:`archsim.accuracy.hooks`),
as PyTorchFI separates its error models from its core. Rates normally come from the memory configuration
(:func:`archsim.memory.rates.datatype_error_rates`, i.e. from the bank models); explicit values override them.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from archsim.datatypes import DataType

from .formats import FormatName

WriteModel = Literal["directional", "symmetric"]
#: what a freshly written buffer (activations, errors, weight gradients) held before the write, for directional
#: write errors: "previous" = the same tensor one training step earlier (a static buffer per tensor, archsim's
#: assumption), "zeros" = a cleared buffer, "random" = unrelated data with independent, equiprobable bits.
OldContents = Literal["previous", "zeros", "random"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataTypeErrors(_Strict):
    """Errors of one data type's storage. Probabilities are per bit.

    ``read_ber``: each stored bit read flips (transiently) with this probability. ``write_ber_0to1`` /
    ``write_ber_1to0``: with ``write_model="directional"`` a bit that the write switches in that direction fails to
    switch with this probability, unchanged bits are safe; with ``"symmetric"`` every written bit flips with the mean
    of the two. ``emulate_storage`` also rounds every stored value to ``format`` (off by default, so that a rate of
    0 is the clean fp32 training).
    """

    enabled: bool = True
    read_ber: float = Field(0.0, ge=0.0, le=1.0)
    write_ber_0to1: float = Field(0.0, ge=0.0, le=1.0)
    write_ber_1to0: float = Field(0.0, ge=0.0, le=1.0)
    write_model: WriteModel = "directional"
    format: FormatName = "fp32"
    int8_scale: float | None = Field(None, gt=0.0, le=1e6, description="fixed int8 scale; None = per-tensor max-abs")
    emulate_storage: bool = False

    @property
    def write_ber(self) -> float:
        """Per-bit rate of the symmetric model: the mean of the two directions."""
        return 0.5 * (self.write_ber_0to1 + self.write_ber_1to0)

    @property
    def writes(self) -> bool:
        return self.enabled and (self.write_ber_0to1 > 0.0 or self.write_ber_1to0 > 0.0)

    @property
    def reads(self) -> bool:
        return self.enabled and self.read_ber > 0.0

    @property
    def active(self) -> bool:
        return self.writes or self.reads or (self.enabled and self.emulate_storage)


class ErrorPolicy(_Strict):
    """Error models of every data type (missing ones: no errors) and a seed for the masks."""

    datatypes: dict[DataType, DataTypeErrors] = Field(default_factory=dict)
    fresh_old_contents: OldContents = "previous"

    def get(self, dt: DataType) -> DataTypeErrors:
        return self.datatypes.get(dt) or DataTypeErrors(enabled=False)

    @property
    def active(self) -> bool:
        return any(m.active for m in self.datatypes.values())

    def only(self, dts) -> "ErrorPolicy":
        """The same policy with every data type not in ``dts`` switched off."""
        keep = {DataType(d) for d in dts}
        return self.model_copy(update={"datatypes": {dt: m if dt in keep else m.model_copy(update={"enabled": False})
                                                     for dt, m in self.datatypes.items()}})

    def with_rates(self, dt: DataType, **fields) -> "ErrorPolicy":
        """A copy with fields of one data type's model replaced (e.g. ``write_ber_0to1=1e-4``), validated."""
        dt = DataType(dt)
        base = self.datatypes.get(dt, DataTypeErrors())
        new = DataTypeErrors.model_validate({**base.model_dump(), **fields})
        return self.model_copy(update={"datatypes": {**self.datatypes, dt: new}})

    def describe(self) -> dict:
        return {dt.value: m.model_dump() | {"write_ber": m.write_ber} for dt, m in self.datatypes.items()}

    @classmethod
    def uniform(cls, dts, rate: float, kind: Literal["write", "read"] = "write",
                write_model: WriteModel = "directional", formats: dict | None = None, **kw) -> "ErrorPolicy":
        """The same rate for each data type in ``dts`` (both write directions, or reads)."""
        models = {}
        for d in dts:
            d = DataType(d)
            fields = {"read_ber": rate} if kind == "read" else {"write_ber_0to1": rate, "write_ber_1to0": rate}
            models[d] = DataTypeErrors(write_model=write_model, format=(formats or {}).get(d, "fp32"), **fields)
        return cls(datatypes=models, **kw)

    @classmethod
    def from_config(cls, cfg, write_model: WriteModel = "directional", **kw) -> "ErrorPolicy":
        """Rates and formats of every data type from a :class:`~archsim.config.SimConfig`, through the bank models."""
        from archsim.memory.rates import datatype_error_rates

        models = {dt: DataTypeErrors(read_ber=r.read_ber, write_ber_0to1=r.write_ber_0to1,
                                     write_ber_1to0=r.write_ber_1to0, write_model=write_model, format=r.format)
                  for dt, r in datatype_error_rates(cfg).items()}
        return cls(datatypes=models, **kw)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data):
        if isinstance(data, dict) and isinstance(data.get("datatypes"), dict):
            out = {}
            for k, v in data["datatypes"].items():
                try:
                    out[DataType(k)] = v
                except ValueError:
                    raise ValueError(f"datatypes: unknown data type {k!r}; allowed: "
                                     f"{', '.join(d.value for d in DataType)}") from None
            data = {**data, "datatypes": out}
        return data
