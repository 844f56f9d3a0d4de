"""What a study sweeps: networks, memory scenarios, heterogeneous recipes over a grid of MRAM write operating points,
and how the accuracy of each point is measured. A study file (YAML or TOML) holds any subset; the rest takes the
defaults below, which are the study of docs/results.md.

Memory configurations per network (``expand`` in :mod:`archsim.study.points` builds them):

* ``sram``: the base config (every partition SRAM) -- the baseline;
* ``mram`` at each scenario: every partition STT-MRAM at the nominal write point, at iso-capacity and at iso-area;
* ``het:<recipe>`` at each of ``het_scenarios`` and each grid point ``(V, t)``: the recipe's ``relaxed`` data types
  in MRAM at ``(V, t)``, its ``sram`` data types in SRAM, every other data type in MRAM at the nominal point;
* the ``mram`` and ``het`` points once per ``ecc`` entry (MRAM partitions without ECC, and with SECDED).

Defaults are archsim's choices: the nominal point is the MTJ default (1.25 V, 10 ns, NVSim's sample cell); the grid
relaxes it down to 1.0 V and 5 ns, where the write energy per bank access falls ~2.7x and the 0->1 write error rate
rises from 7e-7 to 8e-2 (``archsim memory`` prints both; docs/memory.md).
"""
from __future__ import annotations

import hashlib
import json
import pathlib
from typing import Annotated, Literal

from pydantic import Field, Strict, field_validator, model_validator

from archsim.config.models import StrictModel
from archsim.datatypes import DataType

Backend = Literal["local", "serial", "ray"]
#: a data type by name (``activation``, ...): the config models are strict, but YAML/TOML give enums as strings
DataTypeName = Annotated[DataType, Strict(False)]


class AccuracyProxy(StrictModel):
    """The small network whose training accuracy stands for a simulated network's (same graph builder, reduced
    width; see workloads/), and its training hyper-parameters on the embedded benchmark."""

    workload: str = Field(description="registered workload trained by the harness, e.g. resnet18-mini")
    image_size: int | None = Field(None, ge=4, le=512, description="resize the data set's images to N x N")
    lr: float = Field(0.03, gt=0.0, le=10.0)
    init: Literal["pytorch", "kaiming", "kaiming-zero-residual"] = "kaiming"
    epochs: int | None = Field(None, ge=1, le=1000, description="None: the study's accuracy.epochs")


class NetworkEntry(StrictModel):
    name: str = Field(description="registered workload that the simulator runs, e.g. resnet18")
    proxy: AccuracyProxy


class Recipe(StrictModel):
    """A heterogeneous placement: which data types take the grid's relaxed write point, which stay in SRAM."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.+-]+$")
    relaxed: list[DataTypeName] = Field(min_length=1)
    sram: list[DataTypeName] = Field(default_factory=list)

    @model_validator(mode="after")
    def _disjoint(self):
        both = set(self.relaxed) & set(self.sram)
        if both:
            raise ValueError(f"recipe {self.name!r}: data types {sorted(d.value for d in both)} are both relaxed "
                             "(MRAM) and sram")
        return self


class WriteGrid(StrictModel):
    """MRAM write operating points: the Cartesian product of voltages and pulse widths."""

    voltages_v: list[float] = Field(default_factory=lambda: [1.25, 1.1, 1.0], min_length=1)
    pulses_ns: list[float] = Field(default_factory=lambda: [10.0, 7.0, 5.0], min_length=1)

    @field_validator("voltages_v", "pulses_ns")
    @classmethod
    def _in_range(cls, v: list[float], info) -> list[float]:
        """Each value must be a valid STT-MRAM write_voltage_v / write_pulse_ns (the MTJ model's range; the
        shortest pulse depends on the nominal point's MTJ and is checked by :class:`StudySpec`)."""
        from archsim.device.mtj import VOLTAGE_RANGE_V
        from archsim.memory.sttmram import MAX_WRITE_PULSE_NS

        if info.field_name == "voltages_v":
            (lo, hi), unit, option = VOLTAGE_RANGE_V, "V", "write_voltage_v"
            bad = [x for x in v if not lo <= x <= hi]
        else:
            lo, hi, unit, option = 0.0, MAX_WRITE_PULSE_NS, "ns", "write_pulse_ns"
            bad = [x for x in v if not lo < x <= hi]
        if bad:
            raise ValueError(f"values must be STT-MRAM {option} values in [{lo:.3g}, {hi:g}] {unit}, got {bad}")
        return v

    def points(self) -> list[tuple[float, float]]:
        return [(v, t) for v in self.voltages_v for t in self.pulses_ns]


class AccuracySettings(StrictModel):
    """How each memory configuration's training accuracy is measured (archsim.accuracy)."""

    dataset: Literal["digits", "cifar10", "cifar100"] = "digits"
    data_dir: str | None = None
    seeds: list[int] = Field(default_factory=lambda: [0, 1], min_length=1)
    epochs: int = Field(5, ge=1, le=1000)
    batch_size: int = Field(32, ge=1, le=65_536)
    train_samples: int | None = Field(None, ge=1)
    write_model: Literal["directional", "symmetric"] = "directional"
    stop_on_divergence: bool = Field(True, description="end a run at its first non-finite training loss "
                                     "(archsim.accuracy.train.TrainSettings)")
    enabled: bool = Field(True, description="False: energy only (no training)")


def _default_networks() -> list[NetworkEntry]:
    # Proxies and learning rates: archsim's choices, so that every proxy trains to a sensible clean accuracy on the
    # embedded digits in a few seconds (docs/results.md lists them). VGG16-mini needs 32x32 inputs (five pools),
    # MobileNetV2-mini 16x16 (its stride-2 stages leave 1x1 maps at 8x8). VGG16-mini has no batch norm: at lr 0.01
    # one seed in three stalled near 53-78 %; 0.005 gave 96.4 / 90.0 / 94.9 % for seeds 0-2. ResNet50-mini's 16
    # bottleneck blocks train only from identity blocks (zero-gamma residual ends, archsim.accuracy.initialization):
    # 96.9 / 94.2 % for seeds 0 and 1, against 77.8 / 66.0 % with plain kaiming (archsim 0.3.0's study: 70.7 / 50.0).
    return [NetworkEntry(name="vgg16", proxy=AccuracyProxy(workload="vgg16-mini", image_size=32, lr=0.005)),
            NetworkEntry(name="resnet18", proxy=AccuracyProxy(workload="resnet18-mini", lr=0.03)),
            NetworkEntry(name="resnet50", proxy=AccuracyProxy(workload="resnet50-mini", lr=0.03,
                                                              init="kaiming-zero-residual")),
            NetworkEntry(name="alexnet", proxy=AccuracyProxy(workload="alexnet-mini", lr=0.03)),
            NetworkEntry(name="mobilenetv2", proxy=AccuracyProxy(workload="mobilenetv2-mini", image_size=16,
                                                                 lr=0.03))]


def _default_recipes() -> list[Recipe]:
    act, wgt, err = DataType.ACTIVATION, DataType.WEIGHT, DataType.ERROR
    wg, opt = DataType.WEIGHT_GRADIENT, DataType.OPTIMIZER_STATE
    # all-MRAM placements with one group relaxed, and placements that keep the error-fragile tensors (saved
    # activations, errors: docs/accuracy.md) in SRAM while the rest goes to relaxed MRAM
    return [Recipe(name="relax-act-err", relaxed=[act, err]),
            Recipe(name="relax-wgt-wgrad-opt", relaxed=[wgt, wg, opt]),
            Recipe(name="relax-all", relaxed=[act, wgt, err, wg, opt]),
            Recipe(name="sram-act-err", relaxed=[wgt, wg, opt], sram=[act, err]),
            Recipe(name="sram-act", relaxed=[wgt, err, wg, opt], sram=[act])]


class StudySpec(StrictModel):
    name: str = Field("study", pattern=r"^[A-Za-z0-9_.+-]+$")
    networks: list[NetworkEntry] = Field(default_factory=_default_networks, min_length=1)
    base_config: dict = Field(default_factory=dict, description="SimConfig fields (as in a config file) of the "
                              "SRAM baseline; partitions' technology is set by the study")
    base_config_file: str | None = Field(None, description="config file merged under base_config")
    scenarios: list[Literal["iso-capacity", "iso-area"]] = Field(
        default_factory=lambda: ["iso-capacity", "iso-area"], min_length=1)
    het_scenarios: list[Literal["iso-capacity", "iso-area"]] = Field(
        default_factory=lambda: ["iso-area"], description="scenarios of the heterogeneous points (default iso-area: "
        "the MRAM partitions fill the SRAM baseline's area, the scenario that suits MRAM's density)")
    ecc: list[Literal["none", "secded"]] = Field(
        default_factory=lambda: ["none", "secded"], min_length=1,
        description="error correction of the MRAM partitions, one set of mram and het points per entry "
        "(archsim.memory.ecc); SRAM partitions keep the base config's")
    nominal: dict = Field(default_factory=dict, description="STT-MRAM options of the nominal point (empty: the "
                          "model defaults, 1.25 V / 10 ns)")
    grid: WriteGrid = Field(default_factory=WriteGrid)
    recipes: list[Recipe] = Field(default_factory=_default_recipes)
    accuracy: AccuracySettings = Field(default_factory=AccuracySettings)
    accuracy_drop_pp: float = Field(1.0, ge=0.0, le=100.0, description="recommendation bound: largest mean "
                                    "accuracy drop vs the SRAM baseline, percentage points")

    @model_validator(mode="after")
    def _pulses_switch_the_nominal_mtj(self):
        """The grid's pulses against the shortest pulse of the nominal point's MTJ (one precession period)."""
        from archsim.device.mtj import MTJ
        from archsim.memory.sttmram import STTMRAMOptions

        try:
            t_min = MTJ(STTMRAMOptions.model_validate(self.nominal).mtj).min_pulse_ns
        except ValueError:  # bad nominal options: reported where the study builds its MRAM partitions
            return self
        bad = [t for t in self.grid.pulses_ns if t < t_min]
        if bad:
            raise ValueError(f"grid.pulses_ns: {bad} ns shorter than the nominal MTJ's shortest valid pulse "
                             f"{t_min:.3g} ns (one free-layer precession period); allowed: {t_min:.3g} ns and more")
        return self

    @model_validator(mode="after")
    def _unique(self):
        for what, names in (("networks", [n.name for n in self.networks]), ("recipes", [r.name for r in self.recipes])):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"{what}: duplicate names {dup}")
        return self

    def digest(self) -> str:
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_spec(path: str | pathlib.Path | None = None, overrides: dict | None = None) -> StudySpec:
    """Defaults <- study file <- overrides (nested dict)."""
    from archsim.config.loader import deep_merge, read_mapping

    data = read_mapping(path) if path else {}
    if overrides:
        data = deep_merge(data, overrides)
    return StudySpec.model_validate(data)
