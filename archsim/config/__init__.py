"""Configuration: pydantic models with validated ranges, loaded from YAML/TOML."""
from .loader import load_config, read_mapping, deep_merge
from .models import (FORMAT_BYTES, ArrayConfig, ComputeConfig, DRAMConfig, EngineConfig, PartitionConfig,
                     ScratchpadConfig, SimConfig, StrictModel, TrainingConfig)

__all__ = ["load_config", "read_mapping", "deep_merge", "FORMAT_BYTES", "ArrayConfig", "ComputeConfig",
           "DRAMConfig", "EngineConfig", "PartitionConfig", "ScratchpadConfig", "SimConfig", "StrictModel",
           "TrainingConfig"]
