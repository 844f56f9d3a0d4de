"""End-to-end tests of the command line (in-process through archsim.cli.main, and one real subprocess)."""
import csv
import json
import pathlib
import subprocess
import sys

import pytest

from archsim.cli import main


def _sim(tmp_path, *args):
    out = tmp_path / "r.json"
    rc = main(["sim", *args, "--json", str(out), "--csv", str(tmp_path / "r.csv"), "--quiet"])
    assert rc == 0
    return json.loads(out.read_text())


def test_sim_small_network_json_and_csv(tmp_path):
    data = _sim(tmp_path, "--workload", "resnet18-cifar", "--batch", "4", "--array", "16x32")
    recs = data["records"]
    passes = {r["pass"] for r in recs}
    assert passes == {"forward", "backward_data", "backward_weight", "update"}
    for r in recs:
        for k in ("layer", "pass", "macs", "compute_cycles", "stall_cycles", "total_cycles", "dram_read_bytes",
                  "dram_write_bytes", "energy_pj"):
            assert k in r
        assert r["total_cycles"] == pytest.approx(r["compute_cycles"] + r["stall_cycles"])
    assert data["totals"]["cycles"] > 0 and data["totals"]["energy_pj"]["total"] > 0
    assert sum(r["energy_pj"]["total"] for r in recs) == pytest.approx(data["totals"]["energy_pj"]["total"])
    with open(tmp_path / "r.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(recs) and "energy_pj.dram" in rows[0]


def test_mram_iso_area_has_more_capacity_less_leakage(tmp_path):
    sram = _sim(tmp_path, "--workload", "alexnet-cifar", "--batch", "8")
    iso_a = _sim(tmp_path, "--workload", "alexnet-cifar", "--batch", "8", "--memory", "mram", "--scenario", "iso-area")
    iso_c = _sim(tmp_path, "--workload", "alexnet-cifar", "--batch", "8", "--memory", "mram")
    cap = lambda d: sum(p["capacity_kib"] for p in d["partitions"].values())
    assert cap(iso_c) == cap(sram) and cap(iso_a) > 2 * cap(sram)
    leak_w = lambda d: d["totals"]["energy_pj"]["leakage"] / d["totals"]["seconds"]
    assert leak_w(iso_c) < leak_w(sram) / 5
    dram = lambda d: d["totals"]["dram_read_bytes"] + d["totals"]["dram_write_bytes"]
    assert dram(iso_a) < dram(sram)


@pytest.mark.parametrize("argv, msg", [
    (["sim", "--workload", "nope"], "unknown workload"),
    (["sim", "--workload", "vgg16", "--array", "0x4"], "array.rows"),
    (["sim", "--workload", "vgg16", "--dataflow", "xs"], "dataflow"),
    (["sim", "--workload", "vgg16", "--passes", "forwards"], "unknown pass"),
    (["sim", "--workload", "vgg16", "--config", "/no/such.yaml"], "not found"),
])
def test_bad_input_one_line_exit_2(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_bad_config_values_name_field(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scratchpad:\n  partitions:\n    weight: {capacity_kib: -4}\narray: {rows: 8, bogus: 1}\n")
    assert main(["sim", "--workload", "vgg16-cifar", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "capacity_kib" in err and "bogus" in err and "-4" in err


def test_workloads_lists_networks(capsys):
    assert main(["workloads"]) == 0
    out = capsys.readouterr().out
    for n in ("vgg16", "resnet18", "resnet50", "alexnet", "mobilenetv2", "vgg16-cifar"):
        assert n in out


def test_console_script_subprocess(tmp_path):
    script = pathlib.Path(sys.executable).with_name("archsim")
    exe = [str(script)] if script.exists() else [sys.executable, "-m", "archsim"]
    r = subprocess.run(exe + ["sim", "--workload", "vgg16-cifar", "--batch", "2", "--no-layers"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "totals" in r.stdout
