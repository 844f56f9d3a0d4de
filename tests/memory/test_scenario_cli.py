"""Density ratio, iso-capacity / iso-area partitions, and the ``archsim memory`` command."""
from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from archsim.cli import main
from archsim.memory import BankGeometry, characterize
from archsim.memory.scenario import (PartitionGeometry, density_ratio, iso_area, iso_capacity,
                                     partition_area_mm2)

MB = 1 << 20
FAST = settings(max_examples=40, deadline=None)


def test_density_ratio_defaults_and_cell_area():
    r = density_ratio(capacity_bytes=MB, word_bits=64)
    assert r == pytest.approx(0.654296934 / 0.244130564, rel=0.02)
    small = density_ratio(None, {"cell_area_f2": 14}, MB, 64)
    large = density_ratio(None, {"cell_area_f2": 75}, MB, 64)
    assert small > r > large > 1.0
    assert small < 146 / 14  # periphery keeps it below the cell ratio


@FAST
@given(st.floats(14.0, 75.0), st.floats(14.0, 75.0))
def test_density_ratio_falls_with_mram_cell_area(a1, a2):
    lo, hi = sorted((a1, a2))
    assume(hi - lo > 1e-6)
    assert density_ratio(None, {"cell_area_f2": lo}) > density_ratio(None, {"cell_area_f2": hi})


partitions = st.builds(
    lambda bank_kib, n, w: PartitionGeometry(bank_kib * 1024 * n, n, w),
    st.sampled_from([1, 4, 16, 64, 128, 256, 1024, 4096]), st.integers(1, 64),
    st.sampled_from([8, 64, 128, 512, 1024]))


@FAST
@given(partitions, st.floats(14.0, 75.0))
def test_iso_area_capacity_is_sram_capacity_times_density_ratio(part, cell_f2):
    mram_opts = {"cell_area_f2": cell_f2}
    ratio = density_ratio(None, mram_opts, part.bank_bytes, part.word_bits)
    out = iso_area(part, None, mram_opts)
    assert out.word_bits == part.word_bits and out.bank_bytes == part.bank_bytes
    # within rounding to whole banks
    assert abs(out.capacity_bytes - part.capacity_bytes * ratio) <= 0.5 * part.bank_bytes + 1e-6
    # and the silicon area matches to within half an MRAM bank
    a_s = partition_area_mm2(part, "sram")
    a_m = partition_area_mm2(out, "sttmram", mram_opts)
    bank_m = characterize("sttmram", part.bank, mram_opts).area_mm2
    assert abs(a_m - a_s) <= 0.5 * bank_m + 1e-12


@FAST
@given(partitions)
def test_iso_capacity_keeps_geometry(part):
    assert iso_capacity(part) == part
    assert partition_area_mm2(part, "sttmram") < partition_area_mm2(part, "sram")


def test_partition_geometry_validation():
    with pytest.raises(ValueError, match="n_banks"):
        PartitionGeometry(MB, 0, 64)
    with pytest.raises(ValueError, match="equal banks"):
        PartitionGeometry(MB + 1, 2, 64)
    with pytest.raises(ValueError, match="word"):
        PartitionGeometry(64, 16, 64)
    with pytest.raises(ValueError):
        iso_capacity(PartitionGeometry(MB, 4), None, {"write_voltage_v": -1})


def test_iso_area_example_16_banks():
    part = PartitionGeometry(4 * MB, 16, 512)
    out = iso_area(part)
    assert out.n_banks == round(16 * density_ratio(capacity_bytes=part.bank_bytes, word_bits=512))
    assert 40 <= out.n_banks <= 46  # ~2.7x


# ---------------------------------------------------------------------------------------------------- CLI
def test_cli_table_and_json(tmp_path, capsys):
    out = tmp_path / "banks.json"
    rc = main(["memory", "--capacities-mb", "1,4", "--word-bits", "128", "--write-voltage", "1.1",
               "--write-pulse-ns", "8", "--cell-area-f2", "40", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "sttmram" in text and "sram" in text
    data = json.loads(out.read_text())
    rows = {(r["technology"], r["capacity_mb"]): r for r in data["rows"]}
    assert set(rows) == {("sram", 1.0), ("sram", 4.0), ("sttmram", 1.0), ("sttmram", 4.0)}
    want = characterize("sttmram", BankGeometry(4 * MB, 128),
                        {"write_voltage_v": 1.1, "write_pulse_ns": 8, "cell_area_f2": 40})
    got = rows[("sttmram", 4.0)]
    for key in ("read_latency_ns", "write_latency_ns", "read_energy_pj", "write_energy_pj", "leakage_mw",
                "area_mm2", "read_ber", "write_ber_0to1", "write_ber_1to0"):
        assert got[key] == pytest.approx(getattr(want, key))
    assert rows[("sram", 4.0)]["density_vs_sram"] == pytest.approx(1.0)
    assert got["density_vs_sram"] > 3.0  # 40 F^2 cell


@pytest.mark.parametrize("argv", [
    ["memory", "--capacities-mb", "0"],
    ["memory", "--word-bits", "12"],
    ["memory", "--write-voltage", "0.1"],
    ["memory", "--cell-area-f2", "1"],
    ["memory", "--technologies", "flash"],
    ["memory", "--write-voltage", "0.3", "--write-pulse-ns", "1"],
])
def test_cli_bad_input_is_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("archsim") and "\n" not in err
