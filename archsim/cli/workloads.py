"""``archsim workloads``: list the networks archsim knows, with their size."""
from __future__ import annotations

from archsim.cli.argtypes import nonempty


def add_parser(sub):
    p = sub.add_parser("workloads", help="list the built-in networks", description=__doc__)
    p.add_argument("--layers", type=nonempty, help="print the layer table of this network")
    return p


def run(args) -> int:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from archsim.workload import registry

    con = Console()
    if args.layers:
        net = registry.get(args.layers)
        t = Table(title=f"{net.name}: {len(net)} layers")
        for c in ("layer", "kind", "in (C,H,W)", "out (C,H,W)", "params", "MACs/sample"):
            t.add_column(c, justify="left" if c in ("layer", "kind") else "right")
        for row in net.summary_rows():
            t.add_row(*(str(x) for x in row))
        con.print(t)
        return 0
    rows = []
    for e in registry.entries():
        net = registry.get(e.name)
        rows.append((e.name, "x".join(map(str, net.input_shape)), str(net.num_classes), str(len(net)),
                     f"{net.param_count() / 1e6:.2f}", f"{net.forward_macs() / 1e9:.3f}", e.description))
    # names and numbers are never cut (each column at least as wide as its widest cell); only the description
    # wraps, so the table fits an 80-column terminal
    t = Table(title="workloads", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    heads = ("name", "input", "classes", "layers", "params\n(M)", "fwd GMAC\n/sample")
    for k, c in enumerate(heads):
        width = max([len(r[k]) for r in rows] + [len(h) for h in c.split("\n")])
        t.add_column(c, justify="left" if k < 2 else "right", no_wrap=True, min_width=width)
    t.add_column("description")
    for r in rows:
        t.add_row(*r)
    con.print(t)
    return 0
