"""SCALE-Sim topology importer: shapes, DP rows, gemm rows, and one-line errors for malformed rows."""
from __future__ import annotations

import math

import pytest

from archsim.workload.scalesim_import import gemm_dims, load_scalesim_topology

HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def _write(tmp_path, body: str, header: str = HEADER, name: str = "t.csv"):
    p = tmp_path / name
    p.write_text(header + body)
    return p


def test_conv_rows_ceil_output_and_independent_inputs(tmp_path):
    p = _write(tmp_path, "c1, 56, 56, 3, 3, 64, 128, 2,\nc2, 23, 17, 7, 1, 96, 64, 2, 2:4,\n\n"
                         "fc, 1, 1, 1, 1, 512, 10, 1,\n")
    net = load_scalesim_topology(p)
    assert net.name == "t"
    c1, c2, fc = net.gemm_layers()
    # SCALE-Sim's Ho = ceil((H - F + S) / S): 28 (PyTorch without ceil_mode would give 27)
    assert c1.out_shape == (128, 28, 28) and c1.ceil_mode and c1.padding == 0
    assert c2.kernel == (7, 1) and c2.out_shape == (64, 9, 9)
    assert gemm_dims(c1) == (784, 128, 576, 1)
    assert gemm_dims(fc) == (1, 10, 512, 1)
    # every row reads its own input tensor; nothing is chained
    assert [net.graph.nodes[n]["layer"].kind for n in net.graph.predecessors("c2")] == ["input"]
    assert net.layer("c2_in").out_shape == (96, 23, 17)
    assert net.meta["layers"]["c2"]["sparsity"] == "2:4"


def test_dp_row_is_grouped_like_scalesim_per_channel_layers(tmp_path):
    p = _write(tmp_path, "DPconv, 15, 15, 3, 3, 8, 2, 2,\nnotdp_Dp, 9, 9, 3, 3, 4, 4, 1,\n")
    dp, other = load_scalesim_topology(p).gemm_layers()
    assert dp.groups == 8 and dp.out_shape == (16, 7, 7)
    M, N, K, g = gemm_dims(dp)
    # each group is one of SCALE-Sim's 'DPconvChannel_i' layers: 1 channel, Num filter filters
    assert (M, N // g, K // g) == (49, 2, 9)
    assert other.groups == 1  # the marker is case-sensitive, as in SCALE-Sim


def test_gemm_format(tmp_path):
    p = _write(tmp_path, "g1, 128, 64, 300,\ng2, 7, 5, 3, 1:2,\n", header="Layer, M, N, K,\n")
    net = load_scalesim_topology(p, name="gemms")
    assert net.meta["format"] == "gemm" and net.name == "gemms"
    g1, g2 = net.gemm_layers()
    assert gemm_dims(g1) == (128, 64, 300, 1)
    assert gemm_dims(g2) == (7, 5, 3, 1)
    assert g1.forward_macs() == 128 * 64 * 300


def test_duplicate_names_are_made_unique(tmp_path):
    p = _write(tmp_path, "c, 8, 8, 3, 3, 4, 4, 1,\nc, 8, 8, 3, 3, 4, 4, 1,\n")
    a, b = load_scalesim_topology(p).gemm_layers()
    assert a.name == "c" and b.name != "c"
    assert load_scalesim_topology(p).meta["layers"][b.name]["scalesim_name"] == "c"


def test_shipped_topologies_macs(tmp_path):
    from scalesim_data import DATA
    net = load_scalesim_topology(DATA / "topologies" / "vgg16_32.csv")
    assert len(net.gemm_layers()) == 15
    assert math.isclose(net.forward_macs() / 1e9, 0.314, abs_tol=0.001)  # NOTES: 0.314 GMAC


@pytest.mark.parametrize("row, match", [
    ("c1, 8, 8, 3, x, 4, 4, 1,", r"t\.csv:2: row 'c1': column 'Filter Width' must be an integer >= 1, got 'x'"),
    ("c1, 8, 8, 3, 3, 0, 4, 1,", r"row 'c1': column 'Channels' must be an integer >= 1, got 0"),
    ("c1, 8, 8, 3, 3, 4, 4,", r"row 'c1': expected 8 columns"),
    ("c1, 2, 8, 3, 3, 4, 4, 1,", r"row 'c1': column 'Filter Height' \(3\) is larger than 'IFMAP Height' \(2\)"),
    ("c1, 8, 8, 3, 3, 4, 4, 1, 5:4,", r"row 'c1': column 'Sparsity' N:M needs N <= M"),
    ("c1, 8, 8, 3, 3, 4, 4, 1, 2-4,", r"row 'c1': column 'Sparsity' must be N:M"),
    (", 8, 8, 3, 3, 4, 4, 1,", r"column 'Layer name' is empty"),
])
def test_malformed_rows(tmp_path, row, match):
    p = _write(tmp_path, row + "\n")
    with pytest.raises(ValueError, match=match) as e:
        load_scalesim_topology(p)
    assert "\n" not in str(e.value)


def test_missing_or_empty_file(tmp_path):
    with pytest.raises(ValueError, match="cannot read SCALE-Sim topology"):
        load_scalesim_topology(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="no layer rows"):
        load_scalesim_topology(_write(tmp_path, ""))
