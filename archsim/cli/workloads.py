"""``archsim workloads``: list the networks archsim knows, with their size."""
from __future__ import annotations


def add_parser(sub):
    p = sub.add_parser("workloads", help="list the built-in networks", description=__doc__)
    p.add_argument("--layers", help="print the layer table of this network")
    return p


def run(args) -> int:
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
    t = Table(title="workloads")
    for c in ("name", "input", "classes", "layers", "params (M)", "fwd GMAC/sample", "description"):
        t.add_column(c, justify="right" if c not in ("name", "description", "input") else "left",
                     no_wrap=c != "description")
    for e in registry.entries():
        net = registry.get(e.name)
        t.add_row(e.name, "x".join(map(str, net.input_shape)), str(net.num_classes), str(len(net)),
                  f"{net.param_count() / 1e6:.2f}", f"{net.forward_macs() / 1e9:.3f}", e.description)
    con.print(t)
    return 0
