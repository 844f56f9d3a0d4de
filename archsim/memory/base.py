"""The interface between memory cost models and the rest of archsim.

A *memory technology* (SRAM, STT-MRAM, ...) is a pure cost model: given how a bank is organised
(:class:`BankGeometry`) and the technology's own options (a pydantic model, e.g. MRAM's write operating point), it
returns a :class:`BankCharacteristics` -- per-access latency and energy, leakage, area and bit error rates. The
SimPy engine only ever sees ``BankCharacteristics``; the accuracy harness only reads the error rates.

Adding a technology is one new module in ``archsim/memory/`` that subclasses :class:`MemoryTechnology` with a
unique ``name`` and an ``Options`` model; subclassing registers it (see docs/extending.md).
No SimPy, no torch in here.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class TechnologyOptions(BaseModel):
    """Base of every technology's options model: unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionError(ValueError):
    """Options that the ``Options`` model accepts but the cost model cannot evaluate (e.g. an MRAM write that
    never switches). ``field`` names the option (dotted for nested ones), ``value`` is the offending value, and
    ``message`` says why and what range is allowed (config validation locates it at ``...options.<field>``)."""

    def __init__(self, field: str, value, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.value, self.message = field, value, message


@dataclass(frozen=True)
class BankGeometry:
    """How one bank is organised: its capacity and the width of one access."""

    capacity_bytes: int
    word_bits: int = 64

    def __post_init__(self):
        if self.capacity_bytes <= 0:
            raise ValueError(f"bank capacity_bytes must be > 0, got {self.capacity_bytes}")
        if self.word_bits <= 0 or self.word_bits % 8:
            raise ValueError(f"bank word_bits must be a positive multiple of 8, got {self.word_bits}")

    @property
    def word_bytes(self) -> int:
        return self.word_bits // 8

    @property
    def words(self) -> int:
        return self.capacity_bytes // self.word_bytes


@dataclass(frozen=True)
class BankCharacteristics:
    """What a technology model says about one bank. Energies are per access of one word (``word_bits``).

    Error rates are probabilities per bit: ``read_ber`` per bit read (sensing errors + read disturb);
    ``write_ber_0to1`` / ``write_ber_1to0`` per bit whose stored value a write changes in that direction (a write
    that leaves a bit unchanged cannot fail in STT-MRAM). ``write_ber`` is the symmetric, every-bit equivalent.
    """

    technology: str
    capacity_bytes: int
    word_bits: int
    read_latency_ns: float
    write_latency_ns: float
    read_energy_pj: float
    write_energy_pj: float
    leakage_mw: float
    area_mm2: float
    read_ber: float = 0.0
    write_ber_0to1: float = 0.0
    write_ber_1to0: float = 0.0
    retention_s: float = float("inf")
    source: str = ""

    @property
    def write_ber(self) -> float:
        """Mean per-bit write error probability for a bit that changes, both directions equally likely."""
        return 0.5 * (self.write_ber_0to1 + self.write_ber_1to0)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["write_ber"] = self.write_ber
        return d


class MemoryTechnology(ABC):
    """A memory technology cost model. Subclasses set ``name`` and ``Options`` and implement ``characterize``.

    Hooks a subclass provides:
      * ``Options``: a :class:`TechnologyOptions` subclass with defaults and validated ranges;
      * ``characterize(geometry, options) -> BankCharacteristics``: pure, deterministic, fast (called per config);
      * optionally ``cell_area_f2(options)`` for the density ratio used by iso-area scenarios.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Options: ClassVar[type[TechnologyOptions]] = TechnologyOptions
    #: validate config ``options`` in pydantic's strict mode (no str -> number or bool -> int coercion), as the
    #: built-in technologies do; a plugin whose options take enums or tuples from YAML keeps the lax default
    strict_options: ClassVar[bool] = False

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.name:
            register_technology(cls)

    def options(self, raw: dict | TechnologyOptions | None = None) -> TechnologyOptions:
        if isinstance(raw, self.Options):
            return raw
        return self.Options.model_validate(raw or {})

    def check_options(self, options: TechnologyOptions) -> None:
        """Hook: raise :class:`OptionError` for validated options that :meth:`characterize` cannot evaluate (an
        operating point outside the model's range). Called when a config is validated; default: nothing to check."""

    @abstractmethod
    def characterize(self, geometry: BankGeometry, options: TechnologyOptions) -> BankCharacteristics:
        ...


_TECHNOLOGIES: dict[str, type[MemoryTechnology]] = {}


def register_technology(cls: type[MemoryTechnology]) -> None:
    key = cls.name.lower()
    if key in _TECHNOLOGIES and _TECHNOLOGIES[key] is not cls:
        raise ValueError(f"memory technology {cls.name!r} registered twice")
    _TECHNOLOGIES[key] = cls


def technology(name: str) -> MemoryTechnology:
    from . import _load_builtin  # noqa: F401 - registers the built-in technologies

    key = name.lower()
    if key not in _TECHNOLOGIES:
        raise KeyError(f"unknown memory technology {name!r}; known: {', '.join(sorted(_TECHNOLOGIES))}")
    return _TECHNOLOGIES[key]()


def technologies() -> list[str]:
    from . import _load_builtin  # noqa: F401

    return sorted(_TECHNOLOGIES)


def characterize(name: str, geometry: BankGeometry, options: dict | TechnologyOptions | None = None
                 ) -> BankCharacteristics:
    tech = technology(name)
    return tech.characterize(geometry, tech.options(options))
