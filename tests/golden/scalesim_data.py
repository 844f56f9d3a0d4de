"""Golden SCALE-Sim v3 numbers stored under tests/golden/data/ (see data/scalesim/README.md), as test cases.

A case is one (topology, config) pair: ``data/scalesim/<topology>__<config>.csv`` (one row per SCALE-Sim layer,
written by the peer's summarize.py), ``data/topologies/<topology>.csv`` and ``data/configs/<config>.cfg``.
``golden_cases()`` returns them all; ``case.layers`` has one :class:`GoldenLayer` per *topology row*, with
SCALE-Sim's per-channel layers of a ``DP`` (depthwise) row kept in ``channels`` and summed in the totals.

Usable from any test (e.g. an end-to-end CLI test comparing ``compute_cycles`` per layer)::

    from scalesim_data import golden_cases          # tests/golden is on sys.path for tests in that folder
    for case in golden_cases():
        case.topology_path, case.rows, case.cols, case.dataflow
        for layer in case.layers: layer.name, layer.total_cycles, layer.sram_ifmap_reads, ...

Only the standard library is used, and nothing outside tests/golden/data is read.
"""
from __future__ import annotations

import configparser
import csv
import pathlib
from dataclasses import dataclass

DATA = pathlib.Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class ScaleSimRow:
    """One SCALE-Sim layer as reported (COMPUTE_REPORT + DETAILED_ACCESS_REPORT, via summarize.py)."""

    layer_id: int
    name: str
    total_cycles: int
    overall_util_pct: float
    mapping_eff_pct: float
    compute_util_pct: float
    sram_ifmap_reads: int
    sram_filter_reads: int
    sram_ofmap_writes: int


@dataclass(frozen=True)
class GoldenLayer:
    """One topology row. For a DP row, ``channels`` holds SCALE-Sim's per-channel layers; totals are sums."""

    name: str
    channels: tuple[ScaleSimRow, ...]
    depthwise: bool      #: a conv row whose name contains DP (SCALE-Sim expands it per channel)

    def _sum(self, field: str) -> int:
        return sum(getattr(r, field) for r in self.channels)

    @property
    def total_cycles(self) -> int:
        """SCALE-Sim 'Total Cycles' (summed over a DP row's channel layers)."""
        return self._sum("total_cycles")

    @property
    def sram_ifmap_reads(self) -> int:
        return self._sum("sram_ifmap_reads")

    @property
    def sram_filter_reads(self) -> int:
        return self._sum("sram_filter_reads")

    @property
    def sram_ofmap_writes(self) -> int:
        return self._sum("sram_ofmap_writes")


@dataclass(frozen=True)
class GoldenCase:
    topology: str
    config: str
    topology_path: pathlib.Path
    config_path: pathlib.Path
    rows: int            #: ArrayHeight
    cols: int            #: ArrayWidth
    dataflow: str        #: os | ws | is
    layers: tuple[GoldenLayer, ...]

    @property
    def id(self) -> str:
        return f"{self.topology}-{self.config}"


def read_config(path: pathlib.Path) -> tuple[int, int, str]:
    cp = configparser.ConfigParser()
    cp.read(path)
    sec = cp["architecture_presets"]
    return int(sec["ArrayHeight"]), int(sec["ArrayWidth"]), sec["Dataflow"].strip()


def _topology_rows(path: pathlib.Path) -> list[tuple[str, int, bool]]:
    """(name, number of SCALE-Sim layers it expands to) per topology row, as SCALE-Sim's loader reads them.
    Stems ending in ``_gemm`` are ``-i gemm`` topologies (name, M, N, K), where no DP expansion happens."""
    gemm = path.stem.endswith("_gemm")
    out = []
    for line in path.read_text().splitlines()[1:]:
        if not line.strip():
            continue
        f = [x.strip() for x in line.split(",")]
        dp = "DP" in f[0] and not gemm
        out.append((f[0], int(f[5]) if dp else 1, dp))
    return out


def _scalesim_rows(path: pathlib.Path) -> list[ScaleSimRow]:
    with open(path, newline="") as fh:
        return [ScaleSimRow(int(r["layer_id"]), r["layer_name"], int(r["total_cycles"]),
                            float(r["overall_util_pct"]), float(r["mapping_eff_pct"]), float(r["compute_util_pct"]),
                            int(r["sram_ifmap_reads"]), int(r["sram_filter_reads"]), int(r["sram_ofmap_writes"]))
                for r in csv.DictReader(fh)]


def load_case(csv_path: pathlib.Path) -> GoldenCase:
    topo, cfg = csv_path.stem.split("__")
    topo_path, cfg_path = DATA / "topologies" / f"{topo}.csv", DATA / "configs" / f"{cfg}.cfg"
    rows, cols, df = read_config(cfg_path)
    ss = _scalesim_rows(csv_path)
    layers, i = [], 0
    for name, expand, dp in _topology_rows(topo_path):
        chunk = tuple(ss[i:i + expand])
        want = [f"{name}Channel_{c}" for c in range(expand)] if dp else [name]
        got = [r.name for r in chunk]
        if got != want:
            raise ValueError(f"{csv_path.name}: SCALE-Sim layers {got[:3]}... do not match topology row {name!r}")
        layers.append(GoldenLayer(name, chunk, dp))
        i += expand
    if i != len(ss):
        raise ValueError(f"{csv_path.name}: {len(ss) - i} SCALE-Sim layers beyond the topology's rows")
    return GoldenCase(topo, cfg, topo_path, cfg_path, rows, cols, df, tuple(layers))


def golden_cases() -> list[GoldenCase]:
    """All stored golden cases, sorted by file name."""
    return [load_case(p) for p in sorted((DATA / "scalesim").glob("*__*.csv"))]
