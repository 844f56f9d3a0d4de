"""``archsim sim``: simulate one training step of a network (or a SCALE-Sim topology) and report it."""
from __future__ import annotations

import argparse
import re
import time

from . import UserError
from .argtypes import nonempty, output_file


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("sim", help="simulate one training step", description=__doc__)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--workload", type=nonempty, help="network name (see `archsim workloads`)")
    src.add_argument("--topology", type=nonempty, help="SCALE-Sim topology CSV (runs at batch 1 unless --batch)")
    p.add_argument("--config", type=nonempty, help="YAML/TOML config file (defaults otherwise)")
    p.add_argument("--array", type=nonempty, help="array size RxC, e.g. 128x128 or 16x64")
    p.add_argument("--dataflow", type=nonempty, help="os | ws | is")
    p.add_argument("--batch", type=int, help="batch size (default 32; 1 for --topology)")
    p.add_argument("--passes", type=nonempty,
                   help="comma list of forward,backward_data,backward_weight,update (default all)")
    p.add_argument("--memory", type=nonempty, help="put every partition in this memory: sram | mram")
    p.add_argument("--scenario", type=nonempty, default="iso-capacity",
                   help="with --memory mram: iso-capacity | iso-area")
    p.add_argument("--ecc", choices=("none", "secded"), default=None,
                   help="with --memory: per-word error correction of every partition (docs/memory.md)")
    p.add_argument("--json", type=output_file, metavar="FILE", help="write the report as JSON")
    p.add_argument("--csv", type=output_file, metavar="FILE", help="write the per-layer records as CSV")
    p.add_argument("--quiet", action="store_true", help="no tables on the terminal")
    p.add_argument("--no-layers", action="store_true", help="print only the totals panel")
    return p


def overrides_from_args(args) -> dict:
    ov: dict = {}
    if args.array:
        m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", args.array)
        if not m:
            raise UserError(f"--array: expected RxC like 128x128, got {args.array!r}")
        ov.setdefault("array", {}).update(rows=int(m.group(1)), cols=int(m.group(2)))
    if args.dataflow:
        ov.setdefault("array", {})["dataflow"] = args.dataflow
    if args.batch is not None:
        ov.setdefault("training", {})["batch"] = args.batch
    elif getattr(args, "topology", None):
        ov.setdefault("training", {})["batch"] = 1  # SCALE-Sim's convention
    return ov


def run(args) -> int:
    from archsim.config import load_config
    from archsim.config.scenarios import MEMORIES, SCENARIOS, apply_memory
    from archsim.report.files import write_csv, write_json
    from archsim.report.tables import make_console, print_report
    from archsim.sim import parse_passes, simulate
    from archsim.workload import registry

    cfg = load_config(args.config, overrides_from_args(args))
    if args.ecc and not args.memory:
        raise UserError("--ecc applies with --memory; set a partition's 'ecc' field in a --config file otherwise")
    if args.scenario not in SCENARIOS:
        raise UserError(f"--scenario: unknown scenario {args.scenario!r}; allowed: {', '.join(SCENARIOS)}")
    if args.scenario != "iso-capacity" and (args.memory is None or MEMORIES.get(args.memory) == "sram"):
        raise UserError(f"--scenario {args.scenario} applies with --memory mram (it sizes the MRAM against the SRAM "
                        f"baseline); got --memory {args.memory or '(none)'}")
    if args.memory:
        cfg = apply_memory(cfg, args.memory, args.scenario, ecc=args.ecc)
    passes = parse_passes(args.passes)
    if args.topology:
        from archsim.workload.scalesim_import import load_scalesim_topology

        net = load_scalesim_topology(args.topology)
    else:
        net = registry.get(args.workload)
    t0 = time.perf_counter()
    rep = simulate(net, cfg, passes)
    wall = time.perf_counter() - t0
    rep.totals["wall_seconds"] = wall
    console = make_console()
    if not args.quiet:
        print_report(rep, console, per_layer=not args.no_layers)
        console.print(f"[dim]simulated in {wall:.2f} s ({rep.totals['sim_events']} events)[/dim]")
    if args.json:
        write_json(args.json, rep.as_dict())
    if args.csv:
        write_csv(args.csv, rep.records)
    return 0
