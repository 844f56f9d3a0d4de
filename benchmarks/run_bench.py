"""Speed benchmark (``make bench``): a whole VGG16 training step (224x224, batch 32, 128x128 array) in archsim, and
SCALE-Sim v3 on the forward pass of the same network and array in the same run, when its peer venv can be made.

usage: python benchmarks/run_bench.py [--repeat N] [--no-peer] [--peer-dir ../shared/peers/scalesim]
Prints the wall times and their ratio; docs/performance.md records the measured figures.
"""
from __future__ import annotations

import argparse
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def time_archsim(workload: str, array: str, dataflow: str, batch: int, passes: str | None, repeat: int):
    from archsim.config import load_config
    from archsim.sim import parse_passes, simulate
    from archsim.workload import registry

    r, c = map(int, array.split("x"))
    cfg = load_config(overrides={"array": {"rows": r, "cols": c, "dataflow": dataflow},
                                 "training": {"batch": batch}})
    net = registry.get(workload)
    walls, rep = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        rep = simulate(net, cfg, parse_passes(passes))
        walls.append(time.perf_counter() - t0)
    return walls, rep


def run_peer(peer_dir: pathlib.Path, topo: str, cfg: str) -> float | None:
    setup, run = peer_dir / "setup.sh", peer_dir / "run.sh"
    if not setup.exists():
        print(f"peer scripts not found in {peer_dir}; skipping SCALE-Sim")
        return None
    subprocess.run(["bash", str(setup)], check=True)
    out = tempfile.mkdtemp(prefix="bench-scalesim-")
    print(f"running SCALE-Sim v3: {topo} on {cfg} (forward only, batch 1) ... this takes minutes", flush=True)
    p = subprocess.run(["bash", str(run), str(peer_dir / "topologies" / topo), str(peer_dir / "configs" / cfg), out],
                       capture_output=True, text=True, check=True)
    m = re.search(r"wall_s=([0-9.]+)", p.stdout)
    return float(m.group(1)) if m else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--peer-dir", default=str(ROOT.parent / "shared" / "peers" / "scalesim"))
    args = ap.parse_args()
    cases = [("vgg16", "128x128", "os", 32, None), ("resnet18", "128x128", "os", 32, None),
             ("resnet50", "128x128", "os", 32, None), ("vgg16", "128x128", "os", 1, "forward")]
    results = {}
    for wl, arr, df, b, passes in cases:
        walls, rep = time_archsim(wl, arr, df, b, passes, args.repeat)
        key = f"{wl} {arr} {df} batch {b} {passes or 'all passes'}"
        results[key] = statistics.median(walls)
        print(f"archsim  {key:45s} median {results[key]:.2f} s (min {min(walls):.2f}) "
              f"events {rep.totals['sim_events']}  MACs {rep.totals['macs']:.3e}")
    if not args.no_peer:
        peer = run_peer(pathlib.Path(args.peer_dir), "vgg16_224.csv", "128x128_os.cfg")
        if peer:
            ours = results["vgg16 128x128 os batch 32 all passes"]
            print(f"SCALE-Sim v3 vgg16 224 forward, batch 1, 128x128 os: {peer:.1f} s")
            print(f"ratio SCALE-Sim / archsim (full training step, batch 32): {peer / ours:.0f}x")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
