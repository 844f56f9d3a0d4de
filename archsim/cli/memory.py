"""``archsim memory``: characterise SRAM and STT-MRAM banks (one bank per capacity) and print one table.

Example: ``archsim memory --capacities-mb 1,4,16 --word-bits 64 --write-voltage 1.0 --json banks.json``
"""
from __future__ import annotations

import argparse
import json
import math

from archsim.cli.argtypes import float_list, name_list, output_file


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "memory", help="bank characterisation table: SRAM vs STT-MRAM",
        description="Characterise one bank per capacity for each technology (latency, energy per word access, "
        "leakage, area, density vs SRAM, bit error rates). Models and calibration: docs/memory.md.")
    p.add_argument("--capacities-mb", type=float_list, default=[1.0, 4.0, 16.0], metavar="LIST",
                   help="bank capacities in MiB, comma-separated (default 1,4,16)")
    p.add_argument("--word-bits", type=int, default=64, help="access width in bits (default 64)")
    p.add_argument("--technologies", type=name_list, default="sram,sttmram",
                   help="comma-separated technologies (default sram,sttmram)")
    p.add_argument("--write-voltage", type=float, default=None, metavar="V", help="MRAM write voltage, V")
    p.add_argument("--write-pulse-ns", type=float, default=None, metavar="NS", help="MRAM write pulse, ns")
    p.add_argument("--cell-area-f2", type=float, default=None, metavar="F2", help="MRAM cell area, F^2")
    p.add_argument("--write-scheme", choices=("all_bits", "changed_bits"), default=None,
                   help="MRAM write scheme (default all_bits)")
    p.add_argument("--feature-size-nm", type=float, default=None, metavar="NM",
                   help="technology node for every technology, nm (default 22)")
    p.add_argument("--json", type=output_file, metavar="FILE", default=None, help="also write the rows to FILE as JSON")
    return p


#: STT-MRAM options the command sets: option -> argparse dest
_MRAM_OPTIONS = {"write_voltage_v": "write_voltage", "write_pulse_ns": "write_pulse_ns",
                 "cell_area_f2": "cell_area_f2", "write_scheme": "write_scheme"}


def _options(tech: str, args) -> dict:
    opts: dict = {}
    if args.feature_size_nm is not None:
        opts["feature_size_nm"] = args.feature_size_nm
    if tech == "sttmram":
        opts.update({key: getattr(args, dest) for key, dest in _MRAM_OPTIONS.items()
                     if getattr(args, dest) is not None})
    return opts


def characterize_rows(capacities_mb: list[float], word_bits: int, techs: list[str], options: dict[str, dict]
                      ) -> list[dict]:
    """One row per (technology, capacity). ``density_vs_sram`` = SRAM area / this area at equal capacity."""
    from archsim.cli import UserError
    from archsim.memory import BankGeometry, characterize

    rows = []
    for mb in capacities_mb:
        cap = int(round(mb * 1024 * 1024)) if math.isfinite(mb) else 0
        if mb <= 0 or not math.isfinite(mb) or cap * 8 < word_bits:
            raise UserError(f"--capacities-mb: capacity {mb} MiB must be positive and hold at least one "
                            f"{word_bits}-bit word")
        geo = BankGeometry(capacity_bytes=cap, word_bits=word_bits)
        sram_area = characterize("sram", geo, options.get("sram")).area_mm2
        for tech in techs:
            c = characterize(tech, geo, options.get(tech))
            row = {"capacity_mb": mb, **c.as_dict(), "density_vs_sram": sram_area / c.area_mm2}
            rows.append(row)
    return rows


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from archsim.cli import UserError
    from archsim.memory import technologies
    from archsim.report.files import atomic_write_text

    if args.word_bits <= 0 or args.word_bits % 8:
        raise UserError(f"--word-bits must be a positive multiple of 8, got {args.word_bits}")
    techs = [t.lower() for t in args.technologies]
    known = technologies()
    for t in techs:
        if t not in known or t == "explicit":
            raise UserError(f"--technologies: unknown or non-model technology {t!r}; choose from "
                            f"{', '.join(k for k in known if k != 'explicit')}")
    mram_only = ["--" + dest.replace("_", "-") for dest in _MRAM_OPTIONS.values() if getattr(args, dest) is not None]
    if mram_only and "sttmram" not in techs:
        raise UserError(f"{', '.join(mram_only)} set{'s' if len(mram_only) == 1 else ''} STT-MRAM cells, but "
                        f"--technologies is {','.join(techs)}; add sttmram")
    options = {t: _options(t, args) for t in set(techs) | {"sram"}}
    rows = characterize_rows(args.capacities_mb, args.word_bits, techs, options)

    table = Table(title=f"Bank characterisation: one bank per capacity, {args.word_bits}-bit words "
                        "(energy per word access)")
    cols = [("tech", "technology", "{}"), ("MiB", "capacity_mb", "{:g}"), ("read ns", "read_latency_ns", "{:.3f}"),
            ("write ns", "write_latency_ns", "{:.3f}"), ("read pJ", "read_energy_pj", "{:.3f}"),
            ("write pJ", "write_energy_pj", "{:.2f}"), ("leak mW", "leakage_mw", "{:.2f}"),
            ("area mm²", "area_mm2", "{:.3f}"), ("density ×SRAM", "density_vs_sram", "{:.2f}"),
            ("read BER", "read_ber", "{:.2e}"), ("wBER 0→1", "write_ber_0to1", "{:.2e}"),
            ("wBER 1→0", "write_ber_1to0", "{:.2e}")]
    for head, _, _ in cols:
        table.add_column(head, justify="left" if head == "tech" else "right")
    for r in rows:
        table.add_row(*[fmt.format(r[key]) for _, key, fmt in cols])
    console = Console(width=max(Console().width, 150))
    console.print(table)
    if args.json:
        payload = {"word_bits": args.word_bits, "options": options,
                   "rows": [{k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in r.items()}
                            for r in rows]}
        atomic_write_text(args.json, json.dumps(payload, indent=2))
        console.print(f"wrote {args.json}")
    return 0
