"""The accuracy harness (application layer): train a workload graph in PyTorch while the scratchpad flips bits.

Modules: ``formats`` (bit views of fp32/bf16/fp16/int8), ``inject`` (sampling and applying bit flips: the
mechanism, over the compiled core ``_bitflip``), ``policy`` (error models per data type, rates from the memory
config), ``hooks`` (where each data type is written and read during training), ``models`` (graph ->
``torch.nn.Module``), ``data`` (embedded digits, local CIFAR), ``train`` (clean vs injected training), ``sweep``
(accuracy vs bit error rate). See docs/accuracy.md.
"""
from .data import Dataset, load_cifar, load_dataset, load_digits
from .formats import FORMATS, Codec, codec
from .hooks import FlipStats, Injector
from .inject import flip_every_bit, sample_bits, write_directional
from .models import GraphModule, build_model
from .policy import DataTypeErrors, ErrorPolicy
from .sweep import SweepResult, run_sweep, sweep_config_option
from .train import Comparison, RunResult, TrainSettings, compare, network_for, train

__all__ = ["Dataset", "load_cifar", "load_dataset", "load_digits", "FORMATS", "Codec", "codec", "FlipStats",
           "Injector", "flip_every_bit", "sample_bits", "write_directional", "GraphModule", "build_model",
           "DataTypeErrors", "ErrorPolicy", "SweepResult", "run_sweep", "sweep_config_option", "Comparison",
           "RunResult", "TrainSettings", "compare", "network_for", "train"]
