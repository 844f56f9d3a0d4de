"""``archsim study``: SRAM vs MRAM (iso-capacity, iso-area) vs heterogeneous scratchpads, energy and accuracy.

Examples::

    archsim study                                   # the default study (docs/results.md), all local cores
    archsim study --networks resnet18,alexnet --seeds 0 --epochs 3 --out results/quick
    archsim study --spec my_study.yaml --backend ray --ray-address auto

A rerun with the same ``--out`` resumes: finished tasks are read from the store, never recomputed.
"""
from __future__ import annotations

import argparse

from archsim.cli.argtypes import float_list, name_list, nonempty, output_dir


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "study", help="energy vs accuracy across memory configurations and networks (resumable sweep)",
        description="Runs every network of the study under SRAM, MRAM at iso-capacity and iso-area, and "
        "heterogeneous configurations over a grid of MRAM write voltages and pulse widths; reports energy "
        "(with breakdown), latency, write energy and training accuracy per point, the Pareto front, and the "
        "lowest-energy configuration within an accuracy-drop bound. See docs/results.md.")
    p.add_argument("--spec", type=nonempty, metavar="FILE", default=None,
                   help="study file (YAML/TOML; fields of StudySpec)")
    p.add_argument("--networks", type=name_list, default=None, metavar="LIST", help="only these networks of the study "
                   "(comma-separated)")
    p.add_argument("--out", type=output_dir, default=None, metavar="DIR",
                   help="results directory (default results/study/NAME)")
    g = p.add_argument_group("grid and accuracy (override the study file)")
    g.add_argument("--voltages", type=float_list, default=None, metavar="LIST", help="write voltages, V")
    g.add_argument("--pulses", type=float_list, default=None, metavar="LIST", help="write pulse widths, ns")
    g.add_argument("--seeds", type=int, nargs="+", default=None, help="training seeds per point")
    g.add_argument("--epochs", type=int, default=None, help="training epochs of every proxy")
    g.add_argument("--train-samples", type=int, default=None, help="use only the first N training samples")
    g.add_argument("--accuracy-drop", type=float, default=None, metavar="PP",
                   help="recommendation bound, percentage points (default 1)")
    g.add_argument("--no-accuracy", action="store_true", help="energy only: no training runs")
    g = p.add_argument_group("execution")
    g.add_argument("--backend", choices=("local", "serial", "ray"), default="local",
                   help="local process pool (default), serial, or a Ray cluster")
    g.add_argument("--workers", type=int, default=None, help="parallel tasks (default: the usable cores)")
    g.add_argument("--ray-address", type=nonempty, default=None,
                   help="Ray cluster address (default: start a local instance)")
    g.add_argument("--stop-after", type=int, default=None, metavar="N",
                   help="stop after N newly computed tasks, as if killed (testing resume)")
    g.add_argument("--quiet", action="store_true", help="no progress bar and no tables (files only)")
    g.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    return p


def _overrides(args) -> dict:
    ov: dict = {}
    grid = {k: v for k, v in (("voltages_v", args.voltages), ("pulses_ns", args.pulses)) if v is not None}
    if grid:
        ov["grid"] = grid
    acc = {k: v for k, v in (("seeds", args.seeds), ("epochs", args.epochs),
                             ("train_samples", args.train_samples)) if v is not None}
    if args.no_accuracy:
        acc["enabled"] = False
    if acc:
        ov["accuracy"] = acc
    if args.accuracy_drop is not None:
        ov["accuracy_drop_pp"] = args.accuracy_drop
    return ov


def run(args) -> int:
    import pathlib

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from archsim.cli import UserError
    from archsim.report.tables import make_console
    from archsim.study import load_spec, run_study
    from archsim.study.report import print_study
    from archsim.study.runner import SweepStopped
    from archsim.workload import registry

    spec = load_spec(args.spec, _overrides(args))
    if args.networks:
        want = args.networks
        known = [n.name for n in spec.networks]
        bad = [n for n in want if n not in known]
        if bad:
            raise UserError(f"--networks: {', '.join(bad)} not in the study; allowed: {', '.join(known)}")
        spec = spec.model_copy(update={"networks": [n for n in spec.networks if n.name in want]})
    for n in spec.networks:
        for w in (n.name, n.proxy.workload):
            if w not in registry.names():
                raise UserError(f"unknown workload {w!r}; allowed: {', '.join(registry.names())}")
    if args.stop_after is not None and args.stop_after < 0:
        raise UserError(f"--stop-after must be >= 0, got {args.stop_after}")
    if args.workers is not None and args.workers < 1:  # before the store and the progress bar exist
        raise UserError(f"--workers must be >= 1, got {args.workers}")
    out = pathlib.Path(args.out or f"results/study/{spec.name}")
    console = make_console()
    progress = None if args.quiet else Progress(
        TextColumn("[bold]study[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"), console=console, transient=False)
    bar = None

    def on_start(total: int, done: int) -> None:
        nonlocal bar
        if progress is not None:
            bar = progress.add_task("tasks", total=total, completed=done, last="")

    def on_done(res: dict) -> None:
        if progress is not None:
            what = res.get("network") or f"{res.get('workload')} seed {res.get('seed')}"
            progress.update(bar, advance=1, last=f"{res['kind']} {what} ({res['wall_s']:.1f} s)")

    try:
        if progress is not None:
            progress.start()
        result = run_study(spec, out, args.backend, args.workers, on_start, on_done, args.stop_after,
                           args.ray_address, plots=not args.no_plots)
    except SweepStopped as exc:
        if progress is not None:
            progress.stop()
        console.print(f"[yellow]{exc}[/]")
        return 3
    finally:
        if progress is not None:
            progress.stop()
    if not args.quiet:
        print_study(console, result.rows, result.headline, spec.accuracy_drop_pp)
        s = result.stats
        console.print(f"{len(result.points)} design points, {s.total} tasks: {s.computed} computed, {s.skipped} "
                      f"from the store")
        for f in result.files:
            console.print(f"wrote {f}")
    return 0
