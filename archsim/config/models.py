"""Configuration models (pydantic v2): one place for defaults, ranges and their validation messages.

Every model forbids unknown keys, is frozen and is strict about types: ``rows: true``, ``rows: "128"`` or
``momentum: "yes"`` are errors, never coerced (an integer is still accepted where a float is expected, and
strings for literals). Units are in the field names. Defaults and their sources are listed
in docs/config.md. A config file (YAML or TOML) holds any subset of :class:`SimConfig`; missing fields take defaults.
"""
from __future__ import annotations

import functools
import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from archsim.datatypes import DataType

NumberFormat = Literal["fp32", "bf16", "fp16", "int8"]
FORMAT_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "int8": 1}


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if type(x).__module__ == "numpy" and hasattr(x, "item") and getattr(x, "ndim", None) == 0:
        return x.item()
    return x


class _OptionFailure(Exception):
    def __init__(self, loc: tuple, value, message: str):
        super().__init__(message)
        self.loc, self.value, self.message = loc, value, message


@functools.lru_cache(maxsize=4096)
def _check_options(name: str, blob: str) -> None:
    """Options (as sorted JSON) valid for technology ``name``: a ValidationError of its Options model, or an
    :class:`_OptionFailure` for a point outside the model's range. Cached: a study validates the same few operating
    points thousands of times, and the range check evaluates the device model."""
    from archsim.memory import OptionError, technology

    tech = technology(name)
    opts = tech.Options.model_validate(json.loads(blob), strict=tech.strict_options)
    try:
        tech.check_options(opts)
    except OptionError as exc:
        raise _OptionFailure(tuple(exc.field.split(".")), exc.value, exc.message) from None


class StrictModel(BaseModel):
    """Base of the config models: unknown keys are errors, instances are frozen, and types are strict (pydantic
    strict mode: no bool -> int, str -> int/float/bool coercion; int -> float is allowed). A field that must take
    an enum from a YAML/TOML string opts out with ``Annotated[TheEnum, Strict(False)]``."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data):
        """Python callers' containers and numbers as a YAML/TOML file would give them: tuples as lists, numpy
        scalars as Python ones (strict mode would reject both; a numpy bool still is no int)."""
        return _plain(data)

    def content_hash(self) -> str:
        """Stable hash of the full config (keys sorted): keys results in resumable sweep stores."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class ArrayConfig(StrictModel):
    """The systolic PE array (R x C) and its clock."""

    rows: int = Field(128, ge=1, le=4096, description="PE rows (R)")
    cols: int = Field(128, ge=1, le=4096, description="PE columns (C)")
    dataflow: str = Field("os", description="os | ws | is (output-, weight-, input-stationary)")
    frequency_ghz: float = Field(1.0, gt=0.01, le=10.0)

    @field_validator("dataflow")
    @classmethod
    def _known_dataflow(cls, v: str) -> str:
        from archsim.schedule.dataflows import dataflow_names

        names = dataflow_names()
        if v not in names:
            raise ValueError(f"unknown dataflow {v!r}; allowed: {', '.join(names)}")
        return v


class ComputeConfig(StrictModel):
    """Arithmetic: the MAC's operand format and energy, and the vector unit for non-GEMM layers."""

    mac_format: NumberFormat = "bf16"
    mac_energy_pj: float | None = Field(None, ge=0, le=1000,
                                        description="override the per-MAC energy derived from mac_format")
    energy_scale: float = Field(0.39, gt=0, le=10,
                                description="45 nm -> 22 nm energy scaling applied to Horowitz's 45 nm figures")
    vector_lanes: int = Field(128, ge=1, le=65536, description="elementwise ops per cycle on the vector unit")
    vector_op_energy_pj: float | None = Field(None, ge=0, le=1000)


class PartitionConfig(StrictModel):
    """One scratchpad partition: a bank group holding one data type."""

    technology: str = "sram"
    options: dict = Field(default_factory=dict, description="technology options (e.g. MRAM write operating point)")
    capacity_kib: int = Field(1024, ge=1, le=1 << 22)
    n_banks: int = Field(16, ge=1, le=4096)
    word_bits: int = Field(512, ge=8, le=8192)
    ports_per_bank: int = Field(1, ge=1, le=8)
    write_buffer_entries: int = Field(0, ge=0, le=1 << 20,
                                      description="write-buffer depth per bank, in words (0: writes go straight "
                                                  "to the banks)")
    format: NumberFormat = "bf16"
    ecc: Literal["none", "secded"] = Field(
        "none", description="per-word error correction: 'secded' stores a Hsiao SECDED code word per ecc_data_bits "
        "(archsim.memory.ecc: wider array, codec energy and delay, residual error rates)")
    ecc_data_bits: int = Field(64, ge=8, le=1024, description="data bits per ECC code word ((72,64) by default)")

    @field_validator("technology")
    @classmethod
    def _known_tech(cls, v: str) -> str:
        from archsim.memory import technologies

        if v.lower() not in technologies():
            raise ValueError(f"unknown memory technology {v!r}; allowed: {', '.join(technologies())}")
        return v.lower()

    @field_validator("options")
    @classmethod
    def _known_options(cls, v: dict, info: ValidationInfo) -> dict:
        """Validate the options against the technology's Options model (strictly where the technology says so,
        :attr:`~archsim.memory.base.MemoryTechnology.strict_options`) and its operating range, so that errors are
        located at ``...options.<field>``. The raw mapping is kept."""
        name = info.data.get("technology")
        if name is None:  # the technology itself is invalid (reported on its own)
            return v
        try:
            _check_options(name, json.dumps(v, sort_keys=True, default=str))
        except _OptionFailure as exc:
            raise ValidationError.from_exception_data("options", [{
                "type": PydanticCustomError("technology_option", "{message}", {"message": exc.message}),
                "loc": exc.loc, "input": exc.value}]) from None
        return v

    @field_validator("word_bits")
    @classmethod
    def _word(cls, v: int) -> int:
        if v % 8:
            raise ValueError(f"must be a multiple of 8 bits, got {v}")
        return v

    @model_validator(mode="after")
    def _check(self):
        bank_bytes = self.capacity_kib * 1024 // self.n_banks
        if bank_bytes * self.n_banks != self.capacity_kib * 1024:
            raise ValueError(f"capacity_kib={self.capacity_kib} is not divisible into n_banks={self.n_banks} banks")
        if bank_bytes < self.word_bits // 8:
            raise ValueError(f"a bank of {bank_bytes} B is smaller than one {self.word_bits}-bit word")
        if self.ecc != "none" and self.word_bits % self.ecc_data_bits:
            raise ValueError(f"ecc_data_bits={self.ecc_data_bits} must divide word_bits={self.word_bits} (whole code "
                             "words per access)")
        return self

    @property
    def capacity_bytes(self) -> int:
        return self.capacity_kib * 1024

    @property
    def bank_bytes(self) -> int:
        return self.capacity_bytes // self.n_banks

    @property
    def element_bytes(self) -> int:
        return FORMAT_BYTES[self.format]


def _default_partitions() -> dict[DataType, PartitionConfig]:
    return {
        DataType.ACTIVATION: PartitionConfig(capacity_kib=4096, n_banks=64, format="bf16", write_buffer_entries=16),
        DataType.WEIGHT: PartitionConfig(capacity_kib=2048, n_banks=32, format="bf16", write_buffer_entries=16),
        DataType.ERROR: PartitionConfig(capacity_kib=2048, n_banks=64, format="bf16", write_buffer_entries=16),
        DataType.WEIGHT_GRADIENT: PartitionConfig(capacity_kib=1024, n_banks=32, format="fp32",
                                                  write_buffer_entries=16),
        DataType.OPTIMIZER_STATE: PartitionConfig(capacity_kib=1024, n_banks=32, format="fp32",
                                                  write_buffer_entries=16),
    }


class ScratchpadConfig(StrictModel):
    """The on-chip scratchpad: one partition per data type."""

    partitions: dict[DataType, PartitionConfig] = Field(default_factory=_default_partitions)
    stream_fraction: float = Field(0.25, gt=0.0, lt=1.0,
                                   description="share of each partition kept for double-buffered tiles; "
                                               "the rest holds resident tensors")

    @model_validator(mode="before")
    @classmethod
    def _fill_missing(cls, data):
        """Partitions not named in the file keep their defaults; named ones override field by field."""
        if isinstance(data, dict) and isinstance(data.get("partitions"), dict):
            merged = {k: v.model_dump() for k, v in _default_partitions().items()}
            for key, val in data["partitions"].items():
                try:
                    dt = DataType(key)
                except ValueError:
                    raise ValueError(f"partitions: unknown data type {key!r}; allowed: "
                                     f"{', '.join(d.value for d in DataType)}") from None
                if isinstance(val, PartitionConfig):
                    val = val.model_dump()
                if not isinstance(val, dict):
                    raise ValueError(f"partitions.{key}: expected a mapping, got {val!r}")
                merged[dt] = {**merged[dt], **val}
            data = {**data, "partitions": merged}
        return data

    def partition(self, dt: DataType) -> PartitionConfig:
        return self.partitions[dt]


class DRAMConfig(StrictModel):
    """Off-chip DRAM: a preset, with any field overridable."""

    preset: Literal["ddr4-2400", "lpddr4-3200", "hbm2"] = "hbm2"
    channels: int | None = Field(None, ge=1, le=64)
    bandwidth_gbps_per_channel: float | None = Field(None, gt=0, le=2048, description="GB/s per channel")
    latency_ns: float | None = Field(None, ge=0, le=10000)
    read_energy_pj_per_bit: float | None = Field(None, ge=0, le=1000)
    write_energy_pj_per_bit: float | None = Field(None, ge=0, le=1000)


class EngineConfig(StrictModel):
    """Event granularity of the SimPy engine (see docs/engine.md)."""

    steps_per_tile: int = Field(4, ge=1, le=1024, description="sub-steps per tile at which banks are contended")
    max_tiles_per_op: int = Field(16, ge=1, le=100000,
                                  description="blocks of identical work are merged above this many tiles per op")


class TrainingConfig(StrictModel):
    batch: int = Field(32, ge=1, le=65536)
    momentum: bool = Field(True, description="SGD with momentum (one optimizer-state tensor per weight)")


class SimConfig(StrictModel):
    array: ArrayConfig = Field(default_factory=ArrayConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    scratchpad: ScratchpadConfig = Field(default_factory=ScratchpadConfig)
    dram: DRAMConfig = Field(default_factory=DRAMConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
