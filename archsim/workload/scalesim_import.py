"""Import SCALE-Sim topology CSVs as :class:`~archsim.workload.graph.Network` graphs.

SCALE-Sim v3 (``scalesim==3.0.0``, ``topology_utils.py``) reads two layouts, both with a header line that is
skipped and a trailing comma after each row:

* conv (default): ``name, IFMAP H, IFMAP W, Filter H, Filter W, Channels, Num filter, Stride, [N:M sparsity],``
  - one stride for both directions, no padding (a padded conv is written with its padded IFMAP size), batch 1;
  - output size ``Ho = ceil((H - Fh + S) / S)`` (``topology_utils.py:285``), i.e. PyTorch's ``ceil_mode=True``
    with padding 0;
  - a row whose name contains ``DP`` is depthwise: SCALE-Sim expands it into ``Channels`` separate layers of one
    channel with ``Num filter`` filters each (``topology_utils.py:153``). Here it becomes one grouped conv with
    ``groups = Channels`` and ``Channels * Num filter`` output channels (a depthwise conv with channel
    multiplier ``Num filter``), whose groups are exactly SCALE-Sim's per-channel layers.
* gemm (``-i gemm``): ``name, M, N, K, [N:M sparsity],`` which SCALE-Sim maps to IFMAP ``M x K``, filter
  ``1 x K``, 1 channel, ``N`` filters, stride 1. Here: a conv on a ``(1, M, K)`` input with a ``(1, K)`` kernel and
  ``N`` filters, whose output is ``(N, M, 1)``, i.e. the GEMM ``M x N x K``.

Rows are independent layers (SCALE-Sim chains nothing), so every row gets its own input node; the first row uses
the builder's ``input``. The ``N:M`` sparsity column is parsed, validated and kept in ``network.meta`` but not
modelled. Unlike SCALE-Sim, a row without the trailing comma is accepted (SCALE-Sim would drop its last field).
"""
from __future__ import annotations

import math
import pathlib
from typing import Literal

from archsim.workload.graph import Layer, Network, NetworkBuilder

CONV_COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
                "Num Filter", "Strides")
GEMM_COLUMNS = ("Layer name", "M", "N", "K")

Format = Literal["auto", "conv", "gemm"]


def _fields(line: str) -> list[str]:
    parts = [p.strip() for p in line.split(",")]
    if parts and parts[-1] == "":
        parts = parts[:-1]  # the trailing comma SCALE-Sim's rows end with
    return parts


def _where(path: str, lineno: int, name: str) -> str:
    return f"{path}:{lineno}: row {name!r}"


def _int(value: str, col: str, where: str) -> int:
    try:
        v = int(value)
    except ValueError:
        raise ValueError(f"{where}: column '{col}' must be an integer >= 1, got {value!r}") from None
    if v < 1:
        raise ValueError(f"{where}: column '{col}' must be an integer >= 1, got {v}")
    return v


def _sparsity(value: str, where: str) -> tuple[int, int]:
    parts = value.split(":")
    if len(parts) != 2:
        raise ValueError(f"{where}: column 'Sparsity' must be N:M (e.g. 2:4), got {value!r}")
    n, m = (_int(p.strip(), "Sparsity", where) for p in parts)
    if n > m:
        raise ValueError(f"{where}: column 'Sparsity' N:M needs N <= M, got {value!r}")
    return n, m


def load_scalesim_topology(path: str | pathlib.Path, name: str | None = None, fmt: Format = "auto") -> Network:
    """Read a SCALE-Sim topology CSV into a Network of independent conv layers (see the module docstring).

    ``fmt="auto"`` takes the gemm layout when rows have 4 or 5 fields and the conv layout when they have 8 or 9.
    Malformed rows raise ``ValueError`` naming the file, line, row and column.
    """
    p = pathlib.Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ValueError(f"cannot read SCALE-Sim topology {str(path)!r}: {e.strerror}") from None
    lines = text.splitlines()
    rows = [(i + 1, _fields(ln)) for i, ln in enumerate(lines) if i > 0 and ln.strip()]
    if not rows:
        raise ValueError(f"{path}: no layer rows after the header line")
    if fmt == "auto":
        n0 = len(rows[0][1])
        fmt = "gemm" if n0 in (4, 5) else "conv"
    if fmt not in ("conv", "gemm"):
        raise ValueError(f"fmt must be 'auto', 'conv' or 'gemm', got {fmt!r}")
    cols = CONV_COLUMNS if fmt == "conv" else GEMM_COLUMNS

    specs = []  # (name, in_shape, out_channels, kernel, stride, groups, sparsity, lineno, depthwise)
    for lineno, f in rows:
        lname = f[0] if f and f[0] else f"<unnamed line {lineno}>"
        where = _where(str(path), lineno, lname)
        if not f[0]:
            raise ValueError(f"{where}: column 'Layer name' is empty")
        if len(f) not in (len(cols), len(cols) + 1):
            raise ValueError(f"{where}: expected {len(cols)} columns ({', '.join(cols)}) plus an optional "
                             f"N:M sparsity, got {len(f)} fields")
        vals = [_int(v, c, where) for v, c in zip(f[1:len(cols)], cols[1:])]
        sparsity = _sparsity(f[len(cols)], where) if len(f) > len(cols) else (1, 1)
        if fmt == "gemm":
            m, n, k = vals
            specs.append((lname, (1, m, k), n, (1, k), 1, 1, sparsity, lineno, False))
            continue
        h, w, fh, fw, c, nf, s = vals
        if fh > h:
            raise ValueError(f"{where}: column 'Filter Height' ({fh}) is larger than 'IFMAP Height' ({h})")
        if fw > w:
            raise ValueError(f"{where}: column 'Filter Width' ({fw}) is larger than 'IFMAP Width' ({w})")
        if "DP" in lname:  # SCALE-Sim's depthwise marker (case-sensitive substring, topology_utils.py:153)
            specs.append((lname, (c, h, w), c * nf, (fh, fw), s, c, sparsity, lineno, True))
        else:
            specs.append((lname, (c, h, w), nf, (fh, fw), s, 1, sparsity, lineno, False))

    net_name = name or p.stem
    b = NetworkBuilder(net_name, specs[0][1], num_classes=specs[-1][2],
                       description=f"SCALE-Sim {fmt} topology {p.name}: {len(specs)} independent layers")
    used: set[str] = {b.input}
    layer_meta = {}
    for i, (lname, shape, out_c, kernel, stride, groups, sparsity, lineno, dw) in enumerate(specs):
        uname = lname
        if uname in used or f"{uname}_in" in used:  # SCALE-Sim allows repeated names; the graph does not
            uname = f"{lname}_row{i}"
        x = b.input if i == 0 else b.add_input(f"{uname}_in", shape)
        used.update({uname, x})
        b.conv(x, out_c, kernel, stride=stride, padding=0, groups=groups, ceil_mode=True, name=uname)
        layer_meta[uname] = {"scalesim_name": lname, "line": lineno, "sparsity": f"{sparsity[0]}:{sparsity[1]}",
                             "depthwise": dw}
    return b.build(multiple_outputs=True, source=str(path), format=fmt, layers=layer_meta)


def gemm_dims(layer: Layer) -> tuple[int, int, int, int]:
    """(M, N, K, groups) of a conv/linear layer as SCALE-Sim lowers it (batch 1): M = Ho*Wo ofmap pixels,
    N = output channels, K = Fh*Fw*Cin (whole layer; each of the ``groups`` groups is ``(M, N/g, K/g)``)."""
    if layer.kind == "conv":
        kh, kw = layer.kernel
        return layer.out_shape[1] * layer.out_shape[2], layer.out_channels, kh * kw * layer.in_channels, layer.groups
    if layer.kind == "linear":
        return 1, layer.out_channels, math.prod(layer.in_shape), 1
    raise ValueError(f"layer {layer.name!r} of kind {layer.kind!r} is not a GEMM layer")
