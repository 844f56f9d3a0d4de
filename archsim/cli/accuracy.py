"""``archsim accuracy``: train a workload clean and with scratchpad bit errors; ``archsim accuracy sweep``: final
accuracy vs bit error rate per data type. The logic lives in :mod:`archsim.accuracy`."""
from __future__ import annotations

import argparse
import json
import math
import sys

from archsim.cli.argtypes import nonempty, output_file, plot_file
from archsim.report.files import atomic_write_text


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Appends an option's default to its help only where that says something: not where the help already states
    it (options whose ``None`` default means "resolved later", as ``--seed``), nor for ``None``, an empty list or
    an off switch."""

    def _get_help_string(self, action):
        d = action.default
        if "(default" in (action.help or "") or d is None or d is False or d == []:
            return action.help
        return super()._get_help_string(action)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "accuracy", help="training accuracy under scratchpad bit errors (PyTorch)",
        description="Train a workload network clean and with bit errors injected into the data types the "
                    "scratchpad stores. `archsim accuracy sweep ...` sweeps the error rate per data type.",
        formatter_class=_DefaultsHelp)
    p.add_argument("action", nargs="?", choices=("train", "sweep"), default="train",
                   help="train: clean vs injected run; sweep: accuracy vs bit error rate")
    p.add_argument("--sweep", action="store_true", help="same as the `sweep` action")
    g = p.add_argument_group("network and data")
    g.add_argument("--workload", type=nonempty, default="resnet18-mini",
                   help="registered network (see `archsim workloads`)")
    g.add_argument("--dataset", default="digits", choices=("digits", "cifar10", "cifar100"),
                   help="digits is embedded (scikit-learn); CIFAR needs --data-dir")
    g.add_argument("--data-dir", type=nonempty, default=None, help="folder with the CIFAR python-pickle batches")
    g.add_argument("--image-size", type=int, default=None,
                   help="resize images to N x N (default: the data's own size, or the workload's where the network "
                        "cannot take that: 32 for vgg16-mini on digits)")
    g.add_argument("--train-samples", type=int, default=None, help="use only the first N training samples")
    g = p.add_argument_group("errors")
    g.add_argument("--config", type=nonempty, default=None,
                   help="archsim config (YAML/TOML): rates and formats per data type from its scratchpad partitions "
                        "and their technology models")
    g.add_argument("--inject", action="append", default=[], metavar="DT[:KIND]=RATE",
                   help="explicit per-bit rate, overrides the config; KIND: write (both directions, default), "
                        "read, 0to1, 1to0. Repeatable, e.g. --inject weight=1e-4 --inject activation:read=1e-6")
    g.add_argument("--datatypes", nargs="+", default=None, metavar="DT",
                   help="data types to inject (others clean); for sweep, the curves (default: activation weight "
                        "error)")
    g.add_argument("--format", dest="formats", action="append", default=[], metavar="[DT=]FMT",
                   help="stored number format (fp32, bf16, fp16, int8), for every or one data type")
    g.add_argument("--int8-scale", type=float, default=None, help="fixed int8 scale (default: per-tensor max-abs)")
    g.add_argument("--write-model", choices=("directional", "symmetric"), default="directional",
                   help="directional: only bits a write switches can fail, at their direction's rate; "
                        "symmetric: every written bit flips at the mean rate")
    g.add_argument("--old-contents", choices=("previous", "zeros", "random"), default="previous",
                   help="what a freshly written buffer held before (directional model)")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=5, help="passes over the training samples")
    g.add_argument("--batch-size", type=int, default=32, help="samples per SGD step")
    g.add_argument("--lr", type=float, default=0.02, help="SGD learning rate (the cosine schedule's first)")
    g.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    g.add_argument("--weight-decay", type=float, default=0.0, help="SGD weight decay (L2)")
    g.add_argument("--schedule", choices=("cosine", "constant"), default="cosine",
                   help="learning rate per step: cosine decay to 0 or fixed")
    g.add_argument("--init", choices=("pytorch", "kaiming", "kaiming-zero-residual"), default="pytorch",
                   help="weight initialiser (kaiming lets plain ReLU stacks such as vgg16-mini and alexnet-mini train; "
                        "kaiming-zero-residual also starts every residual block as the identity, which deep "
                        "bottleneck stacks such as resnet50-mini need)")
    g.add_argument("--threads", type=int, default=1, help="torch threads (1 gives the same numbers everywhere)")
    g.add_argument("--seed", type=int, default=None, help="seed of the train action (default: 0)")
    g = p.add_argument_group("sweep")
    g.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds of every point (default: 0 1 2)")
    g.add_argument("--rates", type=float, nargs="+", default=None,
                   help="per-bit rates of the sweep (default: 1e-7 1e-6 1e-5 1e-4 1e-3)")
    g.add_argument("--kind", choices=("write", "read"), default=None,
                   help="which rate the sweep varies (default: write)")
    g.add_argument("--option", default=None, help="sweep this partition option of --config (e.g. a write "
                   "operating point) instead of --rates")
    g.add_argument("--values", nargs="+", default=None, help="values of --option (numbers or strings)")
    g.add_argument("--plot", type=plot_file, default=None, metavar="F.png",
                   help="sweep: accuracy vs BER plot (PNG, or another type matplotlib writes)")
    g = p.add_argument_group("output")
    g.add_argument("--json", type=output_file, default=None, metavar="FILE", help="write the results as JSON")
    g.add_argument("--quiet", action="store_true", help="no progress bar and no tables")
    return p


def _settings(args):
    from archsim.accuracy.train import TrainSettings

    return TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, momentum=args.momentum,
                         weight_decay=args.weight_decay, threads=args.threads, train_samples=args.train_samples,
                         schedule=args.schedule, init=args.init)


def _value(v: str):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _loss(x: float) -> str:
    return f"{x:.3f}" if math.isfinite(x) else str(x)


def run(args) -> int:
    from rich.console import Console

    from archsim.accuracy.data import load_dataset
    from archsim.accuracy.train import data_for, network_for
    from archsim.cli import UserError

    if args.sweep:
        args.action = "sweep"
    _check_action_options(args)
    if args.option and not args.config:
        raise UserError("--option needs --config (the partition options to vary)")
    if args.option and not args.values:
        raise UserError("--option needs --values")
    settings = _settings(args)
    loaded = load_dataset(args.dataset, args.data_dir)
    data = data_for(args.workload, loaded, args.image_size)
    console = Console(stderr=False, quiet=args.quiet)
    if args.image_size is None and data is not loaded:
        console.print(f"[dim]{args.workload} cannot take {loaded.input_size} x {loaded.input_size} images: resized to "
                      f"its own {data.input_size} x {data.input_size} (--image-size sets another size)[/dim]")
    net = network_for(args.workload, data)
    if args.action == "sweep":
        return _run_sweep(args, settings, data, net, console)
    return _run_train(args, settings, data, net, console)


#: sweep-only options (argparse dest -> flag) and what a sweep uses when they are not given
_SWEEP_ONLY = {"seeds": "--seeds", "rates": "--rates", "kind": "--kind", "option": "--option", "values": "--values",
               "plot": "--plot"}
_SWEEP_DEFAULTS = {"seeds": [0, 1, 2], "rates": [1e-7, 1e-6, 1e-5, 1e-4, 1e-3], "kind": "write"}


def _check_action_options(args) -> None:
    """Reject options the chosen action would ignore, then fill in the defaults of the ones it uses."""
    from archsim.cli import UserError

    given = [flag for dest, flag in _SWEEP_ONLY.items() if getattr(args, dest) is not None]
    if args.action == "train":
        if given:
            raise UserError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for `archsim accuracy sweep`; "
                            "the train action takes --seed")
        args.seed = 0 if args.seed is None else args.seed
    else:
        if args.seed is not None:
            raise UserError("--seed is for the train action; a sweep takes --seeds")
        if args.values is not None and args.option is None:
            raise UserError("--values needs --option (the partition option they set)")
        if args.option is not None and (args.rates is not None or args.kind is not None):
            raise UserError("--option sweeps a config option; --rates and --kind sweep explicit rates: give one or "
                            "the other")
        for dest, default in _SWEEP_DEFAULTS.items():
            if getattr(args, dest) is None:
                setattr(args, dest, default)
    if args.data_dir is not None and args.dataset == "digits":
        raise UserError("--data-dir is for --dataset cifar10 / cifar100; digits is embedded")


def _progress(quiet: bool):
    from contextlib import nullcontext

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if quiet:
        return nullcontext(None)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


def _run_train(args, settings, data, net, console) -> int:
    from rich.table import Table

    from archsim.accuracy.cliargs import build_policy
    from archsim.accuracy.train import compare

    policy = build_policy(args.config, args.inject, args.formats, args.datatypes, args.write_model,
                          args.old_contents, args.int8_scale)
    if not policy.active:
        console.print("[yellow]no error rates configured (give --config or --inject): the injected run is clean")
    with _progress(args.quiet) as prog:
        task = prog.add_task("training", total=None) if prog else None
        cb = (lambda d, t: prog.update(task, completed=d, total=t)) if prog else None
        cmp = compare(net, data, settings, policy, args.seed, on_step=cb)
    t = Table(title=f"{args.workload} on {data.name}: clean vs injected (seed {args.seed})")
    for col in ("epoch", "clean loss", "clean acc", "injected loss", "injected acc", "bits flipped"):
        t.add_column(col, justify="right")
    for c, i in zip(cmp.clean.epochs, cmp.injected.epochs):
        t.add_row(str(c.epoch), _loss(c.test_loss), _pct(c.test_accuracy), _loss(i.test_loss),
                  _pct(i.test_accuracy), str(sum(i.flips.values())))
    console.print(t)
    if cmp.injected.stats:
        console.print(_flips_table(policy, cmp.injected.stats))
    drop = 100 * (cmp.clean.final_accuracy - cmp.injected.final_accuracy)
    console.print(f"final accuracy: clean {_pct(cmp.clean.final_accuracy)}, injected "
                  f"{_pct(cmp.injected.final_accuracy)} (drop {drop:+.1f} points)")
    if args.json:
        out = {"command": "accuracy", "workload": args.workload, "network": net.name, "dataset": data.name,
               "seed": args.seed, "settings": settings.model_dump(), **cmp.as_dict()}
        atomic_write_text(args.json, json.dumps(out, indent=2, default=str) + "\n")
    return 0


def _ber(x: float) -> str:
    return f"{x:.1e}" if x else "0"


def _flips_table(policy, stats: dict):
    """Bits flipped per data type with the rates that caused them. Fits an 80-column terminal: every number keeps
    its width, headers take two lines, and the write model becomes part of the title when all data types share it."""
    from rich.table import Table

    models = {m.write_model for m in policy.datatypes.values()}
    one = models.pop() if len(models) == 1 else None
    ft = Table(title="bits flipped per data type (whole run" + (f"; {one} writes)" if one else ")"))
    cols = ["data type", "format"] + ([] if one else ["write"]) + ["read\nBER", "write\n0->1", "write\n1->0",
                                                                   "write\nflips", "read\nflips"]
    for col in cols:  # formats and numbers never wrap; names fold only if a terminal is narrower still
        ft.add_column(col, justify="right", no_wrap=col not in ("data type", "write"), overflow="fold")
    for dt, m in policy.datatypes.items():
        s = stats[dt.value]
        ft.add_row(dt.value, m.format, *([] if one else [m.write_model]), _ber(m.read_ber), _ber(m.write_ber_0to1),
                   _ber(m.write_ber_1to0), str(s["write_flips"]), str(s["read_flips"]))
    return ft


def _run_sweep(args, settings, data, net, console) -> int:
    from rich.table import Table

    from archsim.accuracy.cliargs import build_policy, parse_datatype
    from archsim.accuracy.sweep import run_sweep, sweep_config_option

    dts = [parse_datatype(d) for d in (args.datatypes or ["activation", "weight", "error"])]
    with _progress(args.quiet) as prog:
        task = prog.add_task("sweep runs", total=None) if prog else None
        cb = (lambda pt, d, t: prog.update(task, completed=d, total=t)) if prog else None
        if args.option:
            from archsim.config import load_config

            res = sweep_config_option(net, data, settings, load_config(args.config), args.option,
                                      [_value(v) for v in args.values], dts, args.seeds, args.write_model, cb)
        else:
            base = build_policy(args.config, args.inject, args.formats, None, args.write_model, args.old_contents,
                                args.int8_scale)
            res = run_sweep(net, data, settings, dts, args.rates, args.seeds, args.kind, args.write_model, base, cb)
    t = Table(title=f"{args.workload} on {data.name}: final accuracy vs {res.kind} bit error rate "
                    f"(mean +- std, [min, max] over seeds {', '.join(map(str, args.seeds))})")
    t.add_column("rate (per bit)" if not args.option else "rate / setting", justify="right")
    for dt in res.datatypes():
        t.add_column(dt, justify="right")
    clean = [p.final_accuracy for p in res.clean()]
    cm = sum(clean) / len(clean)
    sd = (sum((c - cm) ** 2 for c in clean) / (len(clean) - 1)) ** 0.5 if len(clean) > 1 else 0.0
    t.add_row("clean", *[f"{_pct(cm)} +- {100 * sd:.1f} [{_pct(min(clean))}, {_pct(max(clean))}]"
                         for _ in res.datatypes()])
    for rate in res.rates():
        cells = []
        label = f"{rate:.1e}"
        for dt in res.datatypes():
            c = res.cell(dt, rate)
            if c is None:
                cells.append("")
                continue
            if c["setting"]:
                label = f"{rate:.1e} ({c['setting']})"
            cells.append(f"{_pct(c['mean_accuracy'])} +- {100 * c['std_accuracy']:.1f} "
                         f"[{_pct(c['min_accuracy'])}, {_pct(c['max_accuracy'])}]")
        t.add_row(label, *cells)
    console.print(t)
    if args.json:  # first: a plot that cannot be written must not lose the sweep's numbers
        out = {"command": "accuracy sweep", **res.as_dict(), "workload": args.workload, "network": net.name}
        atomic_write_text(args.json, json.dumps(out, indent=2, default=str) + "\n")
    if args.plot:
        try:
            res.plot(args.plot)
        except OSError as exc:
            raise ValueError(f"--plot: cannot write {args.plot!r}: {exc.strerror or exc}") from None
        console.print(f"plot written to {args.plot}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    from archsim.cli import main

    sys.exit(main(["accuracy", *sys.argv[1:]]))
